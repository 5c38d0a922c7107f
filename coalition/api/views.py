"""Base classes every API view derives from, so cross-cutting rules apply everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet
from rest_framework import exceptions, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from coalition.core.actors import Actor

from .etag import etag_for, expected_version
from .idempotency import IdempotencyMixin

# Type checkers see the mixin as the view it is mixed into; at run time it is a plain mixin.
if TYPE_CHECKING:
    _ViewBase = APIView
else:
    _ViewBase = object


def actor_of(request: Request) -> Actor:
    """Who acts: the person or partner system that authentication put in ``request.user``.

    Tenant-data views deny anonymous callers before any handler runs; should one get
    this far all the same, it is a 401, never an anonymous actor.
    """
    user = request.user
    if isinstance(user, AnonymousUser):
        raise exceptions.NotAuthenticated()
    return user


class DeclaredMethodsMixin(_ViewBase):
    """A method the route does not declare (TRACE, PROPFIND, ...) is 405 with ``Allow``, before any header check.

    DRF picks the handler only after ``initial``, where the coalition's own checks run
    (Idempotency-Key, If-Match): an undeclared method used to be a 400 about a header. Now
    only DRF's own ``initial`` runs for it (who is asking: deny by default keeps a 401 for
    an anonymous caller outside the public routes, see tests/security/test_deny_by_default.py),
    then 405.
    """

    def initial(self, request, *args, **kwargs):
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            APIView.initial(self, request, *args, **kwargs)
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)


class CoalitionAPIView(DeclaredMethodsMixin, IdempotencyMixin, APIView):
    """An API view with the coalition's conventions (405 first, Idempotency-Key on POST)."""


class CoalitionViewSet(DeclaredMethodsMixin, IdempotencyMixin, viewsets.GenericViewSet):
    """A viewset with the coalition's conventions (405 first, Idempotency-Key on POST)."""


# What a ScopedViewSet subclass may not replace, and what it uses instead.
_KEPT_METHODS = {
    "get_queryset": "narrow_queryset(self, queryset)",
    "get_object": "check_object(self, obj)",
    "filter_queryset": "the filtered_actions class attribute",
}


class ScopedViewSet(CoalitionViewSet):
    """Base of every tenant-data viewset: the queryset comes from a selector taking the actor.

    Subclasses name ``selector`` (and ``queryset_model`` for schema generation);
    they never touch ``Model.objects`` for tenant data, so an object outside the
    actor's scope is a plain 404. Serializers get the actor in their context.

    The choke point cannot be bypassed: a subclass that overrides ``get_queryset``,
    ``get_object`` or ``filter_queryset`` (or sets ``queryset``) is refused when its
    class is created. It narrows through the named hooks instead:

    - ``narrow_queryset(queryset)``: per-action narrowing of the selector's queryset
      (``select_related``, ``only``, annotations, a stricter subset), never widening;
    - ``check_object(obj)``: a rule about an object found in scope, for this action
      (raise to refuse it);
    - ``filtered_actions``: the actions the list filters apply to.
    """

    selector: Callable[..., QuerySet[Any]] | None = None
    queryset_model: type[Model] | None = None
    lookup_value_converter = "uuid"
    # List filters narrow lists only: on a detail route or action, ?status=... must not turn an
    # existing object into a 404 (get_object() filters too). An action that answers about the
    # same list (a summary of it) names itself here to take the same filters.
    filtered_actions: frozenset[str] = frozenset({"list"})

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, hook in _KEPT_METHODS.items():
            # Resolved through the MRO, so a mixin listed before this class is caught too.
            if getattr(cls, name) is not getattr(ScopedViewSet, name):
                raise ImproperlyConfigured(
                    f"{cls.__qualname__} overrides {name}(), which ScopedViewSet keeps so that every "
                    f"object comes through the actor's selector; use {hook} instead."
                )
        if getattr(cls, "queryset", None) is not None:
            raise ImproperlyConfigured(
                f"{cls.__qualname__} sets queryset; a ScopedViewSet names a selector taking the actor "
                "(and queryset_model for schema generation)."
            )

    def get_queryset(self) -> QuerySet[Any]:
        selector, model = type(self).selector, self.queryset_model
        if selector is None or model is None:
            raise TypeError(f"{type(self).__name__} names no selector or queryset_model.")
        if getattr(self, "swagger_fake_view", False):  # schema generation has no actor
            return model._default_manager.none()
        return self.narrow_queryset(selector(actor_of(self.request)))

    def narrow_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """Per-action narrowing of the selector's queryset; the default keeps it as it is."""
        return queryset

    def get_object(self) -> Any:
        obj = super().get_object()
        self.check_object(obj)
        return obj

    def check_object(self, obj: Any) -> None:
        """A rule about an object found in the actor's scope, for this action; the default has none."""

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.action not in self.filtered_actions:
            return queryset
        return super().filter_queryset(queryset)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "actor": self.request.user}


class VersionedViewSet(ScopedViewSet):
    """A scoped viewset whose writes may name the version they expect (If-Match).

    A malformed If-Match is 400 before any rule is checked; ``_respond`` answers with the
    object's ETag (its version).
    """

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD"):
            expected_version(request)  # a malformed If-Match is 400 before any rule is checked

    def _respond(self, obj, serializer_class, status_code=status.HTTP_200_OK):
        body = serializer_class(obj, context=self.get_serializer_context()).data
        return Response(body, status=status_code, headers={"ETag": etag_for(obj)})
