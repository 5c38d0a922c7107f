"""The consultation pages: "can you take this?", asked before any identity is shared (README, "Ask before you share").

Reads go through ``referrals.consultation_selectors`` only, so each person sees what the API
shows them:

- the asker's caseworkers: the triage, the question, every asked member's answer with its
  note, when it came and whether it is late; "Withdraw" while the consultation is open, and
  for each yes "Turn into a referral": the case (one of the organisation's open cases it is
  involved in), the kind and the legal basis are chosen then, and ``consultation_refer``
  makes and sends the referral in one step;
- an asked member's caseworkers: the triage, the question and their own request only,
  never who else was asked nor what they answered, and the answer form while it waits;
- coordinators: every consultation as metadata, as on the match pages (who asked whom,
  codes, statuses, times, the answers' codes), never the question or a note; no buttons.

Org admins and auditors have no consultation pages (403); a consultation the person's
organisation neither asked nor was asked is the 404 of a missing one. A consultation holds
no identity, and neither does any of these pages: the cases offered for a referral are
named by their reference, as on the case list. A refusal by a service is shown beside its
field, or at the form's top, with status 422, and nothing changed.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from coalition.core.errors import DomainError, NotFound
from partners.choices import Role
from partners.models import User
from partners.selectors import organisations_visible_to
from referrals import selectors
from referrals.choices import CaseStatus, ConsultationAnswer, ConsultationRequestStatus, ConsultationStatus
from referrals.consultation_selectors import (
    RequestView,
    consultation_allowed_actions,
    consultation_of,
    consultations_visible_to,
    free_text_visible,
    incoming,
    is_asker,
    outgoing,
    own_request,
    request_views,
)
from referrals.consultations import consultation_answer, consultation_create, consultation_refer, consultation_withdraw
from referrals.models import Case, Consultation, ConsultationRequest

from ..consultation_forms import (
    AnswerForm,
    CaseChoiceForm,
    ConsultationFilterForm,
    ConsultationForm,
    ReferFromConsultationForm,
    VersionForm,
)
from ..errors import add_domain_error
from ..pages import person, role_required, scoped_or_404, signed_in
from ..referral_forms import Directory, DirectoryFilterForm, case_triage, consent_choices
from ..templatetags.web import label

PAGE_SIZE = 25
UNPROCESSABLE = 422
# The inbox's consultation lists show this many rows each; the list page has the rest.
INBOX_ROWS = 10
# The cases offered for a referral from a yes, newest first.
CASES_OFFERED = 200

# Consultations are the caseworkers' (as asker or asked) and the coordinators' (metadata); anyone else gets 403.
caseworker_or_coordinator = role_required(Role.CASEWORKER, Role.COORDINATOR)
# Only caseworkers ask, answer, withdraw and refer.
caseworker_only = role_required(Role.CASEWORKER)


def consultation_or_404(actor: User, pk: Any) -> Consultation:
    """The consultation ``pk`` as ``actor`` may see it (``consultation_of``), else the 404 of a missing one."""
    try:
        return consultation_of(actor, pk)
    except NotFound:
        raise Http404() from None


def _partner_caseworker(request: HttpRequest) -> User:
    """The signed-in caseworker, who must act for a partner organisation (the coordination asks nobody)."""
    actor = person(request)
    if not selectors.acts_for_partner(actor):
        raise PermissionDenied
    return actor


def answer_counts(views: list[RequestView]) -> dict[str, int]:
    """How many asked members answered yes, no, waitlist, and how many have yet to (``pending``)."""
    counts = Counter(view.request.answer or view.request.status for view in views)
    return {key: counts.get(key, 0) for key in (*ConsultationAnswer.values, ConsultationRequestStatus.PENDING)}


def _refer_url(consultation: Consultation, view: RequestView) -> str:
    return reverse("web:consultation-refer", kwargs={"pk": consultation.pk, "request_id": view.request.pk})


def consultation_row(actor: User, consultation: Consultation, now: datetime) -> dict[str, Any]:
    """One consultation in a list: who asked, the viewer's own request (asked of it), the answers (asked by it)."""
    views = request_views(actor, consultation, now)
    asker = is_asker(actor, consultation)
    own = None if asker else next((v for v in views if v.request.organisation_id == actor.organisation.pk), None)
    return {
        "c": consultation,
        "asker": asker,
        "own": own,
        "requests": views,
        "counts": answer_counts(views),
        "entries": [
            {"view": view, "r": view.request,
             "refer_url": _refer_url(consultation, view) if "refer" in view.allowed_actions else ""}
            for view in views
        ],
        "overdue": any(view.overdue for view in views),
    }


