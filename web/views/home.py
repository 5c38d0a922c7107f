"""The start page: a caseworker's inbox, what waits for the organisation's answer or for a partner's.

Three lists, each read through ``referrals.selectors.referrals_visible_to`` and shown as the
API's representation for the person (``ReferralSerializer``):

- incoming: sent to the organisation and not answered yet, late ones first, then by the
  next deadline (``ReferralQuerySet.by_deadline``);
- outgoing: sent by the organisation and not answered yet, in the same order;
- declined: the organisation's referrals a recipient declined that can still be re-routed
  (the case is open, the organisation still involved, no re-route made yet).

Below them, the consultations (``web.views.consultations.inbox_consultations``): those asked of
the organisation waiting for its answer, and its own questions still open or holding a yes
to turn into a referral; four queries more, whatever they hold.

Each list shows a page (``PAGE_SIZES``: the incoming work first and most of it) with links to the
next and previous ones. The page
costs the same number of queries whatever the lists hold: one per list, one for the page's
free-text rule (``mark_actor_involvement``, inside the serializer) and one for the names of
the other organisations. With htmx the lists refresh in place every minute: the same URL
asked with ``HX-Request`` answers the lists only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from partners.choices import Role
from partners.models import User
from partners.selectors import organisations_visible_to
from referrals.api.serializers import ReferralSerializer
from referrals.choices import CaseStatus, Deadline, ReferralStatus
from referrals.models import Involvement, Referral, ReferralQuerySet
from referrals.selectors import referrals_visible_to

from ..auth import landing
from ..pages import person, signed_in
from .consultations import inbox_consultations

# Rows per page of each list: the page's cost is mostly drawing rows, so the lists that are
# work to do now (incoming) show more than those that wait on others or can wait.
PAGE_SIZES = {"incoming": 20, "outgoing": 10, "declined": 10}

DEADLINE_LABELS: dict[str, Any] = {Deadline.ACKNOWLEDGE: _("Acknowledge by"), Deadline.DECIDE: _("Decide by")}


@dataclass
class Section:
    """One list of the inbox: its rows on this page and where the neighbouring pages are."""

    key: str  # also the query parameter of its page number
    title: Any
    empty: Any
    counterpart: str  # "sender" or "recipient": the other organisation each row names
    rows: list[dict[str, Any]]
    page: int
    next_url: str | None
    previous_url: str | None


@signed_in
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    actor = person(request)
    if not actor.has_role(Role.CASEWORKER):
        # Everyone else starts on the first page of their own work (web.auth.landing).
        start = landing(actor)
        if start != request.path:
            return redirect(start)
        return render(request, "web/inbox/other_roles.html", {"nav": "inbox"})
    sections = inbox_sections(actor, request.GET)
    now = timezone.now()
    context = {"nav": "inbox", "sections": sections, "consultations": inbox_consultations(actor, now), "refreshed_at": now}
    if request.headers.get("HX-Request"):
        response = render(request, "web/inbox/_sections.html", context)
    else:
        response = render(request, "web/inbox/index.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def inbox_sections(actor: User, query: QueryDict) -> list[Section]:
    """The three lists for ``actor``, each at the page ``query`` asks for (``?incoming=2``)."""
    now = timezone.now()
    org_id = actor.organisation.pk
    visible = cast(ReferralQuerySet, referrals_visible_to(actor))
    awaiting = (ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED)
    # A re-route links back to the declined referral (``rerouted_from``); one the sender gave
    # up on (withdrawn) leaves the declined referral still to be routed.
    rerouted = referrals_visible_to(actor).filter(rerouted_from=OuterRef("pk")).exclude(status=ReferralStatus.WITHDRAWN)
    still_involved = Involvement.objects.filter(case=OuterRef("case_id"), organisation_id=org_id, ended_at__isnull=True)
    specs = [
        ("incoming", _("Incoming referrals waiting for your answer"), _("Nothing waits for your answer."), "sender",
         visible.filter(recipient_id=org_id, status__in=awaiting).by_deadline(now)),
        ("outgoing", _("Sent referrals waiting for an answer"), _("None of your referrals waits for an answer."),
         "recipient", visible.filter(sender_id=org_id, status__in=awaiting).by_deadline(now)),
        ("declined", _("Declined referrals to re-route"), _("No declined referral waits to be re-routed."),
         "recipient",
         visible.filter(sender_id=org_id, status=ReferralStatus.DECLINED, case__status=CaseStatus.OPEN)
         .filter(Exists(still_involved)).exclude(Exists(rerouted)).order_by("-declined_at", "id")),
    ]
    pages: list[tuple[str, Any, Any, str, int, list[Referral], bool]] = []
    for key, title, empty, counterpart, queryset in specs:
        page = _page_number(query.get(key))
        size = PAGE_SIZES[key]
        start = (page - 1) * size
        found = list(queryset[start:start + size + 1])  # one more than shown: is there a next page?
        pages.append((key, title, empty, counterpart, page, found[:size], len(found) > size))

    referrals = [referral for *_head, shown, _more in pages for referral in shown]
    # One serializer call for the whole page: its free-text rule is read in one query.
    shown_as = ReferralSerializer(referrals, many=True, context={"actor": actor}).data
    represented = {item["id"]: item for item in shown_as}
    names = _organisation_names(actor, referrals)

    sections = []
    for key, title, empty, counterpart, page, shown, more in pages:
        rows = [_row(represented[str(r.pk)], r, names, counterpart, now) for r in shown]
        sections.append(Section(
            key=key, title=title, empty=empty, counterpart=counterpart, rows=rows, page=page,
            next_url=_page_url(query, key, page + 1) if more else None,
            previous_url=_page_url(query, key, page - 1) if page > 1 else None,
        ))
    return sections


def _row(data: dict[str, Any], referral: Referral, names: dict[Any, str], counterpart: str, now) -> dict[str, Any]:
    deadline = referral.next_deadline()
    due = getattr(referral, f"{deadline}_due") if deadline else None
    return {
        "r": data,
        "organisation": names.get(getattr(referral, f"{counterpart}_id"), ""),
        "deadline_label": DEADLINE_LABELS.get(deadline) if deadline else None,
        "due": due,
        "due_missed": referral.has_missed(deadline, now) if deadline else False,
    }


def _organisation_names(actor: User, referrals: list[Referral]) -> dict[Any, str]:
    """The names of every organisation the page's rows name, in one query."""
    ids = {r.sender_id for r in referrals} | {r.recipient_id for r in referrals}
    if not ids:
        return {}
    return dict(organisations_visible_to(actor).filter(pk__in=ids).values_list("pk", "name"))


def _page_number(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 10_000))
    except ValueError:
        return 1


def _page_url(query: QueryDict, key: str, page: int) -> str:
    changed = query.copy()
    if page > 1:
        changed[key] = str(page)
    else:
        changed.pop(key, None)
    encoded = changed.urlencode()
    return f"{reverse('web:home')}?{encoded}" if encoded else reverse("web:home")
