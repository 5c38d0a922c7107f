"""The referral form: a new referral from a case, a draft's changes, a declined referral re-routed in one step.

Every page picks the recipient from the directory (filters pre-filled from the case, an
htmx GET swapping the list in place, a plain GET form without JS), validates through the
API's input serializer (``web.referral_forms``) and writes only through
``referrals.services``. "Preview" shows what the recipient will be given before it accepts
(``web.referral_forms.recipient_view``) without writing anything; "Save as draft" and
"Send" write. A refusal shows beside its field, or at the form's top, with status 422,
and nothing changed; except that a re-route whose sending is refused stays a draft, whose
form then says why.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from coalition.core.errors import DomainError
from partners.models import User
from partners.selectors import organisations_visible_to
from referrals import selectors, services
from referrals.api.serializers import ReferralSerializer
from referrals.choices import ReferralStatus
from referrals.models import Case, Referral, ReferralQuerySet

from ..errors import add_domain_error
from ..pages import person, scoped_or_404, signed_in
from ..referral_forms import (
    Directory,
    DirectoryFilterForm,
    DraftForm,
    ReferralForm,
    case_triage,
    consent_choices,
    initial_from,
    recipient_view,
    unsaved_referral,
)

PREVIEW, SAVE, SEND, WITHDRAW = "preview", "save", "send", "withdraw"
UNPROCESSABLE = 422


def _caseworker(request: HttpRequest) -> User:
    """The signed-in person, who must act for a partner organisation (a caseworker): anyone else is refused."""
    actor = person(request)
    if not selectors.acts_for_partner(actor):
        raise PermissionDenied
    return actor


def _version(request: HttpRequest) -> int | None:
    """The version of the draft the person read (the API's If-Match), from the form's hidden field."""
    try:
        return int(request.POST["version"])
    except (KeyError, ValueError):
        return None


class FormPage:
    """One rendering of the referral form: for a new referral (``draft`` None) or a draft, maybe re-routing ``declined``."""

    def __init__(
        self,
        request: HttpRequest,
        actor: User,
        case: Case,
        *,
        draft: Referral | None = None,
        declined: Referral | None = None,
    ) -> None:
        self.request = request
        self.actor = actor
        self.case = case
        self.draft = draft
        self.declined = declined if draft is None else None
        # A re-route (and its draft) goes to another member than the one that declined.
        rerouted_from = self.declined or (draft.rerouted_from if draft is not None else None)
        excluded = [rerouted_from.recipient_id] if rerouted_from is not None else []
        self.directory = Directory(actor, excluded=excluded)
        consents = list(selectors.consents_visible_to(actor, case))
        named = {r for consent in consents for r in consent.recipients}
        names = {
            str(pk): name
            for pk, name in organisations_visible_to(actor).filter(pk__in=named).values_list("pk", "name")
        } if named else {}
        self.consents = consent_choices(consents, names)

    # --- the form -------------------------------------------------------------------

    def form(self, data=None, initial: dict[str, Any] | None = None) -> ReferralForm:
        form_class = DraftForm if self.draft is not None else ReferralForm
        return form_class(
            data,
            initial=initial,
            actor=self.actor,
            case=self.case,
            consents=self.consents,
            directory=self.directory,
            rerouted_from=self.declined,
        )

    @property
    def url(self) -> str:
        if self.draft is not None:
            return reverse("web:referral-edit", args=[self.draft.pk])
        if self.declined is not None:
            return reverse("web:referral-reroute", args=[self.declined.pk])
        return reverse("web:referral-new", args=[self.case.pk])

    # --- the directory --------------------------------------------------------------

    def directory_form(self, fallback: dict[str, Any]) -> DirectoryFilterForm:
        """The filters the person set (the GET form), else ``fallback``: the referral's own triage data."""
        query = self.request.GET
        if any(name in query for name in DirectoryFilterForm.FIELDS):
            return DirectoryFilterForm(query)
        values = {name: "" if fallback.get(name) is None else str(fallback[name]) for name in DirectoryFilterForm.FIELDS}
        return DirectoryFilterForm(values)

    def directory_context(self, fallback: dict[str, Any], selected: Any) -> dict[str, Any]:
        filter_form = self.directory_form(fallback)
        selected = str(selected) if selected else ""
        recipients, standing = self.directory.listing(filter_form.filters(), selected)
        return {
            "filter_form": filter_form,
            "recipients": recipients,
            "kept": standing == "kept",
            # A draft's recipient that stopped accepting referrals (or was suspended) is offered no more.
            "selected_unavailable": standing == "unavailable" and self.draft is not None,
            "selected": selected,
            "involved": self.involved,
        }

    @cached_property
    def involved(self) -> set[Any]:
        """The organisations involved in the case now (a recipient among them already sees the young person)."""
        return set(
            selectors.involvements_of(self.case).filter(ended_at__isnull=True).values_list("organisation_id", flat=True)
        )

    # --- rendering ------------------------------------------------------------------

    def render(self, form: ReferralForm, *, status: int = 200, preview: dict[str, Any] | None = None) -> HttpResponse:
        if form.is_bound:
            fallback = {name: form.data.get(name) for name in DirectoryFilterForm.FIELDS}
            selected = form.data.get("recipient")
        else:
            fallback = {name: form.initial.get(name) for name in DirectoryFilterForm.FIELDS}
            selected = self.request.GET.get("recipient") or form.initial.get("recipient")
        context = {
            "case": self.case,
            "form": form,
            "draft": self.draft,
            "declined": self.declined_view(),
            "reroutes": self.reroutes(),
            "page_url": self.url,
            "version": self.draft.version if self.draft is not None else None,
            "preview": preview,
            "heading": self.heading(),
            # Autosave (drafts that survive the idle timeout) keys a new referral's form by its case.
            "draft_key": f"referral-new:{self.case.pk}" if self.draft is None and self.declined is None else "",
            "nav": "cases",
            **self.directory_context(fallback, selected),
        }
        return render(self.request, "web/referrals/form.html", context, status=status)

    def render_recipients(self) -> HttpResponse:
        """The recipient list alone, for the htmx filter form (the filters are in the query)."""
        context = self.directory_context({}, self.request.GET.get("recipient"))
        return render(self.request, "web/referrals/_form_recipients.html", context | {"oob": True})

    def heading(self) -> str:
        if self.draft is not None:
            return _("Draft referral")
        if self.declined is not None:
            return _("Re-route a declined referral")
        return _("New referral")

    def declined_view(self) -> dict[str, Any] | None:
        if self.declined is None:
            return None
        return {"recipient": self.declined.recipient, "r": ReferralSerializer(self.declined, context={"actor": self.actor}).data}

    def reroutes(self) -> list[Referral]:
        """Re-routes of the declined referral still open (a draft saved before, or one sent): shown, to avoid a second."""
        if self.declined is None:
            return []
        visible = cast(ReferralQuerySet, selectors.referrals_visible_to(self.actor))
        return list(visible.open().filter(rerouted_from=self.declined).select_related("recipient").order_by("created_at"))

    def preview(self, form: ReferralForm) -> dict[str, Any]:
        """What the recipient would be given if the form's referral were sent now; nothing is written."""
        referral = unsaved_referral(self.actor, self.case, form.service_values(), draft=self.draft)
        involved = referral.recipient_id in self.involved
        return {"r": recipient_view(referral), "recipient": referral.recipient, "involved": involved}

    # --- acting ---------------------------------------------------------------------

    def handle_post(self) -> HttpResponse:
        action = self.request.POST.get("action", PREVIEW)
        if action == WITHDRAW and self.draft is not None:
            return self.withdraw()
        form = self.form(self.request.POST)
        if not form.is_valid():
            return self.render(form, status=UNPROCESSABLE)
        if action == SAVE:
            return self.save(form)
        if action == SEND:
            return self.send(form)
        return self.render(form, preview=self.preview(form))

    def write_draft(self, form: ReferralForm) -> Referral:
        """The form's referral as a draft: created (``referral_create``) or the draft changed (``referral_update``)."""
        if self.draft is None:
            return services.referral_create(actor=self.actor, case=self.case, data=form.service_values())
        return services.referral_update(
            actor=self.actor, referral=self.draft, data=form.service_values(), expected_version=_version(self.request)
        )

    def save(self, form: ReferralForm) -> HttpResponse:
        try:
            referral = self.write_draft(form)
        except DomainError as error:
            add_domain_error(form, error)
            return self.render(form, status=UNPROCESSABLE)
        messages.success(self.request, _("The draft is saved. The recipient sees nothing of it until you send it."))
        return redirect("web:referral-edit", pk=referral.pk)

    def send(self, form: ReferralForm) -> HttpResponse:
        """Write the draft and send it, in one transaction: if sending is refused, nothing changed."""
        if self.declined is not None:
            return self.send_reroute(form)
        try:
            with transaction.atomic():
                referral = self.write_draft(form)
                referral = services.referral_send(actor=self.actor, referral=referral, expected_version=referral.version)
        except DomainError as error:
            add_domain_error(form, error)
            return self.render(form, status=UNPROCESSABLE)
        return self.sent(referral)

    def send_reroute(self, form: ReferralForm) -> HttpResponse:
        """Re-route in one step: create the new referral, then send it (two services in turn). If sending is
        refused the new draft stays, and its own form says why."""
        try:
            referral = self.write_draft(form)
        except DomainError as error:
            add_domain_error(form, error)
            return self.render(form, status=UNPROCESSABLE)
        try:
            referral = services.referral_send(actor=self.actor, referral=referral, expected_version=referral.version)
        except DomainError as error:
            draft_page = FormPage(self.request, self.actor, self.case, draft=_sender_referrals(self.actor).get(pk=referral.pk))
            draft_form = draft_page.form(self.request.POST)
            draft_form.is_valid()
            add_domain_error(draft_form, error)
            draft_form.add_error(None, _("The re-route is saved as a draft: correct it here and send it again."))
            return draft_page.render(draft_form, status=UNPROCESSABLE)
        return self.sent(referral)

    def sent(self, referral: Referral) -> HttpResponse:
        messages.success(
            self.request, _("The referral is sent to %(recipient)s.") % {"recipient": referral.recipient.name}
        )
        return redirect("web:referral", pk=referral.pk)

    def withdraw(self) -> HttpResponse:
        assert self.draft is not None
        try:
            services.referral_withdraw(actor=self.actor, referral=self.draft, expected_version=_version(self.request))
        except DomainError as error:
            # The refusal shows on the draft's form, bound to the draft's values to carry it.
            form = self.form(_as_data(_draft_initial(self.actor, self.draft)))
            form.is_valid()
            add_domain_error(form, error)
            return self.render(form, status=UNPROCESSABLE)
        messages.success(self.request, _("The draft is withdrawn."))
        return redirect("web:case", pk=self.case.pk)


def _sender_referrals(actor: User):
    """The referrals the person may read, with what the form and its preview need joined in."""
    queryset = selectors.referrals_visible_to(actor).select_related(
        "case__lead_organisation", "sender", "recipient", "consent", "rerouted_from"
    )
    return selectors.with_actor_involvement(actor, queryset)


def _own_referral(actor: User, pk) -> Referral:
    """A referral the person's organisation sent; anyone else's is the same 404 as a missing one."""
    referral = scoped_or_404(_sender_referrals(actor), pk)
    if referral.sender_id != actor.organisation.pk:
        raise Http404()
    return referral


def _draft_initial(actor: User, referral: Referral) -> dict[str, Any]:
    return initial_from(ReferralSerializer(referral, context={"actor": actor}).data)


def _as_data(initial: dict[str, Any]) -> dict[str, Any]:
    """Form data (as a browser posts it) for ``initial`` values."""
    data = QueryDict(mutable=True)
    for name, value in initial.items():
        if isinstance(value, list):
            data.setlist(name, [str(v) for v in value])
        elif value is not None:
            data[name] = str(value)
    return data


def _unavailable(request: HttpRequest, referral: Referral, message: str) -> HttpResponse:
    return render(
        request,
        "web/referrals/form_unavailable.html",
        {"referral": referral, "message": message, "nav": "cases"},
        status=409,
    )


# --- the pages ------------------------------------------------------------------------


@signed_in
@require_http_methods(["GET", "POST"])
def referral_new(request: HttpRequest, pk) -> HttpResponse:
    """A new referral from a case the person's organisation is involved in."""
    actor = _caseworker(request)
    case = scoped_or_404(selectors.cases_visible_to(actor).select_related("subject"), pk)
    if not selectors.involved_in(actor, case):
        raise PermissionDenied  # a past involvement reads the case, but refers from it no more
    page = FormPage(request, actor, case)
    if request.method == "POST":
        return page.handle_post()
    if _wants_recipients(request):
        return page.render_recipients()
    subject = selectors.subjects_shown_to(actor, [case]).get(case.pk)  # audited like every identity read
    initial = case_triage(case, subject) | {"kind": "service"}
    if len(page.consents) == 1:
        initial |= {"sharing": "consent", "consent": page.consents[0][0]}
    return page.render(page.form(initial=initial))


@signed_in
@require_http_methods(["GET", "POST"])
def referral_edit(request: HttpRequest, pk) -> HttpResponse:
    """A draft of the person's organisation: change, preview, save, send or withdraw it."""
    actor = _caseworker(request)
    referral = _own_referral(actor, pk)
    if referral.status != ReferralStatus.DRAFT:
        return _unavailable(request, referral, _("This referral is no longer a draft: it cannot be changed."))
    page = FormPage(request, actor, referral.case, draft=referral)
    if request.method == "POST":
        return page.handle_post()
    if _wants_recipients(request):
        return page.render_recipients()
    return page.render(page.form(initial=_draft_initial(actor, referral)))


@signed_in
@require_http_methods(["GET", "POST"])
def referral_reroute(request: HttpRequest, pk) -> HttpResponse:
    """A new referral for a declined one, pre-filled from it; one submit creates and sends it."""
    actor = _caseworker(request)
    declined = _own_referral(actor, pk)
    if declined.status != ReferralStatus.DECLINED:
        return _unavailable(request, declined, _("Only a declined referral can be re-routed."))
    page = FormPage(request, actor, declined.case, declined=declined)
    if request.method == "POST":
        return page.handle_post()
    if _wants_recipients(request):
        return page.render_recipients()
    initial = _draft_initial(actor, declined) | {"recipient": None}
    return page.render(page.form(initial=initial))


def _wants_recipients(request: HttpRequest) -> bool:
    """The htmx filter form asks for the recipient list only (a history restore, should one come, gets the page)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get("HX-History-Restore-Request")
