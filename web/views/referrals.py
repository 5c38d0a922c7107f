"""The referral page and its actions, for caseworkers.

The page shows a referral as the API shows it to the same person (``ReferralSerializer``
with the person as actor: free text only where they may read it) and never the young
person's identity, which belongs on the case page. Beside the triage data: the two
organisations, the status, the deadlines, the history, a link to the case where the
person's organisation sees it, the message thread and the actions open to the person.

Each action is a POST form to ``web:referral-action`` that calls the matching service
with the version the person saw (``expected_version``, the API's If-Match). A refusal of
the service is shown on the page (status 422) and changes nothing; with htmx the form
swaps the action card in place, and the other parts of the page follow out of band.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from coalition.core.errors import DomainError
from partners.choices import Role
from partners.models import User
from referrals import selectors, services
from referrals.api.serializers import CompleteSerializer, DeclineSerializer, MessageCreateSerializer, ReferralSerializer
from referrals.choices import CaseStatus, Deadline, DeclineReason, ReferralOutcome, ReferralStatus
from referrals.models import Referral
from referrals.policy import membership_allows

from ..errors import add_domain_error
from ..forms import ContractForm
from ..pages import person, scoped_or_404, signed_in

# --- forms: the API's input contracts, plus the version the person saw ------------------------


class ActionForm(ContractForm):
    """An action on one referral. ``version`` is the referral's version when the page was drawn:
    a change by someone else since then is refused ("changed meanwhile"), never overwritten."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def clean(self) -> dict[str, Any]:
        if self.contract is None:  # an action without input: nothing for a contract to check
            return self.cleaned_data
        return super().clean()

    def contract_input(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        values = super().contract_input(cleaned)
        values.pop("version", None)
        return values


class DeclineForm(ActionForm):
    contract = DeclineSerializer

    reason_code = forms.ChoiceField(label=_("Reason"), choices=[("", "—"), *DeclineReason.choices])
    reason = forms.CharField(label=_("Explanation for the sender"), widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reason"].help_text = gettext(
            "At most %(count)s characters. Write what the sender needs to find another way, never who the young "
            "person is."
        ) % {"count": settings.REFERRAL_REASON_MAX_LENGTH}


class CompleteForm(ActionForm):
    contract = CompleteSerializer

    outcome_code = forms.ChoiceField(label=_("Outcome"), choices=[("", "—"), *ReferralOutcome.choices])


class MessageForm(ContractForm):
    contract = MessageCreateSerializer

    body = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].help_text = gettext(
            "At most %(count)s characters. The other organisation reads it: write only what it needs, never who the "
            "young person is."
        ) % {"count": settings.MESSAGE_MAX_LENGTH}


# --- the actions, in one place: what each is called, does and asks for -----------------------


@dataclass(frozen=True)
class Action:
    """One thing a person may do with a referral: a form posting to ``web:referral-action``, or a link.

    ``service`` is the ``referrals.services`` function the form calls (None: a link only);
    ``link`` the page the action is done on instead (a draft is sent from its edit page).
    """

    label: Promise
    done: Promise | None = None
    service: Callable[..., Referral] | None = None
    form: type[ActionForm] = ActionForm
    link: str | None = None
    style: str = ""


ACTIONS: dict[str, Action] = {
    "send": Action(_("Edit, preview and send"), _("The referral was sent."), services.referral_send,
                   link="web:referral-edit"),
    "acknowledge": Action(_("Acknowledge"), _("You acknowledged the referral."), services.referral_acknowledge),
    "accept": Action(_("Accept"), _("You accepted the referral. The young person's details are on the case page."),
                     services.referral_accept),
    "decline": Action(_("Decline"), _("You declined the referral."), services.referral_decline, DeclineForm,
                      style="danger"),
    "withdraw": Action(_("Withdraw"), _("You withdrew the referral."), services.referral_withdraw, style="danger"),
    "complete": Action(_("Complete"), _("You completed the referral."), services.referral_complete, CompleteForm),
    "reroute": Action(_("Re-route to another organisation"), link="web:referral-reroute"),
}

def referral_actions(actor: User, referral: Referral) -> list[str]:
    """The actions open to ``actor`` on ``referral``: its ``allowed_actions``, as the API gives them.

    ``referrals.selectors.referral_allowed_actions`` asks the rules the services enforce
    (``referrals.actions``); the page offers those it has a form or page for (``ACTIONS``:
    a draft's ``send`` leads to its edit page; ``message`` is the thread's own form). A listed
    action can still be refused for its input (a consent that lapsed meanwhile): the page
    then shows why. ``reroute`` is a declined referral of the person's organisation that can
    be sent on to someone else (a new referral: the referral form decides).
    """
    allowed = [action for action in selectors.referral_allowed_actions(actor, referral) if action in ACTIONS]
    if _may_reroute(actor, referral):
        allowed.append("reroute")
    return allowed


