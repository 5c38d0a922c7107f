"""Output shapes of the audit API: entries of the trail and the chain verdict."""

from __future__ import annotations

from rest_framework import serializers

from coalition.api.representation import CompiledRepresentation

from ..models import AuditEntry


class AuditEntrySerializer(CompiledRepresentation, serializers.ModelSerializer):
    """One entry of the trail, with the hashes that chain it (ids and codes only)."""

    class Meta:
        model = AuditEntry
        fields = [
            "seq", "at", "action", "actor_user", "actor_api_key", "organisation", "object_type", "object_id",
            "case", "request_id", "detail", "prev_hash", "hash",
        ]
        read_only_fields = fields


class ChainVerdictSerializer(serializers.Serializer):
    intact = serializers.BooleanField(help_text="True when every entry's hash and link check out.")
    entries = serializers.IntegerField(help_text="Entries verified before the first break (all of them when intact).")
    first_broken_seq = serializers.IntegerField(allow_null=True, help_text="Sequence number of the first broken entry.")
    problem = serializers.CharField(allow_blank=True, help_text="What is wrong there; empty when intact.")
