"""Reads on events and webhooks, always through the actor.

- The feed: a caseworker or a partner system (``events:read``) reads the events its
  organisation is party to (the ``EventAudience`` index); coordinators read every
  event (events are metadata only) except those of drafts that were never sent;
  nobody else reads any.
- Webhook endpoints and their delivery logs: org admins, their own organisation's only.
"""

from __future__ import annotations

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from coalition.core.access import Role
from coalition.core.actors import Actor

from .models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint


def events_visible_to(actor: Actor, *, after: int = 0) -> QuerySet[Event]:
    """Events the actor may read, after cursor ``after``.

    For an organisation the cursor bounds the audience row too (in the same
    ``filter()``, so on the same join): the (organisation, event) index is then
    range-scanned from ``after`` instead of read from the organisation's first event.
    """
    if actor.is_partner_system:
        return _events_of(actor.organisation.pk, after)
    if actor.has_role(Role.COORDINATOR):
        return Event.objects.filter(seq__gt=after, draft=False)
    if actor.has_role(Role.CASEWORKER):
        return _events_of(actor.organisation.pk, after)
    return Event.objects.none()


def _events_of(organisation_id, after: int) -> QuerySet[Event]:
    return Event.objects.filter(audience__organisation_id=organisation_id, audience__event_id__gt=after)


def events_after(actor: Actor, *, after: int, limit: int) -> list[Event]:
    """The next ``limit`` events after cursor ``after``, in commit order.

    The range scan walks the (organisation, event) index from ``after``, so a page
    costs the same however long the feed is.
    """
    return list(events_visible_to(actor, after=after).order_by("seq")[:limit])


def webhook_endpoints_visible_to(actor: Actor) -> QuerySet[WebhookEndpoint]:
    if actor.is_partner_system or not actor.has_role(Role.ORG_ADMIN):
        return WebhookEndpoint.objects.none()
    return WebhookEndpoint.objects.filter(organisation_id=actor.organisation.pk)


def with_last_delivery(endpoints: QuerySet[WebhookEndpoint]) -> QuerySet[WebhookEndpoint]:
    """``endpoints`` (from ``webhook_endpoints_visible_to``), each with its newest delivery's
    ``last_delivery_status`` and ``last_delivery_at`` (None when nothing was delivered yet), in one query."""
    newest = WebhookDelivery.objects.filter(endpoint=OuterRef("pk")).order_by("-created_at", "-id")
    return endpoints.annotate(
        last_delivery_status=Subquery(newest.values("status")[:1]),
        last_delivery_at=Subquery(newest.values("created_at")[:1]),
    )


def deliveries_of(endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    """An endpoint's delivery log, newest first, with each attempt (for an endpoint the actor reached)."""
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("at", "id")))
    )
