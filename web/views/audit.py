"""The auditor's pages: the trail and its verification, a case's retention, legal holds, the subject's rights.

For people holding the auditor role only (anyone else signed in gets the 403 page). Every
page reads and writes through what the auditor's API uses, so the rules and the audit are
the same whichever front end the auditor works in:

- the trail: ``coalition.audit.selectors.audit_entries_visible_to``, searched with the
  API's filter set (``AuditEntryFilter``, by way of ``web.audit_forms.TrailFilter``), each
  search recorded by ``coalition.audit.services.record_trail_search`` (``audit.search``);
- verification: ``coalition.audit.selectors.verify_chain_for`` (``audit.verify``);
- a case: ``referrals.selectors.cases_for_auditor``; its retention ``referrals.retention``
  (``purge_due_at``, ``legal_hold_set``, ``legal_hold_release``); the young person's rights
  ``referrals.rights`` (``subject_export``, ``subject_erase``), each audited by its service.

The trail holds ids and codes only, and so do these pages: the young person appears only in
the export's download, never on a page. Names never travel in URLs: cases are reached by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe
from rest_framework.renderers import JSONRenderer

from coalition.audit.models import AuditEntry
from coalition.audit.selectors import ChainVerdict, audit_entries_visible_to, verify_chain_for
from coalition.audit.services import record_trail_search
from coalition.core.errors import DomainError
from partners.choices import Role
from partners.models import User
from partners.selectors import organisations_visible_to
from referrals import retention, rights
from referrals.api.auditor_serializers import SubjectExportSerializer
from referrals.choices import LegalHoldReason
from referrals.models import Case
from referrals.selectors import cases_for_auditor

from ..audit_forms import EraseForm, LegalHoldForm, TrailFilter, TrailPositionForm
from ..errors import add_domain_error
from ..pages import person, role_required, scoped_or_404, signed_in

PAGE_SIZE = 50  # entries per page of the trail, as the API's default page

# The auditor's pages are for the auditor: anyone else signed in gets the 403 page.
auditor_only = role_required(Role.AUDITOR)

# What the chain verifier found (``ChainVerdict.problem``, the API's English codes), said for people.
PROBLEMS: dict[str, Any] = {
    "missing entry": gettext_lazy("an entry is missing: a sequence number is skipped (a row deleted)."),
    "chain link broken": gettext_lazy("the entry does not name the previous entry's hash (a row inserted or replaced)."),
    "entry altered": gettext_lazy("the entry's contents do not match its hash (the row was altered)."),
    "entries missing at the end": gettext_lazy("the newest entries are missing (rows deleted from the end)."),
    "entries after the chain head": gettext_lazy("there are entries after the last one the chain head names."),
    "chain head does not match the last entry": gettext_lazy("the chain head does not match the last entry."),
    "chain head missing": gettext_lazy("the chain head is missing while entries exist."),
    "chain head signature invalid (rewritten, or AUDIT_HEAD_KEY changed)": gettext_lazy(
        "the chain head's signature is invalid: the trail was rewritten, or AUDIT_HEAD_KEY changed."
    ),
}


def _reference(case_id: Any) -> str:
    """The case's reference as every page shows it: the first characters of its id."""
    return str(case_id)[:8]


def _case(actor: User, pk: UUID) -> Case:
    return scoped_or_404(cases_for_auditor(actor), pk)


def _case_context(case: Case, **more: Any) -> dict[str, Any]:
    return {"nav": "audit", "case": case, "reference": _reference(case.pk)} | more


def _refused(form: forms.Form, error: DomainError) -> forms.Form:
    """``form`` carrying the service's refusal (validated first, so that errors can be added)."""
    form.is_valid()
    add_domain_error(form, error)
    return form


# --- the trail ------------------------------------------------------------------------------------------


@dataclass
class TrailPage:
    """One page of the trail, newest first, and where the neighbouring pages start (None: no such page)."""

    entries: list[AuditEntry]
    older: int | None  # ``before`` of the next older page
    newer: int | None  # ``after`` of the next newer page


def _trail_page(entries: QuerySet[AuditEntry], *, before: int | None, after: int | None) -> TrailPage:
    """Keyset pages over the sequence numbers: stable while entries are added, cost independent of the trail's size."""
    if after:
        rows = list(entries.filter(seq__gt=after).order_by("seq")[: PAGE_SIZE + 1])
        more_newer = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE][::-1]
        more_older = bool(rows) and entries.filter(seq__lt=rows[-1].seq).exists()
    else:
        newest = entries.filter(seq__lt=before) if before else entries
        rows = list(newest.order_by("-seq")[: PAGE_SIZE + 1])
        more_older = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        more_newer = bool(before and rows) and entries.filter(seq__gt=rows[0].seq).exists()
    return TrailPage(
        entries=rows,
        older=rows[-1].seq if rows and more_older else None,
        newer=rows[0].seq if rows and more_newer else None,
    )