# --- the inbox's lists -------------------------------------------------------------------------------


def inbox_consultations(actor: User, now: datetime) -> dict[str, Any]:
    """The inbox's two consultation lists for a caseworker's organisation; four queries whatever they hold.

    - asked of you: the requests made of the organisation still waiting for its answer, the
      earliest due first (late ones are the earliest);
    - your questions: the organisation's consultations still open, or answered with a yes
      that has not become a referral yet, newest first.
    """
    org_id = actor.organisation.pk
    visible = consultations_visible_to(actor)
    own_pending = ConsultationRequest.objects.filter(
        consultation=OuterRef("pk"), organisation_id=org_id, status=ConsultationRequestStatus.PENDING
    )
    asked = list(
        incoming(actor, visible).filter(Exists(own_pending))
        .annotate(own_due=own_pending.values("answer_due")[:1]).order_by("own_due", "pk")[:INBOX_ROWS + 1]
    )
    yes_to_refer = ConsultationRequest.objects.filter(
        consultation=OuterRef("pk"), answer=ConsultationAnswer.YES, referral__isnull=True
    )
    questions = list(
        outgoing(actor, visible).filter(Q(status=ConsultationStatus.OPEN) | Q(Exists(yes_to_refer)))
        .exclude(status=ConsultationStatus.WITHDRAWN)[:INBOX_ROWS + 1]
    )
    return {
        "asked": [consultation_row(actor, c, now) for c in asked[:INBOX_ROWS]],
        "asked_more": len(asked) > INBOX_ROWS,
        "questions": [consultation_row(actor, c, now) for c in questions[:INBOX_ROWS]],
        "questions_more": len(questions) > INBOX_ROWS,
    }


# --- the list ---------------------------------------------------------------------------------------


@signed_in
@require_safe
@caseworker_or_coordinator
def consultation_list(request: HttpRequest) -> HttpResponse:
    """The person's consultations, newest first, filtered by direction, status and urgency; a page at a time."""
    actor, now = person(request), timezone.now()
    form = ConsultationFilterForm(request.GET)
    queryset = form.filtered(
        consultations_visible_to(actor),
        outgoing=lambda qs: outgoing(actor, qs), incoming=lambda qs: incoming(actor, qs),
    )
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [consultation_row(actor, consultation, now) for consultation in page.object_list]
    context = {
        "nav": "inbox", "form": form, "page": page, "rows": rows,
        # A coordinator's list is every consultation, as metadata (even one who is a caseworker too).
        "metadata_only": actor.has_role(Role.COORDINATOR),
        "may_ask": actor.has_role(Role.CASEWORKER) and selectors.acts_for_partner(actor),
    }
    return render(request, "web/consultations/list.html", context)


# --- asking first -----------------------------------------------------------------------------------


def _case_to_start_from(actor: User, request: HttpRequest) -> Case | None:
    """The case the referral form's "Ask first" came from (``?case=``): its triage pre-fills the form; the
    consultation does not refer to it."""
    pk = request.GET.get("case")
    if not pk:
        return None
    return scoped_or_404(selectors.cases_visible_to(actor).select_related("subject"), pk)


def _new_page(request: HttpRequest, actor: User, directory: Directory, form: ConsultationForm, *,
              case: Case | None = None, status: int = 200) -> HttpResponse:
    if form.is_bound:
        fallback = {name: form.data.get(name) for name in DirectoryFilterForm.FIELDS}
        selected = set(request.POST.getlist("organisations"))
    else:
        fallback = {name: form.initial.get(name) for name in DirectoryFilterForm.FIELDS}
        selected = set(request.GET.getlist("organisations"))  # the htmx filter form sends the boxes checked
    query = request.GET
    if any(name in query for name in DirectoryFilterForm.FIELDS):
        filter_form = DirectoryFilterForm(query)
    else:
        filter_form = DirectoryFilterForm(
            {name: "" if fallback.get(name) is None else str(fallback[name]) for name in DirectoryFilterForm.FIELDS}
        )
    members = list(directory.offered(filter_form.filters()))
    # Members chosen already but outside the filters stay listed, first, so a choice is never lost unseen.
    listed = {str(member.pk) for member in members}
    kept = [member for pk, member in form.members.items() if pk in selected and pk not in listed]
    context = {
        "nav": "inbox",
        "form": form,
        "filter_form": filter_form,
        "members": kept + members,
        "kept": {str(member.pk) for member in kept},
        "selected": selected,
        "case": case,
        "page_url": reverse("web:consultation-new"),
    }
    template = "web/consultations/_members.html" if _wants_members(request) else "web/consultations/new.html"
    return render(request, template, context, status=status)


