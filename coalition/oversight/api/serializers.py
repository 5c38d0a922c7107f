"""Output shapes of oversight and statistics: ids, codes, times and counts; never identity or free text.

Every field is named here explicitly, so a field added to a model later cannot leak
into these answers. The one piece of free text is a legal-basis exception's
justification, in the coordinators' review queue, because reviewing it is the point.
"""

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from coalition.api.representation import CompiledRepresentation
from partners.choices import MembershipStatus, Phenomenon
from referrals.choices import (
    CaseStatus,
    Deadline,
    ExceptionReview,
    MatchAction,
    MatchStatus,
    ReferralKind,
    ReferralStatus,
    Urgency,
)
from referrals.models import LegalBasisException

from ..selectors import DIMENSIONS, PERIODS

# --- oversight ------------------------------------------------------------------------------


class OverdueReferralSerializer(CompiledRepresentation, serializers.Serializer):
    """A referral past a deadline: ids, codes and times, never identity or free text."""

    id = serializers.UUIDField()
    case = serializers.UUIDField(source="case_id")
    sender = serializers.UUIDField(source="sender_id")
    recipient = serializers.UUIDField(source="recipient_id")
    kind = serializers.ChoiceField(choices=ReferralKind.choices)
    status = serializers.ChoiceField(choices=ReferralStatus.choices)
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    phenomenon = serializers.ChoiceField(choices=Phenomenon.choices)
    sent_at = serializers.DateTimeField()
    overdue_deadline = serializers.ChoiceField(
        choices=Deadline.choices,
        help_text=_("The deadline missed; decide when both were."),
    )
    due = serializers.DateTimeField(help_text=_("When that deadline fell."))
    hours_overdue = serializers.SerializerMethodField()

    def get_hours_overdue(self, referral) -> float:
        return round((self.context["now"] - referral.due).total_seconds() / 3600, 1)


class OverdueCountSerializer(serializers.Serializer):
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    acknowledge = serializers.IntegerField(help_text=_("Not acknowledged in time."))
    decide = serializers.IntegerField(help_text=_("Not accepted or declined in time."))
    total = serializers.IntegerField()


class OverdueSummarySerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_urgency = OverdueCountSerializer(many=True)


class HandoverSerializer(serializers.Serializer):
    case = serializers.UUIDField(source="case_id")
    from_organisation = serializers.UUIDField(source="referral.sender_id", help_text=_("The lead before."))
    to_organisation = serializers.UUIDField(source="organisation_id", help_text=_("The lead after."))
    referral = serializers.UUIDField(source="referral_id", help_text=_("The transfer that moved the lead."))
    at = serializers.DateTimeField(source="started_at")


class BouncedCaseSerializer(serializers.Serializer):
    case = serializers.UUIDField(source="id")
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    lead_organisation = serializers.UUIDField(source="lead_organisation_id")
    phenomena = serializers.ListField(child=serializers.ChoiceField(choices=Phenomenon.choices))
    opened_at = serializers.DateTimeField()
    declined_count = serializers.IntegerField()
    last_declined_at = serializers.DateTimeField()


class UnattendedCaseSerializer(serializers.Serializer):
    case = serializers.UUIDField(source="id")
    lead_organisation = serializers.UUIDField(source="lead_organisation_id")
    lead_membership_status = serializers.ChoiceField(
        choices=MembershipStatus.choices, source="lead_organisation.membership_status"
    )
    phenomena = serializers.ListField(child=serializers.ChoiceField(choices=Phenomenon.choices))
    opened_at = serializers.DateTimeField()
    last_activity_at = serializers.DateTimeField(help_text=_("Last change to the case or one of its referrals."))
    reasons = serializers.SerializerMethodField()

    def get_reasons(self, case) -> list[str]:
        reasons = []
        if not case.has_active_member:
            reasons.append("no_active_member")
        if case.idle:
            reasons.append("idle")
        return reasons


class OversightOrganisationSerializer(serializers.Serializer):
    """A member by id and name (the directory shows both to everyone)."""

    id = serializers.UUIDField()
    name = serializers.CharField()


