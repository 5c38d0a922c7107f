"""What every page view shares: who is signed in, and objects read through the actor's scope.

A page reads tenant data only through the selectors the API uses (``referrals.selectors``,
``partners.selectors``): ``scoped_or_404`` looks an id up in such a queryset, so an object
outside the person's scope is the same 404 page as one that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from partners.models import User

M = TypeVar("M", bound=Model)


def signed_in(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The page needs a signed-in person; anyone else is sent to sign in, and back here after."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    wrapper.signed_in = True  # type: ignore[attr-defined]  # read by the page route walk
    return wrapper


def role_required(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """The page is for people holding one of ``roles``: anyone else signed in gets the 403 page.

    Put it under ``@signed_in`` (signed-out people are sent to sign in first). The role says
    which pages a person may open; the selectors and services still decide what is on them.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not any(person(request).has_role(role) for role in roles):
                raise PermissionDenied()
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def person(request: HttpRequest) -> User:
    """The signed-in person: the actor of every selector and service a page calls."""
    user = request.user
    assert isinstance(user, User), "the page is wrapped in @signed_in"
    return user


def scoped_or_404(queryset: QuerySet[M], pk: Any) -> M:
    """The object with ``pk`` in ``queryset`` (a selector's), else the same 404 as a missing one."""
    try:
        return queryset.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, ValidationError):
        raise Http404() from None
