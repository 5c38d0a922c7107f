"""The coordinator's oversight: a dashboard of what is stuck, its full lists, a referral's metadata, the exception review.

Every list is the API's (``coalition/oversight/api/views.py``): the same selector
(``coalition.oversight.selectors``; ``referrals.selectors.exceptions_for_review``), the same
filter set (``web.oversight_forms``), the same order, and each row is what the API's
serializer gives coordinators (``coalition.oversight.api.serializers``): ids, codes, times and
counts, never identity or free text. The one piece of free text a coordinator reads is a
legal-basis exception's justification, on that exception's review page only, because reviewing
it is the point (api_docs/concepts.md, "legal-basis exception"); the lists leave it out.

Each row leads to a referral's metadata page (``oversight_referral``): the referral as
``GET /api/v1/referrals/{id}/`` shows it to a coordinator (``ReferralSerializer`` with the
coordinator as actor: no reason, no justification, no exact age, gender or language). A
bounced case leads to its latest declined referral, an unattended one to its latest referral.

The dashboard also counts the cross-organisation matches (open, unattended, done) and lists
the unattended ones, read through ``referrals.match_selectors`` as the match pages read them
(``web.views.matches``): metadata only.

The review calls ``referrals.services.exception_review`` exactly as the API's review action
does; a refusal (reviewed meanwhile, a note on an erased case) is an error on the form (422).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from coalition.core.errors import DomainError
from coalition.oversight import selectors as oversight
from coalition.oversight.api.serializers import (
    BouncedCaseSerializer,
    ExceptionSerializer,
    HandoverSerializer,
    OverdueReferralSerializer,
    UnattendedCaseSerializer,
)
from coalition.oversight.api.views import OVERDUE_COLUMNS
from partners.choices import MembershipStatus, Role
from partners.models import User
from partners.selectors import organisations_visible_to
from referrals import services
from referrals.api.serializers import ReferralSerializer
from referrals.choices import Deadline, ExceptionReview, MatchStatus, ReferralStatus
from referrals.match_selectors import matches_visible_to, unattended
from referrals.matches import matching_enabled
from referrals.models import LegalBasisException, Referral
from referrals.selectors import exceptions_for_review, referrals_visible_to, with_case_state

from ..errors import add_domain_error
from ..oversight_forms import (
    UNATTENDED_REASONS,
    BouncedFilterForm,
    ExceptionFilterForm,
    ExceptionReviewForm,
    FilterForm,
    HandoverPeriodForm,
    OverdueFilterForm,
    UnattendedFilterForm,
)
from ..pages import person, role_required, scoped_or_404, signed_in
from .matches import answers_of, holders

PAGE_SIZE = 25
SHORT_LIST = 10  # rows of each list on the dashboard

# Oversight is the coordinators' work: anyone else signed in gets the 403 page.
coordinator_only = role_required(Role.COORDINATOR)

DEADLINE_LABELS: dict[str, Any] = {
    Deadline.ACKNOWLEDGE: gettext_lazy("Acknowledge"),
    Deadline.DECIDE: gettext_lazy("Decide"),
}
# Fields of the API's rows that name an organisation: shown with its name beside.
ORGANISATION_FIELDS = ("sender", "recipient", "from_organisation", "to_organisation", "lead_organisation", "organisation")


def reference(pk: Any) -> str:
    """A short reference of an id (its first characters), as the caseworker's pages show case references."""
    return str(pk)[:8]


# --- the lists --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OversightList:
    """One of the coordinators' lists: how the API reads, filters, orders and shows it.

    ``queryset(actor, now)`` is the API view's selector (narrowed as it narrows it);
    ``rows(actor, objects, now)`` the API serializer's output for one page of it, with what
    the page adds to it (links, labels), never a field the API does not give.
    """

    key: str
    title: Any
    form: type[FilterForm]
    queryset: Callable[[User, datetime], QuerySet]
    ordering: tuple[str, ...]
    rows: Callable[[User, list, datetime], list[dict[str, Any]]]
    template: str

    @property
    def url_name(self) -> str:
        return f"web:oversight-{self.key}"


