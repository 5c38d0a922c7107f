"""A person's notifications: the list (newest first), opening one, marking read, and how mail comes.

Every signed-in person has these pages, whatever their roles: a notification belongs to one
person, and only they read it. Reads go through ``coalition.notifications.selectors``
(``notifications_for``, ``notification_of``, ``preferences_for``), so another person's
notification is the same 404 page as one that does not exist; writes through its services
(``notification_mark_read``, ``notification_mark_all_read``, ``preferences_update``), the
same the API calls.

A notification's words come from ``coalition.notifications.texts`` (``texts_of``), the very
sentences its mail has, made from codes and two organisations' names only: nothing on these
pages says anything about a young person. "Open" marks the notification read and goes where
its link goes (``texts.link_path``), which is always a page of this app.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from coalition.core.errors import DomainError
from coalition.notifications import selectors, services, texts
from coalition.notifications.models import Notification
from partners.models import User

from ..auth import safe_next
from ..errors import add_domain_error
from ..notification_forms import NotificationFilterForm, PreferencesForm
from ..pages import person, signed_in

PAGE_SIZE = 25


def _zone(name: str) -> ZoneInfo:
    """The person's time zone (validated when chosen); the coalition's should it no longer exist."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.COALITION_TIME_ZONE)


def _item(notification: Notification, *, own: str, time_zone: str) -> dict[str, Any]:
    """One notification as the list shows it: its subject and sentence (the mail's words) and its state."""
    other = notification.organisation.name if notification.organisation else ""
    return {
        "notification": notification,
        "unread": notification.read_at is None,
        **texts.texts_of(notification, organisation=other, own_organisation=own, time_zone=time_zone),
    }


@signed_in
@require_safe
def notification_list(request: HttpRequest) -> HttpResponse:
    """The person's notifications, newest first, a page at a time; "Unread only" leaves out those read."""
    actor = person(request)
    form = NotificationFilterForm(request.GET)
    unread_only = form.is_valid() and form.cleaned_data["unread"]
    notifications = selectors.notifications_for(actor, unread=True if unread_only else None)
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    preferences = selectors.preferences_for(actor)
    own = actor.organisation.name
    items = [_item(n, own=own, time_zone=preferences.time_zone) for n in page.object_list]
    context = {
        "nav": "notifications", "form": form, "page": page, "items": items, "unread_only": unread_only,
        "time_zone": _zone(preferences.time_zone), "here": request.get_full_path(),
    }
    return render(request, "web/notifications/list.html", context)


def _notification(actor: User, pk: UUID) -> Notification:
    """One of ``actor``'s notifications; another's is the 404 of a missing one."""
    notification = selectors.notification_of(actor, pk)
    if notification is None:
        raise Http404()
    return notification


def _back(request: HttpRequest) -> str:
    """Where a form of the list returns: the page of the list it was posted from, else the list."""
    target = safe_next(request, request.POST.get("next"))
    if target is None or not target.startswith(reverse("web:notifications")):
        return reverse("web:notifications")
    return target


@signed_in
@require_POST
def notification_open(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Mark the notification read and go to what it is about (a referral, an exception to review ...)."""
    actor = person(request)
    notification = services.notification_mark_read(user=actor, notification=_notification(actor, pk))
    target = safe_next(request, texts.link_path(notification))
    if target is None or not target.startswith("/app/"):  # only ever a page of this app
        target = reverse("web:notifications")
    return redirect(target)


@signed_in
@require_POST
def notification_read(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Mark one notification read, and back to the list."""
    actor = person(request)
    services.notification_mark_read(user=actor, notification=_notification(actor, pk))
    messages.success(request, _("The notification is marked read."))
    return redirect(_back(request))


@signed_in
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    """Mark every unread notification of the person read, and back to the list."""
    count = services.notification_mark_all_read(user=person(request))
    if count:
        messages.success(request, ngettext(
            "%(count)s notification is marked read.", "%(count)s notifications are marked read.", count
        ) % {"count": count})
    else:
        messages.success(request, _("No notification was unread."))
    return redirect(_back(request))


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
def notification_preferences(request: HttpRequest) -> HttpResponse:
    """How the person's notification mail comes: per kind at once or in a daily digest, at which hour, in which zone."""
    actor = person(request)
    preferences = selectors.preferences_for(actor)
    context: dict[str, Any] = {"nav": "notifications"}
    if request.method != "POST":
        return render(request, "web/notifications/preferences.html", context | {"form": PreferencesForm(preferences=preferences)})
    form = PreferencesForm(request.POST, preferences=preferences)
    if form.is_valid():
        data = form.service_data()
        if not data:
            messages.success(request, _("Nothing was changed."))
            return redirect("web:notification-preferences")
        try:
            services.preferences_update(user=actor, data=data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Your notification preferences were saved."))
            return redirect("web:notification-preferences")
    return render(request, "web/notifications/preferences.html", context | {"form": form}, status=422)
