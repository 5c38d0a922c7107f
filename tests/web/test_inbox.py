"""The caseworker's inbox (/app/): what waits for an answer, incoming and outgoing, and declined referrals to re-route."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from partners.choices import Role
from partners.models import User
from referrals import services
from referrals.models import Referral
from tests.support.web import web_client_for
from web.views.home import PAGE_SIZES

INBOX = "/app/"


def _case_with_consent(user: User):
    case = services.case_open(actor=user, subject={"given_name": "Testperson"}, phenomena=["teen_pimp"], region="BE-VLG")
    consent = services.consent_record(
        actor=user, case=case,
        data={"given_by": "young_person", "method": "written", "purposes": ["care_referral"], "valid_from": timezone.localdate()},
    )
    return case, consent


def _send(user: User, case, consent, recipient, n: int = 1, **fields) -> list[Referral]:
    """``n`` referrals sent by ``user``'s organisation in ``case``, through the services."""
    sent = []
    for _ in range(n):
        data = {"recipient": recipient, "kind": "service", "phenomenon": "teen_pimp", "urgency": "urgent",
                "requested_service": "shelter", "consent": consent} | fields
        draft = services.referral_create(actor=user, case=case, data=data)
        sent.append(services.referral_send(actor=user, referral=draft))
    return sent


class Inbox:
    """The hotline caseworker's inbox, filled through the services by its partners."""

    def __init__(self, personas, orgs):
        self.hotline = personas["caseworker"].user
        self.shelter = personas["recipient_caseworker"].user
        self.care = personas["outsider_caseworker"].user
        self.orgs = orgs
        self.hotline_case = _case_with_consent(self.hotline)
        self.shelter_case = _case_with_consent(self.shelter)

    def incoming(self, n=1, **fields):
        return _send(self.shelter, *self.shelter_case, self.orgs["hotline-be"], n, **fields)

    def outgoing(self, n=1, **fields):
        return _send(self.hotline, *self.hotline_case, self.orgs["shelter-be"], n, **fields)

    def declined(self, n=1):
        return [
            services.referral_decline(actor=self.care, referral=referral, reason_code="no_capacity", reason="Full.")
            for referral in _send(self.hotline, *self.hotline_case, self.orgs["care-nl"], n)
        ]


@pytest.fixture
def inbox(personas, orgs):
    return Inbox(personas, orgs)


def _section(html: str, key: str) -> str:
    match = re.search(rf'<section class="card inbox-section" aria-labelledby="inbox-{key}">(.*?)</section>', html, re.S)
    assert match, f"no {key} section"
    return match.group(1)


def _listed(html: str, key: str) -> list[str]:
    """Ids of the referrals a section lists, in order."""
    return re.findall(rf'id="inbox-{key}-([0-9a-f-]{{36}})"', _section(html, key))


def _get(client, path=INBOX, **extra):
    response = client.get(path, **extra)
    assert response.status_code == 200
    return response.content.decode()


# --- what each list holds ----------------------------------------------------------------------


def test_incoming_referrals_are_listed_late_ones_first_then_by_their_next_deadline(inbox, personas):
    now = timezone.now()
    soon, later, late, later_late = inbox.incoming(4)
    Referral.objects.filter(pk=soon.pk).update(acknowledge_due=now + timedelta(hours=1))
    Referral.objects.filter(pk=later.pk).update(acknowledge_due=now + timedelta(hours=3))
    Referral.objects.filter(pk=late.pk).update(acknowledge_due=now - timedelta(hours=5))
    Referral.objects.filter(pk=later_late.pk).update(acknowledge_due=now - timedelta(hours=1))
    # Acknowledged: the decide deadline is the next one.
    services.referral_acknowledge(actor=inbox.hotline, referral=soon)
    Referral.objects.filter(pk=soon.pk).update(decide_due=now + timedelta(hours=2))

    html = _get(web_client_for(inbox.hotline))

    assert _listed(html, "incoming") == [str(r.pk) for r in (late, later_late, soon, later)]


def test_answered_and_other_organisations_referrals_are_not_listed(inbox, personas, orgs):
    accepted, declined, waiting = inbox.incoming(3)
    services.referral_accept(actor=inbox.hotline, referral=accepted)
    services.referral_decline(actor=inbox.hotline, referral=declined, reason_code="no_capacity", reason="Full.")
    case, consent = _case_with_consent(inbox.care)
    unrelated = _send(inbox.care, case, consent, orgs["shelter-be"])[0]

    html = _get(web_client_for(inbox.hotline))

    assert _listed(html, "incoming") == [str(waiting.pk)]
    assert str(unrelated.pk) not in html
    assert str(accepted.pk) not in html and str(declined.pk) not in html


