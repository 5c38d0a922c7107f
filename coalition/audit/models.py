"""The audit trail: an append-only, hash-chained record of who did or read what.

Entries hold ids and codes, never personal data: who (user or API key, and
organisation), what (an action code), on what (object type and id, and the case
it concerns), when, and the request id. The database refuses UPDATE and DELETE on
the entries table, and TRUNCATE on PostgreSQL (triggers, see the migrations); ``AuditChainHead`` holds the last
sequence number and hash, and its row lock serialises appends so that the chain
has no gaps and no forks.
"""

from django.db import models


class AuditEntry(models.Model):
    """One audited action. ``hash`` = SHA-256 of ``prev_hash`` and this entry's canonical fields."""

    seq = models.BigIntegerField(primary_key=True)  # 1, 2, 3… without gaps
    at = models.DateTimeField()
    action = models.CharField(max_length=60)
    actor_user = models.UUIDField(null=True, blank=True)
    actor_api_key = models.UUIDField(null=True, blank=True)
    organisation = models.UUIDField(null=True, blank=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    case = models.UUIDField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["seq"]
        indexes = [
            models.Index(fields=["object_id", "seq"], name="audit_object_seq"),  # search by object: newest first
            models.Index(fields=["case", "seq"], name="audit_case"),
            models.Index(fields=["actor_user", "seq"], name="audit_actor_user"),
            models.Index(fields=["actor_api_key", "seq"], name="audit_actor_api_key"),
            models.Index(fields=["organisation", "seq"], name="audit_organisation"),
            models.Index(fields=["action", "seq"], name="audit_action"),
            models.Index(fields=["at"], name="audit_at"),
        ]


class AuditChainHead(models.Model):
    """The chain's last sequence number and hash (one row). Locked by every append.

    ``signature`` is HMAC-SHA256 of (last_seq, last_hash) under ``AUDIT_HEAD_KEY``, a key
    that is not in the database, written in the same statement as the head: someone who
    can write the database may rehash the entries and the head, but cannot sign it.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)
    signature = models.CharField(max_length=64, blank=True, default="")
