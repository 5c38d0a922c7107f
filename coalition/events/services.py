"""Writing events, in the caller's transaction (the transactional outbox).

A rolled-back action leaves no event. ``emit`` takes the audit chain's lock
first, so events are numbered in the order their transactions commit.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.audit.services import lock_chain, record
from coalition.core.actors import Actor
from coalition.core.errors import Conflict, InvalidField

from .models import DeliveryStatus, Event, EventAudience, WebhookDelivery, WebhookEndpoint
from .targets import TargetRefused, check_target

EVENT_TYPES = (
    "referral.sent",
    "referral.acknowledged",
    "referral.accepted",
    "referral.declined",
    "referral.withdrawn",
    "referral.completed",
    "referral.overdue",
    "referral.message_posted",
    "case.lead_transferred",
    "case.closed",
    "case.reopened",
    "case.erased",
    "case.purged",
    "consent.withdrawn",
    "exception.review_required",
    "exception.flagged",
    "match.found",
    "match.updated",
    "match.escalated",
    "consultation.asked",
    "consultation.answered",
    "consultation.withdrawn",
    "consultation.overdue",
    "organisation.capacity_changed",
)

# Called with each new event inside ``emit``'s transaction (its rows commit or roll back
# together): higher layers register here from ``AppConfig.ready()`` (the notifications).
EVENT_HOOKS: list[Callable[[Event], object]] = []


def register_event_hook(hook: Callable[[Event], object]) -> None:
    """Run ``hook(event)`` for every event, in the transaction that writes it; registering twice adds it once."""
    if hook not in EVENT_HOOKS:
        EVENT_HOOKS.append(hook)


def emit(
    *,
    type: str,
    organisations: Iterable[Any],
    case_id: Any = None,
    referral_id: Any = None,
    data: dict[str, Any] | None = None,
    draft: bool = False,
) -> Event:
    """Record that ``type`` happened, readable by ``organisations`` (and coordinators).

    ``data`` holds codes only (statuses, urgencies, deadlines), never personal data.
    ``draft``: the event is about a referral that was never sent; coordinators never
    read it (api_docs/guide.md, "Events").
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {type!r}.")
    parties = sorted({str(org) for org in organisations if org is not None})
    with transaction.atomic():
        lock_chain()
        event = Event.objects.create(
            type=type,
            occurred_at=timezone.now(),
            case=case_id,
            referral=referral_id,
            organisations=parties,
            data=data or {},
            draft=draft,
        )
        EventAudience.objects.bulk_create([EventAudience(event=event, organisation_id=org) for org in parties])
        from .webhooks import schedule_deliveries  # the webhooks module depends on events, not back

        schedule_deliveries(event)
        for hook in EVENT_HOOKS:
            hook(event)
    return event


# --- webhook endpoints (an org admin's, of its own organisation) --------------------------


@dataclass(frozen=True)
class NewSecret:
    endpoint: WebhookEndpoint
    secret: str


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _checked_url(url: str) -> str:
    try:
        check_target(url)
    except TargetRefused as refusal:
        raise InvalidField("url", refusal.message, code=refusal.code) from None
    return url


def _checked_event_types(event_types: Iterable[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise InvalidField("event_types", _("Unknown event type."))
    return sorted(set(event_types))


@transaction.atomic
def webhook_create(
    *, actor, url: str, event_types: Iterable[str] = (), active: bool = True, description: str = ""
) -> NewSecret:
    """Register an endpoint for the actor's organisation; its secret exists only in the return value."""
    secret = new_webhook_secret()
    endpoint = WebhookEndpoint.objects.create(
        organisation=actor.organisation,
        url=_checked_url(url),
        event_types=_checked_event_types(event_types),
        active=active,
        description=description,
        secret=secret,
        **WebhookEndpoint.by(actor),
    )
    record(action="webhook.create", actor=actor, obj=endpoint,
           detail={"event_types": endpoint.event_types, "active": endpoint.active})
    return NewSecret(endpoint=endpoint, secret=secret)


@transaction.atomic
def webhook_update(*, actor: Actor, endpoint: WebhookEndpoint, data: dict[str, Any]) -> WebhookEndpoint:
    """Change URL, description, subscribed types or the active flag; re-activating clears a 410's mark."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    changed = sorted(data)
    if "url" in data:
        endpoint.url = _checked_url(data["url"])
    if "event_types" in data:
        endpoint.event_types = _checked_event_types(data["event_types"])
    if "description" in data:
        endpoint.description = data["description"]
    if "active" in data:
        if data["active"] and not endpoint.active:
            endpoint.disabled_reason = ""
        endpoint.active = data["active"]
    endpoint.save()
    record(action="webhook.update", actor=actor, obj=endpoint, detail={"fields": changed, "active": endpoint.active})
    return endpoint


@transaction.atomic
def webhook_delete(*, actor: Actor, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint with its delivery log; pending deliveries are dropped."""
    record(action="webhook.delete", actor=actor, obj=endpoint)
    endpoint.delete()


@transaction.atomic
def webhook_rotate_secret(*, actor: Actor, endpoint: WebhookEndpoint) -> NewSecret:
    """A new secret; the current one keeps signing alongside it for ``WEBHOOK_SECRET_OVERLAP_HOURS``."""
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = new_webhook_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = timezone.now() + timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
    endpoint.secret = secret
    endpoint.save()
    record(action="webhook.rotate_secret", actor=actor, obj=endpoint,
           detail={"overlap_hours": settings.WEBHOOK_SECRET_OVERLAP_HOURS})
    return NewSecret(endpoint=endpoint, secret=secret)


@transaction.atomic
def webhook_redeliver(*, actor: Actor, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now, whatever its outcome so far, with a fresh retry schedule.

    The ``webhook-id`` stays the event id, so a receiver that already has it can ignore it.
    """
    from .webhooks import enqueue_delivery

    delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    if not delivery.endpoint.active:
        raise Conflict(_("This endpoint is not active: activate it first."))
    if delivery.locked_until is not None and delivery.locked_until > timezone.now():
        raise Conflict(_("This delivery is being sent right now."))
    delivery.status = DeliveryStatus.PENDING
    delivery.failures = 0
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "failures", "next_attempt_at"])
    record(action="webhook.redeliver", actor=actor, obj=delivery, organisation_id=delivery.endpoint.organisation_id,
           detail={"endpoint": str(delivery.endpoint_id)})
    enqueue_delivery(delivery)
    return delivery
