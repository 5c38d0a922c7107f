"""The referral page (/app/referrals/<id>/): triage data as the API shows it to the person, never the identity;
deadlines, history, the message thread and the actions open to the person, each a form that changes nothing
when refused."""

from __future__ import annotations

import html as html_lib
import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import override
from rest_framework.fields import CharField

from coalition.core.errors import DomainError
from referrals import services
from referrals.models import Referral, ReferralMessage
from tests.support.concurrency import race
from tests.support.identity import SUBJECT, assert_no_identity
from tests.support.web import comparable_page, web_client_for
from web.views.referrals import referral_actions

REASON = "Needs a safe bed tonight; contact through the school counsellor."


def page(pk) -> str:
    return f"/app/referrals/{pk}/"


def action(pk, name) -> str:
    return f"/app/referrals/{pk}/{name}/"


def sent(flow, **extra):
    """A referral from hotline-be to shelter-be about a case whose subject holds every identity field."""
    case = flow.open_case(subject=SUBJECT)
    consent = flow.consent(case["id"])
    referral = flow.draft(case["id"], consent=consent["id"], **extra)
    response = flow.act(referral["id"], "send", "caseworker")
    assert response.status_code == 200, response.json()
    return case, response.json()


def get(client, pk, **extra) -> str:
    response = client.get(page(pk), **extra)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def card(html: str) -> str:
    match = re.search(r'<section class="card" id="referral-actions".*?</section>', html, re.S)
    assert match, "no action card"
    return match.group(0)


def offered(html: str) -> set[str]:
    """The actions the page's card offers as forms."""
    return set(re.findall(r'action="/app/referrals/[0-9a-f-]{36}/([a-z]+)/"', card(html)))


def status_of(pk) -> str:
    return Referral.objects.get(pk=pk).status


@pytest.fixture
def recipient(personas):
    return web_client_for(personas["recipient_caseworker"].user)


@pytest.fixture
def sender(personas):
    return web_client_for(personas["caseworker"].user)


# --- what the page shows -----------------------------------------------------------------------


def test_the_page_shows_triage_parties_status_deadlines_and_history(flow, recipient, orgs):
    _case, referral = sent(flow)

    html = get(recipient, referral["id"])

    assert "<h1>Referral: Teen pimps (loverboys)</h1>" in html
    assert f"Sent to your organisation by {orgs['hotline-be'].name}" in html
    assert orgs["shelter-be"].name in html
    assert '<span class="badge status status-sent">Sent</span>' in html
    assert '<span class="badge urgency-urgent">Urgent</span>' in html
    assert "Acknowledge by" in html and "Decide by" in html
    assert html_lib.escape(REASON) in html  # pending with it: the recipient reads the reason
    history = re.search(r'<ol class="timeline">(.*?)</ol>', html, re.S).group(1)
    assert "Drafted" in history and "Sent" in history
    assert "<script>" not in html and " style=" not in html


def test_an_overdue_deadline_is_written_out(flow, recipient):
    _case, referral = sent(flow)
    Referral.objects.filter(pk=referral["id"]).update(acknowledge_due=timezone.now() - timedelta(hours=1))

    summary = re.search(r'id="referral-summary".*?</section>', get(recipient, referral["id"]), re.S).group(0)

    assert '<span class="badge overdue">Overdue</span>' in summary


def test_decline_reason_and_outcome_appear_in_the_history(flow, sender, recipient):
    _case, declined = sent(flow)
    flow.act(declined["id"], "decline", "recipient_caseworker", {"reason_code": "no_capacity", "reason": "No bed left."})
    _case, completed = sent(flow)
    flow.act(completed["id"], "accept", "recipient_caseworker")
    flow.act(completed["id"], "complete", "recipient_caseworker", {"outcome_code": "service_delivered"})

    declined_page = get(sender, declined["id"])
    completed_page = get(sender, completed["id"])

    assert "Declined</strong>: No capacity" in declined_page
    assert "No bed left." in declined_page  # the sender is involved: it reads the decline reason
    assert "Completed</strong>: Service delivered" in completed_page


def _case_url(pk) -> str | None:
    try:
        return reverse("web:case", args=[pk])
    except NoReverseMatch:  # the case page is another area's, routed when it merges
        return None


