"""The match pages: "another member knows this young person; get in touch".

Reads go through ``referrals.match_selectors`` only (``matches_visible_to``, ``match_of``,
``side_view``, ``unattended``), so each person sees exactly what the API shows them:

- a caseworker, the matches of the cases their organisation leads now, as one side: the
  other organisation's name and contact point, the due date, both sides' answers, a link to
  their own case and, while their side has not answered, the two answers to give;
- a coordinator, every match as metadata: the two organisations holding the cases, the
  status, when it was found, due and escalated, the answers; no case, no buttons.

Org admins and auditors have no match pages (403); a match that is not the person's is the
404 of a missing one. Nothing on these pages is about the young person, not even the own
case's subject: that two members know the same one is the whole of it.

An answer is a POST to ``web:match-answer`` that calls ``referrals.matches.match_act`` with
the version the person saw (the API's If-Match); a refusal (answered already, changed
meanwhile) is shown on the page (422) and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST, require_safe

from coalition.core.errors import DomainError, NotFound
from partners.choices import Role
from partners.models import Organisation, User
from referrals.choices import MatchAction, MatchStatus
from referrals.match_selectors import MatchSide, match_of, matches_visible_to, side_view
from referrals.matches import match_act, matching_enabled
from referrals.models import Match

from ..errors import add_domain_error
from ..match_forms import MatchAnswerForm, MatchFilterForm
from ..pages import person, role_required, signed_in

PAGE_SIZE = 25

# Matches are the caseworkers' (their own side) and the coordinators' (metadata): anyone else gets the 403 page.
caseworker_or_coordinator = role_required(Role.CASEWORKER, Role.COORDINATOR)
# Only a side answers: a caseworker of the organisation holding one of the two cases.
caseworker_only = role_required(Role.CASEWORKER)


@dataclass(frozen=True)
class Answer:
    """One answer a side gives: the button's words, what the page says after, its look."""

    label: Promise
    done: Promise
    style: str = ""


ANSWERS: dict[str, Answer] = {
    MatchAction.CONTACTED: Answer(
        _("We have been in touch"), _("Thank you: the match is marked as followed up.")
    ),
    MatchAction.NOT_THE_SAME_PERSON: Answer(
        _("Not the same young person"), _("The match is marked as not the same young person."), "secondary"
    ),
}


def match_or_404(actor: User, pk: Any) -> Match:
    """The match ``pk`` as ``actor`` may see it (``match_of``), else the 404 of a missing one."""
    try:
        return match_of(actor, pk)
    except NotFound:
        raise Http404() from None


def is_unattended(match: Match, now: datetime) -> bool:
    """Open and past its due time (what ``match_selectors.unattended`` selects), for one match read already."""
    return match.status == MatchStatus.OPEN and match.due_at < now


def holders(match: Match) -> tuple[Organisation, Organisation]:
    """The organisations holding the two cases now (a case's lead may have moved since the match was found)."""
    return match.case_a.lead_organisation, match.case_b.lead_organisation


def answers_of(match: Match, side: MatchSide | None) -> list[dict[str, Any]]:
    """Both sides' answers, the viewer's own first: who, what (a code or empty) and when."""
    org_a, org_b = holders(match)
    answers = [
        {"side": "a", "organisation": org_a, "action": match.action_a, "at": match.acted_a_at},
        {"side": "b", "organisation": org_b, "action": match.action_b, "at": match.acted_b_at},
    ]
    if side is not None:
        answers.sort(key=lambda answer: answer["side"] != side.side)
        for answer in answers:
            answer["own"] = answer["side"] == side.side
    return answers


# --- the list ---------------------------------------------------------------------------------------


@signed_in
@require_safe
@caseworker_or_coordinator
def match_list(request: HttpRequest) -> HttpResponse:
    """The person's matches, newest first, filtered by status and "unattended"; a page at a time."""
    actor, now = person(request), timezone.now()
    form = MatchFilterForm(request.GET)
    page = Paginator(form.filtered(matches_visible_to(actor)), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = []
    for match in page.object_list:
        side = side_view(actor, match)
        rows.append({
            "match": match, "side": side, "holders": holders(match), "answers": answers_of(match, side),
            "unattended": is_unattended(match, now),
        })
    context = {
        "nav": "matches", "form": form, "page": page, "rows": rows, "enabled": matching_enabled(),
        # A coordinator's list is every match, as metadata (even one who is a caseworker too).
        "metadata_only": actor.has_role(Role.COORDINATOR),
        "working_days": settings.MATCH_ACTION_WORKING_DAYS,
    }
    return render(request, "web/matches/list.html", context)


# --- one match --------------------------------------------------------------------------------------


@signed_in
@require_safe
@caseworker_or_coordinator
def match_page(request: HttpRequest, pk: UUID) -> HttpResponse:
    """One match: to a side, the other organisation and how to reach it, and the answers; to a coordinator, metadata."""
    actor = person(request)
    return _page(request, actor, match_or_404(actor, pk))


@signed_in
@require_POST
@caseworker_only
def match_answer(request: HttpRequest, pk: UUID, action: str) -> HttpResponse:
    """The person's side answers the match (``match_act``), against the version they saw."""
    actor = person(request)
    spec = ANSWERS.get(action)
    if spec is None:
        raise Http404
    current = match_or_404(actor, pk)
    form = MatchAnswerForm(request.POST, auto_id=f"{action}-%s")
    if form.is_valid():
        try:
            match_act(actor=actor, match=current, action=action, expected_version=form.cleaned_data.get("version"))
        except DomainError as error:
            add_domain_error(form, error)  # a NotFound is the 404 page
        else:
            messages.success(request, str(spec.done))
            return redirect("web:match", pk=pk)
    # Refused: nothing changed. The page shows the match as it is now (the other side or a
    # colleague may have answered first), with the reason.
    return _page(request, actor, match_or_404(actor, pk), status=422, refused=form)


def _page(request: HttpRequest, actor: User, match: Match, *, status: int = 200,
          refused: MatchAnswerForm | None = None) -> HttpResponse:
    side = side_view(actor, match)
    other = side.other_organisation if side is not None else None
    context = {
        "nav": "matches",
        "match": match,
        "side": side,
        "other": other,
        "holders": holders(match),
        "answers": answers_of(match, side),
        "unattended": is_unattended(match, timezone.now()),
        "buttons": [
            {
                "action": action, "label": ANSWERS[action].label, "style": ANSWERS[action].style,
                "url": reverse("web:match-answer", kwargs={"pk": match.pk, "action": action}),
                "form": MatchAnswerForm(initial={"version": match.version}, auto_id=f"{action}-%s"),
            }
            for action in (side.allowed_actions if side is not None else []) if action in ANSWERS
        ],
        "refused": refused,
        "working_days": settings.MATCH_ACTION_WORKING_DAYS,
    }
    return render(request, "web/matches/detail.html", context, status=status)
