"""Reads on events and webhooks, always through the actor.

- The feed: a caseworker or a partner system (``events:read``) reads the events its
  organisation is party to (the ``EventAudience`` index); coordinators read every
  event (events are metadata only); nobody else reads any.
- Webhook endpoints and their delivery logs: org admins, their own organisation's only.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from partners.choices import Role
from partners.policy import is_partner_system

from .models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint


def events_visible_to(actor) -> QuerySet[Event]:
    if is_partner_system(actor):
        return Event.objects.filter(audience__organisation_id=actor.organisation.pk)
    if actor.has_role(Role.COORDINATOR):
        return Event.objects.all()
    if actor.has_role(Role.CASEWORKER):
        return Event.objects.filter(audience__organisation_id=actor.organisation.pk)
    return Event.objects.none()


def events_after(actor, *, after: int, limit: int) -> list[Event]:
    """The next ``limit`` events after cursor ``after``, in commit order.

    The range scan walks the (organisation, event) index from ``after``, so a page
    costs the same however long the feed is.
    """
    return list(events_visible_to(actor).filter(seq__gt=after).order_by("seq")[:limit])


def webhook_endpoints_visible_to(actor) -> QuerySet[WebhookEndpoint]:
    if is_partner_system(actor) or not actor.has_role(Role.ORG_ADMIN):
        return WebhookEndpoint.objects.none()
    return WebhookEndpoint.objects.filter(organisation_id=actor.organisation.pk)


def deliveries_of(endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """An endpoint's delivery log, newest first, with each attempt (for an endpoint the actor reached)."""
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("at", "id")))
    )
