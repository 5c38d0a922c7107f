"""Notifications: one row per person and event, with the codes and ids a text needs, never the child's data."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .choices import MailDelivery, NotificationKind


class Notification(models.Model):
    """That something needs ``user``: a new referral, an answer, a message, a deadline, an exception, a match.

    It keeps codes and ids only (the kind, the other organisation, the urgency, a
    deadline, the referral's and case's ids for the link), so no text made from it
    can carry anything about the young person. ``mail_delivery`` says how its mail
    goes (at once through ``mail``, or in the next daily digest at ``digested_at``, then
    ``mail`` is that digest; one read before its digest has none); empty: no mail (the
    person has no address).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=25, choices=NotificationKind.choices)
    event = models.ForeignKey("events.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    referral = models.UUIDField(null=True, blank=True)
    case = models.UUIDField(null=True, blank=True)
    exception = models.UUIDField(null=True, blank=True)  # a legal-basis exception to review
    match = models.UUIDField(null=True, blank=True)  # a cross-organisation match (referrals.models.Match)
    consultation = models.UUIDField(null=True, blank=True)  # a consultation before referral
    # The other organisation of the notification (the sender of a new referral, the recipient that answered ...).
    organisation = models.ForeignKey("partners.Organisation", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    urgency = models.CharField(max_length=10, blank=True)
    status = models.CharField(max_length=15, blank=True)
    deadline = models.CharField(max_length=12, blank=True)  # acknowledge or decide, for overdue and escalation
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    mail_delivery = models.CharField(max_length=10, choices=MailDelivery.choices, blank=True)
    mail = models.ForeignKey("mail.OutboundMail", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    digested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "event", "kind"], name="one_notification_per_person_and_event",
                                    condition=Q(event__isnull=False)),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at", "-id"], name="notification_list"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"),
            models.Index(fields=["mail_delivery"], condition=Q(mail_delivery=MailDelivery.DIGEST, digested_at__isnull=True),
                         name="notification_digest_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"


class NotificationPreferences(models.Model):
    """How one person wants mail: per kind at once or in a daily digest at ``digest_hour`` in ``time_zone``.

    No row: every kind at once. ``last_digest_on`` (the person's local date) keeps the
    digest to one a day, even if the job runs twice or a worker dies after sending.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="notification_preferences")
    mail = models.JSONField(default=dict, blank=True)  # {kind: "immediate" | "digest"}; missing: immediate
    digest_hour = models.PositiveSmallIntegerField(default=8)
    time_zone = models.CharField(max_length=64, default="Europe/Brussels")
    last_digest_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"notification preferences of {self.user_id}"

    def delivery_for(self, kind: str) -> str:
        return self.mail.get(kind, MailDelivery.IMMEDIATE)


class OnCallAlert(models.Model):
    """An ``immediate`` referral mailed at once to its recipient's on-call address (``Organisation.on_call_email``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey("partners.Organisation", on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey("events.Event", null=True, on_delete=models.SET_NULL, related_name="+")
    referral = models.UUIDField()
    address = models.EmailField(max_length=254)
    mail = models.ForeignKey("mail.OutboundMail", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "event"], name="one_on_call_alert_per_event")]

    def __str__(self) -> str:
        return f"on-call alert for {self.organisation_id}"


class Escalation(models.Model):
    """A missed deadline to tell the coordinators of if the referral is still late after the same span again.

    Made with the overdue notice's notifications; settled once by the job: ``escalated``
    if it was still late at ``escalate_at`` (the coordinators are told), else not.
    """

    id = models.BigAutoField(primary_key=True)
    event = models.OneToOneField("events.Event", on_delete=models.CASCADE, related_name="+")
    referral = models.UUIDField()
    deadline = models.CharField(max_length=12)
    due_at = models.DateTimeField()
    escalate_at = models.DateTimeField()
    settled_at = models.DateTimeField(null=True, blank=True)
    escalated = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["escalate_at"], condition=Q(settled_at__isnull=True), name="escalation_due")]

    def __str__(self) -> str:
        return f"escalation of {self.referral} ({self.deadline})"