def _overdue_rows(actor: User, referrals: list, now: datetime) -> list[dict[str, Any]]:
    data = OverdueReferralSerializer(referrals, many=True, context={"now": now}).data
    return [row | {"deadline_label": DEADLINE_LABELS.get(row["overdue_deadline"]), "ref": reference(row["id"])}
            for row in data]


def _handover_rows(actor: User, involvements: list, now: datetime) -> list[dict[str, Any]]:
    return [row | {"case_ref": reference(row["case"]), "ref": reference(row["referral"])}
            for row in HandoverSerializer(involvements, many=True).data]


def _latest_referrals(actor: User, case_ids: Iterable[Any], *, status: str | None = None) -> dict[str, str]:
    """The latest referral (declined ones only, with ``status``) of each case the coordinator sees, in one query."""
    referrals = referrals_visible_to(actor).filter(case_id__in=list(case_ids))
    if status is not None:
        referrals = referrals.filter(status=status).order_by("declined_at", "id")
    else:
        referrals = referrals.order_by("sent_at", "id")
    return {str(case_id): str(pk) for case_id, pk in referrals.values_list("case_id", "id")}  # the latest wins


def _bounced_rows(actor: User, cases: list, now: datetime) -> list[dict[str, Any]]:
    latest = _latest_referrals(actor, (case.pk for case in cases), status=ReferralStatus.DECLINED)
    return [row | {"case_ref": reference(row["case"]), "referral": latest.get(row["case"])}
            for row in BouncedCaseSerializer(cases, many=True).data]


def _unattended_rows(actor: User, cases: list, now: datetime) -> list[dict[str, Any]]:
    latest = _latest_referrals(actor, (case.pk for case in cases))
    return [
        row | {
            "case_ref": reference(row["case"]),
            "referral": latest.get(row["case"]),
            "reason_labels": [UNATTENDED_REASONS[reason] for reason in row["reasons"]],
            "lead_membership_label": MembershipStatus(row["lead_membership_status"]).label,
        }
        for row in UnattendedCaseSerializer(cases, many=True).data
    ]


# The review queue's rows leave out the exception's free text: it is read on its review page.
EXCEPTION_FREE_TEXT = ("justification", "review_note")


def _exception_rows(actor: User, exceptions: list, now: datetime) -> list[dict[str, Any]]:
    rows = []
    for row, legal_exception in zip(ExceptionSerializer(exceptions, many=True).data, exceptions, strict=True):
        shown = {name: value for name, value in row.items() if name not in EXCEPTION_FREE_TEXT}
        rows.append(shown | {"created": legal_exception.created_at, "ref": reference(row["referral"])})
    return rows


LISTS: dict[str, OversightList] = {
    spec.key: spec
    for spec in (
        OversightList(
            "overdue", gettext_lazy("Overdue referrals"), OverdueFilterForm,
            lambda actor, now: oversight.overdue_referrals(actor, now).only(*OVERDUE_COLUMNS),
            ("due", "id"), _overdue_rows, "web/oversight/_overdue_table.html",
        ),
        OversightList(
            "handovers", gettext_lazy("Handovers"), HandoverPeriodForm,
            lambda actor, now: oversight.handovers(actor), ("-started_at", "id"), _handover_rows,
            "web/oversight/_handover_table.html",
        ),
        OversightList(
            "bounced", gettext_lazy("Bounced cases"), BouncedFilterForm,
            lambda actor, now: oversight.bounced_cases(actor), ("-last_declined_at", "id"), _bounced_rows,
            "web/oversight/_bounced_table.html",
        ),
        OversightList(
            "unattended", gettext_lazy("Unattended cases"), UnattendedFilterForm,
            lambda actor, now: oversight.unattended_cases(actor, now), ("opened_at", "id"), _unattended_rows,
            "web/oversight/_unattended_table.html",
        ),
        OversightList(
            "exceptions", gettext_lazy("Legal-basis exceptions"), ExceptionFilterForm,
            lambda actor, now: exceptions_for_review(actor), ("created_at", "id"), _exception_rows,
            "web/oversight/_exception_table.html",
        ),
    )
}