def test_the_case_is_linked_only_once_the_persons_organisation_sees_it(flow, recipient):
    case, referral = sent(flow)

    response = recipient.get(page(referral["id"]))
    assert response.context["case_visible"] is False
    flow.act(referral["id"], "accept", "recipient_caseworker")
    response = recipient.get(page(referral["id"]))
    assert response.context["case_visible"] is True
    if (url := _case_url(case["id"])) is not None:
        assert f'href="{url}"' in response.content.decode()


def _edit_url(pk) -> str | None:
    try:
        return reverse("web:referral-edit", args=[pk])
    except NoReverseMatch:  # the referral form is another area's, routed when it merges
        return None


def test_a_draft_offers_its_edit_page_and_has_no_thread_yet(flow, sender):
    case = flow.open_case()
    draft = flow.draft(case["id"])

    html = get(sender, draft["id"])

    assert "Set when the referral is sent." in html
    assert offered(html) == {"withdraw"}
    assert 'id="referral-thread"></div>' in html
    if (url := _edit_url(draft["id"])) is not None:
        assert f'href="{url}"' in card(html)


def test_the_pages_linked_from_here_exist():
    pk = uuid.uuid4()
    for name in ("web:case", "web:referral-edit", "web:referral-reroute"):
        reverse(name, args=[pk])


# --- identity never -----------------------------------------------------------------------------


def test_the_recipients_pages_hold_no_identity_before_accepting(flow, recipient):
    _case, referral = sent(flow)

    assert_no_identity(get(recipient, referral["id"]))
    assert_no_identity(recipient.get("/app/").content.decode())
    flow.act(referral["id"], "acknowledge", "recipient_caseworker")
    assert_no_identity(get(recipient, referral["id"]))


def test_the_referral_page_holds_no_identity_even_after_accepting(flow, recipient, sender):
    _case, referral = sent(flow)
    flow.act(referral["id"], "accept", "recipient_caseworker")

    assert_no_identity(get(recipient, referral["id"]))
    assert_no_identity(get(sender, referral["id"]))


def test_a_declined_referrals_pages_hold_no_identity(flow, recipient, sender):
    _case, referral = sent(flow)
    response = recipient.post(action(referral["id"], "decline"), {"reason_code": "out_of_scope", "reason": "Not ours."})
    assert response.status_code == 302

    for client in (recipient, sender):
        assert_no_identity(get(client, referral["id"]))
        assert_no_identity(client.get("/app/").content.decode())
    # The recipient is not involved: the reason is no longer its to read, nor the thread.
    declined = get(recipient, referral["id"])
    assert html_lib.escape(REASON) not in declined
    assert 'id="referral-thread"></div>' in declined


def test_a_former_lead_sees_the_referral_but_no_free_text_and_no_identity(flow, personas, sender):
    _case, transfer = sent(flow, kind="transfer")
    personas["recipient_caseworker"].client.post(
        f"/api/v1/referrals/{transfer['id']}/messages/", {"body": "We will pick her up at the station."}, format="json"
    )
    flow.act(transfer["id"], "accept", "recipient_caseworker")

    html = get(sender, transfer["id"])

    assert '<span class="badge status status-accepted">Accepted</span>' in html
    assert html_lib.escape(REASON) not in html
    assert "pick her up" not in html
    assert 'id="referral-thread"></div>' in html  # no thread: it may no longer converse
    assert offered(html) == set()
    assert_no_identity(html)
    # What the page shows is what the API shows it.
    api = personas["caseworker"].client.get(f"/api/v1/referrals/{transfer['id']}/").json()
    assert api["reason"] is None


# --- whose it is --------------------------------------------------------------------------------


def test_another_organisations_referral_is_the_same_404_as_a_missing_one(flow, personas):
    _case, referral = sent(flow)
    outsider = web_client_for(personas["outsider_caseworker"].user)

    theirs = outsider.get(page(referral["id"]))
    missing = outsider.get(page(uuid.uuid4()))

    assert theirs.status_code == missing.status_code == 404
    assert comparable_page(theirs) == comparable_page(missing)
    for name in ("accept", "decline", "withdraw"):
        assert outsider.post(action(referral["id"], name), {}).status_code == 404
    assert outsider.post(f"/app/referrals/{referral['id']}/messages/", {"body": "Hello"}).status_code == 404
    assert status_of(referral["id"]) == "sent"


