"""Coalition-wide records that belong to no single app."""

from django.db import models
from django.utils import timezone


class IdempotencyRecord(models.Model):
    """What the first answer to a POST with an ``Idempotency-Key`` was about, kept per principal.

    ``principal`` is the person (``user:<id>``) or the API key (``api_key:<id>``) that
    sent it, never the organisation: a colleague's replay is a fresh request. No body is
    kept: the status, the ETag and Location headers, the resource (model label and id) and
    its case; a replay re-renders the resource for whoever asks now. ``replayable`` is
    false where the answer cannot be re-rendered or held a secret shown once
    (``held_secret``): a replay is then refused, and nothing runs twice.
    """

    id = models.BigAutoField(primary_key=True)
    principal = models.CharField(max_length=60)
    key = models.CharField(max_length=255)
    request_digest = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_headers = models.JSONField(default=dict)
    resource_type = models.CharField(max_length=100, blank=True)
    resource_id = models.CharField(max_length=64, blank=True)
    case_id = models.UUIDField(null=True, db_index=True)
    replayable = models.BooleanField(default=True)
    held_secret = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="one_record_per_key_and_principal")]
        indexes = [models.Index(fields=["created_at"])]