@signed_in
@require_safe
@auditor_only
def trail(request: HttpRequest) -> HttpResponse:
    """Search the trail with the API's filters, newest first; each search is itself an ``audit.search`` entry.

    Bad input stands beside its field (200, as the case list's search) and searches nothing.
    """
    actor = person(request)
    organisations = dict(organisations_visible_to(actor).order_by("name").values_list("pk", "name"))
    search = TrailFilter(
        request.GET,
        queryset=audit_entries_visible_to(actor),
        organisations=[(str(pk), name) for pk, name in organisations.items()],
    )
    position = TrailPositionForm(request.GET)
    search.form.is_valid()
    if not position.is_valid():
        search.form.add_error(None, _("This page of the trail does not exist. Search again from the newest entries."))
    context: dict[str, Any] = {"nav": "audit", "search": search.form, "page": None}
    if search.is_valid():
        page = _trail_page(search.qs, before=position.cleaned_data["before"], after=position.cleaned_data["after"])
        record_trail_search(actor=actor, params=request.GET, results=len(page.entries))
        context |= {
            "page": page,
            "rows": [_trail_row(entry, organisations) for entry in page.entries],
        }
        if search.form.cleaned_data.get("case"):
            case_id = search.form.cleaned_data["case"]
            context |= {"searched_case": case_id, "searched_reference": _reference(case_id)}
    return render(request, "web/audit/trail.html", context)


def _trail_row(entry: AuditEntry, organisations: dict[Any, str]) -> dict[str, Any]:
    """An entry as the page shows it: its codes and short ids (the trail holds nothing else)."""
    return {
        "entry": entry,
        "organisation_name": organisations.get(entry.organisation) if entry.organisation else None,
        "actor_user": _reference(entry.actor_user) if entry.actor_user else None,
        "actor_api_key": _reference(entry.actor_api_key) if entry.actor_api_key else None,
        "object_id": entry.object_id[:8] if entry.object_id else "",
        "case_reference": _reference(entry.case) if entry.case else None,
    }


# --- verifying the chain -----------------------------------------------------------------------------


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@auditor_only
def verify(request: HttpRequest) -> HttpResponse:
    """What verifying does; the POST recomputes the whole chain and answers with its verdict (``audit.verify``)."""
    actor = person(request)
    context: dict[str, Any] = {"nav": "audit-verify", "verdict": None}
    if request.method == "POST":
        verdict = verify_chain_for(actor=actor)
        context |= {"verdict": verdict, "problem": _problem(verdict)}
    return render(request, "web/audit/verify.html", context)


def _problem(verdict: ChainVerdict) -> Any:
    return PROBLEMS.get(verdict.problem, verdict.problem) if not verdict.intact else ""


# --- a case's retention and its legal hold --------------------------------------------------------------


@signed_in
@require_safe
@auditor_only
def case_retention(request: HttpRequest, pk: UUID) -> HttpResponse:
    """A case as its retention sees it (the API's retention status): no identity, no free text."""
    case = _case(person(request), pk)
    reason = LegalHoldReason(case.legal_hold_reason).label if case.legal_hold_reason else ""
    return render(
        request,
        "web/audit/case.html",
        _case_context(case, purge_due_at=retention.purge_due_at(case), legal_hold_reason=reason),
    )


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@auditor_only
def case_hold(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Putting the case on legal hold, with its reason: neither the purge nor erasure touches it until released."""
    actor = person(request)
    case = _case(actor, pk)
    if request.method != "POST":
        return render(request, "web/audit/hold.html", _case_context(case, form=LegalHoldForm()))
    form = LegalHoldForm(request.POST)
    if form.is_valid():
        try:
            retention.legal_hold_set(actor=actor, case=case, reason=form.validated["reason"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The case is on legal hold."))
            return redirect("web:audit-case", pk=case.pk)
    return render(request, "web/audit/hold.html", _case_context(case, form=form), status=422)


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@auditor_only
def case_release(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Releasing the legal hold, after a confirmation: a case past retention is purged at the next run."""
    actor = person(request)
    case = _case(actor, pk)
    if request.method != "POST":
        return render(request, "web/audit/release.html", _case_context(case, form=forms.Form()))
    try:
        retention.legal_hold_release(actor=actor, case=case)
    except DomainError as error:
        form = _refused(forms.Form({}), error)
        return render(request, "web/audit/release.html", _case_context(case, form=form), status=422)
    messages.success(request, _("The legal hold is released."))
    return redirect("web:audit-case", pk=case.pk)


# --- the young person's rights: access and erasure ---------------------------------------------------------


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@auditor_only
def subject_export(request: HttpRequest, pk: UUID) -> HttpResponse:
    """What the export holds and that it is audited; the POST answers with the API's export as a JSON download."""
    actor = person(request)
    case = _case(actor, pk)
    if request.method != "POST":
        return render(request, "web/audit/export.html", _case_context(case))
    export = rights.subject_export(actor=actor, case=case)  # writes the ``subject.export`` entry
    with timezone.override(timezone.get_default_timezone()):  # the API's times (UTC), not the page's zone
        body = JSONRenderer().render(SubjectExportSerializer(export).data)  # the API's answer, byte for byte
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="subject-export-{_reference(case.pk)}.json"'
    response["Cache-Control"] = "no-store"
    return response


@signed_in
@require_http_methods(["GET", "HEAD", "POST"])
@auditor_only
def subject_erase(request: HttpRequest, pk: UUID) -> HttpResponse:
    """Erasing the young person's identity and free text, once the auditor has typed the case's reference."""
    actor = person(request)
    case = _case(actor, pk)
    reference = _reference(case.pk)
    if request.method != "POST":
        return render(request, "web/audit/erase.html", _case_context(case, form=EraseForm(reference=reference)))
    form = EraseForm(request.POST, reference=reference)
    if form.is_valid():
        try:
            rights.subject_erase(actor=actor, case=case)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("The young person's identity and free text are erased. The case's metadata and the trail stay."))
            return redirect("web:audit-case", pk=case.pk)
    return render(request, "web/audit/erase.html", _case_context(case, form=form), status=422)