# The coordinators' referral pages (metadata only) come in a later issue; until then the caseworker page refuses them.
@pytest.mark.parametrize("name", ["coordinator", "org_admin", "auditor"])
def test_people_without_the_caseworker_role_get_403_on_the_referral_page(flow, personas, name):
    _case, referral = sent(flow)
    client = web_client_for(personas[name].user)

    assert client.get(page(referral["id"])).status_code == 403
    assert client.post(action(referral["id"], "accept"), {}).status_code == 403
    assert status_of(referral["id"]) == "sent"


def test_pages_need_a_signed_in_person(flow, client):
    _case, referral = sent(flow)

    response = client.get(page(referral["id"]))

    assert response.status_code == 302 and response["Location"].startswith("/app/sign-in/")
    assert client.post(action(referral["id"], "accept"), {}).status_code == 302
    assert status_of(referral["id"]) == "sent"


def test_the_page_only_answers_get_and_the_actions_only_post(flow, recipient):
    _case, referral = sent(flow)

    assert recipient.post(page(referral["id"]), {}).status_code == 405
    assert recipient.get(action(referral["id"], "accept")).status_code == 405
    assert recipient.get(f"/app/referrals/{referral['id']}/messages/").status_code == 405


# --- actions ------------------------------------------------------------------------------------


def test_the_actions_offered_follow_the_party_and_the_status(flow, sender, recipient):
    _case, referral = sent(flow)

    assert offered(get(recipient, referral["id"])) == {"acknowledge", "accept", "decline"}
    assert offered(get(sender, referral["id"])) == {"withdraw"}
    flow.act(referral["id"], "acknowledge", "recipient_caseworker")
    assert offered(get(recipient, referral["id"])) == {"accept", "decline"}
    flow.act(referral["id"], "accept", "recipient_caseworker")
    assert offered(get(recipient, referral["id"])) == {"complete"}
    assert offered(get(sender, referral["id"])) == set()


def test_acknowledge_then_accept_through_the_forms(flow, recipient):
    _case, referral = sent(flow)

    response = recipient.post(action(referral["id"], "acknowledge"), {"version": referral["version"]})
    assert response.status_code == 302 and response["Location"] == page(referral["id"])
    assert status_of(referral["id"]) == "acknowledged"
    html = get(recipient, referral["id"])
    assert "You acknowledged the referral." in html
    version = re.search(r'name="version" value="(\d+)" id="accept-version"', html).group(1)

    response = recipient.post(action(referral["id"], "accept"), {"version": version})
    assert response.status_code == 302
    assert status_of(referral["id"]) == "accepted"


def test_complete_needs_an_outcome_code(flow, recipient):
    _case, referral = sent(flow)
    flow.act(referral["id"], "accept", "recipient_caseworker")

    refused = recipient.post(action(referral["id"], "complete"), {})
    assert refused.status_code == 422
    assert 'id="complete-outcome_code_error"' in refused.content.decode()
    assert status_of(referral["id"]) == "accepted"

    done = recipient.post(action(referral["id"], "complete"), {"outcome_code": "service_delivered"})
    assert done.status_code == 302
    assert Referral.objects.get(pk=referral["id"]).outcome_code == "service_delivered"


def test_the_sender_withdraws(flow, sender):
    _case, referral = sent(flow)

    assert sender.post(action(referral["id"], "withdraw"), {"version": referral["version"]}).status_code == 302
    assert status_of(referral["id"]) == "withdrawn"


def test_a_decline_with_reason_code_and_text_is_recorded(flow, recipient):
    _case, referral = sent(flow)

    response = recipient.post(action(referral["id"], "decline"), {
        "version": referral["version"], "reason_code": "out_of_region", "reason": "We only work in Brussels.",
    })

    assert response.status_code == 302
    declined = Referral.objects.get(pk=referral["id"])
    assert (declined.status, declined.decline_reason_code, declined.decline_reason) == (
        "declined", "out_of_region", "We only work in Brussels.")


def _drf_message(key: str, language: str, **params) -> str:
    with override(language):
        return str(CharField.default_error_messages[key]).format(**params)


DUTCH_REQUIRED = "Dit veld is vereist."
DUTCH_NOT_ALLOWED = "Geen van de toegestane waarden."