def _name_organisations(actor: User, *row_lists: list[dict[str, Any]]) -> None:
    """Give every row the names of the organisations it names (``<field>_name``), in one query."""
    ids = {row[field] for rows in row_lists for row in rows for field in ORGANISATION_FIELDS if row.get(field)}
    if not ids:
        return
    names = {str(pk): name for pk, name in organisations_visible_to(actor).filter(pk__in=ids).values_list("pk", "name")}
    for rows in row_lists:
        for row in rows:
            for field in ORGANISATION_FIELDS:
                if row.get(field):
                    row[f"{field}_name"] = names.get(str(row[field]), "")


def _query(form: FilterForm) -> str:
    """The form's values as a query string (``?urgency=urgent``), to link to a list as filtered."""
    values = {name: form.data.get(name) for name in form.fields if form.data.get(name) not in (None, "")}
    return f"?{urlencode(values)}" if values else ""


# --- the dashboard -----------------------------------------------------------------------------------


@signed_in
@require_safe
@coordinator_only
def oversight_dashboard(request: HttpRequest) -> HttpResponse:
    """Counts and the first rows of each list; the handovers of the period picked on the page."""
    actor, now = person(request), timezone.now()
    period = HandoverPeriodForm(request.GET)
    forms: dict[str, FilterForm] = {
        "overdue": OverdueFilterForm(), "handovers": period, "bounced": BouncedFilterForm(),
        "unattended": UnattendedFilterForm(), "exceptions": ExceptionFilterForm(),
    }
    sections: dict[str, dict[str, Any]] = {}
    for key, spec in LISTS.items():
        queryset = forms[key].filtered(spec.queryset(actor, now))
        count = queryset.count()
        objects = list(queryset.order_by(*spec.ordering)[:SHORT_LIST]) if count else []
        sections[key] = {
            "spec": spec, "count": count, "rows": spec.rows(actor, objects, now), "more": count > SHORT_LIST,
            "url": reverse(spec.url_name) + _query(forms[key]),
        }
    _name_organisations(actor, *(section["rows"] for section in sections.values()))
    overdue_by_urgency = oversight.overdue_counts(oversight.overdue_referrals(actor, now))
    overdue_url = reverse("web:oversight-overdue")
    for row in overdue_by_urgency:
        row["urls"] = {
            deadline: f"{overdue_url}?{urlencode({'urgency': row['urgency'], 'deadline': deadline})}"
            for deadline in Deadline.values
        } | {"total": f"{overdue_url}?{urlencode({'urgency': row['urgency']})}"}
    exceptions_overdue = ExceptionFilterForm({"review_status": ExceptionReview.PENDING, "overdue": "true"})
    context = {
        "nav": "oversight",
        "sections": sections,
        "overdue_by_urgency": overdue_by_urgency,
        "period": period,
        "exceptions_overdue": exceptions_overdue.filtered(exceptions_for_review(actor)).count(),
        "exceptions_overdue_url": reverse("web:oversight-exceptions") + _query(exceptions_overdue),
        "review_hours": settings.EXCEPTION_REVIEW_HOURS,
        "matches": _match_summary(actor, now),
    }
    return render(request, "web/oversight/dashboard.html", context)


