"""The caseworker's cases: the organisation's list, opening a case, the case page and its actions.

Reads go through ``referrals.selectors`` with the signed-in person as actor, and the young
person's identity only through ``subjects_shown_to`` (by way of the API's ``CaseSerializer``),
which writes the ``subject.read`` entry; writes go through ``referrals.services``, which
decide: a refused action comes back as an error on its form (422), nothing changed.

Names never travel in URLs: the list is searched by status, phenomenon and the case
reference (the first characters of its id), never by the young person's name.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import models as db
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from coalition.core.errors import DomainError
from partners.choices import MembershipStatus, OrganisationKind, Role
from partners.models import User
from partners.selectors import organisations_visible_to
from referrals import services
from referrals.api.serializers import CaseSerializer, ReferralSerializer
from referrals.choices import CaseStatus, InvolvementRole
from referrals.match_selectors import matches_of_case
from referrals.models import Case
from referrals.selectors import (
    case_allowed_actions,
    cases_visible_to,
    consent_allowed_actions,
    consents_visible_to,
    involved_in,
    involvements_of,
    referrals_visible_to,
)

from .. import drafts
from ..case_forms import CaseEditForm, CaseOpenForm, CaseSearchForm, CloseForm, ConsentForm, VersionForm
from ..errors import add_domain_error
from ..pages import person, role_required, scoped_or_404, signed_in
from .matches import is_unattended

PAGE_SIZE = 25
OPEN_DRAFT = "case-open"  # the draft key of the case form (web.drafts)


# The case pages are for caseworkers: anyone else signed in gets the 403 page.
caseworker_only = role_required(Role.CASEWORKER)


def case_actions(actor: User, case: Case) -> frozenset[str]:
    """The buttons the case page shows: the case's ``allowed_actions``, as the API gives them.

    ``referrals.selectors.case_allowed_actions`` asks the rules the services enforce
    (``referrals.actions``); ``create_referral`` is the page's "Refer", and a consent's
    withdrawal is each consent's own ``allowed_actions`` (``consent_allowed_actions``).
    The services decide anyway: a listed action can still be refused for its input.
    """
    allowed = set(case_allowed_actions(actor, case))
    if "create_referral" in allowed:
        allowed.add("refer")
    return frozenset(allowed)


def _case(actor: User, pk: UUID, *, with_subject: bool = False) -> Case:
    cases = cases_visible_to(actor)
    if with_subject:
        cases = cases.select_related("subject")  # shown on the page: read (and audited) by the serializer
    return scoped_or_404(cases, pk)


def _shown(actor: User, case: Case) -> dict[str, Any]:
    """The case as the API shows it to ``actor``: its subject only while involved, and that read audited."""
    return CaseSerializer(case, context={"actor": actor}).data


def _reference(case_id: Any) -> str:
    return str(case_id)[:8]


# --- the list --------------------------------------------------------------------------------------


@signed_in
@require_safe
@caseworker_only
def case_list(request: HttpRequest) -> HttpResponse:
    """The organisation's cases, open ones first, newest first; no identity on this page."""
    actor = person(request)
    search = CaseSearchForm(request.GET)
    cases = cases_visible_to(actor)
    if search.is_valid():
        cases = _filtered(cases, search.cleaned_data)
    else:
        cases = cases.none()
    cases = cases.annotate(
        closed_last=db.Case(
            db.When(status=CaseStatus.OPEN, then=db.Value(0)), default=db.Value(1), output_field=db.IntegerField()
        )
    ).order_by("closed_last", "-opened_at", "-pk")
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    org_id = actor.organisation.pk
    rows = [
        {
            "case": case,
            "reference": _reference(case.pk),
            "part": _part(case, org_id),
        }
        for case in page.object_list
    ]
    return render(request, "web/cases/list.html", {"nav": "cases", "search": search, "page": page, "rows": rows})


def _filtered(cases, filters: dict[str, Any]):
    if filters.get("status"):
        cases = cases.filter(status=filters["status"])
    if filters.get("phenomenon"):
        cases = cases.filter(phenomena__has_item=filters["phenomenon"])
    reference = filters.get("reference")
    if reference:
        # The reference is the id's first characters: a range of the primary key's index.
        low, high = UUID(reference.ljust(32, "0")), UUID(reference.ljust(32, "f"))
        cases = cases.filter(pk__gte=low, pk__lte=high)
    return cases