def test_urgency_is_written_out_and_coloured_and_overdue_is_written_out(inbox):
    [late] = inbox.incoming(urgency="immediate")
    Referral.objects.filter(pk=late.pk).update(acknowledge_due=timezone.now() - timedelta(minutes=5))

    section = _section(_get(web_client_for(inbox.hotline)), "incoming")

    assert '<span class="badge urgency-immediate">Immediate</span>' in section
    assert '<span class="badge overdue">Overdue</span>' in section
    assert "Acknowledge by" in section
    assert '<tr class="late">' in section


def test_outgoing_referrals_waiting_for_an_answer_are_listed_with_their_recipient(inbox, orgs):
    waiting, acknowledged, accepted = inbox.outgoing(3)
    services.referral_acknowledge(actor=inbox.shelter, referral=acknowledged)
    services.referral_accept(actor=inbox.shelter, referral=accepted)

    html = _get(web_client_for(inbox.hotline))

    assert sorted(_listed(html, "outgoing")) == sorted([str(waiting.pk), str(acknowledged.pk)])
    assert orgs["shelter-be"].name in _section(html, "outgoing")
    assert "Decide by" in _section(html, "outgoing")  # the acknowledged one awaits the decision


def _reroute_url(pk) -> str | None:
    try:
        return reverse("web:referral-reroute", args=[pk])
    except NoReverseMatch:  # the re-route page is another area's, routed when it merges
        return None


def test_declined_referrals_are_listed_to_re_route_until_a_re_route_is_made(inbox, orgs):
    [declined] = inbox.declined()
    client = web_client_for(inbox.hotline)

    html = _get(client)
    assert _listed(html, "declined") == [str(declined.pk)]
    assert "No capacity" in _section(html, "declined") or "capacity" in _section(html, "declined").lower()
    if (url := _reroute_url(declined.pk)) is not None:
        assert f'href="{url}"' in _section(html, "declined")

    case, consent = inbox.hotline_case
    reroute = services.referral_create(actor=inbox.hotline, case=case, data={
        "recipient": orgs["shelter-be"], "kind": "service", "phenomenon": "teen_pimp", "urgency": "urgent",
        "requested_service": "shelter", "consent": consent, "rerouted_from": declined})
    assert _listed(_get(client), "declined") == []

    # A re-route given up on (withdrawn) leaves the declined referral still to be routed.
    services.referral_withdraw(actor=inbox.hotline, referral=reroute)
    assert _listed(_get(client), "declined") == [str(declined.pk)]


def test_declined_referrals_of_a_closed_case_are_not_offered_for_re_routing(inbox):
    inbox.declined()
    case, _consent = inbox.hotline_case
    services.case_close(actor=inbox.hotline, case=case, outcome="other")

    assert _listed(_get(web_client_for(inbox.hotline)), "declined") == []


def test_each_list_says_so_when_it_is_empty(personas):
    html = _get(web_client_for(personas["caseworker"].user))

    assert "Nothing waits for your answer." in html
    assert "None of your referrals waits for an answer." in html
    assert "No declined referral waits to be re-routed." in html


def test_a_long_list_shows_a_page_and_a_more_link_to_the_next(inbox):
    size = PAGE_SIZES["incoming"]
    referrals = inbox.incoming(size + 2)
    client = web_client_for(inbox.hotline)

    html = _get(client)
    first = _listed(html, "incoming")
    assert len(first) == size
    more = re.search(r'<a href="(/app/\?incoming=2)">More</a>', _section(html, "incoming"))
    assert more

    second = _listed(_get(client, more.group(1).replace("&amp;", "&")), "incoming")
    assert len(second) == 2
    assert set(first) | set(second) == {str(r.pk) for r in referrals}


def test_query_count_is_the_same_for_one_and_thirty_referrals_in_every_list(inbox, django_assert_max_num_queries):
    inbox.incoming(1)
    inbox.outgoing(1)
    inbox.declined(1)
    client = web_client_for(inbox.hotline)
    client.get(INBOX)  # the session's first read is not what is measured

    with CaptureQueriesContext(connection) as one:
        _get(client)
    inbox.incoming(29)
    inbox.outgoing(29)
    inbox.declined(29)
    # 10 for the referral lists, 4 for the consultations below them (two lists, each one query and its
    # prefetched requests: web.views.consultations.inbox_consultations), empty here but counted at most.
    with django_assert_max_num_queries(14), CaptureQueriesContext(connection) as thirty:
        html = _get(client)

    assert {key: len(_listed(html, key)) for key in PAGE_SIZES} == PAGE_SIZES  # full pages, and more behind
    assert len(thirty) == len(one), [q["sql"][:120] for q in thirty.captured_queries]


