"""Output shapes of the auditor's case API: legal holds, retention status, subject export."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from coalition.audit.api.serializers import AuditEntrySerializer
from partners.models import Organisation

from .. import retention
from ..choices import CaseOutcome, DeclineReason, LegalBasis, LegalHoldReason, ReferralOutcome
from ..models import Case, LegalBasisException, Referral, ReferralMessage
from .serializers import ConsentSerializer, InvolvementSerializer, SubjectSerializer


class CodeField(serializers.ChoiceField):
    """A code of a code list, null when not set (stored as an empty string)."""

    def __init__(self, **kwargs):
        super().__init__(allow_null=True, **kwargs)

    def to_representation(self, value):
        return value or None


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


class ExportConsentSerializer(ConsentSerializer):
    """A consent as recorded, for the export: what anyone may do with it now is not part of the record."""

    allowed_actions = None  # type: ignore[assignment]

    class Meta(ConsentSerializer.Meta):
        fields = [name for name in ConsentSerializer.Meta.fields if name != "allowed_actions"]
        read_only_fields = fields


class SubjectExportSerializer(serializers.Serializer):
    """Everything the network holds about the young person of one case (GDPR art. 15)."""

    exported_at = serializers.DateTimeField()
    case = serializers.UUIDField(source="case.pk", help_text="The case whose subject this is.")
    case_record = ExportCaseSerializer(source="case", help_text="The case's metadata, legal hold and erasure time.")
    subject = SubjectSerializer(allow_null=True, help_text="The identity; null once purged or erased.")
    organisations = ExportOrganisationSerializer(many=True, help_text="Every organisation named below.")
    involvements = InvolvementSerializer(many=True, help_text="Who held or supported the case, and when (custody).")
    consents = ExportConsentSerializer(many=True)
    referrals = ExportReferralSerializer(many=True)
    exceptions = ExportExceptionSerializer(many=True, help_text="Sharing without consent, with its justification.")
    audit_entries = AuditEntrySerializer(many=True, help_text="Who did or read what about the case, this export included.")