class OversightMatchSideSerializer(serializers.Serializer):
    """One side of a match: the member holding its case now (who answers for it) and its answer."""

    organisation = OversightOrganisationSerializer()
    action = serializers.ChoiceField(choices=MatchAction.choices, allow_null=True, help_text=_("Null until it answers."))
    acted_at = serializers.DateTimeField(allow_null=True)


class OversightMatchSerializer(serializers.Serializer):
    """A match as coordinators follow it up: the two members, status, times and answers; never a case."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=MatchStatus.choices)
    created_at = serializers.DateTimeField(help_text=_("When it was found."))
    due_at = serializers.DateTimeField(help_text=_("A side should have answered by then."))
    escalated_at = serializers.DateTimeField(
        allow_null=True, help_text=_("When it was escalated, nobody having answered by the due time.")
    )
    unattended = serializers.SerializerMethodField()
    sides = serializers.SerializerMethodField()

    def get_unattended(self, match) -> bool:
        return match.status == MatchStatus.OPEN and match.due_at < self.context["now"]

    @extend_schema_field(OversightMatchSideSerializer(many=True))
    def get_sides(self, match) -> list[dict]:
        sides = []
        for side, case in (("a", match.case_a), ("b", match.case_b)):
            organisation = case.lead_organisation
            sides.append({
                "organisation": {"id": str(organisation.pk), "name": organisation.name},
                "action": getattr(match, f"action_{side}") or None,
                "acted_at": getattr(match, f"acted_{side}_at"),
            })
        return list(OversightMatchSideSerializer(sides, many=True).data)


# --- legal-basis exceptions under review ----------------------------------------------------


class ExceptionSerializer(serializers.ModelSerializer):
    """A legal-basis exception in the coordinators' review queue.

    The justification is shown here, and only here, because reviewing it is the point.
    """

    referral = serializers.UUIDField(source="referral_id")
    case = serializers.UUIDField(source="case_id")
    organisation = serializers.UUIDField(source="organisation_id")
    overdue = serializers.SerializerMethodField()
    reviewed_by = serializers.UUIDField(source="reviewed_by_id", allow_null=True)

    class Meta:
        model = LegalBasisException
        fields = [
            "id", "referral", "case", "organisation", "basis", "justification", "created_at", "review_status",
            "reviewed_by", "reviewed_at", "review_note", "overdue",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.BooleanField())
    def get_overdue(self, legal_exception) -> bool:
        return legal_exception.is_review_overdue()


class ExceptionReviewSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[(ExceptionReview.APPROVED, _("Approve")), (ExceptionReview.FLAGGED, _("Flag"))])
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True)


# --- statistics: the question ---------------------------------------------------------------


class PeriodQuerySerializer(serializers.Serializer):
    """A calendar year, or a period of days (both ends inclusive); default: the current year."""

    year = serializers.IntegerField(required=False, min_value=2000, max_value=2100)
    to = serializers.DateField(required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(required=False)  # a Python keyword: added by name
        return fields

    def validate(self, attrs):
        start, end = attrs.get("from"), attrs.get("to")
        if "year" in attrs and (start or end):
            raise serializers.ValidationError({"year": [_("Give a year or a from/to period, not both.")]})
        if "year" in attrs or not (start or end):
            year = attrs.get("year", timezone.localdate().year)
            start, end = date(year, 1, 1), date(year, 12, 31)
        elif not (start and end):
            raise serializers.ValidationError({"to" if start else "from": [_("Give both ends of the period.")]})
        if start > end:
            raise serializers.ValidationError({"to": [_("Must not be before from.")]})
        if end.year > 2100 or start.year < 2000:
            raise serializers.ValidationError({"from": [_("The period must lie between 2000 and 2100.")]})
        attrs["first_day"], attrs["last_day"] = start, end
        attrs["start"] = timezone.make_aware(datetime.combine(start, time.min))
        attrs["end"] = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
        return attrs


class GroupByField(serializers.Field):
    """A comma-separated list of distinct dimensions."""

    default_error_messages = {
        "invalid": _("Comma-separated dimensions, each once, from: {choices}."),
    }

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", choices=", ".join(DIMENSIONS))
        values = [value.strip() for value in data.split(",") if value.strip()]
        if len(set(values)) != len(values) or any(value not in DIMENSIONS for value in values):
            self.fail("invalid", choices=", ".join(DIMENSIONS))
        return values

    def to_representation(self, value):
        return ",".join(value)


class StatisticsQuerySerializer(PeriodQuerySerializer):
    group_by = GroupByField(required=False, default=list)
    period = serializers.ChoiceField(choices=PERIODS, required=False, default="month")


class ConsultationStatisticsQuerySerializer(PeriodQuerySerializer):
    period = serializers.ChoiceField(choices=PERIODS, required=False, default="month")


# --- statistics: the answer --------------------------------------------------------------------


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField(allow_null=True, help_text=_("Null when suppressed."))
    suppressed = serializers.BooleanField()


class CellSerializer(CountSerializer):
    """One combination of the requested dimensions (only those requested are present)."""

    period = serializers.CharField(required=False, help_text=_("2026, 2026-Q1 or 2026-01."))
    phenomenon = serializers.CharField(required=False)
    age_band = serializers.ChoiceField(choices=["0-11", "12-14", "15-17", "18+", "unknown"], required=False)
    gender = serializers.CharField(required=False)
    organisation = serializers.CharField(required=False, help_text=_("The recipient organisation's id."))
    outcome = serializers.CharField(
        required=False, help_text=_("The outcome code of a completed referral, else its status.")
    )


# Type checkers see the mixin as the serializer it is mixed into; at run time it is a plain mixin.
if TYPE_CHECKING:
    _SerializerBase = serializers.Serializer
else:
    _SerializerBase = object


class _FromFieldMixin(_SerializerBase):
    """Declares ``from_`` and serves it as ``from`` (a Python keyword cannot be an attribute name)."""

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # renamed before binding
        return fields


# The schema's component keeps its published name (ReferralFigures).
@extend_schema_serializer(component_name="ReferralFigures")
class ReferralStatisticsSerializer(_FromFieldMixin, serializers.Serializer):
    """Counts of sent referrals: the cells, the subtotals of each dimension and the total."""

    scope = serializers.ChoiceField(
        choices=["coalition", "organisation"], help_text=_("All members, or the referrals your organisation sent or received.")
    )
    from_ = serializers.DateField(help_text=_("First day counted (by the day the referral was sent)."))
    to = serializers.DateField(help_text=_("Last day counted."))
    group_by = serializers.ListField(child=serializers.ChoiceField(choices=DIMENSIONS))
    period = serializers.ChoiceField(choices=PERIODS, allow_null=True)
    min_cell = serializers.IntegerField(help_text=_("Counts below this are suppressed."))
    total = CountSerializer()
    margins = serializers.DictField(
        child=CellSerializer(many=True), help_text=_("Subtotals per dimension, when two or more are grouped.")
    )
    cells = CellSerializer(many=True)


class TimingSerializer(serializers.Serializer):
    count = serializers.IntegerField(allow_null=True)
    median_hours = serializers.FloatField(allow_null=True)
    suppressed = serializers.BooleanField()


class UrgencyTimingSerializer(serializers.Serializer):
    urgency = serializers.ChoiceField(choices=Urgency.choices)
    acknowledge = TimingSerializer(help_text=_("From sending to the recipient's first answer."))
    accept = TimingSerializer(help_text=_("From sending to acceptance."))


class TimingsSerializer(_FromFieldMixin, serializers.Serializer):
    """Median hours from sending to the first answer and to acceptance, by urgency."""

    scope = serializers.ChoiceField(choices=["coalition", "organisation"])
    from_ = serializers.DateField()
    to = serializers.DateField()
    min_cell = serializers.IntegerField()
    results = UrgencyTimingSerializer(many=True)



class MatchFigureSerializer(serializers.Serializer):
    """The matches found and what became of them (``found`` is the sum of the other three)."""

    found = CountSerializer(help_text=_("Matches in which the organisation is a side."))
    answered = CountSerializer(help_text=_("A side marked it contacted or not the same person."))
    waiting = CountSerializer(help_text=_("Nobody has answered yet; the due time has not passed."))
    unattended = CountSerializer(help_text=_("Nobody answered by the due time."))


class MatchMonthSerializer(MatchFigureSerializer):
    """The matches found in one month and what became of them."""

    month = serializers.CharField(help_text=_("2026-01: the month it was found, in the coalition's time zone."))


class OrganisationMatchFiguresSerializer(serializers.Serializer):
    """One organisation's matches: a row per month with matches, and the total over the period."""

    organisation = OversightOrganisationSerializer()
    months = MatchMonthSerializer(many=True, help_text=_("Only the months with matches."))
    total = MatchFigureSerializer(help_text=_("Over the whole period."))


