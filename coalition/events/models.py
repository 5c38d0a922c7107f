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

from partners.models import Organisation


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

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["type", "seq"], name="event_type_seq")]


class EventAudience(models.Model):
    """One organisation that may read an event: the feed's index (organisation, seq)."""

    id = models.BigAutoField(primary_key=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="audience")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "event"], name="one_audience_row_per_org")]
