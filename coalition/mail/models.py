"""The outbox of mails: one row per mail, written in the transaction of the action that causes it."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coalition.core.crypto import EncryptedTextField


class MailStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboundMail(models.Model):
    """A mail to one address, sent by the worker at least once, retried with backoff.

    ``context`` holds only what may be kept (ids, names of organisations, a link's
    path); a one-time token goes in ``secret``, encrypted like identity fields, and is
    blanked as soon as the mail is sent or has failed for good. Nothing about a young
    person ever goes into a mail.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    to = models.EmailField(max_length=254)
    template = models.CharField(max_length=100)
    language = models.CharField(max_length=8, default="en")
    context = models.JSONField(default=dict, blank=True)
    secret = EncryptedTextField(blank=True, default="")
    status = models.CharField(max_length=10, choices=MailStatus.choices, default=MailStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=100, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="mail_due")]

    def __str__(self) -> str:
        return f"{self.template} ({self.status})"