@extend_schema_serializer(component_name="MatchFigures")
class MatchStatisticsSerializer(_FromFieldMixin, serializers.Serializer):
    """Matches found per organisation and month, by what became of them, small counts suppressed."""

    from_ = serializers.DateField(help_text=_("First day counted (by the day the match was found)."))
    to = serializers.DateField(help_text=_("Last day counted."))
    min_cell = serializers.IntegerField(help_text=_("Counts below this are suppressed."))
    organisations = OrganisationMatchFiguresSerializer(many=True, help_text=_("Only the organisations with matches."))


class ConsultationFigureSerializer(serializers.Serializer):
    """Consultations asked, the requests made of members and their answers, and how many became a referral."""

    consultations = CountSerializer(help_text=_("Consultations asked."))
    requests = CountSerializer(help_text=_("Members asked, over those consultations: yes, no, waitlist and unanswered."))
    yes = CountSerializer(help_text=_("Requests answered yes."))
    no = CountSerializer(help_text=_("Requests answered no."))
    waitlist = CountSerializer(help_text=_("Requests answered with a place on the waiting list."))
    unanswered = CountSerializer(help_text=_("Requests not answered (yet, or before the consultation was withdrawn)."))
    referred = CountSerializer(help_text=_("Consultations of which at least one answer became a referral."))
    referred_share = serializers.FloatField(
        allow_null=True, help_text=_("Referred as a percentage of consultations; null when either is suppressed.")
    )