def _may_reroute(actor: User, referral: Referral) -> bool:
    """A declined referral of the actor's organisation, in an open case it is still involved in, not yet re-routed."""
    if referral.sender_id != actor.organisation.pk or referral.status != ReferralStatus.DECLINED:
        return False
    if referral.case.status != CaseStatus.OPEN or not _involved(actor, referral):
        return False
    if not membership_allows(actor.organisation, "referral.create", referral_kind=referral.kind):
        return False
    return not any(row["status"] != ReferralStatus.WITHDRAWN for row in _reroutes(actor, referral))


def _involved(actor: User, referral: Referral) -> bool:
    """The actor's organisation is involved in the referral's case now (``with_actor_involvement``'s annotation)."""
    involved = getattr(referral, "actor_involved", None)
    return selectors.involved_in(actor, referral.case) if involved is None else involved


def _reroutes(actor: User, referral: Referral) -> list[dict[str, Any]]:
    """The referrals that re-route ``referral`` (id and status), read once per page."""
    rows = getattr(referral, "_web_reroutes", None)
    if rows is None:
        rows = list(selectors.referrals_visible_to(actor).filter(rerouted_from=referral).values("id", "status"))
        referral._web_reroutes = rows  # type: ignore[attr-defined]
    return rows


# --- views ---------------------------------------------------------------------------------------


def _caseworker(request: HttpRequest) -> User:
    """The signed-in caseworker; anyone else may not use these pages (403).

    Coordinators get pages of referral metadata in a later issue.
    """
    actor = person(request)
    if not actor.has_role(Role.CASEWORKER):
        raise PermissionDenied
    return actor


def _referral(actor: User, pk) -> Referral:
    """The referral ``pk`` as ``actor`` may see it, else the 404 of a missing one."""
    queryset = selectors.referrals_visible_to(actor).select_related("sender", "recipient", "case")
    return scoped_or_404(selectors.with_case_state(actor, queryset), pk)