@pytest.mark.parametrize(("body", "field", "expected"), [
    ({"reason_code": "no_capacity"}, "reason", lambda: DUTCH_REQUIRED),
    ({"reason_code": "no_capacity", "reason": "x" * 1001}, "reason", lambda: _drf_message("max_length", "nl", max_length=1000)),
    ({"reason_code": "because", "reason": "Full."}, "reason_code", lambda: DUTCH_NOT_ALLOWED),
    ({"reason": "Full."}, "reason_code", lambda: DUTCH_REQUIRED),
], ids=["missing reason", "oversized reason", "unknown reason code", "missing reason code"])
def test_bad_decline_input_shows_the_error_beside_its_field_in_dutch_and_changes_nothing(
    flow, recipient, body, field, expected
):
    _case, referral = sent(flow)
    before = Referral.objects.get(pk=referral["id"])

    response = recipient.post(action(referral["id"], "decline"), {"version": referral["version"], **body},
                              HTTP_ACCEPT_LANGUAGE="nl")

    assert response.status_code == 422
    html = response.content.decode()
    errors = re.search(rf'<ul class="errorlist" id="decline-{field}_error"><li>(.*?)</li>', html)
    assert errors, f"no error beside {field}"
    assert html_lib.unescape(errors.group(1)) == expected()
    assert re.search(rf'<(input|textarea|select)[^>]*aria-describedby="[^"]*decline-{field}_error"', html)
    assert re.search(r"<details class=\"action\" open>", html)  # the form is open at its error
    after = Referral.objects.get(pk=referral["id"])
    assert (after.status, after.version, after.decline_reason) == (before.status, before.version, "")
    if "reason" in body and len(body["reason"]) < 100:
        assert body["reason"] in html  # what was typed is kept


def test_an_action_on_a_stale_page_is_refused_as_changed_meanwhile(flow, recipient):
    _case, referral = sent(flow)
    flow.act(referral["id"], "acknowledge", "recipient_caseworker")  # someone else, meanwhile

    response = recipient.post(action(referral["id"], "decline"), {
        "version": referral["version"], "reason_code": "no_capacity", "reason": "Full.",
    })

    assert response.status_code == 422
    html = response.content.decode()
    assert "Someone changed this meanwhile" in html
    assert '<span class="badge status status-acknowledged">Acknowledged</span>' in html  # as it is now
    assert status_of(referral["id"]) == "acknowledged"
    # The form now carries the version shown: sending it again works.
    version = re.search(r'name="version" value="(\d+)" id="decline-version"', html).group(1)
    again = recipient.post(action(referral["id"], "decline"), {"version": version, "reason_code": "no_capacity",
                                                              "reason": "Full."})
    assert again.status_code == 302 and status_of(referral["id"]) == "declined"


def test_an_action_that_is_not_the_persons_is_refused_with_the_rule_and_changes_nothing(flow, sender):
    _case, referral = sent(flow)

    response = sender.post(action(referral["id"], "accept"), {"version": referral["version"]})

    assert response.status_code == 422
    assert "Only the receiving organisation can do this." in response.content.decode()
    assert status_of(referral["id"]) == "sent"


def test_an_action_the_status_no_longer_allows_says_what_happened(flow, recipient):
    _case, referral = sent(flow)
    flow.act(referral["id"], "accept", "recipient_caseworker")

    response = recipient.post(action(referral["id"], "accept"), {})

    assert response.status_code == 422
    html = response.content.decode()
    assert "Cannot accept a referral that is accepted." in html
    assert 'role="alert"' in card(html)


def test_an_unknown_action_is_not_a_page(flow, recipient):
    _case, referral = sent(flow)

    assert recipient.post(action(referral["id"], "reroute"), {}).status_code == 404
    assert recipient.post(action(referral["id"], "destroy"), {}).status_code == 404


# --- htmx ----------------------------------------------------------------------------------------


HX = {"HX-Request": "true"}


def test_with_htmx_an_action_swaps_its_card_and_the_rest_follows_out_of_band(flow, recipient):
    _case, referral = sent(flow)
    html = get(recipient, referral["id"])
    assert re.search(r'<form method="post" action="(/app/referrals/[^"]+/accept/)" hx-post="\1" '
                     r'hx-target="#referral-actions" hx-swap="outerHTML"', card(html))

    response = recipient.post(action(referral["id"], "accept"), {"version": referral["version"]}, headers=HX)

    assert response.status_code == 200
    partial = response.content.decode()
    assert partial.lstrip().startswith('<section class="card" id="referral-actions"')
    assert "You accepted the referral." in partial
    assert "<html" not in partial
    for part in ("referral-summary", "referral-triage", "referral-history", "referral-thread"):
        assert re.search(rf'id="{part}"[^>]*hx-swap-oob="true"', partial), part
    assert '<span class="badge status status-accepted">Accepted</span>' in partial
    assert status_of(referral["id"]) == "accepted"
    assert_no_identity(partial)


