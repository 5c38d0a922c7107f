"""The event outbox: thin, immutable records of what happened, for partner systems.

An event carries its type, time and the ids of the case, referral and
organisations it concerns, never personal data; partners fetch details with
their own credentials. Its ``seq`` is the feed's cursor: events are written
under the audit chain's lock, so ``seq`` order is commit order and a reader
resuming after a ``seq`` never skips an event committed later with a smaller one.
"""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coalition.core.authorship import CreatedBy
from coalition.core.crypto import EncryptedTextField


class Event(models.Model):
    """Something that happened, fed to the organisations party to it (and to coordinators)."""

    seq = models.BigAutoField(primary_key=True)
    id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=40)
    occurred_at = models.DateTimeField(default=timezone.now)
    case = models.UUIDField(null=True, blank=True)
    referral = models.UUIDField(null=True, blank=True)
    organisations = models.JSONField(default=list)  # ids of the parties, as strings
    data = models.JSONField(default=dict, blank=True)  # codes only (a status, an urgency)
    # About a referral draft that was never sent (e.g. its withdrawal): its sender's own
    # business, never in the coordinators' feed. A database default too, for bulk loads.
    draft = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["type", "seq"], name="event_type_seq")]


class EventAudience(models.Model):
    """One organisation that may read an event: the feed's index (organisation, seq)."""

    id = models.BigAutoField(primary_key=True)
    organisation = models.ForeignKey("partners.Organisation", on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="audience")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "event"], name="one_audience_row_per_org")]


class WebhookEndpoint(CreatedBy):
    """Where an organisation wants its events pushed, signed with a secret only it knows.

    The secret (``whsec_...``, Standard Webhooks format) is stored encrypted and shown
    once. After a rotation the previous secret keeps signing alongside the new one
    until ``previous_secret_expires_at``, so the receiver can switch without a gap.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("partners.Organisation", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, blank=True)  # empty: every type
    active = models.BooleanField(default=True)
    # "gone" when the receiver answered 410; cleared when an admin re-activates it.
    disabled_reason = models.CharField(max_length=20, blank=True)
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "active"])]

    def subscribes_to(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types

    def signing_secrets(self, now=None) -> list[str]:
        """The secrets that sign a delivery now: the current one, and the previous during the overlap."""
        now = now or timezone.now()
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            secrets.append(self.previous_secret)
        return secrets


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    DISABLED = "disabled", _("Endpoint disabled")


class WebhookDelivery(models.Model):
    """One event to one endpoint: the source of truth for at-least-once delivery.

    A pending delivery is due at ``next_attempt_at``; a worker sending it holds a lease
    (``locked_until``). A worker killed mid-delivery leaves the lease to expire, and the
    periodic sweep re-enqueues it, so no delivery is lost whatever the task queue does.
    The ``webhook-id`` header is the event id, the same on every attempt, so receivers dedupe.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Failed attempts since the delivery was created or last redelivered: the place in the retry schedule.
    failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="one_delivery_per_endpoint_event")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["endpoint", "-created_at", "-id"]),
        ]


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery: status code, duration and error class, never bodies."""

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=40, blank=True)  # a class: timeout, connect_error, refused_target...
    manual = models.BooleanField(default=False)  # the first attempt after a manual redelivery

    class Meta:
        ordering = ["at", "id"]


class OverdueNotice(models.Model):
    """That ``referral.overdue`` fired for a referral's deadline: once, even with several workers."""

    id = models.BigAutoField(primary_key=True)
    referral = models.UUIDField()
    deadline = models.CharField(max_length=12)  # acknowledge or decide
    due_at = models.DateTimeField()
    event = models.ForeignKey(Event, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["referral", "deadline"], name="one_overdue_notice_per_deadline")]


class PeriodicJob(models.Model):
    """When a periodic job last ran: the row is locked to claim a run, so several workers don't double-run."""

    name = models.CharField(max_length=40, primary_key=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
