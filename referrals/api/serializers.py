"""Input and output shapes of cases, consents and referrals. Every field is explicit.

Output serializers take the actor in their context and leave out what it may
not see: the subject unless its organisation is involved, free text unless it
is a party that still needs it (see ``referrals.selectors``). Their
``allowed_actions`` are what ``referrals.actions`` allows the actor now, the rule
the services enforce.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from coalition.api.fields import ScopedPrimaryKeyRelatedField
from coalition.api.representation import CompiledRepresentation
from coalition.core.actors import Actor
from partners.api.serializers import RegionField, UniqueListField
from partners.choices import Language, Phenomenon
from partners.selectors import organisations_visible_to

from .. import actions, selectors
from ..choices import (
    AGE_BANDS,
    CaseOutcome,
    ConsentGiver,
    ConsentMethod,
    ConsentPurpose,
    DeclineReason,
    Gender,
    LegalBasis,
    ReferralKind,
    ReferralOutcome,
    RequestedService,
    Signal,
    Urgency,
    age_band,
)
from ..models import Case, Consent, Involvement, Referral, ReferralMessage, Subject

ALLOWED_ACTIONS_HELP = _(
    "The actions you may take on it now, decided by the rules its action routes apply. A listed action may still "
    "be refused for what you send (422), such as a consent that does not cover the recipient."
)

# --- subject and case ------------------------------------------------------------------------


class SubjectSerializer(serializers.Serializer):
    """The young person's identity. Only involved organisations ever receive it."""

    given_name = serializers.CharField(max_length=100)
    family_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    birth_year = serializers.IntegerField(required=False, allow_null=True, min_value=1990, max_value=2100)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=Language.choices, required=False, allow_blank=True)
    municipality = serializers.CharField(max_length=100, required=False, allow_blank=True)
    safe_contact = serializers.CharField(
        max_length=500, required=False, allow_blank=True,
        help_text=_("How to reach the young person safely, e.g. which phone never to call."),
    )
    guardian_contact = serializers.CharField(max_length=300, required=False, allow_blank=True)

    def validate(self, attrs):
        born = attrs.get("date_of_birth")
        if born and born > timezone.now().date():
            raise serializers.ValidationError({"date_of_birth": [_("Must not be in the future.")]})
        if born and attrs.get("birth_year") and attrs["birth_year"] != born.year:
            raise serializers.ValidationError({"birth_year": [_("Does not match the date of birth.")]})
        if attrs.get("birth_year") and attrs["birth_year"] > timezone.now().year:
            raise serializers.ValidationError({"birth_year": [_("Must not be in the future.")]})
        return attrs

    def to_representation(self, subject: Subject):
        return {
            "given_name": subject.given_name,
            "family_name": subject.family_name,
            "date_of_birth": subject.date_of_birth or None,
            "birth_year": int(subject.birth_year) if subject.birth_year else None,
            "gender": subject.gender,
            "language": subject.language,
            "municipality": subject.municipality,
            "safe_contact": subject.safe_contact,
            "guardian_contact": subject.guardian_contact,
        }


class CaseListSerializer(serializers.ListSerializer):
    """A page of cases: the subjects shown on it are taken (and audited) in one go."""

    def to_representation(self, data):
        cases = list(data.all() if hasattr(data, "all") else data)
        _mark_shown_subjects(self.context["actor"], cases)
        return super().to_representation(cases)


def _mark_shown_subjects(actor: Actor, cases: list[Case]) -> None:
    shown = selectors.subjects_shown_to(actor, cases)
    for case in cases:
        case.shown_subject = shown.get(case.pk)