def test_with_htmx_a_refused_action_answers_its_card_with_the_error(flow, recipient):
    _case, referral = sent(flow)

    response = recipient.post(action(referral["id"], "decline"), {"reason_code": "no_capacity"}, headers=HX)

    assert response.status_code == 422
    partial = response.content.decode()
    assert partial.lstrip().startswith('<section class="card" id="referral-actions"')
    assert 'id="decline-reason_error"' in partial
    assert status_of(referral["id"]) == "sent"


# --- messages -----------------------------------------------------------------------------------


def test_both_parties_read_and_write_the_thread(flow, sender, recipient, orgs):
    _case, referral = sent(flow)
    url = f"/app/referrals/{referral['id']}/messages/"

    response = recipient.post(url, {"body": "Can you tell us the preferred language?"})
    assert response.status_code == 302 and response["Location"].endswith("#referral-thread")
    response = sender.post(url, {"body": "Dutch."}, headers=HX)
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section class="card" id="referral-thread"')

    thread = re.search(r'<ol class="thread">(.*?)</ol>', get(recipient, referral["id"]), re.S).group(1)
    assert thread.index("preferred language") < thread.index("Dutch.")
    assert orgs["hotline-be"].name in thread
    assert ReferralMessage.objects.filter(referral_id=referral["id"]).count() == 2


@pytest.mark.parametrize(("body", "expected"), [
    ({}, lambda: DUTCH_REQUIRED),
    ({"body": "x" * 2001}, lambda: _drf_message("max_length", "nl", max_length=2000)),
], ids=["empty", "oversized"])
def test_a_bad_message_shows_the_error_beside_its_field_and_posts_nothing(flow, recipient, body, expected):
    _case, referral = sent(flow)

    response = recipient.post(f"/app/referrals/{referral['id']}/messages/", body, HTTP_ACCEPT_LANGUAGE="nl")

    assert response.status_code == 422
    errors = re.search(r'<ul class="errorlist" id="message-body_error"><li>(.*?)</li>', response.content.decode())
    assert errors and html_lib.unescape(errors.group(1)) == expected()
    assert not ReferralMessage.objects.filter(referral_id=referral["id"]).exists()


def test_a_former_lead_cannot_post_to_the_thread(flow, sender):
    _case, transfer = sent(flow, kind="transfer")
    flow.act(transfer["id"], "accept", "recipient_caseworker")

    response = sender.post(f"/app/referrals/{transfer['id']}/messages/", {"body": "Still there?"})

    assert response.status_code == 404
    assert not ReferralMessage.objects.filter(referral_id=transfer["id"]).exists()


# --- fast -----------------------------------------------------------------------------------------


def test_query_count_is_the_same_with_one_message_or_thirty(flow, personas, recipient, django_assert_max_num_queries):
    _case, referral = sent(flow)
    post = personas["recipient_caseworker"].client.post
    post(f"/api/v1/referrals/{referral['id']}/messages/", {"body": "First."}, format="json")
    recipient.get(page(referral["id"]))

    with CaptureQueriesContext(connection) as one:
        get(recipient, referral["id"])
    for n in range(29):
        post(f"/api/v1/referrals/{referral['id']}/messages/", {"body": f"Note {n}."}, format="json")
    with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as thirty:
        html = get(recipient, referral["id"])

    assert html.count("<p class=\"free-text\">") >= 30
    assert len(thirty) == len(one)


# --- the actions listed are the ones the services accept ---------------------------------------


STATES = {
    "sent": [],
    "acknowledged": [("acknowledge", "recipient_caseworker", None)],
    "accepted": [("accept", "recipient_caseworker", None)],
    "declined": [("decline", "recipient_caseworker", {"reason_code": "no_capacity", "reason": "Full."})],
    "withdrawn": [("withdraw", "caseworker", None)],
    "completed": [("accept", "recipient_caseworker", None),
                  ("complete", "recipient_caseworker", {"outcome_code": "service_delivered"})],
}
CALLS = {
    "acknowledge": (services.referral_acknowledge, {}),
    "accept": (services.referral_accept, {}),
    "decline": (services.referral_decline, {"reason_code": "no_capacity", "reason": "Full."}),
    "withdraw": (services.referral_withdraw, {}),
    "complete": (services.referral_complete, {"outcome_code": "service_delivered"}),
    "send": (services.referral_send, {}),
}


