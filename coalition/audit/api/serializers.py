"""Output shapes of the audit API: entries, the chain verdict, legal holds, subject export."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from coalition.api.representation import CompiledRepresentation
from partners.models import Organisation
from referrals.api.serializers import ConsentSerializer, InvolvementSerializer, SubjectSerializer
from referrals.choices import CaseOutcome, DeclineReason, LegalBasis, LegalHoldReason, ReferralOutcome
from referrals.models import Case, LegalBasisException, Referral, ReferralMessage

from .. import retention
from ..models import AuditEntry


class CodeField(serializers.ChoiceField):
    """A code of a code list, null when not set (stored as an empty string)."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, **kwargs)

    def to_representation(self, value):
        return value or None


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


class LegalHoldSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=LegalHoldReason.choices)


class RetentionStatusSerializer(serializers.ModelSerializer):
    """A case as its retention sees it: no identity, no free text."""

    outcome = CodeField(choices=CaseOutcome.choices)
    legal_hold_reason = CodeField(choices=LegalHoldReason.choices)
    purge_due_at = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id", "status", "closed_at", "outcome", "legal_hold", "legal_hold_since", "legal_hold_reason",
            "purged_at", "purge_due_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_purge_due_at(self, case):
        due = retention.purge_due_at(case)
        return None if due is None else serializers.DateTimeField().to_representation(due)


# --- subject-access export ---------------------------------------------------------------------


class ExportOrganisationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "slug", "name", "kind", "country"]
        read_only_fields = fields


class ExportCaseSerializer(serializers.ModelSerializer):
    lead_organisation = serializers.UUIDField(source="lead_organisation_id")
    opened_by_organisation = serializers.UUIDField(source="opened_by_organisation_id")
    phenomena = serializers.ListField(child=serializers.CharField())
    outcome = CodeField(choices=CaseOutcome.choices)
    legal_hold_reason = CodeField(choices=LegalHoldReason.choices)

    class Meta:
        model = Case
        fields = [
            "id", "status", "lead_organisation", "opened_by_organisation", "phenomena", "region", "opened_at",
            "closed_at", "outcome", "legal_hold", "legal_hold_since", "legal_hold_reason", "purged_at",
        ]
        read_only_fields = fields


class ExportMessageSerializer(serializers.ModelSerializer):
    organisation = serializers.UUIDField(source="organisation_id")

    class Meta:
        model = ReferralMessage
        fields = ["id", "organisation", "body", "created_at"]
        read_only_fields = fields


class ExportReferralSerializer(serializers.ModelSerializer):
    """A referral with its free text (empty once erased) and messages."""

    sender = serializers.UUIDField(source="sender_id")
    recipient = serializers.UUIDField(source="recipient_id")
    consent = serializers.UUIDField(source="consent_id", allow_null=True)
    rerouted_from = serializers.UUIDField(source="rerouted_from_id", allow_null=True)
    signals = serializers.ListField(child=serializers.CharField())
    legal_basis = CodeField(choices=LegalBasis.choices)
    decline_reason_code = CodeField(choices=DeclineReason.choices)
    outcome_code = CodeField(choices=ReferralOutcome.choices)
    messages = ExportMessageSerializer(many=True)

    class Meta:
        model = Referral
        fields = [
            "id", "sender", "recipient", "kind", "status", "phenomenon", "urgency", "requested_service", "reason",
            "signals", "consent", "legal_basis", "legal_basis_justification", "age", "gender", "region", "language",
            "decline_reason_code", "decline_reason", "outcome_code", "rerouted_from", "created_at", "sent_at",
            "acknowledged_at", "accepted_at", "declined_at", "withdrawn_at", "completed_at", "messages",
        ]
        read_only_fields = fields


class ExportExceptionSerializer(serializers.ModelSerializer):
    referral = serializers.UUIDField(source="referral_id")
    organisation = serializers.UUIDField(source="organisation_id")
    reviewed_by = serializers.UUIDField(source="reviewed_by_id", allow_null=True)

    class Meta:
        model = LegalBasisException
        fields = [
            "id", "referral", "organisation", "basis", "justification", "created_at", "review_status", "reviewed_by",
            "reviewed_at", "review_note",
        ]
        read_only_fields = fields


class SubjectExportSerializer(serializers.Serializer):
    """Everything the network holds about the young person of one case (GDPR art. 15)."""

    exported_at = serializers.DateTimeField()
    case = serializers.UUIDField(source="case.pk", help_text="The case whose subject this is.")
    case_record = ExportCaseSerializer(source="case", help_text="The case's metadata, legal hold and erasure time.")
    subject = SubjectSerializer(allow_null=True, help_text="The identity; null once purged or erased.")
    organisations = ExportOrganisationSerializer(many=True, help_text="Every organisation named below.")
    involvements = InvolvementSerializer(many=True, help_text="Who held or supported the case, and when (custody).")
    consents = ConsentSerializer(many=True)
    referrals = ExportReferralSerializer(many=True)
    exceptions = ExportExceptionSerializer(many=True, help_text="Sharing without consent, with its justification.")
    audit_entries = AuditEntrySerializer(many=True, help_text="Who did or read what about the case, this export included.")