# --- refreshing in place -----------------------------------------------------------------------


def test_the_lists_ask_for_themselves_every_minute_and_htmx_gets_the_lists_only(inbox):
    [referral] = inbox.incoming()
    client = web_client_for(inbox.hotline)

    page = _get(client)
    assert re.search(
        r'<div id="inbox-sections" hx-get="/app/" hx-trigger="every 60s" hx-swap="outerHTML"'
        r""" hx-headers='\{"X-Background-Refresh": "1"\}'>""",  # not the person's activity (web/auth.py)
        page,
    )
    assert "<script>" not in page and " style=" not in page and " onclick=" not in page

    response = client.get(INBOX, headers={"HX-Request": "true"})
    partial = response.content.decode()
    assert response.status_code == 200
    assert partial.lstrip().startswith("<div id=\"inbox-sections\"")
    assert "<html" not in partial and "<h1>" not in partial
    assert str(referral.pk) in partial
    assert "HX-Request" in response["Vary"]


# --- who gets it -------------------------------------------------------------------------------


def test_a_person_with_no_role_of_the_web_app_is_told_to_ask_their_admin(personas):
    user = personas["org_admin"].user
    user.roles = []
    user.save(update_fields=["roles"])
    response = web_client_for(user).get(INBOX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Ask your organisation's admin" in html
    assert "inbox-sections" not in html


def test_anonymous_people_are_sent_to_sign_in(client):
    response = client.get(INBOX)

    assert response.status_code == 302
    assert response["Location"].startswith("/app/sign-in/")


def test_the_inbox_is_in_the_persons_language(inbox):
    inbox.incoming()

    html = _get(web_client_for(inbox.hotline), HTTP_ACCEPT_LANGUAGE="nl")

    assert "Inkomende doorverwijzingen die op uw antwoord wachten" in html
    assert "Incoming referrals" not in html


@pytest.mark.parametrize(("persona", "start"), [
    ("coordinator", "/app/oversight/"), ("org_admin", "/app/organisation/people/"), ("auditor", "/app/audit/"),
])
def test_people_who_are_not_caseworkers_start_on_their_own_work(personas, persona, start):
    response = web_client_for(personas[persona].user).get("/app/")
    assert response.status_code == 302 and response["Location"] == start
    assert web_client_for(personas[persona].user).get(start).status_code == 200


def test_the_navigation_lists_the_pages_of_every_role_a_person_holds(personas):
    admin = personas["org_admin"].user
    admin.roles = [Role.ORG_ADMIN, Role.CASEWORKER]
    admin.save(update_fields=["roles"])
    nav = web_client_for(admin).get("/app/").content.decode().split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    labels = re.findall(r">([^<>]+)</a>", nav)
    assert labels == ["Inbox", "Cases", "People", "API keys", "Webhooks", "Organisation", "Figures", "Notifications"]
    coordinator = web_client_for(personas["coordinator"].user).get("/app/oversight/").content.decode()
    assert re.findall(r">([^<>]+)</a>", coordinator.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]) == [
        "Dashboard", "Members", "Figures", "Notifications"]
    auditor = web_client_for(personas["auditor"].user).get("/app/audit/").content.decode()
    assert re.findall(r">([^<>]+)</a>", auditor.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]) == [
        "Audit trail", "Verify the chain", "Notifications"]


def _nav_labels(user, path: str) -> list[str]:
    page = web_client_for(user).get(path).content.decode()
    return re.findall(r">([^<>]+)</a>", page.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0])


def test_with_matching_on_caseworkers_and_coordinators_find_the_matches_in_the_navigation(personas, settings):
    settings.MATCH_ENABLED = True
    assert _nav_labels(personas["caseworker"].user, "/app/") == ["Inbox", "Cases", "Matches", "Figures", "Notifications"]
    assert _nav_labels(personas["coordinator"].user, "/app/oversight/") == [
        "Dashboard", "Members", "Matches", "Figures", "Notifications"]
    assert _nav_labels(personas["org_admin"].user, "/app/organisation/people/") == [
        "People", "API keys", "Webhooks", "Organisation", "Figures", "Notifications"]
    assert _nav_labels(personas["auditor"].user, "/app/audit/") == ["Audit trail", "Verify the chain", "Notifications"]
    both = personas["coordinator"].user
    both.roles = [Role.COORDINATOR, Role.CASEWORKER]
    both.save(update_fields=["roles"])
    assert _nav_labels(both, "/app/matches/").count("Matches") == 1


def test_with_matching_off_nobody_finds_matches_in_the_navigation(personas):
    for name, path in (("caseworker", "/app/"), ("coordinator", "/app/oversight/")):
        assert "Matches" not in _nav_labels(personas[name].user, path)