class CaseSerializer(CompiledRepresentation, serializers.ModelSerializer):
    """A case as the actor may see it: ``subject`` is null unless its organisation is involved.

    The subject comes only from ``selectors.subjects_shown_to``, which audits it: every
    response that carries a case, whatever the route, leaves one ``subject.read`` per
    subject it shows (a page: one insert for the page).
    """

    phenomena = serializers.ListField(child=serializers.ChoiceField(choices=Phenomenon.choices))
    lead_organisation = serializers.UUIDField(source="lead_organisation_id")
    outcome = serializers.SerializerMethodField()
    subject = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = [
            "id", "status", "lead_organisation", "phenomena", "region", "opened_at", "closed_at", "outcome", "version",
            "subject", "allowed_actions",
        ]
        read_only_fields = fields
        list_serializer_class = CaseListSerializer

    def to_representation(self, case):
        if not isinstance(self.parent, CaseListSerializer):  # one case: its own read
            _mark_shown_subjects(self.context["actor"], [case])
        return super().to_representation(case)

    @extend_schema_field(serializers.ChoiceField(choices=CaseOutcome.choices, allow_null=True))
    def get_outcome(self, case):
        return case.outcome or None

    @extend_schema_field(SubjectSerializer(allow_null=True))
    def get_subject(self, case):
        subject = getattr(case, "shown_subject", None)
        return None if subject is None else SubjectSerializer().to_representation(subject)

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=actions.CASE_ACTIONS), help_text=ALLOWED_ACTIONS_HELP)
    )
    def get_allowed_actions(self, case) -> list[str]:
        # The involvement comes from the annotation of selectors.cases_visible_to (no query per row).
        return selectors.case_allowed_actions(self.context["actor"], case)


class CaseCreateSerializer(serializers.Serializer):
    subject = SubjectSerializer()
    phenomena = UniqueListField(child=serializers.ChoiceField(choices=Phenomenon.choices), min_length=1, max_length=10)
    region = RegionField(required=False, allow_blank=True)


class CaseUpdateSerializer(serializers.Serializer):
    subject = SubjectSerializer(required=False, partial=True)
    phenomena = UniqueListField(child=serializers.ChoiceField(choices=Phenomenon.choices), min_length=1, max_length=10, required=False)
    region = RegionField(required=False, allow_blank=True)


class CaseCloseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=CaseOutcome.choices)


class InvolvementSerializer(serializers.ModelSerializer):
    organisation = serializers.UUIDField(source="organisation_id")
    referral = serializers.UUIDField(source="referral_id", allow_null=True)

    class Meta:
        model = Involvement
        fields = ["organisation", "role", "started_at", "ended_at", "referral"]
        read_only_fields = fields


class TimelineSerializer(serializers.Serializer):
    """Custody: the lead organisations in order, with the referral that moved the lead."""

    case = serializers.UUIDField()
    lead_organisation = serializers.UUIDField()
    custody = InvolvementSerializer(many=True)
    involvements = InvolvementSerializer(many=True)


# --- consent ---------------------------------------------------------------------------------


class ConsentSerializer(serializers.ModelSerializer):
    # No docstring: it would become the schema's description. Its ``allowed_actions`` need the
    # actor and the consent's case (read through cases_visible_to) in the context.
    case = serializers.UUIDField(source="case_id")
    purposes = serializers.ListField(child=serializers.ChoiceField(choices=ConsentPurpose.choices))
    recipients = serializers.ListField(child=serializers.UUIDField())
    recorded_by_organisation = serializers.UUIDField(source="recorded_by_organisation_id")
    given_by = serializers.ChoiceField(choices=ConsentGiver.choices)
    method = serializers.ChoiceField(choices=ConsentMethod.choices)
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = Consent
        fields = [
            "id", "case", "given_by", "method", "purposes", "recipients", "valid_from", "valid_until",
            "withdrawn_at", "recorded_by_organisation", "created_at", "allowed_actions",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=actions.CONSENT_ACTIONS), help_text=ALLOWED_ACTIONS_HELP)
    )
    def get_allowed_actions(self, consent) -> list[str]:
        return selectors.consent_allowed_actions(self.context["actor"], consent, self.context["case"])


class ConsentCreateSerializer(serializers.Serializer):
    given_by = serializers.ChoiceField(choices=ConsentGiver.choices)
    method = serializers.ChoiceField(choices=ConsentMethod.choices)
    purposes = UniqueListField(child=serializers.ChoiceField(choices=ConsentPurpose.choices), min_length=1)
    recipients = UniqueListField(
        child=serializers.UUIDField(), required=False, max_length=50,
        help_text=_("Organisations the consent covers; empty means any active member."),
    )
    valid_from = serializers.DateField(required=False)
    valid_until = serializers.DateField(required=False, allow_null=True)

    def validate_recipients(self, value):
        known = set(organisations_visible_to(self.context["actor"]).filter(pk__in=value).values_list("pk", flat=True))
        unknown = [str(v) for v in value if v not in known]
        if unknown:
            raise serializers.ValidationError(_("Unknown organisation."))
        return value

    def validate(self, attrs):
        attrs.setdefault("valid_from", timezone.now().date())
        if attrs.get("valid_until") and attrs["valid_until"] < attrs["valid_from"]:
            raise serializers.ValidationError({"valid_until": [_("Must not be before valid_from.")]})
        return attrs