class _Undo(Exception):
    pass


def _accepted_by_service(actor, referral, name) -> bool:
    service, kwargs = CALLS[name]
    try:
        with transaction.atomic():
            service(actor=actor, referral=referral, **kwargs)
            raise _Undo
    except _Undo:
        return True
    except DomainError:
        return False


@pytest.mark.parametrize("state", [*STATES, "draft"])
def test_the_actions_offered_are_exactly_those_the_services_accept(flow, personas, state):
    if state == "draft":
        case = flow.open_case()
        referral_id = flow.draft(case["id"], consent=flow.consent(case["id"])["id"])["id"]
    else:
        _case, referral = sent(flow)
        referral_id = referral["id"]
        for name, persona, body in STATES[state]:
            assert flow.act(referral_id, name, persona, body).status_code == 200
    for persona in ("caseworker", "recipient_caseworker"):
        actor = personas[persona].user
        referral = Referral.objects.select_related("case").get(pk=referral_id)
        listed = set(referral_actions(actor, referral)) - {"reroute"}
        accepted = {name for name in CALLS if _accepted_by_service(actor, referral, name)}
        assert listed == accepted, f"{state} as {persona}"


# --- concurrency ----------------------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_version", [True, False], ids=["with the version seen", "without a version"])
def test_two_accepts_at_once_give_one_success_and_one_clear_refusal(flow, personas, with_version):
    if connection.vendor != "postgresql":
        pytest.skip("needs real parallel connections (PostgreSQL)")
    _case, referral = sent(flow)
    clients = [web_client_for(personas["recipient_caseworker"].user) for _ in range(2)]
    body = {"version": referral["version"]} if with_version else {}

    responses = race([lambda c=c: c.post(action(referral["id"], "accept"), body) for c in clients])

    assert sorted(r.status_code for r in responses) == [302, 422]
    refused = next(r for r in responses if r.status_code == 422).content.decode()
    expected = "Someone changed this meanwhile" if with_version else "Cannot accept a referral that is accepted."
    assert expected in refused
    assert status_of(referral["id"]) == "accepted"


# --- languages -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "texts"), [
    ("nl", ["Wat u kunt doen", "Status en termijnen", "Verloop", "Berichten", "Ontvangst bevestigen vóór",
            "Toelichting voor de verzender", "Aanvaarden", "Weigeren"]),
    ("fr", ["Ce que vous pouvez faire", "Statut et échéances", "Historique", "Messages", "Accuser réception avant le",
            "Explication pour l&#x27;expéditeur", "Accepter", "Refuser"]),
])
def test_the_page_is_in_the_persons_language(flow, recipient, language, texts):
    _case, referral = sent(flow)

    html = get(recipient, referral["id"], HTTP_ACCEPT_LANGUAGE=language)

    for text in texts:
        assert text in html, text
    for english in ("What you can do", "Status and deadlines", "Explanation for the sender", "Send message"):
        assert english not in html, english


def test_a_declined_referral_offers_re_routing_to_its_sender_until_it_is_re_routed(flow, sender, orgs):
    case, referral = sent(flow)
    flow.act(referral["id"], "decline", "recipient_caseworker", {"reason_code": "no_capacity", "reason": "Full."})
    actor = flow.p["caseworker"].user
    assert "reroute" in referral_actions(actor, Referral.objects.select_related("case").get(pk=referral["id"]))
    try:
        reroute_url = reverse("web:referral-reroute", args=[referral["id"]])
    except NoReverseMatch:  # the re-route page is another area's, routed when it merges
        reroute_url = None
    if reroute_url:
        assert f'href="{reroute_url}"' in card(get(sender, referral["id"]))

    again = flow.draft(case["id"], recipient="care-nl", rerouted_from=referral["id"])

    html = get(sender, referral["id"])
    assert "reroute" not in referral_actions(actor, Referral.objects.select_related("case").get(pk=referral["id"]))
    assert f'href="/app/referrals/{again["id"]}/"' in html  # "Re-routed as"
    assert f'href="/app/referrals/{referral["id"]}/"' in get(sender, again["id"])  # and back
