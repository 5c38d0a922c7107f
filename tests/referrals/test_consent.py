"""Consent and legal-basis exceptions: the lawful ground for every disclosure (GDPR art. 6, 9;
api_docs/concepts.md, "Consent and legal-basis exceptions").

A consent covers a recipient (its list; empty means any member), a purpose
(police_report for police and prosecution liaisons, care_referral otherwise) and
a date. What it does not cover is refused with 422 when the referral is sent,
and again when it is accepted, since the consent may have changed in between.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from partners.choices import OrganisationKind
from referrals.models import Consent, LegalBasisException, Referral
from tests.support.personas import make_organisation

JUSTIFICATION = "Imminent danger tonight: the pimp has found the shelter address."


@pytest.fixture
def police(orgs):
    return make_organisation("police-be", OrganisationKind.POLICE_LIAISON)


def today():
    return timezone.now().date()


def draft_under(flow, *, recipient="shelter-be", **consent):
    case = flow.open_case()
    given = flow.consent(case["id"], **consent)
    referral = flow.draft(case["id"], recipient=recipient, consent=given["id"])
    return given, referral


def send(flow, referral):
    return flow.act(referral["id"], "send", "caseworker")


def status_of(referral) -> str:
    return Referral.objects.get(pk=referral["id"]).status


# --- what a consent covers, at send -------------------------------------------------------


def test_a_consent_naming_the_recipient_covers_it(flow, orgs):
    _consent, referral = draft_under(flow, recipients=[str(orgs["shelter-be"].id)])
    assert send(flow, referral).status_code == 200


def test_a_consent_with_no_recipients_covers_any_member(flow):
    _consent, referral = draft_under(flow, recipients=[])
    assert send(flow, referral).status_code == 200


def test_a_consent_naming_other_recipients_does_not_cover_this_one(flow, orgs):
    _consent, referral = draft_under(flow, recipients=[str(orgs["care-nl"].id)])
    response = send(flow, referral)
    assert response.status_code == 422
    assert response.json()["type"] == "urn:coalition:problem:business-rule"
    assert status_of(referral) == "draft"


def test_a_police_liaison_needs_consent_for_a_police_report(flow, police):
    flow.orgs["police-be"] = police
    _c, to_police = draft_under(flow, recipient="police-be", purposes=["care_referral", "information_sharing"])
    response = send(flow, to_police)
    assert response.status_code == 422
    assert status_of(to_police) == "draft"

    _c, covered = draft_under(flow, recipient="police-be", purposes=["police_report"])
    assert send(flow, covered).status_code == 200


def test_a_care_organisation_needs_consent_for_a_care_referral(flow):
    _consent, referral = draft_under(flow, purposes=["police_report", "information_sharing"])
    assert send(flow, referral).status_code == 422
    assert status_of(referral) == "draft"


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [(1, None), (1, 30), (-30, -1)],
    ids=["starts-tomorrow", "starts-tomorrow-bounded", "ended-yesterday"],
)
def test_a_consent_outside_its_period_does_not_cover_today(flow, valid_from, valid_until):
    dates = {"valid_from": (today() + timedelta(days=valid_from)).isoformat()}
    if valid_until is not None:
        dates["valid_until"] = (today() + timedelta(days=valid_until)).isoformat()
    _consent, referral = draft_under(flow, **dates)
    assert send(flow, referral).status_code == 422
    assert status_of(referral) == "draft"


def test_a_consent_valid_until_today_still_covers_today(flow):
    _consent, referral = draft_under(
        flow, valid_from=(today() - timedelta(days=3)).isoformat(), valid_until=today().isoformat()
    )
    assert send(flow, referral).status_code == 200


def test_a_consent_ending_before_it_starts_is_400(flow, personas):
    case = flow.open_case()
    body = {
        "given_by": "parent",
        "method": "verbal",
        "purposes": ["care_referral"],
        "valid_from": today().isoformat(),
        "valid_until": (today() - timedelta(days=1)).isoformat(),
    }
    response = personas["caseworker"].client.post(f"/api/v1/cases/{case['id']}/consents/", body, format="json")
    assert response.status_code == 400
    assert not Consent.objects.filter(case_id=case["id"]).exists()


def test_a_consent_of_another_case_cannot_be_used(flow, personas):
    other_case = flow.open_case()
    other_consent = flow.consent(other_case["id"])
    case = flow.open_case()
    body = flow.referral_body(case["id"], consent=other_consent["id"])
    response = personas["caseworker"].client.post("/api/v1/referrals/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/consent"


# --- what a consent covers, again at accept --------------------------------------------------


def _sent_under_consent(flow, **consent):
    given, referral = draft_under(flow, **consent)
    assert send(flow, referral).status_code == 200
    return given, referral


@pytest.mark.parametrize(
    "change",
    [
        {"recipients": ["00000000-0000-4000-8000-000000000000"]},
        {"purposes": ["information_sharing"]},
        "expired",
        "withdrawn",
    ],
    ids=["recipient-removed", "purpose-removed", "expired", "withdrawn-behind-the-services-back"],
)
def test_accepting_needs_the_consent_to_still_cover_the_referral(flow, change):
    given, referral = _sent_under_consent(flow)
    if change == "expired":
        yesterday = today() - timedelta(days=1)
        Consent.objects.filter(pk=given["id"]).update(valid_from=yesterday - timedelta(days=10), valid_until=yesterday)
    elif change == "withdrawn":
        Consent.objects.filter(pk=given["id"]).update(withdrawn_at=timezone.now())
    else:
        Consent.objects.filter(pk=given["id"]).update(**change)

    response = flow.act(referral["id"], "accept", "recipient_caseworker")

    assert response.status_code == 422
    assert status_of(referral) == "sent"
    # Identity stays hidden from the recipient.
    assert flow.p["recipient_caseworker"].client.get(f"/api/v1/cases/{referral['case']}/").status_code == 404


# --- withdrawing consent -----------------------------------------------------------------------


def withdraw(flow, case_id, consent_id, persona="caseworker"):
    return flow.p[persona].client.post(f"/api/v1/cases/{case_id}/consents/{consent_id}/withdraw/", {}, format="json")


def test_withdrawing_consent_withdraws_pending_referrals_and_blocks_new_sends(flow):
    case = flow.open_case()
    given = flow.consent(case["id"])
    draft = flow.draft(case["id"], consent=given["id"])
    sent = flow.draft(case["id"], consent=given["id"])
    acknowledged = flow.draft(case["id"], recipient="care-nl", consent=given["id"])
    assert send(flow, sent).status_code == 200
    assert send(flow, acknowledged).status_code == 200
    assert flow.act(acknowledged["id"], "acknowledge", "outsider_caseworker").status_code == 200

    response = withdraw(flow, case["id"], given["id"])

    assert response.status_code == 200
    assert response.json()["withdrawn_at"] is not None
    assert [status_of(r) for r in (draft, sent, acknowledged)] == ["withdrawn"] * 3
    # The recipients can no longer accept, and nothing new goes out under it.
    assert flow.act(sent["id"], "accept", "recipient_caseworker").status_code == 409
    late = flow.draft(case["id"], consent=given["id"])
    assert send(flow, late).status_code == 422
    assert status_of(late) == "draft"


def test_withdrawing_consent_leaves_accepted_referrals_accepted(flow):
    given, referral = _sent_under_consent(flow)
    assert flow.act(referral["id"], "accept", "recipient_caseworker").status_code == 200

    assert withdraw(flow, referral["case"], given["id"]).status_code == 200

    assert status_of(referral) == "accepted"
    seen = flow.p["recipient_caseworker"].client.get(f"/api/v1/cases/{referral['case']}/").json()
    assert seen["subject"] is not None  # what was lawfully shared stays with the recipient


def test_withdrawing_consent_leaves_referrals_under_another_consent_alone(flow):
    case = flow.open_case()
    first = flow.consent(case["id"])
    second = flow.consent(case["id"])
    under_second = flow.draft(case["id"], consent=second["id"])
    assert send(flow, under_second).status_code == 200

    assert withdraw(flow, case["id"], first["id"]).status_code == 200

    assert status_of(under_second) == "sent"


def test_withdrawing_consent_twice_is_409(flow):
    case = flow.open_case()
    given = flow.consent(case["id"])
    assert withdraw(flow, case["id"], given["id"]).status_code == 200
    assert withdraw(flow, case["id"], given["id"]).status_code == 409


def test_a_consent_is_withdrawn_only_through_its_own_case(flow):
    case = flow.open_case()
    other = flow.open_case()
    given = flow.consent(case["id"])
    assert withdraw(flow, other["id"], given["id"]).status_code == 404
    assert Consent.objects.get(pk=given["id"]).withdrawn_at is None


def test_an_unrelated_organisation_cannot_withdraw_a_consent(flow):
    case = flow.open_case()
    given = flow.consent(case["id"])
    assert withdraw(flow, case["id"], given["id"], persona="outsider_caseworker").status_code == 404
    assert Consent.objects.get(pk=given["id"]).withdrawn_at is None


def test_consents_are_listed_for_the_case(flow, personas):
    case = flow.open_case()
    given = flow.consent(case["id"], purposes=["care_referral", "police_report"])
    listed = personas["caseworker"].client.get(f"/api/v1/cases/{case['id']}/consents/")
    assert listed.status_code == 200
    assert [(c["id"], sorted(c["purposes"])) for c in listed.json()] == [
        (given["id"], ["care_referral", "police_report"])
    ]
    assert personas["outsider_caseworker"].client.get(f"/api/v1/cases/{case['id']}/consents/").status_code == 404


# --- legal-basis exceptions --------------------------------------------------------------------


def draft_with_basis(flow, justification, basis="vital_interest"):
    case = flow.open_case()
    body = flow.referral_body(case["id"], urgency="immediate", legal_basis={"basis": basis, "justification": justification})
    return flow.p["caseworker"].client.post("/api/v1/referrals/", body, format="json")


@pytest.mark.parametrize(
    "justification", ["Danger.", "x" * 19, " " * 30, ""], ids=["short", "19-chars", "blank", "empty"]
)
def test_a_legal_basis_with_a_justification_under_20_characters_is_400(flow, justification):
    response = draft_with_basis(flow, justification)
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/legal_basis/justification"
    assert not Referral.objects.exists()


def test_a_legal_basis_without_any_justification_is_a_draft_that_cannot_be_sent(flow):
    # null is how the justification reads when it is hidden; as input it leaves a draft
    # that the send refuses (422), so no exception ever goes out unjustified.
    response = draft_with_basis(flow, None)
    assert response.status_code == 201, response.json()
    referral = response.json()
    assert referral["legal_basis"] == {"basis": "vital_interest", "justification": None}
    sent = send(flow, referral)
    assert sent.status_code == 422
    assert status_of(referral) == "draft"
    assert not LegalBasisException.objects.exists()


def test_a_legal_basis_and_a_consent_together_are_422(flow, personas):
    case = flow.open_case()
    given = flow.consent(case["id"])
    body = flow.referral_body(
        case["id"],
        urgency="immediate",
        consent=given["id"],
        legal_basis={"basis": "duty_to_report", "justification": JUSTIFICATION},
    )
    response = personas["caseworker"].client.post("/api/v1/referrals/", body, format="json")
    assert response.status_code == 422


def test_a_justified_exception_sends_at_once_and_waits_for_review(flow, personas):
    referral = draft_with_basis(flow, JUSTIFICATION, basis="duty_to_report").json()
    sent = send(flow, referral)
    assert sent.status_code == 200 and sent.json()["status"] == "sent"

    queue = personas["coordinator"].client.get("/api/v1/oversight/exceptions/")
    assert queue.status_code == 200
    [entry] = queue.json()["results"]
    assert entry["referral"] == referral["id"]
    assert entry["case"] == referral["case"]
    assert entry["organisation"] == str(flow.orgs["hotline-be"].id)
    assert entry["basis"] == "duty_to_report"
    assert entry["justification"] == JUSTIFICATION
    assert entry["review_status"] == "pending"
    assert entry["overdue"] is False


def test_a_drafted_exception_is_not_in_the_queue_until_sent(flow, personas):
    draft_with_basis(flow, JUSTIFICATION)
    assert personas["coordinator"].client.get("/api/v1/oversight/exceptions/").json()["results"] == []


def test_an_exception_unreviewed_for_72_hours_is_overdue(flow, personas, settings):
    assert settings.EXCEPTION_REVIEW_HOURS == 72
    fresh = draft_with_basis(flow, JUSTIFICATION).json()
    old = draft_with_basis(flow, JUSTIFICATION).json()
    assert send(flow, fresh).status_code == send(flow, old).status_code == 200
    LegalBasisException.objects.filter(referral_id=old["id"]).update(
        created_at=timezone.now() - timedelta(hours=72, minutes=1)
    )
    LegalBasisException.objects.filter(referral_id=fresh["id"]).update(created_at=timezone.now() - timedelta(hours=71))
    client = personas["coordinator"].client

    every = {e["referral"]: e["overdue"] for e in client.get("/api/v1/oversight/exceptions/").json()["results"]}
    assert every == {old["id"]: True, fresh["id"]: False}
    assert [e["referral"] for e in client.get("/api/v1/oversight/exceptions/?overdue=true").json()["results"]] == [
        old["id"]
    ]
    assert [e["referral"] for e in client.get("/api/v1/oversight/exceptions/?overdue=false").json()["results"]] == [
        fresh["id"]
    ]


def test_a_reviewed_exception_is_no_longer_overdue(flow, personas):
    referral = draft_with_basis(flow, JUSTIFICATION).json()
    send(flow, referral)
    LegalBasisException.objects.update(created_at=timezone.now() - timedelta(days=5))
    client = personas["coordinator"].client
    [entry] = client.get("/api/v1/oversight/exceptions/?overdue=true").json()["results"]
    reviewed = client.post(
        f"/api/v1/oversight/exceptions/{entry['id']}/review/", {"decision": "flagged", "note": "Thin."}, format="json"
    )
    assert reviewed.status_code == 200
    assert reviewed.json()["review_status"] == "flagged" and reviewed.json()["overdue"] is False
    assert reviewed.json()["reviewed_by"] == str(personas["coordinator"].user.id)
    assert client.get("/api/v1/oversight/exceptions/?overdue=true").json()["results"] == []
    assert [e["id"] for e in client.get("/api/v1/oversight/exceptions/?review_status=flagged").json()["results"]] == [
        entry["id"]
    ]


def test_reviewing_an_exception_twice_is_409(flow, personas):
    referral = draft_with_basis(flow, JUSTIFICATION).json()
    send(flow, referral)
    exception = LegalBasisException.objects.get()
    client = personas["coordinator"].client
    url = f"/api/v1/oversight/exceptions/{exception.pk}/review/"
    assert client.post(url, {"decision": "approved"}, format="json").status_code == 200
    second = client.post(url, {"decision": "flagged", "note": "Changed my mind."}, format="json")
    assert second.status_code == 409
    exception.refresh_from_db()
    assert exception.review_status == "approved"


def test_a_review_decision_must_be_approve_or_flag(flow, personas):
    referral = draft_with_basis(flow, JUSTIFICATION).json()
    send(flow, referral)
    exception = LegalBasisException.objects.get()
    response = personas["coordinator"].client.post(
        f"/api/v1/oversight/exceptions/{exception.pk}/review/", {"decision": "pending"}, format="json"
    )
    assert response.status_code == 400
    exception.refresh_from_db()
    assert exception.review_status == "pending"


@pytest.mark.parametrize(
    "persona", ["caseworker", "recipient_caseworker", "outsider_caseworker", "org_admin", "auditor", "partner_system"]
)
def test_only_coordinators_reach_the_review_queue(flow, personas, persona):
    referral = draft_with_basis(flow, JUSTIFICATION).json()
    send(flow, referral)
    exception = LegalBasisException.objects.get()
    client = personas[persona].client
    assert client.get("/api/v1/oversight/exceptions/").status_code == 403
    assert client.get(f"/api/v1/oversight/exceptions/{exception.pk}/").status_code == 403
    review = client.post(
        f"/api/v1/oversight/exceptions/{exception.pk}/review/", {"decision": "approved"}, format="json"
    )
    assert review.status_code == 403
    exception.refresh_from_db()
    assert exception.review_status == "pending"


def test_a_recipient_accepts_an_exception_referral_without_any_consent(flow):
    referral = draft_with_basis(flow, JUSTIFICATION).json()
    send(flow, referral)
    response = flow.act(referral["id"], "accept", "recipient_caseworker")
    assert response.status_code == 200
    assert response.json()["legal_basis"] == {"basis": "vital_interest", "justification": JUSTIFICATION}


def test_consent_can_still_be_withdrawn_after_the_case_is_closed(flow, personas):
    case = flow.open_case()
    given = flow.consent(case["id"])
    closed = personas["caseworker"].client.post(
        f"/api/v1/cases/{case['id']}/close/", {"outcome": "refused_help"}, format="json"
    )
    assert closed.status_code == 200
    assert withdraw(flow, case["id"], given["id"]).status_code == 200
    assert Consent.objects.get(pk=given["id"]).withdrawn_at is not None