def _part(case: Case, org_id) -> str:
    """The organisation's part in the case: lead, supporting, or no longer involved."""
    if case.lead_organisation_id == org_id and getattr(case, "identity_visible", False):
        return "lead"
    return "supporting" if getattr(case, "identity_visible", False) else "ended"


# --- opening a case ---------------------------------------------------------------------------------


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@caseworker_only
def case_open(request: HttpRequest) -> HttpResponse:
    """The form that opens a case; what was typed is kept as a draft while the person types."""
    actor = person(request)
    context: dict[str, Any] = {"nav": "cases", "draft_key": OPEN_DRAFT}
    if request.method != "POST":
        context |= {"form": CaseOpenForm(), "draft": drafts.draft_for(actor, OPEN_DRAFT)}
        return render(request, "web/cases/open.html", context)
    if request.POST.get("draft") == "restore":
        restored = drafts.take_draft(actor, OPEN_DRAFT)
        context |= {"form": CaseOpenForm(initial=drafts.initial_from(CaseOpenForm, restored)), "restored": restored}
        return render(request, "web/cases/open.html", context)
    form = CaseOpenForm(request.POST, contract_context={"actor": actor})
    if form.is_valid():
        try:
            case = services.case_open(actor=actor, **form.validated)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            drafts.discard_draft(actor, OPEN_DRAFT)
            messages.success(request, _("The case is open. Record the young person's consent before you refer."))
            return redirect("web:case", pk=case.pk)
    return render(request, "web/cases/open.html", context | {"form": form}, status=422)


# --- the case page ----------------------------------------------------------------------------------