def _match_summary(actor: User, now: datetime) -> dict[str, Any]:
    """The matches as the dashboard shows them: how many are open, unattended (past due) and done; the unattended first.

    Metadata only, as ``web.views.matches`` shows coordinators: the organisations holding the
    two cases, the times and the answers.
    """
    matches = matches_visible_to(actor)
    late = unattended(matches, now)
    counts = matches.aggregate(  # one query for the four counts
        open=Count("pk", filter=Q(status=MatchStatus.OPEN)), done=Count("pk", filter=Q(status=MatchStatus.DONE)),
        not_the_same_person=Count("pk", filter=Q(status=MatchStatus.NOT_THE_SAME_PERSON)),
        unattended=Count("pk", filter=Q(pk__in=late.values("pk"))),
    )
    rows = [
        {"match": match, "holders": holders(match), "answers": answers_of(match, None), "unattended": True}
        for match in late.order_by("due_at", "id")[:SHORT_LIST]
    ] if counts["unattended"] else []
    matches_url = reverse("web:matches")
    return {
        "enabled": matching_enabled(), "counts": counts, "rows": rows, "more": counts["unattended"] > SHORT_LIST,
        "url": matches_url,
        "urls": {
            "open": f"{matches_url}?{urlencode({'status': MatchStatus.OPEN})}",
            "unattended": f"{matches_url}?{urlencode({'unattended': 'on'})}",
            "done": f"{matches_url}?{urlencode({'status': MatchStatus.DONE})}",
        },
        "working_days": settings.MATCH_ACTION_WORKING_DAYS,
    }


# --- the full lists ----------------------------------------------------------------------------------


def _list_page(request: HttpRequest, key: str) -> HttpResponse:
    """One list in full, filtered as the API filters it, a page at a time."""
    actor, now, spec = person(request), timezone.now(), LISTS[key]
    form = spec.form(request.GET)
    queryset = form.filtered(spec.queryset(actor, now)).order_by(*spec.ordering)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = spec.rows(actor, list(page.object_list), now)
    _name_organisations(actor, rows)
    context = {
        "nav": "oversight", "spec": spec, "form": form, "page": page, "rows": rows,
        "filter_label": _("Filter the list"), "pages_label": _("Pages of the list"),
        "idle_days": settings.OVERSIGHT_IDLE_DAYS, "review_hours": settings.EXCEPTION_REVIEW_HOURS,
    }
    return render(request, f"web/oversight/{key}.html", context)


@signed_in
@require_safe
@coordinator_only
def overdue_list(request: HttpRequest) -> HttpResponse:
    """Referrals past a deadline, most overdue first; by urgency and by the deadline missed."""
    return _list_page(request, "overdue")


@signed_in
@require_safe
@coordinator_only
def handover_list(request: HttpRequest) -> HttpResponse:
    """Lead changes (accepted transfers) of a period, newest first."""
    return _list_page(request, "handovers")


@signed_in
@require_safe
@coordinator_only
def bounced_list(request: HttpRequest) -> HttpResponse:
    """Cases declined twice or more, the most recently declined first."""
    return _list_page(request, "bounced")


@signed_in
@require_safe
@coordinator_only
def unattended_list(request: HttpRequest) -> HttpResponse:
    """Open cases no active member holds, or where nothing happened for the idle period; oldest first."""
    return _list_page(request, "unattended")


@signed_in
@require_safe
@coordinator_only
def exception_list(request: HttpRequest) -> HttpResponse:
    """The review queue: exceptions awaiting review, oldest first (the reviewed ones on request)."""
    return _list_page(request, "exceptions")


# --- a referral's metadata --------------------------------------------------------------------------

HISTORY = (
    ("created_at", gettext_lazy("Drafted")),
    ("sent_at", gettext_lazy("Sent")),
    ("acknowledged_at", gettext_lazy("Acknowledged")),
    ("accepted_at", gettext_lazy("Accepted")),
    ("declined_at", gettext_lazy("Declined")),
    ("withdrawn_at", gettext_lazy("Withdrawn")),
    ("completed_at", gettext_lazy("Completed")),
)
DEADLINES = (
    (Deadline.ACKNOWLEDGE, "acknowledge_due", gettext_lazy("Acknowledge by")),
    (Deadline.DECIDE, "decide_due", gettext_lazy("Decide by")),
)