def _wants_members(request: HttpRequest) -> bool:
    """The htmx filter form asks for the member list only."""
    return (request.method == "GET" and request.headers.get("HX-Request") == "true"
            and not request.headers.get("HX-History-Restore-Request"))


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@caseworker_only
def consultation_new(request: HttpRequest) -> HttpResponse:
    """Ask one or more members whether they can take a young person described by triage data only."""
    actor = _partner_caseworker(request)
    directory = Directory(actor)
    members = list(directory.eligible().order_by("name"))
    if request.method == "POST":
        form = ConsultationForm(request.POST, members=members)
        if not form.is_valid():
            return _new_page(request, actor, directory, form, status=UNPROCESSABLE)
        try:
            consultation = consultation_create(actor=actor, data=form.service_values(), organisations=form.asked())
        except DomainError as error:
            add_domain_error(form, error)
            return _new_page(request, actor, directory, form, status=UNPROCESSABLE)
        messages.success(request, _("Your question is sent. Each member asked answers here, without seeing who else "
                                    "was asked."))
        return redirect("web:consultation", pk=consultation.pk)
    case = _case_to_start_from(actor, request)
    initial: dict[str, Any] = {"urgency": "urgent"}
    if case is not None:
        subject = selectors.subjects_shown_to(actor, [case]).get(case.pk)  # audited like every identity read
        initial |= {name: value for name, value in case_triage(case, subject).items() if value not in (None, "")}
    return _new_page(request, actor, directory, ConsultationForm(initial=initial, members=members), case=case)


# --- one consultation -------------------------------------------------------------------------------


@signed_in
@require_safe
@caseworker_or_coordinator
def consultation_page(request: HttpRequest, pk: UUID) -> HttpResponse:
    """One consultation: to the asker, every answer; to an asked member, its own request; to coordinators, metadata."""
    actor = person(request)
    return _page(request, actor, consultation_or_404(actor, pk))


def _page(request: HttpRequest, actor: User, consultation: Consultation, *, status: int = 200,
          answer_form: AnswerForm | None = None, withdraw_form: VersionForm | None = None) -> HttpResponse:
    row = consultation_row(actor, consultation, timezone.now())
    own: RequestView | None = row["own"]
    if own is not None and "answer" in own.allowed_actions and answer_form is None:
        answer_form = AnswerForm(initial={"version": consultation.version})
    if own is not None and "answer" not in own.allowed_actions and status == 200:
        answer_form = None
    withdraw = "withdraw" in consultation_allowed_actions(actor, consultation)
    context = {
        "nav": "inbox",
        "c": consultation,
        "row": row,
        "asker": row["asker"],
        "own": own,
        "metadata_only": not free_text_visible(actor, consultation),
        "answer_form": answer_form,
        "withdraw": withdraw,
        "withdraw_form": withdraw_form or VersionForm(initial={"version": consultation.version}, auto_id="withdraw-%s"),
    }
    return render(request, "web/consultations/detail.html", context, status=status)