@signed_in
@require_safe
@caseworker_only
def case_page(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The case: facts, the young person where visible (audited), consents, referrals, custody, actions, matches."""
    actor = person(request)
    case = _case(actor, pk, with_subject=True)
    return render(request, "web/cases/detail.html", _page_context(actor, case))


def _page_context(actor: User, case: Case) -> dict[str, Any]:
    shown, now = _shown(actor, case), timezone.now()
    involvements = list(involvements_of(case))
    referrals = list(
        referrals_visible_to(actor).filter(case=case).select_related("sender", "recipient").order_by("-created_at")
    )
    consents = list(consents_visible_to(actor, case))
    names = {case.lead_organisation_id: case.lead_organisation.name}
    names |= {i.organisation_id: i.organisation.name for i in involvements}
    for referral in referrals:
        names |= {referral.sender_id: referral.sender.name, referral.recipient_id: referral.recipient.name}
    recipient_ids = {r for consent in consents for r in consent.recipients} - {str(k) for k in names}
    if recipient_ids:
        names |= dict(organisations_visible_to(actor).filter(pk__in=recipient_ids).values_list("pk", "name"))
    names_by_text = {str(k): v for k, v in names.items()}
    shown_referrals = [
        data | {"sender_name": names_by_text[data["sender"]], "recipient_name": names_by_text[data["recipient"]],
                "outgoing": data["sender"] == str(actor.organisation.pk)}
        for data in ReferralSerializer(referrals, many=True, context={"actor": actor}).data
    ]
    visible_referrals = {r.pk for r in referrals}
    return {
        "nav": "cases",
        "case": shown,
        "reference": _reference(case.pk),
        "lead_name": case.lead_organisation.name,
        "involved": involved_in(actor, case),
        "actions": case_actions(actor, case),
        "consents": [
            {
                "consent": c,
                "recipient_names": [names_by_text.get(r, _("Unknown organisation")) for r in c.recipients],
                "actions": consent_allowed_actions(actor, c, case),
            }
            for c in consents
        ],
        "referrals": shown_referrals,
        "custody": [
            {"involvement": i, "referral_visible": i.referral_id in visible_referrals}
            for i in involvements if i.role == InvolvementRole.LEAD
        ],
        "supporting": [i for i in involvements if i.role == InvolvementRole.SUPPORTING],
        # Other members known to hold a case of the same young person (README, "Known elsewhere"): the page links to each match.
        "known_elsewhere": [
            {"side": side, "unattended": is_unattended(side.match, now)} for side in matches_of_case(actor, case)
        ],
    }


# --- changing, closing, reopening ------------------------------------------------------------------


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@caseworker_only
def case_edit(request: HttpRequest, pk: UUID) -> HttpResponse:
    """The lead changes the phenomena, the region or the young person's details, against the version read."""
    actor = person(request)
    case = _case(actor, pk, with_subject=True)
    shown = _shown(actor, case)
    context = {"nav": "cases", "case": shown, "reference": _reference(case.pk)}
    initial = CaseEditForm.initial_for(shown)
    if request.method != "POST":
        return render(request, "web/cases/edit.html", context | {"form": CaseEditForm(initial=initial)})
    form = CaseEditForm(request.POST, initial=initial, contract_context={"actor": actor})
    if form.is_valid():
        try:
            services.case_update(
                actor=actor, case=case, expected_version=form.cleaned_data["version"], **form.validated
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The case was changed."))
            return redirect("web:case", pk=case.pk)
    return render(request, "web/cases/edit.html", context | {"form": form}, status=422)


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@caseworker_only
def case_close(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Closing, after a confirmation: the outcome; open referrals are withdrawn, supporters released."""
    actor = person(request)
    case = _case(actor, pk)
    context = {"nav": "cases", "case": case, "reference": _reference(case.pk)}
    if request.method != "POST":
        return render(request, "web/cases/close.html", context | {"form": CloseForm(initial={"version": case.version})})
    form = CloseForm(request.POST, contract_context={"actor": actor})
    if form.is_valid():
        try:
            services.case_close(actor=actor, case=case, expected_version=form.cleaned_data["version"], **form.validated)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The case is closed."))
            return redirect("web:case", pk=case.pk)
    return render(request, "web/cases/close.html", context | {"form": form}, status=422)


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@caseworker_only
def case_reopen(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Reopening a closed case (its last lead), after a confirmation."""
    actor = person(request)
    case = _case(actor, pk)
    context = {"nav": "cases", "case": case, "reference": _reference(case.pk)}
    if request.method != "POST":
        return render(request, "web/cases/reopen.html", context | {"form": VersionForm(initial={"version": case.version})})
    form = VersionForm(request.POST)
    if form.is_valid():
        try:
            services.case_reopen(actor=actor, case=case, expected_version=form.cleaned_data["version"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The case is open again."))
            return redirect("web:case", pk=case.pk)
    return render(request, "web/cases/reopen.html", context | {"form": form}, status=422)


# --- consents ----------------------------------------------------------------------------------------


def _recipient_choices(actor: User) -> list[tuple[str, str]]:
    """The members a consent may name: active ones other than the actor's own and the coordination."""
    organisations = (
        organisations_visible_to(actor)
        .filter(membership_status=MembershipStatus.ACTIVE)
        .exclude(kind=OrganisationKind.COORDINATOR)
        .exclude(pk=actor.organisation.pk)
        .order_by("name")
        .values_list("pk", "name")
    )
    return [(str(pk), name) for pk, name in organisations]


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@caseworker_only
def consent_record(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Recording the young person's (or a guardian's) consent to share, for purposes and recipients."""
    actor = person(request)
    case = _case(actor, pk)
    context = {"nav": "cases", "case": case, "reference": _reference(case.pk)}
    choices = _recipient_choices(actor)
    if request.method != "POST":
        return render(request, "web/cases/consent_new.html", context | {"form": ConsentForm(organisations=choices)})
    form = ConsentForm(request.POST, organisations=choices, contract_context={"actor": actor})
    if form.is_valid():
        try:
            services.consent_record(actor=actor, case=case, data=form.validated)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The consent is recorded."))
            return redirect("web:case", pk=case.pk)
    return render(request, "web/cases/consent_new.html", context | {"form": form}, status=422)


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@caseworker_only
def consent_withdraw(request: HttpRequest, pk: UUID, consent_id: UUID) -> HttpResponse:
    """Withdrawing a consent, after a confirmation: referrals still pending on it are withdrawn too."""
    actor = person(request)
    case = _case(actor, pk)
    consent = scoped_or_404(consents_visible_to(actor, case), consent_id)
    context = {"nav": "cases", "case": case, "reference": _reference(case.pk), "consent": consent, "errors": []}
    if request.method != "POST":
        return render(request, "web/cases/consent_withdraw.html", context)
    try:
        services.consent_withdraw(actor=actor, consent=consent)
    except DomainError as error:
        form = forms.Form({})
        form.is_valid()
        add_domain_error(form, error)
        context["errors"] = form.non_field_errors()
        return render(request, "web/cases/consent_withdraw.html", context, status=422)
    messages.success(request, _("The consent is withdrawn."))
    return redirect("web:case", pk=case.pk)