@signed_in
@require_safe
@coordinator_only
def oversight_referral(request: HttpRequest, pk: UUID) -> HttpResponse:
    """A referral as the API shows it to a coordinator: organisations, codes, deadlines, times; no free text."""
    actor, now = person(request), timezone.now()
    queryset = with_case_state(actor, referrals_visible_to(actor).select_related("sender", "recipient"))
    referral: Referral = scoped_or_404(queryset, pk)
    r = ReferralSerializer(referral, context={"actor": actor}).data
    same_case = list(
        referrals_visible_to(actor).filter(case_id=referral.case_id).exclude(pk=referral.pk)
        .select_related("sender", "recipient").order_by("sent_at", "id")
    )
    others = [
        data | {"sender_name": other.sender.name, "recipient_name": other.recipient.name, "ref": reference(other.pk)}
        for data, other in zip(ReferralSerializer(same_case, many=True, context={"actor": actor}).data, same_case,
                               strict=True)
    ]
    legal_exception = exceptions_for_review(actor).filter(referral_id=referral.pk).first()
    context = {
        "nav": "oversight",
        "r": r,
        "ref": reference(referral.pk),
        "case_ref": reference(referral.case_id),
        "sender_name": referral.sender.name,
        "recipient_name": referral.recipient.name,
        "deadlines": [
            {"label": label, "due": getattr(referral, field), "missed": referral.has_missed(deadline, now)}
            for deadline, field, label in DEADLINES if getattr(referral, field) is not None
        ],
        "history": [{"label": label, "at": r[field]} for field, label in HISTORY if r.get(field)],
        "others": others,
        "legal_exception": legal_exception,
    }
    return render(request, "web/oversight/referral.html", context)


# --- the exception review -----------------------------------------------------------------------------


def _exception_context(actor: User, legal_exception: LegalBasisException) -> dict[str, Any]:
    """The exception as the API's review queue shows it (its justification included), and its referral's metadata."""
    shown = ExceptionSerializer(legal_exception).data
    referral = referrals_visible_to(actor).filter(pk=legal_exception.referral_id).select_related("recipient").first()
    reviewer = legal_exception.reviewed_by.username if legal_exception.reviewed_by is not None else None
    return {
        "nav": "oversight",
        "e": shown,
        "legal_exception": legal_exception,
        "ref": reference(legal_exception.referral_id),
        "organisation_name": legal_exception.organisation.name,
        "referral": ReferralSerializer(referral, context={"actor": actor}).data if referral else None,
        "recipient_name": referral.recipient.name if referral else "",
        "reviewer": reviewer,
        "pending": legal_exception.review_status == ExceptionReview.PENDING,
        "review_hours": settings.EXCEPTION_REVIEW_HOURS,
    }


def _exception(actor: User, pk: UUID) -> LegalBasisException:
    return scoped_or_404(exceptions_for_review(actor).select_related("reviewed_by"), pk)


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@coordinator_only
def exception_review(request: HttpRequest, pk: UUID) -> HttpResponse:
    """One exception: what it is, its justification, and the review (approve or flag, with a note)."""
    actor = person(request)
    legal_exception = _exception(actor, pk)
    template = "web/oversight/exception.html"
    if request.method != "POST":
        return render(request, template, _exception_context(actor, legal_exception) | {"form": ExceptionReviewForm()})
    form = ExceptionReviewForm(request.POST)
    if form.is_valid():
        try:
            reviewed = services.exception_review(actor=actor, legal_exception=legal_exception, **form.validated)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if reviewed.review_status == ExceptionReview.FLAGGED:
                messages.success(request, _(
                    "The exception is flagged. Its referral, if it was still pending, is withdrawn, and the sender "
                    "organisation is told."
                ))
            else:
                messages.success(request, _("The exception is approved."))
            return redirect("web:oversight-exceptions")
    # Refused: nothing changed. The page shows the exception as it is now (someone may have reviewed it).
    current = _exception(actor, pk)
    return render(request, template, _exception_context(actor, current) | {"form": form}, status=422)
