"""The coordinator's oversight pages: the dashboard, its full lists, a referral's metadata, the exception review.

The lists are the oversight selectors' rows as the API gives them to coordinators, and hold
nothing of the fixture young person nor any free text; the review goes through
``exception_review`` as the API's does (the exception changes, one audit entry); an invalid
review is a 422 that changes nothing; everyone but a coordinator gets the 403 page, and an
unknown id the 404 page.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from coalition.audit.models import AuditEntry
from partners.choices import MembershipStatus
from referrals.choices import DeclineReason, ExceptionReview, ReferralStatus
from referrals.models import Case, Involvement, LegalBasisException, Referral
from tests.support.identity import SUBJECT, assert_no_identity
from tests.support.web import web_client_for

DASHBOARD = "/app/oversight/"
LISTS = ["overdue", "handovers", "bounced", "unattended", "exceptions"]
JUSTIFICATION = "Imminent danger tonight: she is about to be taken across the border by her pimp."
REASON = "Needs a safe bed tonight; contact through the school counsellor."
DECLINE_REASON = "Volkomen vol tot maandag."
NOTE = "The legal reason stated is sound; reviewed with the hotline's duty officer."


def _coordinator(personas):
    return web_client_for(personas["coordinator"].user)


def _sent_on_a_legal_basis(flow, *, urgency="immediate", recipient="shelter-be"):
    case = flow.open_case(subject=SUBJECT)
    body = flow.referral_body(
        case["id"], urgency=urgency, recipient=recipient, reason=REASON,
        legal_basis={"basis": "vital_interest", "justification": JUSTIFICATION},
    )
    response = flow.p["caseworker"].client.post("/api/v1/referrals/", body, format="json")
    assert response.status_code == 201, response.json()
    sent = flow.act(response.json()["id"], "send", "caseworker")
    assert sent.status_code == 200, sent.json()
    return sent.json()


@pytest.fixture
def scene(flow, orgs):
    """One of each: an overdue referral, a handover, a bounced case, an unattended case, two exceptions."""
    now = timezone.now()
    # Overdue: sent to shelter-be, not acknowledged in time.
    overdue_case = flow.open_case(subject=SUBJECT)
    consent = flow.consent(overdue_case["id"])
    overdue = flow.draft(overdue_case["id"], consent=consent["id"], urgency="urgent", reason=REASON)
    assert flow.act(overdue["id"], "send", "caseworker").status_code == 200
    Referral.objects.filter(pk=overdue["id"]).update(acknowledge_due=now - timedelta(hours=3))

    # A handover: a transfer shelter-be accepted.
    moved = flow.open_case(subject=SUBJECT)
    moved_consent = flow.consent(moved["id"])
    transfer = flow.draft(moved["id"], consent=moved_consent["id"], kind="transfer", reason=REASON)
    assert flow.act(transfer["id"], "send", "caseworker").status_code == 200
    assert flow.act(transfer["id"], "accept", "recipient_caseworker").status_code == 200

    # Bounced: declined by shelter-be and by care-nl.
    bounced = flow.open_case(subject=SUBJECT)
    bounced_consent = flow.consent(bounced["id"])
    declined = []
    for recipient, persona in (("shelter-be", "recipient_caseworker"), ("care-nl", "outsider_caseworker")):
        draft = flow.draft(bounced["id"], consent=bounced_consent["id"], recipient=recipient, reason=REASON)
        assert flow.act(draft["id"], "send", "caseworker").status_code == 200
        body = {"reason_code": "no_capacity", "reason": DECLINE_REASON}
        assert flow.act(draft["id"], "decline", persona, body).status_code == 200
        declined.append(draft["id"])

    # Unattended: an open case nothing happened to for longer than the idle period.
    idle = flow.open_case(subject=SUBJECT)
    Case.objects.filter(pk=idle["id"]).update(updated_at=now - timedelta(days=400))

    # Exceptions: an old one (overdue for review) and a fresh one.
    old_exception = _sent_on_a_legal_basis(flow)
    LegalBasisException.objects.filter(referral_id=old_exception["id"]).update(created_at=now - timedelta(hours=80))
    fresh_exception = _sent_on_a_legal_basis(flow, urgency="urgent")
    Referral.objects.filter(pk__in=[old_exception["id"], fresh_exception["id"]]).update(
        acknowledge_due=now + timedelta(hours=1)
    )
    return {
        "overdue": overdue["id"], "transfer": transfer["id"], "moved": moved["id"], "bounced": bounced["id"],
        "declined": declined, "idle": idle["id"],
        "old_exception": LegalBasisException.objects.get(referral_id=old_exception["id"]),
        "fresh_exception": LegalBasisException.objects.get(referral_id=fresh_exception["id"]),
    }


def _as_values(representation: dict) -> dict:
    """A representation with its times as moments (the pages write them in the person's time zone)."""
    values = {}
    for key, value in representation.items():
        moment = parse_datetime(value) if isinstance(value, str) else None
        values[key] = moment if moment is not None else value
    values.pop("hours_overdue", None)  # it grows between the two reads
    return values


def _no_identity_nor_free_text(text: str, where: str) -> None:
    assert_no_identity(text, where)
    for free_text in (REASON, DECLINE_REASON, "Volkomen vol"):
        assert free_text not in text, f"free text on {where}: {free_text!r}"


# --- the dashboard ------------------------------------------------------------------------------


def test_the_dashboard_shows_each_list_as_the_selectors_give_it(scene, personas):
    response = _coordinator(personas).get(DASHBOARD)
    assert response.status_code == 200
    page = response.content.decode()
    assert response.context["nav"] == "oversight"
    sections = response.context["sections"]
    assert [row["id"] for row in sections["overdue"]["rows"]] == [scene["overdue"]]
    assert [row["referral"] for row in sections["handovers"]["rows"]] == [scene["transfer"]]
    assert [row["case"] for row in sections["bounced"]["rows"]] == [scene["bounced"]]
    assert sections["bounced"]["rows"][0]["referral"] == scene["declined"][-1]  # the latest declined one
    assert [row["case"] for row in sections["unattended"]["rows"]] == [scene["idle"]]
    assert [row["id"] for row in sections["exceptions"]["rows"]] == [
        str(scene["old_exception"].pk), str(scene["fresh_exception"].pk)  # the oldest first
    ]
    assert response.context["exceptions_overdue"] == 1
    urgent = next(row for row in response.context["overdue_by_urgency"] if row["urgency"] == "urgent")
    assert (urgent["acknowledge"], urgent["decide"], urgent["total"]) == (1, 0, 1)
    assert f"/app/oversight/referrals/{scene['overdue']}/" in page
    assert f"/app/oversight/exceptions/{scene['old_exception'].pk}/" in page
    assert "Matches without follow-up" in page
    _no_identity_nor_free_text(page, DASHBOARD)
    assert JUSTIFICATION not in page  # read on the exception's own page only


def test_the_dashboard_counts_the_handovers_of_the_period_picked(scene, personas):
    client = _coordinator(personas)
    Involvement.objects.filter(referral_id=scene["transfer"]).update(started_at=timezone.now() - timedelta(days=20))
    assert client.get(DASHBOARD).context["sections"]["handovers"]["count"] == 1  # the last 30 days by default
    assert client.get(f"{DASHBOARD}?period=7").context["sections"]["handovers"]["count"] == 0
    assert client.get(f"{DASHBOARD}?period=90").context["sections"]["handovers"]["count"] == 1
    day = (timezone.localdate() - timedelta(days=20)).isoformat()
    between = client.get(f"{DASHBOARD}?period=dates&start={day}&end={day}")
    assert between.context["sections"]["handovers"]["count"] == 1
    assert between.context["sections"]["handovers"]["url"] == f"/app/oversight/handovers/?period=dates&start={day}&end={day}"


def test_the_dashboard_costs_a_fixed_number_of_queries(scene, personas, flow, django_assert_max_num_queries):
    client = _coordinator(personas)
    client.get(DASHBOARD)
    # 20, and 2 for the matches: their counts, and the unattended ones when there are any.
    with django_assert_max_num_queries(22):
        client.get(DASHBOARD)
    for _ in range(3):
        _sent_on_a_legal_basis(flow)
    with django_assert_max_num_queries(22):
        assert len(client.get(DASHBOARD).context["sections"]["exceptions"]["rows"]) == 5


@pytest.mark.parametrize("name", LISTS)
def test_a_full_list_costs_a_fixed_number_of_queries(scene, personas, flow, name, django_assert_max_num_queries):
    for _ in range(3):
        _sent_on_a_legal_basis(flow)
    client = _coordinator(personas)
    client.get(f"/app/oversight/{name}/")
    with django_assert_max_num_queries(9):
        assert client.get(f"/app/oversight/{name}/").status_code == 200


# --- the full lists -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LISTS)
def test_each_full_list_shows_the_selectors_rows_and_no_identity_or_free_text(scene, personas, name):
    response = _coordinator(personas).get(f"/app/oversight/{name}/")
    assert response.status_code == 200
    assert response.context["nav"] == "oversight"
    assert len(response.context["rows"]) == {"exceptions": 2}.get(name, 1)
    page = response.content.decode()
    _no_identity_nor_free_text(page, name)
    assert JUSTIFICATION not in page


def test_the_overdue_list_filters_by_urgency_and_deadline_as_the_api_does(scene, personas, flow):
    client = _coordinator(personas)
    assert [r["id"] for r in client.get("/app/oversight/overdue/?urgency=urgent").context["rows"]] == [scene["overdue"]]
    assert client.get("/app/oversight/overdue/?urgency=immediate").context["rows"] == []
    assert client.get("/app/oversight/overdue/?deadline=decide").context["rows"] == []
    api = personas["coordinator"].client.get("/api/v1/oversight/overdue/?urgency=urgent").json()["results"]
    (row,) = client.get("/app/oversight/overdue/?urgency=urgent").context["rows"]
    assert _as_values({key: row[key] for key in api[0]}) == _as_values(api[0])


def test_a_filter_the_api_refuses_shows_its_error_and_no_rows(scene, personas):
    response = _coordinator(personas).get("/app/oversight/overdue/?urgency=tomorrow")
    assert response.status_code == 200
    assert response.context["form"].errors["urgency"]
    assert response.context["rows"] == []
    dates = _coordinator(personas).get("/app/oversight/handovers/?period=dates&start=yesterday")
    assert dates.context["form"].errors["start"] and dates.context["rows"] == []


def test_the_handover_list_pages_through_a_period(scene, personas, orgs):
    client = _coordinator(personas)
    today = timezone.localdate()
    rows = client.get(f"/app/oversight/handovers/?period=dates&start={today}&end={today}").context["rows"]
    assert [row["referral"] for row in rows] == [scene["transfer"]]
    assert rows[0]["from_organisation_name"] == orgs["hotline-be"].name
    assert rows[0]["to_organisation_name"] == orgs["shelter-be"].name
    later = today + timedelta(days=1)
    assert client.get(f"/app/oversight/handovers/?period=dates&start={later}").context["rows"] == []


def test_the_exception_list_shows_the_pending_ones_by_default_and_the_reviewed_on_request(scene, personas):
    client = _coordinator(personas)
    rows = client.get("/app/oversight/exceptions/").context["rows"]
    assert [row["overdue"] for row in rows] == [True, False]
    assert all("justification" not in row and "review_note" not in row for row in rows)
    overdue = client.get("/app/oversight/exceptions/?review_status=pending&overdue=true").context["rows"]
    assert [row["id"] for row in overdue] == [str(scene["old_exception"].pk)]
    assert client.get("/app/oversight/exceptions/?review_status=approved").context["rows"] == []


def test_a_list_pages_25_rows_at_a_time(personas, flow):
    for _ in range(26):
        _sent_on_a_legal_basis(flow)
    client = _coordinator(personas)
    first = client.get("/app/oversight/exceptions/")
    assert len(first.context["rows"]) == 25 and first.context["page"].has_next()
    assert len(client.get("/app/oversight/exceptions/?page=2").context["rows"]) == 1


# --- a referral's metadata -----------------------------------------------------------------------


def test_the_referral_page_shows_what_the_api_gives_a_coordinator_and_no_free_text(scene, personas):
    pk = scene["declined"][0]
    response = _coordinator(personas).get(f"/app/oversight/referrals/{pk}/")
    assert response.status_code == 200
    api = personas["coordinator"].client.get(f"/api/v1/referrals/{pk}/").json()
    assert _as_values(response.context["r"]) == _as_values(api)
    assert api["reason"] is None and api["decline_reason"] is None and api["age"] is None
    page = response.content.decode()
    _no_identity_nor_free_text(page, "the referral page")
    assert str(DeclineReason.NO_CAPACITY.label) in page  # the decline's code, labelled
    assert f"/app/oversight/referrals/{scene['declined'][1]}/" in page  # the other referral of the case


def test_a_referral_sent_on_a_legal_basis_leads_to_its_exception_but_hides_the_justification(scene, personas):
    legal_exception = scene["fresh_exception"]
    page = _coordinator(personas).get(f"/app/oversight/referrals/{legal_exception.referral_id}/").content.decode()
    assert f"/app/oversight/exceptions/{legal_exception.pk}/" in page
    assert JUSTIFICATION not in page


def test_a_draft_is_no_coordinators_to_see(personas, flow):
    case = flow.open_case()
    draft = flow.draft(case["id"])
    assert _coordinator(personas).get(f"/app/oversight/referrals/{draft['id']}/").status_code == 404


# --- the exception review ---------------------------------------------------------------------------


def test_the_exception_page_shows_what_the_api_gives_with_the_justification(scene, personas):
    legal_exception = scene["old_exception"]
    response = _coordinator(personas).get(f"/app/oversight/exceptions/{legal_exception.pk}/")
    assert response.status_code == 200
    api = personas["coordinator"].client.get(f"/api/v1/oversight/exceptions/{legal_exception.pk}/").json()
    assert _as_values(response.context["e"]) == _as_values(api)
    page = response.content.decode()
    assert JUSTIFICATION in page
    assert "Overdue for review" in page
    assert 'name="decision"' in page and 'name="note"' in page
    assert_no_identity(page, "the exception page")
    assert REASON not in page


def test_approving_an_exception_records_the_review_and_its_audit_entry(scene, personas):
    legal_exception = scene["old_exception"]
    client = _coordinator(personas)
    response = client.post(f"/app/oversight/exceptions/{legal_exception.pk}/", {"decision": "approved", "note": NOTE})
    assert response.status_code == 302 and response["Location"] == "/app/oversight/exceptions/"
    legal_exception.refresh_from_db()
    assert legal_exception.review_status == ExceptionReview.APPROVED
    assert legal_exception.review_note == NOTE and legal_exception.reviewed_by_id == personas["coordinator"].user.pk
    (entry,) = AuditEntry.objects.filter(action="exception.review", object_id=str(legal_exception.pk))
    assert entry.actor_user == personas["coordinator"].user.pk and entry.detail == {"decision": "approved"}
    assert Referral.objects.get(pk=legal_exception.referral_id).status == ReferralStatus.SENT
    after = client.get("/app/oversight/exceptions/")
    assert "The exception is approved." in after.content.decode()
    assert [row["id"] for row in after.context["rows"]] == [str(scene["fresh_exception"].pk)]  # gone from the queue


def test_flagging_an_exception_withdraws_its_pending_referral(scene, personas):
    legal_exception = scene["fresh_exception"]
    response = _coordinator(personas).post(f"/app/oversight/exceptions/{legal_exception.pk}/", {"decision": "flagged"})
    assert response.status_code == 302
    legal_exception.refresh_from_db()
    assert legal_exception.review_status == ExceptionReview.FLAGGED
    assert Referral.objects.get(pk=legal_exception.referral_id).status == ReferralStatus.WITHDRAWN
    (entry,) = AuditEntry.objects.filter(action="exception.review", object_id=str(legal_exception.pk))
    assert entry.detail == {"decision": "flagged", "referrals_withdrawn": 1}


@pytest.mark.parametrize(
    "form",
    [{"decision": "flagged", "note": "x" * 1001}, {"decision": "pending"}, {"note": NOTE}],
    ids=["note-too-long", "not-a-decision", "no-decision"],
)
def test_an_invalid_review_is_422_and_changes_nothing(scene, personas, form):
    legal_exception = scene["old_exception"]
    response = _coordinator(personas).post(f"/app/oversight/exceptions/{legal_exception.pk}/", form)
    assert response.status_code == 422
    assert response.context["form"].errors
    legal_exception.refresh_from_db()
    assert legal_exception.review_status == ExceptionReview.PENDING and legal_exception.review_note == ""
    assert not AuditEntry.objects.filter(action="exception.review").exists()


def test_a_note_too_long_is_refused_beside_the_note(scene, personas):
    legal_exception = scene["old_exception"]
    response = _coordinator(personas).post(
        f"/app/oversight/exceptions/{legal_exception.pk}/", {"decision": "flagged", "note": "x" * 1001}
    )
    assert "note" in response.context["form"].errors


def test_an_exception_reviewed_meanwhile_is_refused_on_the_form(scene, personas):
    legal_exception = scene["old_exception"]
    client = _coordinator(personas)
    url = f"/app/oversight/exceptions/{legal_exception.pk}/"
    assert client.post(url, {"decision": "approved"}).status_code == 302
    second = client.post(url, {"decision": "flagged", "note": "Changed my mind."})
    assert second.status_code == 422
    assert "reviewed already" in second.content.decode()
    legal_exception.refresh_from_db()
    assert legal_exception.review_status == ExceptionReview.APPROVED
    page = client.get(url).content.decode()
    assert 'name="decision"' not in page  # reviewed: the outcome, no form


# --- who may ----------------------------------------------------------------------------------------


def _pages(scene) -> list[str]:
    return [
        DASHBOARD, *(f"/app/oversight/{name}/" for name in LISTS),
        f"/app/oversight/referrals/{scene['overdue']}/", f"/app/oversight/exceptions/{scene['old_exception'].pk}/",
    ]


@pytest.mark.parametrize("persona", ["caseworker", "recipient_caseworker", "outsider_caseworker", "org_admin", "auditor"])
def test_everyone_else_signed_in_gets_the_403_page(scene, personas, persona):
    client = web_client_for(personas[persona].user)
    for path in _pages(scene):
        assert client.get(path).status_code == 403, path
    response = client.post(f"/app/oversight/exceptions/{scene['old_exception'].pk}/", {"decision": "approved"})
    assert response.status_code == 403
    scene["old_exception"].refresh_from_db()
    assert scene["old_exception"].review_status == ExceptionReview.PENDING


@pytest.mark.parametrize("path", ["/app/oversight/referrals/{id}/", "/app/oversight/exceptions/{id}/"])
def test_an_unknown_id_is_the_404_page(personas, path):
    client = _coordinator(personas)
    assert client.get(path.format(id=uuid.uuid4())).status_code == 404
    assert client.post(path.format(id=uuid.uuid4()), {"decision": "approved"}).status_code in (404, 405)


def test_a_suspended_leads_open_case_is_unattended(personas, orgs, flow):
    held = flow.open_case(persona="recipient_caseworker", subject=SUBJECT)
    orgs["shelter-be"].membership_status = MembershipStatus.SUSPENDED
    orgs["shelter-be"].save()
    rows = _coordinator(personas).get("/app/oversight/unattended/?reason=no_active_member").context["rows"]
    assert [row["case"] for row in rows] == [held["id"]]
    assert rows[0]["lead_membership_status"] == "suspended"