@signed_in
@require_POST
@caseworker_only
def consultation_answer_page(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The asked member answers its own request (``consultation_answer``), against the version it saw."""
    actor = _partner_caseworker(request)
    consultation = consultation_or_404(actor, pk)
    own = own_request(actor, consultation)
    if own is None:
        raise PermissionDenied  # the asker reads the consultation, but answers none of its requests
    form = AnswerForm(request.POST)
    if form.is_valid():
        try:
            consultation_answer(
                actor=actor, request=own, answer=form.cleaned_data["answer"], note=form.cleaned_data["note"] or "",
                expected_version=form.cleaned_data.get("version"),
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Your answer is sent to %(asker)s.") % {"asker": consultation.asker.name})
            return redirect("web:consultation", pk=pk)
    return _page(request, actor, consultation_or_404(actor, pk), status=UNPROCESSABLE, answer_form=form)


@signed_in
@require_POST
@caseworker_only
def consultation_withdraw_page(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The asker withdraws its open consultation (``consultation_withdraw``)."""
    actor = _partner_caseworker(request)
    consultation = consultation_or_404(actor, pk)
    form = VersionForm(request.POST, auto_id="withdraw-%s")
    if form.is_valid():
        try:
            consultation_withdraw(actor=actor, consultation=consultation, expected_version=form.cleaned_data["version"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The consultation is withdrawn. The members yet to answer need not."))
            return redirect("web:consultation", pk=pk)
    return _page(request, actor, consultation_or_404(actor, pk), status=UNPROCESSABLE, withdraw_form=form)


# --- a yes into a referral --------------------------------------------------------------------------


def _cases_to_refer_from(actor: User) -> QuerySet[Case]:
    """The organisation's open cases it is involved in now (it leads or supports them): where a referral can start."""
    return (
        selectors.cases_visible_to(actor)
        .filter(status=CaseStatus.OPEN, identity_visible=True)  # type: ignore[misc]  # the selector's annotation
        .order_by("-opened_at", "-pk")
    )


def _case_label(case: Case, org_id: Any) -> str:
    """A case named without identity, as on the case list: its reference, phenomena, opening date and part."""
    part = _("your organisation leads it") if case.lead_organisation_id == org_id else _("your organisation supports it")
    phenomena = label(list(case.phenomena or []), "phenomena")
    return _("Case %(reference)s · %(phenomena)s · opened %(opened)s · %(part)s") % {
        "reference": str(case.pk)[:8], "phenomena": phenomena or "—",
        "opened": date_filter(case.opened_at, "DATE_FORMAT"), "part": part,
    }


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@caseworker_only
def consultation_refer_page(request: HttpRequest, pk: UUID, request_id: UUID) -> HttpResponse:
    """A yes into a referral in one step: choose the case (a GET step), then the kind and the legal basis."""
    actor = _partner_caseworker(request)
    consultation = consultation_or_404(actor, pk)
    if not is_asker(actor, consultation):
        raise Http404  # an asked member knows its own request only, and refers from none
    view = next((v for v in request_views(actor, consultation) if str(v.request.pk) == str(request_id)), None)
    if view is None:
        raise Http404
    context: dict[str, Any] = {"nav": "inbox", "c": consultation, "view": view, "recipient": view.request.organisation}
    if "refer" not in view.allowed_actions:
        referral = view.request.referral
        context["referral"] = referral
        return render(request, "web/consultations/refer_unavailable.html", context, status=409)

    cases = list(_cases_to_refer_from(actor)[:CASES_OFFERED])
    org_id = actor.organisation.pk
    chosen_pk = request.POST.get("case") if request.method == "POST" else request.GET.get("case")
    case = next((c for c in cases if str(c.pk) == str(chosen_pk)), None) if chosen_pk else None
    posted = request.method == "POST"
    choose = CaseChoiceForm(
        {"case": chosen_pk or ""} if chosen_pk or posted else None, initial={"case": str(case.pk) if case else None},
        cases=[(str(c.pk), _case_label(c, org_id)) for c in cases],
    )
    context |= {"choose": choose, "cases": cases, "case": case,
                "page_url": _refer_url(consultation, view)}
    if case is None:
        if chosen_pk or posted:
            choose.is_valid()  # "choose the case" or "one of the cases listed", beside the field
            return render(request, "web/consultations/refer.html", context, status=UNPROCESSABLE)
        return render(request, "web/consultations/refer.html", context)

    consents = selectors.consents_visible_to(actor, case)
    choices = consent_choices(list(consents), _consent_recipient_names(actor, consents))
    if request.method != "POST":
        initial: dict[str, Any] = {"case": str(case.pk), "kind": "service"}
        if len(choices) == 1:
            initial |= {"sharing": "consent", "consent": choices[0][0]}
        context["form"] = ReferFromConsultationForm(initial=initial, actor=actor, case=case, consents=choices)
        return render(request, "web/consultations/refer.html", context)

    form = ReferFromConsultationForm(request.POST, actor=actor, case=case, consents=choices)
    context["form"] = form
    if not form.is_valid():
        return render(request, "web/consultations/refer.html", context, status=UNPROCESSABLE)
    try:
        referral = consultation_refer(actor=actor, request=view.request, case=case, **form.service_values(consents))
    except DomainError as error:
        add_domain_error(form, error)
        return render(request, "web/consultations/refer.html", context, status=UNPROCESSABLE)
    messages.success(request, _("The referral is sent to %(recipient)s. They see who the young person is only "
                                "once they accept it.") % {"recipient": referral.recipient.name})
    return redirect("web:referral", pk=referral.pk)


def _consent_recipient_names(actor: User, consents) -> dict[str, str]:
    """The names of the members the case's consents name, in one query (none if they name nobody)."""
    named = {r for consent in consents for r in consent.recipients}
    if not named:
        return {}
    return {str(pk): name for pk, name in organisations_visible_to(actor).filter(pk__in=named).values_list("pk", "name")}