def _htmx(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request"))


@signed_in
@require_GET
def referral(request: HttpRequest, pk) -> HttpResponse:
    actor = _caseworker(request)
    return _page(request, actor, _referral(actor, pk))


@signed_in
@require_POST
def referral_action(request: HttpRequest, pk, action: str) -> HttpResponse:
    actor = _caseworker(request)
    spec = ACTIONS.get(action)
    if spec is None or spec.service is None:
        raise Http404
    current = _referral(actor, pk)
    form = spec.form(request.POST, auto_id=f"{action}-%s", contract_context={"actor": actor})
    if form.is_valid():
        try:
            spec.service(actor=actor, referral=current, expected_version=form.cleaned_data.get("version"),
                         **form.validated)
        except DomainError as error:
            add_domain_error(form, error)  # a NotFound is the 404 page
        else:
            return _action_done(request, actor, pk, spec)
    # Refused: nothing changed. The page shows the referral as it is now (someone else may have
    # acted first), and the form keeps what was typed, with the version now shown.
    current = _referral(actor, pk)
    data = request.POST.copy()
    data["version"] = str(current.version)
    form.data = data
    part = "actions" if _htmx(request) else None
    return _page(request, actor, current, status=422, bound={action: form}, part=part)


def _action_done(request: HttpRequest, actor: User, pk, spec: Action) -> HttpResponse:
    if _htmx(request):
        try:
            current = _referral(actor, pk)
        except Http404:  # no longer the person's to see: back to the inbox
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("web:home")
            return response
        return _page(request, actor, current, part="actions", notice=spec.done)
    messages.success(request, str(spec.done))
    return redirect("web:referral", pk=pk)


@signed_in
@require_POST
def referral_messages(request: HttpRequest, pk) -> HttpResponse:
    """Post a message on the referral's thread; one the person's organisation may not converse on is a 404."""
    actor = _caseworker(request)
    current = _referral(actor, pk)
    if not selectors.may_converse(actor, current):
        raise Http404
    form = MessageForm(request.POST, auto_id="message-%s", contract_context={"actor": actor})
    if form.is_valid():
        try:
            services.message_post(actor=actor, referral=current, body=form.validated["body"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if _htmx(request):
                return _page(request, actor, current, part="thread", notice=_("Your message was sent."))
            messages.success(request, str(_("Your message was sent.")))
            return HttpResponseRedirect(reverse("web:referral", kwargs={"pk": pk}) + "#referral-thread")
    return _page(request, actor, current, status=422, message_form=form, part="thread" if _htmx(request) else None)


# --- what the page shows ------------------------------------------------------------------------

# The parts of the page an htmx answer can replace, each a partial with a stable id.
PARTS = {
    "summary": "web/referrals/_detail_summary.html",
    "actions": "web/referrals/_actions.html",
    "triage": "web/referrals/_detail_triage.html",
    "history": "web/referrals/_detail_history.html",
    "thread": "web/referrals/_detail_thread.html",
}


def _page(request: HttpRequest, actor: User, current: Referral, *, status: int = 200,
          bound: dict[str, ActionForm] | None = None, message_form: MessageForm | None = None,
          part: str | None = None, notice: Any = None) -> HttpResponse:
    """The referral page, or with ``part`` that part first and every other one out of band (htmx)."""
    context = page_context(actor, current, bound=bound or {}, message_form=message_form)
    if part is None:
        html = render_to_string("web/referrals/detail.html", context, request=request)
    else:
        context["notice"] = {part: notice}
        html = render_to_string(PARTS[part], context, request=request)
        for name, template in PARTS.items():
            if name != part:
                html += render_to_string(template, context | {"oob": True}, request=request)
    response = HttpResponse(html, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


HISTORY = (
    ("created_at", _("Drafted")),
    ("sent_at", _("Sent")),
    ("acknowledged_at", _("Acknowledged")),
    ("accepted_at", _("Accepted")),
    ("declined_at", _("Declined")),
    ("withdrawn_at", _("Withdrawn")),
    ("completed_at", _("Completed")),
)
DEADLINES = ((Deadline.ACKNOWLEDGE, "acknowledge_due", _("Acknowledge by")), (Deadline.DECIDE, "decide_due", _("Decide by")))


def page_context(actor: User, current: Referral, *, bound: dict[str, ActionForm],
                 message_form: MessageForm | None) -> dict[str, Any]:
    """Everything the referral page shows ``actor``, from the representation the API gives them."""
    now = timezone.now()
    r = ReferralSerializer(current, context={"actor": actor}).data
    own = actor.organisation.pk
    return {
        "nav": "inbox",
        "r": r,
        "referral": current,
        "sender_name": current.sender.name,
        "recipient_name": current.recipient.name,
        "direction": "outgoing" if current.sender_id == own else "incoming",
        "deadlines": [
            {"label": label, "due": getattr(current, field), "missed": current.has_missed(deadline, now)}
            for deadline, field, label in DEADLINES if getattr(current, field) is not None
        ],
        "history": _history(r),
        "case_visible": selectors.cases_visible_to(actor).filter(pk=current.case_id).exists(),
        "rerouted_from_visible": bool(current.rerouted_from_id) and current.sender_id == own,
        "reroutes": _reroutes(actor, current)
        if current.status == ReferralStatus.DECLINED and current.sender_id == own else [],
        "actions": _action_views(actor, current, bound),
        "thread": _thread(actor, current, message_form),
    }


def _history(r: dict[str, Any]) -> list[dict[str, Any]]:
    """The referral's steps so far, in order, from the representation's timestamps."""
    steps = []
    for field, label in HISTORY:
        if not r.get(field):
            continue
        step: dict[str, Any] = {"label": label, "at": r[field], "field": field}
        if field == "declined_at":
            step["code"], step["code_list"], step["text"] = r["decline_reason_code"], "decline_reason_code", r["decline_reason"]
        elif field == "completed_at":
            step["code"], step["code_list"] = r["outcome_code"], "outcome_code"
        steps.append(step)
    return sorted(steps, key=lambda step: step["at"])


def _action_views(actor: User, current: Referral, bound: dict[str, ActionForm]) -> list[dict[str, Any]]:
    views = []
    for name in referral_actions(actor, current):
        spec = ACTIONS[name]
        view: dict[str, Any] = {"name": name, "label": spec.label, "style": spec.style}
        if spec.link is not None:
            view["link"] = spec.link  # reversed in the template: the page belongs to another area
        else:
            view["url"] = reverse("web:referral-action", kwargs={"pk": current.pk, "action": name})
            view["form"] = bound.get(name) or spec.form(
                initial={"version": current.version}, auto_id=f"{name}-%s", contract_context={"actor": actor}
            )
        views.append(view)
    # A refused action that is no longer open (someone acted first) still shows why.
    for name, form in bound.items():
        if not any(view["name"] == name for view in views):
            views.append({"name": name, "label": ACTIONS[name].label, "refused": form})
    return views


def _thread(actor: User, current: Referral, message_form: MessageForm | None) -> dict[str, Any] | None:
    """The messages the person may read, and a form where they may write; None where there is no thread."""
    if current.status == ReferralStatus.DRAFT or not selectors.may_converse(actor, current):
        return None
    may_post = membership_allows(actor.organisation, "referral.message_post")
    return {
        "messages": [
            {"organisation": m.organisation.name, "own": m.organisation_id == actor.organisation.pk,
             "created_at": m.created_at, "body": m.body}
            for m in selectors.messages_visible_to(actor, current)
        ],
        "form": (message_form or MessageForm(auto_id="message-%s", contract_context={"actor": actor}))
        if may_post else None,
    }