# --- referrals -------------------------------------------------------------------------------


class LegalBasisSerializer(serializers.Serializer):
    basis = serializers.ChoiceField(choices=LegalBasis.choices)
    justification = serializers.CharField(min_length=20, max_length=2000, allow_null=True)


FREE_TEXT_FIELDS = ("reason", "decline_reason")
# The age bands a coordinator sees instead of an age (referrals and consultations alike).
AGE_BAND_CHOICES = [band for band, _low, _high in AGE_BANDS]
# Exact triage details that a coordinator does not get (age_band stays).
TRIAGE_DETAIL_FIELDS = ("age", "gender", "language")


class ReferralListSerializer(serializers.ListSerializer):
    """A page of referrals: the actor's involvement and its cases' states are read in one query."""

    def to_representation(self, data):
        referrals = list(data.all() if hasattr(data, "all") else data)
        selectors.mark_referral_page(self.context["actor"], referrals)
        return super().to_representation(referrals)


class ReferralSerializer(CompiledRepresentation, serializers.ModelSerializer):
    """A referral as the actor may see it: free text is null for those who may not read it."""

    case = serializers.UUIDField(source="case_id")
    sender = serializers.UUIDField(source="sender_id")
    recipient = serializers.UUIDField(source="recipient_id")
    consent = serializers.UUIDField(source="consent_id", allow_null=True)
    rerouted_from = serializers.UUIDField(source="rerouted_from_id", allow_null=True)
    phenomenon = serializers.ChoiceField(choices=Phenomenon.choices)
    signals = serializers.ListField(child=serializers.ChoiceField(choices=Signal.choices))
    reason = serializers.CharField(allow_null=True)
    decline_reason = serializers.CharField(allow_null=True)
    age = serializers.IntegerField(allow_null=True, help_text=_("Null for coordinators, who see age_band."))
    age_band = serializers.SerializerMethodField()
    gender = serializers.ChoiceField(
        choices=Gender.choices, allow_blank=True, allow_null=True, help_text=_("Null for coordinators.")
    )
    language = serializers.ChoiceField(
        choices=Language.choices, allow_blank=True, allow_null=True, help_text=_("Null for coordinators.")
    )
    legal_basis = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()
    decline_reason_code = serializers.SerializerMethodField()
    outcome_code = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()

    class Meta:
        model = Referral
        fields = [
            "id", "case", "sender", "recipient", "kind", "status", "phenomenon", "urgency", "requested_service",
            "reason", "signals", "consent", "legal_basis", "age", "age_band", "gender", "region", "language",
            "acknowledge_due", "decide_due", "overdue", "decline_reason_code", "decline_reason", "outcome_code",
            "rerouted_from", "created_at", "sent_at", "acknowledged_at", "accepted_at", "declined_at",
            "withdrawn_at", "completed_at", "version", "allowed_actions",
        ]
        read_only_fields = fields
        list_serializer_class = ReferralListSerializer

    def to_representation(self, referral):
        data = super().to_representation(referral)
        if not selectors.free_text_visible(self.context["actor"], referral):
            for name in FREE_TEXT_FIELDS:
                data[name] = None
            if data["legal_basis"]:
                data["legal_basis"]["justification"] = None
        if not selectors.triage_details_visible(self.context["actor"], referral):
            for name in TRIAGE_DETAIL_FIELDS:
                data[name] = None
        return data

    @extend_schema_field(serializers.ChoiceField(choices=AGE_BAND_CHOICES, allow_null=True))
    def get_age_band(self, referral):
        return age_band(referral.age)

    @extend_schema_field(LegalBasisSerializer(allow_null=True))
    def get_legal_basis(self, referral):
        if not referral.legal_basis:
            return None
        # A draft may name its basis before its justification: none yet reads as null.
        return {"basis": referral.legal_basis, "justification": referral.legal_basis_justification or None}

    @extend_schema_field(serializers.BooleanField())
    def get_overdue(self, referral) -> bool:
        return referral.is_overdue()

    @extend_schema_field(serializers.ChoiceField(choices=DeclineReason.choices, allow_null=True))
    def get_decline_reason_code(self, referral):
        return referral.decline_reason_code or None

    @extend_schema_field(serializers.ChoiceField(choices=ReferralOutcome.choices, allow_null=True))
    def get_outcome_code(self, referral):
        return referral.outcome_code or None

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=actions.REFERRAL_ACTIONS), help_text=ALLOWED_ACTIONS_HELP)
    )
    def get_allowed_actions(self, referral) -> list[str]:
        # A page's case states are marked in one query (ReferralListSerializer); one referral's are joined in.
        return selectors.referral_allowed_actions(self.context["actor"], referral)


