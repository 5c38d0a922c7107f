"""Coalition-wide records that belong to no single app."""

from django.db import models
from django.utils import timezone

from partners.models import Organisation


class IdempotencyRecord(models.Model):
    """The first response to a POST with an ``Idempotency-Key``, kept per organisation."""

    id = models.BigAutoField(primary_key=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_digest = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "key"], name="one_record_per_key_and_org")]
        indexes = [models.Index(fields=["created_at"])]
