"""Reads for coordinators' oversight and for the statistics: metadata and counts only.

Nothing here returns identity (the subject) or free text (reasons, justifications,
messages): the querysets are shaped into fixed metadata fields by the serializers,
and the statistics are counts grouped in the database.

Who sees what (api_docs/concepts.md, "Who may do what"):
- oversight lists: coordinators only, every organisation;
- statistics: coordinators over the whole coalition; caseworkers and org admins over
  the referrals their own organisation sent or received; nobody else;
- matches (api_docs/oversight.md), their list and their figures: coordinators only, as metadata
  (the organisations, status, times and answers; never a case);
- consultation figures: coordinators over the whole coalition; caseworkers and org admins over
  the consultations their organisation asked (every request of them) and its own requests of
  the consultations it was asked (never another member's answer); nobody else.
"""

from __future__ import annotations

import statistics as pystats
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import (
    Aggregate,
    BooleanField,
    CharField,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models import (
    Case as When_,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, Greatest, Trunc
from django.utils import timezone

from coalition.core.actors import Actor
from partners.choices import MembershipStatus, Role
from referrals.choices import (
    AGE_BANDS,
    CaseStatus,
    ConsultationAnswer,
    Deadline,
    InvolvementRole,
    MatchStatus,
    ReferralStatus,
    Urgency,
)
from referrals.match_selectors import matches_visible_to
from referrals.models import DEADLINE_RULES, Case, ConsultationRequest, Involvement, Match, Referral, missed_deadline
from referrals.selectors import is_coordinator

from .suppression import Line, suppress

# --- oversight: what is stuck --------------------------------------------------------------


def overdue_referrals(actor: Actor, now: datetime | None = None) -> QuerySet[Referral]:
    """Referrals past a deadline, with the deadline missed (``decide`` wins over ``acknowledge``) and its time."""
    if not is_coordinator(actor):
        return Referral.objects.none()
    now = now or timezone.now()
    decide_missed = missed_deadline(Deadline.DECIDE, now)
    return (
        # pending() repeats what both deadlines imply: it lets the planner
        # read the pending-referral index (referral_pending) instead of the table.
        Referral.objects.filter(sent_at__isnull=False)
        .pending()
        .overdue_at(now)
        .annotate(
            overdue_deadline=When_(
                When(decide_missed, then=Value(Deadline.DECIDE.value)),
                default=Value(Deadline.ACKNOWLEDGE.value),
                output_field=CharField(),
            ),
            due=When_(
                When(decide_missed, then=F(DEADLINE_RULES[Deadline.DECIDE].field)),
                default=F(DEADLINE_RULES[Deadline.ACKNOWLEDGE].field),
                output_field=DateTimeField(),
            ),
        )
    )


def overdue_counts(queryset: QuerySet[Referral]) -> list[dict[str, Any]]:
    """Counts of an overdue queryset by urgency and missed deadline, every urgency listed."""
    # overdue_deadline is overdue_referrals' annotation, which the model's type does not know.
    rows = queryset.order_by().values("urgency", "overdue_deadline").annotate(count=Count("id"))  # type: ignore[misc]
    counts = {(row["urgency"], row["overdue_deadline"]): row["count"] for row in rows}
    result = []
    for urgency in Urgency.values:
        acknowledge = counts.get((urgency, Deadline.ACKNOWLEDGE), 0)
        decide = counts.get((urgency, Deadline.DECIDE), 0)
        result.append({"urgency": urgency, "acknowledge": acknowledge, "decide": decide, "total": acknowledge + decide})
    return result


def handovers(actor: Actor) -> QuerySet[Involvement]:
    """Lead changes: the lead involvements that a transfer started (the first lead of a case has no referral)."""
    if not is_coordinator(actor):
        return Involvement.objects.none()
    return Involvement.objects.filter(role=InvolvementRole.LEAD, referral__isnull=False).select_related("referral")


def bounced_cases(actor: Actor) -> QuerySet[Case]:
    """Cases with two or more declined referrals, with how many and when the last one was declined."""
    if not is_coordinator(actor):
        return Case.objects.none()
    declined = Q(referrals__status=ReferralStatus.DECLINED)
    return (
        Case.objects.annotate(
            declined_count=Count("referrals", filter=declined),
            last_declined_at=Max("referrals__declined_at", filter=declined),
        )
        .filter(declined_count__gte=2)
        .select_related("lead_organisation")
    )


def unattended_cases(actor: Actor, now: datetime | None = None) -> QuerySet[Case]:
    """Open cases nobody is actively holding.

    ``no_active_member``: no organisation with an open involvement (the lead included) is
    an active member any more, so the case sits with a suspended or departed member.
    ``idle``: neither the case nor any of its referrals changed for ``OVERSIGHT_IDLE_DAYS``.
    """
    if not is_coordinator(actor):
        return Case.objects.none()
    now = now or timezone.now()
    active_member_involved = Involvement.objects.filter(
        case=OuterRef("pk"), ended_at__isnull=True, organisation__membership_status=MembershipStatus.ACTIVE
    )
    last_referral_change = Subquery(
        Referral.objects.filter(case=OuterRef("pk")).order_by("-updated_at").values("updated_at")[:1]
    )
    idle_since = now - timedelta(days=settings.OVERSIGHT_IDLE_DAYS)
    return (
        Case.objects.filter(status=CaseStatus.OPEN)
        .annotate(
            has_active_member=Exists(active_member_involved),
            last_activity_at=Greatest(Coalesce(last_referral_change, F("updated_at")), F("updated_at")),
        )
        .annotate(idle=ExpressionWrapper(Q(last_activity_at__lt=idle_since), output_field=BooleanField()))
        .filter(Q(has_active_member=False) | Q(idle=True))
        .select_related("lead_organisation")
    )


def oversight_matches(actor: Actor) -> QuerySet[Match]:
    """Every match, newest first, for coordinators; the answer shows no case (``OversightMatchSerializer``).

    ``referrals.match_selectors.unattended`` narrows it to the open matches past their due time.
    """
    if not is_coordinator(actor):
        return Match.objects.none()
    return matches_visible_to(actor)


# --- statistics ----------------------------------------------------------------------------

DIMENSIONS = ("period", "phenomenon", "age_band", "gender", "organisation", "outcome")
PERIODS = ("month", "quarter", "year")


def referrals_for_statistics(actor: Actor) -> QuerySet[Referral]:
    """The sent referrals the actor's statistics count: all for coordinators, else its organisation's."""
    sent = Referral.objects.filter(sent_at__isnull=False)
    if is_coordinator(actor):
        return sent
    if actor.is_partner_system or not (actor.has_role(Role.CASEWORKER) or actor.has_role(Role.ORG_ADMIN)):
        return sent.none()
    org_id = actor.organisation.pk
    return sent.filter(Q(sender_id=org_id) | Q(recipient_id=org_id))


def statistics_scope(actor: Actor) -> str:
    return "coalition" if is_coordinator(actor) else "organisation"


def _age_band():
    whens = [When(age__isnull=True, then=Value("unknown"))]
    for label, low, high in AGE_BANDS:
        condition = Q(age__gte=low) if high is None else Q(age__gte=low, age__lte=high)
        whens.append(When(condition, then=Value(label)))
    return When_(*whens, default=Value("unknown"), output_field=CharField())


def _dimension_expressions(period: str) -> dict[str, Any]:
    """Database expressions of each dimension (annotation names must not shadow model fields)."""
    return {
        "period": Trunc("sent_at", period, output_field=DateTimeField()),
        "phenomenon": F("phenomenon"),
        "age_band": _age_band(),
        "gender": When_(When(gender="", then=Value("unknown")), default=F("gender"), output_field=CharField()),
        "organisation": F("recipient_id"),
        # What became of the referral: the outcome code once completed, else its status.
        "outcome": When_(
            When(status=ReferralStatus.COMPLETED, then=F("outcome_code")), default=F("status"), output_field=CharField()
        ),
    }


def _period_label(moment: datetime, period: str) -> str:
    moment = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    if period == "year":
        return f"{moment.year}"
    if period == "quarter":
        return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"
    return f"{moment.year}-{moment.month:02d}"


@dataclass(frozen=True)
class Statistic:
    """One published count: ``count`` is None when suppressed."""

    values: dict[str, str]
    count: int | None
    suppressed: bool

    def as_dict(self) -> dict[str, Any]:
        return self.values | {"count": self.count, "suppressed": self.suppressed}


@dataclass(frozen=True)
class ReferralStatistics:
    cells: list[Statistic]
    margins: dict[str, list[Statistic]]
    total: Statistic


def referral_statistics(
    actor, *, start: datetime, end: datetime, group_by: list[str], period: str = "month", threshold: int | None = None
) -> ReferralStatistics:
    """Counts of sent referrals (sent in [start, end)) grouped in SQL, then suppressed.

    Published: one cell per combination of ``group_by`` values that occurs, the
    subtotals of each dimension (when there are two or more) and the total. The
    suppression treats each subtotal and the total as a line over its cells.
    """
    threshold = settings.STATISTICS_MIN_CELL if threshold is None else threshold
    expressions = _dimension_expressions(period)
    names = {dimension: f"dim_{dimension}" for dimension in group_by}
    queryset = referrals_for_statistics(actor).filter(sent_at__gte=start, sent_at__lt=end)
    if group_by:
        rows = list(
            queryset.annotate(**{names[d]: expressions[d] for d in group_by})
            .values(*names.values())
            .annotate(count=Count("id"))
            .order_by(*names.values())
        )
    else:  # no cells, only the total (values() without names would mean every field)
        rows = []
        total = queryset.aggregate(count=Count("id"))["count"]

    def label(dimension: str, raw) -> str:
        if dimension == "period":
            return _period_label(raw, period)
        return str(raw) if raw not in (None, "") else "unknown"

    keys = [tuple(label(d, row[names[d]]) for d in group_by) for row in rows]
    counts: list[int] = [row["count"] for row in rows]
    cell_indexes = list(range(len(rows)))

    margins_keys: dict[str, list[str]] = {}
    margin_index: dict[tuple[str, str], int] = {}
    lines: list[Line] = []
    if len(group_by) >= 2:
        for position, dimension in enumerate(group_by):
            values = sorted({key[position] for key in keys})
            margins_keys[dimension] = values
            for value in values:
                parts = tuple(i for i in cell_indexes if keys[i][position] == value)
                margin_index[(dimension, value)] = len(counts)
                counts.append(sum(counts[i] for i in parts))
                lines.append(Line(total=margin_index[(dimension, value)], parts=parts))
    total_index = len(counts)
    counts.append(sum(counts[i] for i in cell_indexes) if group_by else total)
    lines.append(Line(total=total_index, parts=tuple(cell_indexes)))
    for dimension, values in margins_keys.items():
        lines.append(Line(total=total_index, parts=tuple(margin_index[(dimension, v)] for v in values)))

    hidden = suppress(counts, lines, threshold)

    def statistic(index: int, values: dict[str, str]) -> Statistic:
        return Statistic(values=values, count=None if hidden[index] else counts[index], suppressed=hidden[index])

    cells = [statistic(i, dict(zip(group_by, keys[i], strict=True))) for i in cell_indexes]
    margins = {
        dimension: [statistic(margin_index[(dimension, v)], {dimension: v}) for v in values]
        for dimension, values in margins_keys.items()
    }
    return ReferralStatistics(cells=cells, margins=margins, total=statistic(total_index, {}))


# --- timings ---------------------------------------------------------------------------------


class Median(Aggregate):
    """PostgreSQL's exact median (percentile_cont) of an interval."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = DurationField()


TIMING_MEASURES: dict[str, Combinable] = {
    # The first answer of the recipient: acknowledging, or accepting or declining straight away
    # (which is what the acknowledge deadline asks for).
    "acknowledge": Coalesce("acknowledged_at", "accepted_at", "declined_at"),
    "accept": F("accepted_at"),
}


def _hours(duration: timedelta | None) -> float | None:
    return None if duration is None else round(duration.total_seconds() / 3600, 2)


def referral_timings(actor: Actor, *, start: datetime, end: datetime, threshold: int | None = None) -> list[dict[str, Any]]:
    """Median hours from sending to the first answer and to acceptance, by urgency.

    A median over fewer than ``threshold`` referrals is suppressed with its count.
    """
    threshold = settings.STATISTICS_MIN_CELL if threshold is None else threshold
    queryset = referrals_for_statistics(actor).filter(sent_at__gte=start, sent_at__lt=end)
    results: dict[str, dict[str, Any]] = {urgency: {"urgency": urgency} for urgency in Urgency.values}
    for measure, reached_at in TIMING_MEASURES.items():
        elapsed = ExpressionWrapper(reached_at - F("sent_at"), output_field=DurationField())
        measured = queryset.annotate(reached_at=reached_at).filter(reached_at__isnull=False).order_by()
        per_urgency: dict[str, tuple[int, timedelta | None]] = {}
        if connection.vendor == "postgresql":
            for row in measured.values("urgency").annotate(count=Count("id"), median=Median(elapsed)):
                per_urgency[row["urgency"]] = (row["count"], row["median"])
        else:  # SQLite has no percentile_cont: the median of each urgency in Python
            durations: dict[str, list[timedelta]] = {}
            for urgency, duration in measured.annotate(elapsed=elapsed).values_list("urgency", "elapsed"):
                durations.setdefault(urgency, []).append(duration)
            # statistics.median needs only ordering, + and / 2, which timedelta has (typeshed asks for numbers).
            per_urgency = {u: (len(d), pystats.median(d)) for u, d in durations.items()}  # type: ignore[type-var]
        for urgency in Urgency.values:
            count, median = per_urgency.get(urgency, (0, None))
            small = 0 < count < threshold
            results[urgency][measure] = {
                "count": None if small else count,
                "median_hours": None if small else _hours(median),
                "suppressed": small,
            }
    return list(results.values())



# --- match figures (api_docs/oversight.md) ----------------------------------------------------

# What became of a match, as of now: one side answered (``done`` or ``not_the_same_person``),
# or nobody did yet and the due time has not passed (``waiting``) or has (``unattended``,
# exactly what ``referrals.match_selectors.unattended`` lists). ``found`` is their sum.
MATCH_STATES = ("answered", "waiting", "unattended")
MATCH_MEASURES = ("found", *MATCH_STATES)


def matches_for_statistics(actor: Actor) -> QuerySet[Match]:
    """The matches the match figures count: every one for coordinators, none for anybody else."""
    return Match.objects.all() if is_coordinator(actor) else Match.objects.none()


def _match_state(now: datetime):
    return When_(
        When(~Q(status=MatchStatus.OPEN), then=Value("answered")),
        When(due_at__lt=now, then=Value("unattended")),
        default=Value("waiting"),
        output_field=CharField(),
    )


def coalition_zone() -> ZoneInfo:
    return ZoneInfo(settings.COALITION_TIME_ZONE)


def _month_label(moment: datetime, zone: ZoneInfo) -> str:
    moment = moment.astimezone(zone) if timezone.is_aware(moment) else moment
    return f"{moment.year}-{moment.month:02d}"


def match_statistics(
    actor: Actor, *, first_day: date, last_day: date, now: datetime | None = None, threshold: int | None = None
) -> list[dict[str, Any]]:
    """Matches found from ``first_day`` to ``last_day`` per organisation and month, by what became of them, suppressed.

    An organisation counts every match in which it is a side (``organisation_a`` or
    ``organisation_b``: the members that held the two cases when it was found), in the
    month it was found. Days and months are those of the coalition's time zone
    (``COALITION_TIME_ZONE``), so a match found just after midnight on 1 January counts
    in January, in the new year. One ``GROUP BY`` per side, in one query.

    Per organisation: one row per month with matches, and the total over the period; in
    each, ``found`` and its parts ``answered``, ``waiting`` and ``unattended``. Each row
    (found over its parts) and each column (the total over the months) is a line of the
    suppression; nothing is summed across organisations, so no line joins two of them.
    """
    threshold = settings.STATISTICS_MIN_CELL if threshold is None else threshold
    now = now or timezone.now()
    zone = coalition_zone()
    start = datetime.combine(first_day, time.min, tzinfo=zone)
    end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone)
    matches = (
        matches_for_statistics(actor)
        .filter(created_at__gte=start, created_at__lt=end)
        .annotate(
            found_in=Trunc("created_at", "month", output_field=DateTimeField(), tzinfo=zone), state=_match_state(now)
        )
        .order_by()
    )
    per_side = [
        matches.values(
            "found_in", "state", side=F(f"organisation_{side}_id"), side_name=F(f"organisation_{side}__name")
        ).annotate(count=Count("id"))
        for side in ("a", "b")
    ]
    found: dict[Any, dict[str, Any]] = {}
    for row in per_side[0].union(per_side[1], all=True):
        organisation = found.setdefault(row["side"], {"name": row["side_name"], "months": {}})
        month = organisation["months"].setdefault(_month_label(row["found_in"], zone), dict.fromkeys(MATCH_STATES, 0))
        month[row["state"]] += row["count"]
    result = [
        _organisation_match_figures(pk, organisation["name"], organisation["months"], threshold)
        for pk, organisation in found.items()
    ]
    return sorted(result, key=lambda figures: (figures["organisation"]["name"].lower(), figures["organisation"]["id"]))


def _organisation_match_figures(pk, name: str, months: dict[str, dict[str, int]], threshold: int) -> dict[str, Any]:
    """One organisation's table (months × measures, and the total row), with its lines suppressed together."""
    counts: list[int] = []
    index: dict[tuple[str, str], int] = {}  # (month or "all", measure) -> position in counts
    labels = sorted(months)
    for label in labels:
        for state in MATCH_STATES:
            index[(label, state)] = len(counts)
            counts.append(months[label][state])
        index[(label, "found")] = len(counts)
        counts.append(sum(months[label].values()))
    for measure in MATCH_MEASURES:
        index[("all", measure)] = len(counts)
        counts.append(sum(counts[index[(label, measure)]] for label in labels))

    def line(total: tuple[str, str], parts: list[tuple[str, str]]) -> Line:
        # A zero shown is no secret and protects nothing: it is left out of the lines, never hidden.
        return Line(total=index[total], parts=tuple(index[p] for p in parts if counts[index[p]]))

    rows = [*labels, "all"]
    lines = [line((row, "found"), [(row, state) for state in MATCH_STATES]) for row in rows]
    lines += [line(("all", measure), [(label, measure) for label in labels]) for measure in MATCH_MEASURES]
    hidden = suppress(counts, lines, threshold)

    def figure(position: int) -> dict[str, Any]:
        return {"count": None if hidden[position] else counts[position], "suppressed": hidden[position]}

    def figures_of(row: str) -> dict[str, dict[str, Any]]:
        return {measure: figure(index[(row, measure)]) for measure in MATCH_MEASURES}

    return {
        "organisation": {"id": str(pk), "name": name},
        "months": [{"month": label} | figures_of(label) for label in labels],
        "total": figures_of("all"),
    }


# --- consultation figures (api_docs/oversight.md) ---------------------------------------------

# What the asked members answered, as of now: ``unanswered`` is a request still pending or
# withdrawn with its consultation before an answer. ``requests`` is their sum; ``referred``
# counts the consultations of which at least one request became a referral.
CONSULTATION_ANSWERS = (ConsultationAnswer.YES.value, ConsultationAnswer.NO.value, ConsultationAnswer.WAITLIST.value,
                        "unanswered")
CONSULTATION_MEASURES = ("consultations", "requests", *CONSULTATION_ANSWERS, "referred")
# Never published, but consultations - referred gives it: it is a figure of the suppression all the same.
_NOT_REFERRED = "not_referred"
_SUPPRESSED_TOGETHER = (*CONSULTATION_MEASURES, _NOT_REFERRED)
ALL = "all"


def consultation_requests_for_statistics(actor: Actor) -> QuerySet[ConsultationRequest]:
    """The consultation requests the figures count: all for coordinators, else its organisation's.

    As the referral figures count the referrals a member sent or received: a caseworker or an
    org admin counts every request of the consultations its organisation asked, and of the
    consultations it was asked only its own request, so that no figure tells it who else was
    asked, what they answered or whether their yes became a referral. Nobody else counts any.
    """
    requests = ConsultationRequest.objects.all()
    if is_coordinator(actor):
        return requests
    if actor.is_partner_system or not (actor.has_role(Role.CASEWORKER) or actor.has_role(Role.ORG_ADMIN)):
        return requests.none()
    org_id = actor.organisation.pk
    return requests.filter(Q(consultation__asker_id=org_id) | Q(organisation_id=org_id))


def _bucket_label(moment: datetime, period: str, zone: ZoneInfo) -> str:
    moment = moment.astimezone(zone) if timezone.is_aware(moment) else moment
    if period == "year":
        return f"{moment.year}"
    if period == "quarter":
        return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"
    return f"{moment.year}-{moment.month:02d}"


def _share(referred: int | None, consultations: int | None) -> float | None:
    """The percentage of consultations that became a referral; None when either figure is hidden."""
    if referred is None or not consultations:
        return None
    return round(100 * referred / consultations, 1)


def _consultation_cells(actor: Actor, *, first_day: date, last_day: date, period: str) -> dict[tuple[str, str], dict[str, int]]:
    """{(period label, phenomenon): {measure: count}} of the consultations asked in the days, in one query."""
    zone = coalition_zone()
    start = datetime.combine(first_day, time.min, tzinfo=zone)
    end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=zone)
    answered = {answer: Count("id", filter=Q(answer=answer)) for answer in CONSULTATION_ANSWERS[:3]}
    rows = (
        consultation_requests_for_statistics(actor)
        .filter(consultation__created_at__gte=start, consultation__created_at__lt=end)
        .annotate(
            asked_in=Trunc("consultation__created_at", period, output_field=DateTimeField(), tzinfo=zone),
            asked_about=F("consultation__phenomenon"),
        )
        .order_by()
        .values("asked_in", "asked_about")
        .annotate(
            consultations=Count("consultation", distinct=True),
            requests=Count("id"),
            unanswered=Count("id", filter=Q(answer="")),
            referred=Count("consultation", distinct=True, filter=Q(referral__isnull=False)),
            **answered,
        )
    )
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for row in rows:
        figures: dict[str, Any] = dict(row)  # the answers' counts are named at run time
        key = (_bucket_label(figures["asked_in"], period, zone), figures["asked_about"] or "unknown")
        cells[key] = {measure: figures[measure] for measure in CONSULTATION_MEASURES}
        cells[key][_NOT_REFERRED] = figures["consultations"] - figures["referred"]
    return cells


def consultation_statistics(
    actor: Actor, *, first_day: date, last_day: date, period: str = "month", threshold: int | None = None
) -> dict[str, Any]:
    """Consultations asked from ``first_day`` to ``last_day`` per phenomenon and period, with their answers, suppressed.

    A consultation counts in the period (``month``, ``quarter`` or ``year`` of the coalition's
    time zone) in which it was asked, with its triage phenomenon; its requests and their
    answers are counted as of now. One ``GROUP BY`` in the database.

    Published per phenomenon and for all phenomena together: a row per period with
    consultations and the total over the period, each with ``consultations``, ``requests``
    (the sum of ``yes``, ``no``, ``waitlist`` and ``unanswered``), ``referred`` and its share.
    The suppression's lines: in each row, requests over the answers and consultations over
    referred and not referred (which the two shown would give); for each measure, each
    phenomenon's total over its periods, each period of all phenomena over the phenomena, and
    the grand total over both. A share is shown only where both its figures are.
    """
    threshold = settings.STATISTICS_MIN_CELL if threshold is None else threshold
    cells = _consultation_cells(actor, first_day=first_day, last_day=last_day, period=period)
    measures = _SUPPRESSED_TOGETHER
    periods = sorted({key[0] for key in cells})
    phenomena = sorted({key[1] for key in cells})

    counts: list[int] = []
    index: dict[tuple[str, str, str], int] = {}  # (period or "all", phenomenon or "all", measure) -> position

    def add(row_key: tuple[str, str], values: dict[str, int]) -> None:
        for measure in measures:
            index[(*row_key, measure)] = len(counts)
            counts.append(values[measure])

    def summed(keys: list[tuple[str, str]]) -> dict[str, int]:
        return {measure: sum(counts[index[(*key, measure)]] for key in keys) for measure in measures}

    for key, values in cells.items():
        add(key, values)
    for phenomenon in phenomena:
        add((ALL, phenomenon), summed([(p, phenomenon) for p in periods if (p, phenomenon) in cells]))
    for label in periods:
        add((label, ALL), summed([(label, ph) for ph in phenomena if (label, ph) in cells]))
    add((ALL, ALL), summed([(ALL, phenomenon) for phenomenon in phenomena]))

    lines = _consultation_lines(index, counts, list(cells), periods, phenomena)
    hidden = suppress(counts, lines, threshold)

    def figures_of(key: tuple[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for measure in CONSULTATION_MEASURES:
            position = index[(*key, measure)]
            result[measure] = {"count": None if hidden[position] else counts[position], "suppressed": hidden[position]}
        result["referred_share"] = _share(result["referred"]["count"], result["consultations"]["count"])
        return result

    def table(phenomenon: str) -> dict[str, Any]:
        return {
            "periods": [{"period": label} | figures_of((label, phenomenon)) for label in periods
                        if (label, phenomenon, "consultations") in index],
            "total": figures_of((ALL, phenomenon)),
        }

    return {
        "all_phenomena": table(ALL),
        "phenomena": [{"phenomenon": phenomenon} | table(phenomenon) for phenomenon in phenomena],
    }


def _consultation_lines(
    index: dict[tuple[str, str, str], int], counts: list[int], cells: list[tuple[str, str]], periods: list[str],
    phenomena: list[str],
) -> list[Line]:
    """The suppression's lines of the consultation tables (``consultation_statistics`` says which)."""

    def line(total: tuple[str, str, str], parts: list[tuple[str, str, str]]) -> Line:
        # A zero shown is no secret and protects nothing: it is left out of the lines, never hidden.
        return Line(total=index[total], parts=tuple(index[p] for p in parts if p in index and counts[index[p]]))

    row_keys = [*cells, *((ALL, ph) for ph in phenomena), *((label, ALL) for label in periods), (ALL, ALL)]
    lines: list[Line] = []
    for key in row_keys:
        lines.append(line((*key, "requests"), [(*key, answer) for answer in CONSULTATION_ANSWERS]))
        lines.append(line((*key, "consultations"), [(*key, "referred"), (*key, _NOT_REFERRED)]))
    for measure in _SUPPRESSED_TOGETHER:
        for phenomenon in phenomena:
            lines.append(line((ALL, phenomenon, measure), [(label, phenomenon, measure) for label in periods]))
        for label in periods:
            lines.append(line((label, ALL, measure), [(label, phenomenon, measure) for phenomenon in phenomena]))
        lines.append(line((ALL, ALL, measure), [(ALL, phenomenon, measure) for phenomenon in phenomena]))
        lines.append(line((ALL, ALL, measure), [(label, ALL, measure) for label in periods]))
    return lines