class ReferralWriteSerializer(serializers.Serializer):
    """Fields of a draft. Ids are resolved through the actor's scope by the view."""

    # The docstring above is the schema's description of the body (api_docs/openapi.yaml):
    # it stays as published. How: the view gives the actor in the context, and these fields
    # resolve each id through it into what the services take: the recipient among the
    # coalition's organisations, the referral it re-routes among those the actor sees, the
    # consent (in ``validate``) among the consents of the referral's case. An id outside the
    # scope reads like an unknown one.

    recipient = ScopedPrimaryKeyRelatedField(scope=organisations_visible_to, unknown=_("Unknown organisation."))
    kind = serializers.ChoiceField(choices=ReferralKind.choices)
    phenomenon = serializers.ChoiceField(choices=Phenomenon.choices)
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    requested_service = serializers.ChoiceField(choices=RequestedService.choices)
    reason = serializers.CharField(
        max_length=settings.REFERRAL_REASON_MAX_LENGTH, required=False, allow_blank=True,
        help_text=_("Why this recipient, in a few sentences. Leave out what the recipient does not need."),
    )
    signals = UniqueListField(child=serializers.ChoiceField(choices=Signal.choices), required=False)
    consent = serializers.UUIDField(required=False, allow_null=True)
    legal_basis = LegalBasisSerializer(required=False, allow_null=True)
    age = serializers.IntegerField(min_value=0, max_value=25, required=False, allow_null=True)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True)
    region = RegionField(required=False, allow_blank=True)
    language = serializers.ChoiceField(choices=Language.choices, required=False, allow_blank=True)
    rerouted_from = ScopedPrimaryKeyRelatedField(
        scope=selectors.referrals_visible_to, unknown=_("No such referral."), required=False, allow_null=True
    )

    def referral_case(self, attrs) -> Case:
        """The case the referral is (or will be) in: its consent must be one of this case's.

        A draft's own case, named by the view in the context; a new referral's is in its body.
        """
        return self.context["case"]

    def validate(self, attrs):
        values = dict(attrs)
        if values.get("consent") is not None:
            # The consent's scope is the referral's case, known once the other fields are valid.
            consents = selectors.consents_visible_to(self.context["actor"], self.referral_case(values))
            values["consent"] = consents.filter(pk=values["consent"]).first()
            if values["consent"] is None:
                raise serializers.ValidationError({"consent": [_("No such consent in this case.")]})
        if "legal_basis" in values:
            basis = values["legal_basis"] or {}
            values["legal_basis"] = basis.get("basis", "")
            values["legal_basis_justification"] = basis.get("justification") or ""
        for name in ("reason", "gender", "region", "language"):
            if name in values and values[name] is None:
                values[name] = ""
        return values


class ReferralCreateSerializer(ReferralWriteSerializer):
    case = ScopedPrimaryKeyRelatedField(scope=selectors.cases_visible_to, unknown=_("No such case."))

    def referral_case(self, attrs) -> Case:
        return attrs["case"]


class ReferralUpdateSerializer(ReferralWriteSerializer):
    pass


class DeclineSerializer(serializers.Serializer):
    reason_code = serializers.ChoiceField(choices=DeclineReason.choices)
    reason = serializers.CharField(max_length=settings.REFERRAL_REASON_MAX_LENGTH)


class CompleteSerializer(serializers.Serializer):
    outcome_code = serializers.ChoiceField(choices=ReferralOutcome.choices)


class MessageSerializer(serializers.ModelSerializer):
    referral = serializers.UUIDField(source="referral_id")
    organisation = serializers.UUIDField(source="organisation_id")

    class Meta:
        model = ReferralMessage
        fields = ["id", "referral", "organisation", "body", "created_at"]
        read_only_fields = fields


class MessageCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=settings.MESSAGE_MAX_LENGTH)
