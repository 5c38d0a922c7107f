"""Base classes every API view derives from, so cross-cutting rules apply everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, QuerySet
from rest_framework import exceptions, viewsets
from rest_framework.request import Request
from rest_framework.views import APIView

from coalition.core.actors import Actor

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


class ScopedViewSet(CoalitionViewSet):
    """Base of every tenant-data viewset: the queryset comes from a selector taking the actor.

    Subclasses name ``selector`` (and ``queryset_model`` for schema generation);
    they never touch ``Model.objects`` for tenant data, so an object outside the
    actor's scope is a plain 404. Serializers get the actor in their context.
    """

    selector: Callable[..., QuerySet[Any]] | None = None
    queryset_model: type[Model] | None = None
    lookup_value_converter = "uuid"

    def get_queryset(self) -> QuerySet[Any]:
        selector, model = type(self).selector, self.queryset_model
        if selector is None or model is None:
            raise TypeError(f"{type(self).__name__} names no selector or queryset_model.")
        if getattr(self, "swagger_fake_view", False):  # schema generation has no actor
            return model._default_manager.none()
        return selector(actor_of(self.request))

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "actor": self.request.user}

    def filter_queryset(self, queryset):
        # List filters narrow lists only: on a detail route or action, ?status=... must not
        # turn an existing object into a 404 (get_object() filters too, by default).
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)