class ConsultationPeriodSerializer(ConsultationFigureSerializer):
    period = serializers.CharField(help_text=_("2026, 2026-Q1 or 2026-01: when it was asked, in the coalition's time zone."))


class ConsultationTableSerializer(serializers.Serializer):
    periods = ConsultationPeriodSerializer(many=True, help_text=_("Only the periods with consultations."))
    total = ConsultationFigureSerializer(help_text=_("Over the whole period."))


class PhenomenonConsultationTableSerializer(ConsultationTableSerializer):
    phenomenon = serializers.CharField(help_text=_("The consultation's phenomenon code."))


@extend_schema_serializer(component_name="ConsultationFigures")
class ConsultationStatisticsSerializer(_FromFieldMixin, serializers.Serializer):
    """Consultations per phenomenon and period, their answers and the share that became referrals, suppressed."""

    scope = serializers.ChoiceField(
        choices=["coalition", "organisation"],
        help_text=_("All members, or the consultations your organisation asked and your own answers to those it was asked."),
    )
    from_ = serializers.DateField(help_text=_("First day counted (by the day the consultation was asked)."))
    to = serializers.DateField(help_text=_("Last day counted."))
    period = serializers.ChoiceField(choices=PERIODS)
    min_cell = serializers.IntegerField(help_text=_("Counts below this are suppressed."))
    all_phenomena = ConsultationTableSerializer(help_text=_("Every phenomenon together."))
    phenomena = PhenomenonConsultationTableSerializer(many=True, help_text=_("Only the phenomena with consultations."))
