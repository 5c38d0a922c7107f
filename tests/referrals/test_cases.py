"""Cases: one lead at any moment, closed by the lead with an outcome, reopened by the last lead.

The rules: api_docs/concepts.md, "Cases".
"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from referrals.models import Case, Involvement, Referral
from tests.support.flows import CHILD


def case_url(case_id, suffix=""):
    return f"/api/v1/cases/{case_id}/{suffix}"


def close(flow, case_id, persona="caseworker", body=None, **headers):
    body = {"outcome": "safe_and_supported"} if body is None else body
    return flow.p[persona].client.post(case_url(case_id, "close/"), body, format="json", **headers)


def reopen(flow, case_id, persona="caseworker", **headers):
    return flow.p[persona].client.post(case_url(case_id, "reopen/"), {}, format="json", **headers)


def bring(flow, referral, *steps):
    for action, persona, body in steps:
        response = flow.act(referral["id"], action, persona, body)
        assert response.status_code == 200, response.json()


# --- opening -------------------------------------------------------------------------------


def test_opening_a_case_makes_the_opener_its_lead(flow, personas, orgs):
    case = flow.open_case()
    assert case["status"] == "open"
    assert case["lead_organisation"] == str(orgs["hotline-be"].id)
    assert case["subject"]["given_name"] == CHILD["given_name"]
    assert case["outcome"] is None and case["closed_at"] is None

    timeline = personas["caseworker"].client.get(case_url(case["id"], "timeline/")).json()
    assert timeline["lead_organisation"] == str(orgs["hotline-be"].id)
    [custody] = timeline["custody"]
    assert custody == {
        "organisation": str(orgs["hotline-be"].id),
        "role": "lead",
        "started_at": custody["started_at"],
        "ended_at": None,
        "referral": None,
    }
    assert timeline["involvements"] == timeline["custody"]


def test_the_coordination_cannot_open_cases(personas):
    response = personas["coordinator"].client.post(
        "/api/v1/cases/", {"subject": CHILD, "phenomena": ["grooming"]}, format="json"
    )
    assert response.status_code == 403
    assert not Case.objects.exists()


def test_the_coordinator_sees_case_metadata_but_never_the_subject(flow, personas):
    case = flow.open_case()
    seen = personas["coordinator"].client.get(case_url(case["id"]))
    assert seen.status_code == 200
    assert seen.json()["subject"] is None
    assert seen.json()["lead_organisation"] == case["lead_organisation"]


# --- closing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [{}, {"outcome": ""}, {"outcome": "solved"}], ids=["none", "blank", "unknown"])
def test_closing_needs_an_outcome(flow, body):
    case = flow.open_case()
    response = close(flow, case["id"], body=body)
    assert response.status_code == 400
    assert Case.objects.get(pk=case["id"]).status == "open"


def test_closing_withdraws_open_referrals_and_ends_supporting_involvements(flow, orgs, personas):
    case = flow.open_case()
    consent = flow.consent(case["id"])
    draft = flow.draft(case["id"], consent=consent["id"])
    sent = flow.draft(case["id"], consent=consent["id"])
    acknowledged = flow.draft(case["id"], recipient="care-nl", consent=consent["id"])
    bring(flow, sent, ("send", "caseworker", None))
    bring(flow, acknowledged, ("send", "caseworker", None), ("acknowledge", "outsider_caseworker", None))
    # A third organisation accepted earlier and supports the case.
    supporting = flow.draft(case["id"], recipient="care-nl", consent=consent["id"])
    bring(flow, supporting, ("send", "caseworker", None), ("accept", "outsider_caseworker", None))

    response = close(flow, case["id"], body={"outcome": "moved_away"})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["outcome"]) == ("closed", "moved_away")
    assert body["closed_at"] is not None
    statuses = dict(Referral.objects.filter(case_id=case["id"]).values_list("id", "status"))
    assert {str(k): v for k, v in statuses.items()} == {
        draft["id"]: "withdrawn",
        sent["id"]: "withdrawn",
        acknowledged["id"]: "withdrawn",
        supporting["id"]: "accepted",
    }
    open_involvements = Involvement.objects.filter(case_id=case["id"], ended_at__isnull=True)
    assert [(i.organisation_id, i.role) for i in open_involvements] == [(orgs["hotline-be"].id, "lead")]
    # The former supporter keeps the metadata, not the identity.
    seen = personas["outsider_caseworker"].client.get(case_url(case["id"])).json()
    assert seen["status"] == "closed" and seen["subject"] is None


def test_closing_keeps_finished_referrals_as_they_were(flow):
    case = flow.open_case()
    consent = flow.consent(case["id"])
    declined = flow.draft(case["id"], consent=consent["id"])
    bring(
        flow,
        declined,
        ("send", "caseworker", None),
        ("decline", "recipient_caseworker", {"reason_code": "no_capacity", "reason": "Full this month."}),
    )
    completed = flow.draft(case["id"], recipient="care-nl", consent=consent["id"])
    bring(
        flow,
        completed,
        ("send", "caseworker", None),
        ("accept", "outsider_caseworker", None),
        ("complete", "outsider_caseworker", {"outcome_code": "service_delivered"}),
    )

    assert close(flow, case["id"]).status_code == 200

    assert Referral.objects.get(pk=declined["id"]).status == "declined"
    assert Referral.objects.get(pk=completed["id"]).status == "completed"


def test_a_closed_case_refuses_new_referrals_consents_and_changes(flow, personas):
    case = flow.open_case()
    consent = flow.consent(case["id"])
    assert close(flow, case["id"]).status_code == 200
    client = personas["caseworker"].client

    referral = client.post(
        "/api/v1/referrals/",
        flow.referral_body(case["id"], consent=consent["id"]),
        format="json",
    )
    assert referral.status_code == 409
    new_consent = client.post(
        case_url(case["id"], "consents/"),
        {
            "given_by": "young_person",
            "method": "verbal",
            "purposes": ["care_referral"],
        },
        format="json",
    )
    assert new_consent.status_code == 409
    assert client.patch(case_url(case["id"]), {"region": "BE-BRU"}, format="json").status_code == 409
    assert close(flow, case["id"]).status_code == 409

    assert not Referral.objects.filter(case_id=case["id"]).exists()
    assert Case.objects.get(pk=case["id"]).consents.count() == 1


def test_only_the_lead_closes_the_case(flow):
    case, referral = flow.sent_referral()
    bring(flow, referral, ("accept", "recipient_caseworker", None))  # shelter-be supports
    response = close(flow, case["id"], persona="recipient_caseworker")
    assert response.status_code == 422
    assert close(flow, case["id"], persona="outsider_caseworker").status_code == 404
    assert Case.objects.get(pk=case["id"]).status == "open"


def test_after_a_transfer_the_new_lead_closes_and_the_old_one_cannot(flow):
    case, referral = flow.sent_referral(kind="transfer")
    bring(flow, referral, ("accept", "recipient_caseworker", None))
    assert close(flow, case["id"], persona="caseworker").status_code == 422
    assert close(flow, case["id"], persona="recipient_caseworker").status_code == 200


# --- reopening ---------------------------------------------------------------------------------


def test_the_last_lead_reopens_a_closed_case(flow, orgs):
    case = flow.open_case()
    assert close(flow, case["id"]).status_code == 200

    response = reopen(flow, case["id"])

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["outcome"], body["closed_at"]) == ("open", None, None)
    assert body["lead_organisation"] == str(orgs["hotline-be"].id)
    assert body["subject"]["given_name"] == CHILD["given_name"]
    # Open again: referrals can go out.
    flow.draft(case["id"])


def test_reopening_an_open_case_is_409(flow):
    case = flow.open_case()
    assert reopen(flow, case["id"]).status_code == 409


def test_a_former_supporter_cannot_reopen_and_an_unrelated_organisation_cannot_see_the_case(flow):
    case, referral = flow.sent_referral()
    bring(flow, referral, ("accept", "recipient_caseworker", None))
    assert close(flow, case["id"]).status_code == 200

    # shelter-be was involved (it still sees the metadata) but is no longer: 422.
    former = reopen(flow, case["id"], persona="recipient_caseworker")
    assert former.status_code == 422
    # care-nl never was: the case does not exist for it.
    assert reopen(flow, case["id"], persona="outsider_caseworker").status_code == 404
    assert Case.objects.get(pk=case["id"]).status == "closed"


# --- changing the case ----------------------------------------------------------------------------


def test_the_lead_changes_the_subject_and_the_triage_facts(flow, personas):
    case = flow.open_case()
    response = personas["caseworker"].client.patch(
        case_url(case["id"]),
        {"subject": {"given_name": "Quilla", "municipality": "Nowhereville"}, "phenomena": ["grooming", "sextortion"]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["subject"]["given_name"] == "Quilla"
    assert body["subject"]["municipality"] == "Nowhereville"
    assert body["subject"]["family_name"] == CHILD["family_name"]  # untouched fields stay
    assert body["phenomena"] == ["grooming", "sextortion"]
    assert body["version"] == case["version"] + 1


def test_a_supporting_organisation_cannot_change_the_case(flow):
    case, referral = flow.sent_referral()
    bring(flow, referral, ("accept", "recipient_caseworker", None))
    response = flow.p["recipient_caseworker"].client.patch(case_url(case["id"]), {"region": "BE-BRU"}, format="json")
    assert response.status_code == 422
    outsider = flow.p["outsider_caseworker"].client.patch(case_url(case["id"]), {"region": "BE-BRU"}, format="json")
    assert outsider.status_code == 404
    assert Case.objects.get(pk=case["id"]).region == "BE-VLG"


def test_get_gives_an_etag_and_a_stale_if_match_is_412_on_patch_and_close(flow, personas):
    case = flow.open_case()
    client = personas["caseworker"].client
    first = client.get(case_url(case["id"]))
    etag = first["ETag"]
    assert etag == f'"{first.json()["version"]}"'

    changed = client.patch(case_url(case["id"]), {"region": "BE-WAL"}, format="json", HTTP_IF_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag

    stale_patch = client.patch(case_url(case["id"]), {"region": "BE-BRU"}, format="json", HTTP_IF_MATCH=etag)
    assert stale_patch.status_code == 412
    assert stale_patch.json()["type"] == "urn:coalition:problem:precondition-failed"
    stale_close = close(flow, case["id"], HTTP_IF_MATCH=etag)
    assert stale_close.status_code == 412
    stored = Case.objects.get(pk=case["id"])
    assert (stored.region, stored.status) == ("BE-WAL", "open")

    assert close(flow, case["id"], HTTP_IF_MATCH=changed["ETag"]).status_code == 200
    assert reopen(flow, case["id"], HTTP_IF_MATCH=changed["ETag"]).status_code == 412


@pytest.mark.parametrize("header", ['"abc"', "version-1", '""'])
def test_a_malformed_if_match_is_400(flow, personas, header):
    case = flow.open_case()
    response = personas["caseworker"].client.patch(
        case_url(case["id"]), {"region": "BE-BRU"}, format="json", HTTP_IF_MATCH=header
    )
    assert response.status_code == 400
    assert Case.objects.get(pk=case["id"]).region == "BE-VLG"


@pytest.mark.parametrize("header", ["*", 'W/"1"'])
def test_if_match_star_or_a_weak_current_etag_is_accepted(flow, personas, header):
    case = flow.open_case()
    response = personas["caseworker"].client.patch(
        case_url(case["id"]), {"region": "BE-BRU"}, format="json", HTTP_IF_MATCH=header
    )
    assert response.status_code == 200


# --- the database keeps the invariants, whatever the code does ------------------------------------------


def test_the_database_refuses_a_second_open_lead(flow, orgs):
    case = flow.open_case()
    with pytest.raises(IntegrityError), transaction.atomic():
        Involvement.objects.create(case_id=case["id"], organisation=orgs["shelter-be"], role="lead")
    # An ended lead next to the open one is history, and allowed.
    Involvement.objects.create(
        case_id=case["id"], organisation=orgs["shelter-be"], role="lead", ended_at=timezone.now()
    )


def test_the_database_refuses_two_open_involvements_of_one_organisation(flow, orgs):
    case = flow.open_case()
    with pytest.raises(IntegrityError), transaction.atomic():
        Involvement.objects.create(case_id=case["id"], organisation=orgs["hotline-be"], role="supporting")


def test_the_database_refuses_a_referral_to_self(flow, orgs):
    case = flow.open_case()
    hotline = orgs["hotline-be"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Referral.objects.create(
            case_id=case["id"],
            sender=hotline,
            recipient=hotline,
            kind="service",
            phenomenon="teen_pimp",
            urgency="normal",
            requested_service="shelter",
        )


def test_the_database_refuses_a_closed_case_without_an_outcome(flow):
    case = flow.open_case()
    with pytest.raises(IntegrityError), transaction.atomic():
        Case.objects.filter(pk=case["id"]).update(status="closed", closed_at=timezone.now())
