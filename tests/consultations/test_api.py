"""The consultation API (issue #18 items 3 and 5): every route and transition over HTTP.

hotline-be (``caseworker``, ``partner_system``) asks shelter-be (``recipient_caseworker``)
and care-nl (``outsider_caseworker``); ``outsider_admin``'s organisation and every other
member are not asked and see nothing. Coordinators see metadata: no question, no notes,
no exact age, gender or language.
"""

from __future__ import annotations

import json

import pytest

from coalition.audit.models import AuditEntry
from coalition.events.models import Event
from partners.authentication import split_api_key
from partners.choices import ApiKeyScope, OrganisationKind, Role
from partners.models import ApiKey
from referrals.models import Consultation, ConsultationRequest, Referral
from tests.support.consultations import QUESTION, TRIAGE
from tests.support.personas import Persona, make_organisation, make_user
from tests.support.problems import assert_problem

CONSULTATION_FIELDS = {
    "id", "status", "created_at", "asker", "phenomenon", "urgency", "requested_service", "age", "age_band", "gender",
    "region", "language", "question", "requests", "allowed_actions", "version",
}
REQUEST_FIELDS = {
    "id", "organisation", "status", "answer", "note", "answer_due", "answered_at", "overdue", "referral",
    "allowed_actions",
}
NOTE = "A bed frees up at nine; call the night desk."
JUSTIFICATION = "Imminent danger tonight: the young person is about to be moved abroad."


def _ask(personas, orgs, persona="caseworker", *slugs, **extra):
    body = TRIAGE | {"question": QUESTION, "organisations": [str(orgs[slug].pk) for slug in
                                                             (slugs or ("shelter-be", "care-nl"))]} | extra
    return personas[persona].client.post("/api/v1/consultations/", body, format="json")


@pytest.fixture
def asked(personas, orgs):
    response = _ask(personas, orgs)
    assert response.status_code == 201, response.content
    return response.json()


def _get(personas, persona, consultation):
    return personas[persona].client.get(f"/api/v1/consultations/{consultation['id']}/")


def _request_id(consultation, orgs, slug):
    return str(ConsultationRequest.objects.get(consultation_id=consultation["id"], organisation=orgs[slug]).pk)


def _answer(personas, orgs, consultation, persona="recipient_caseworker", slug="shelter-be", answer="yes",
            note=NOTE, **headers):
    path = f"/api/v1/consultations/{consultation['id']}/requests/{_request_id(consultation, orgs, slug)}/answer/"
    return personas[persona].client.post(path, {"answer": answer, "note": note}, format="json", **headers)


def _refer_body(flow, **extra):
    case = flow.open_case()
    consent = flow.consent(case["id"])
    return {"case": case["id"], "kind": "transfer", "consent": consent["id"], "reason": "Bed confirmed."} | extra


def _refer(personas, orgs, consultation, body, persona="caseworker", slug="shelter-be", **headers):
    path = f"/api/v1/consultations/{consultation['id']}/requests/{_request_id(consultation, orgs, slug)}/refer/"
    return personas[persona].client.post(path, body, format="json", **headers)


def _withdraw(personas, consultation, persona="caseworker", **headers):
    return personas[persona].client.post(f"/api/v1/consultations/{consultation['id']}/withdraw/", {}, format="json",
                                         **headers)


def _listed(personas, persona, query=""):
    response = personas[persona].client.get(f"/api/v1/consultations/?{query}")
    assert response.status_code == 200, response.content
    return [entry["id"] for entry in response.json()["results"]]


# --- asking ---------------------------------------------------------------------------------------


def test_asking_answers_the_consultation_with_every_request_and_its_etag(personas, orgs):
    response = _ask(personas, orgs)

    assert response.status_code == 201
    body = response.json()
    assert set(body) == CONSULTATION_FIELDS
    assert response["ETag"] == f'"{body["version"]}"'
    assert body["status"] == "open" and body["allowed_actions"] == ["withdraw"]
    assert body["asker"] == {"id": str(orgs["hotline-be"].pk), "name": orgs["hotline-be"].name}
    assert {name: body[name] for name in TRIAGE} == TRIAGE and body["age_band"] == "15-17"
    assert body["question"] == QUESTION
    assert [r["organisation"]["id"] for r in body["requests"]] == [str(orgs["care-nl"].pk), str(orgs["shelter-be"].pk)]
    for request in body["requests"]:
        assert set(request) == REQUEST_FIELDS
        assert (request["status"], request["answer"], request["note"], request["referral"]) == ("pending", None, "", None)
        assert request["overdue"] is False and request["allowed_actions"] == []
    assert Consultation.objects.get().question == QUESTION


def test_a_partner_system_with_write_scope_asks(personas, orgs):
    response = _ask(personas, orgs, "partner_system")
    assert response.status_code == 201, response.content
    assert Consultation.objects.get().created_by_api_key is not None


@pytest.mark.parametrize("field", ["case", "consent", "subject", "given_name", "family_name", "date_of_birth",
                                   "reason", "safe_contact", "recipient", "signals"])
def test_a_field_that_could_carry_identity_is_refused_by_name_and_nothing_is_made(personas, orgs, field):
    body = assert_problem(_ask(personas, orgs, **{field: "Zorita"}), 400, "validation-error")
    assert field in json.dumps(body)
    assert not Consultation.objects.exists() and not Event.objects.exists()
    assert not AuditEntry.objects.filter(action="consultation.create").exists()


@pytest.mark.parametrize(("field", "value"), [
    ("phenomenon", "unknown_phenomenon"), ("urgency", "tonight"), ("requested_service", "hotel"), ("age", 26),
    ("age", -1), ("gender", "f"), ("region", "Flanders"), ("language", "xx"), ("question", "x" * 501),
])
def test_triage_codes_are_checked_as_a_referrals_are(personas, orgs, field, value):
    body = assert_problem(_ask(personas, orgs, **{field: value}), 400, "validation-error")
    assert field in json.dumps(body)
    assert not Consultation.objects.exists()


@pytest.mark.parametrize("missing", ["phenomenon", "urgency", "requested_service", "organisations"])
def test_the_required_fields(personas, orgs, missing):
    body = TRIAGE | {"organisations": [str(orgs["shelter-be"].pk)]}
    body.pop(missing)
    assert_problem(personas["caseworker"].client.post("/api/v1/consultations/", body, format="json"), 400)


def test_the_members_asked_are_checked(personas, orgs):
    assert_problem(_ask(personas, orgs, "caseworker", "hotline-be"), 400)
    assert_problem(_ask(personas, orgs, "caseworker", "coordination"), 400)
    assert_problem(_ask(personas, orgs, organisations=[]), 400)
    assert_problem(_ask(personas, orgs, organisations=["00000000-0000-0000-0000-000000000000"]), 400)
    same = str(orgs["shelter-be"].pk)
    assert_problem(_ask(personas, orgs, organisations=[same, same]), 400)
    assert not Consultation.objects.exists()


@pytest.mark.parametrize("persona", ["org_admin", "coordinator", "auditor"])
def test_only_caseworkers_and_writing_keys_ask(personas, orgs, persona):
    assert_problem(_ask(personas, orgs, persona), 403, "forbidden")
    assert not Consultation.objects.exists()


def test_a_key_that_only_reads_may_not_ask(personas, orgs):
    key = ApiKey.objects.get(prefix=split_api_key(personas["partner_system"].raw_api_key))
    key.scopes = [ApiKeyScope.ORGANISATIONS_READ, ApiKeyScope.REFERRALS_READ]
    key.save()
    assert_problem(_ask(personas, orgs, "partner_system"), 403)


def test_a_retried_ask_is_replayed_not_asked_twice(personas, orgs):
    body = TRIAGE | {"question": QUESTION, "organisations": [str(orgs["shelter-be"].pk)]}
    first = personas["caseworker"].client.post("/api/v1/consultations/", body, format="json",
                                               HTTP_IDEMPOTENCY_KEY="ask-1")
    again = personas["caseworker"].client.post("/api/v1/consultations/", body, format="json",
                                               HTTP_IDEMPOTENCY_KEY="ask-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and again["ETag"] == first["ETag"]
    assert Consultation.objects.count() == 1
    assert Event.objects.filter(type="consultation.asked").count() == 1


# --- reading: who sees what ------------------------------------------------------------------------


def test_the_asker_reads_every_request_and_the_detail_is_the_list_entry(asked, personas):
    response = _get(personas, "caseworker", asked)
    assert response.status_code == 200
    assert response.json() == asked
    assert response["ETag"] == f'"{asked["version"]}"'
    [entry] = personas["caseworker"].client.get("/api/v1/consultations/").json()["results"]
    assert entry == asked
    assert _get(personas, "partner_system", asked).json() == asked


@pytest.mark.parametrize(("persona", "slug"), [("recipient_caseworker", "shelter-be"), ("outsider_caseworker", "care-nl")])
def test_an_asked_member_sees_the_question_and_its_own_request_only(asked, personas, orgs, persona, slug):
    body = _get(personas, persona, asked).json()
    assert body["question"] == QUESTION and body["age"] == 15
    assert [r["organisation"]["id"] for r in body["requests"]] == [str(orgs[slug].pk)]
    assert body["requests"][0]["allowed_actions"] == ["answer"]
    assert body["allowed_actions"] == []
    [entry] = personas[persona].client.get("/api/v1/consultations/").json()["results"]
    assert entry == body


def test_an_asked_member_never_learns_what_another_answered(asked, personas, orgs):
    _answer(personas, orgs, asked, "outsider_caseworker", "care-nl", answer="no", note="Full until June.")
    text = json.dumps(_get(personas, "recipient_caseworker", asked).json())
    assert str(orgs["care-nl"].pk) not in text and "Full until June." not in text and "care-nl" not in text


def test_coordinators_read_metadata_without_question_notes_or_exact_triage(asked, personas, orgs):
    _answer(personas, orgs, asked)
    body = _get(personas, "coordinator", asked).json()
    assert body["question"] is None
    assert (body["age"], body["gender"], body["language"], body["age_band"]) == (None, None, None, "15-17")
    assert (body["phenomenon"], body["urgency"], body["region"]) == ("teen_pimp", "urgent", "BE-VLG")
    assert len(body["requests"]) == 2
    assert all(r["note"] is None and r["allowed_actions"] == [] for r in body["requests"])
    assert {r["answer"] for r in body["requests"]} == {"yes", None}
    assert body["allowed_actions"] == []
    text = json.dumps(personas["coordinator"].client.get("/api/v1/consultations/").json())
    assert QUESTION not in text and NOTE not in text


def test_a_member_not_asked_sees_nothing(asked, personas, orgs):
    outsider = make_organisation("outsider-lu", OrganisationKind.NGO, country="LU", regions=["LU-L"])
    client = Persona("stranger", user=make_user("stranger-caseworker", outsider, [Role.CASEWORKER])).client
    assert_problem(client.get(f"/api/v1/consultations/{asked['id']}/"), 404, "not-found")
    assert client.get("/api/v1/consultations/").json()["results"] == []
    assert_problem(client.post(f"/api/v1/consultations/{asked['id']}/withdraw/", {}, format="json"), 404)
    request_id = _request_id(asked, orgs, "shelter-be")
    assert_problem(client.post(f"/api/v1/consultations/{asked['id']}/requests/{request_id}/answer/",
                               {"answer": "yes"}, format="json"), 404)
    feed = client.get("/api/v1/events/").json()["results"]
    assert [e for e in feed if e["type"].startswith("consultation.")] == []


@pytest.mark.parametrize("persona", ["org_admin", "auditor"])
def test_org_admins_and_auditors_may_not_read_consultations(asked, personas, persona):
    assert_problem(personas[persona].client.get("/api/v1/consultations/"), 403)
    assert_problem(_get(personas, persona, asked), 403)


def test_an_unknown_consultation_or_request_is_404(asked, personas, orgs):
    nobody = "00000000-0000-0000-0000-000000000000"
    assert_problem(personas["caseworker"].client.get(f"/api/v1/consultations/{nobody}/"), 404)
    path = f"/api/v1/consultations/{asked['id']}/requests/{nobody}/answer/"
    assert_problem(personas["recipient_caseworker"].client.post(path, {"answer": "yes"}, format="json"), 404)


def test_an_asked_member_may_not_name_another_members_request(asked, personas, orgs):
    response = _answer(personas, orgs, asked, "recipient_caseworker", "care-nl")
    assert_problem(response, 404)
    assert ConsultationRequest.objects.get(organisation=orgs["care-nl"]).status == "pending"


# --- answering ------------------------------------------------------------------------------------


def test_an_answer_is_given_once_and_the_asker_reads_it(asked, personas, orgs):
    etag = _get(personas, "recipient_caseworker", asked)["ETag"]
    response = _answer(personas, orgs, asked, HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.content
    [own] = response.json()["requests"]
    assert (own["status"], own["answer"], own["note"], own["allowed_actions"]) == ("answered", "yes", NOTE, [])
    assert own["answered_at"] is not None
    assert response["ETag"] == f'"{response.json()["version"]}"' != etag

    seen = {r["organisation"]["id"]: r for r in _get(personas, "caseworker", asked).json()["requests"]}
    shelter = seen[str(orgs["shelter-be"].pk)]
    assert (shelter["answer"], shelter["note"], shelter["allowed_actions"]) == ("yes", NOTE, ["refer"])

    assert_problem(_answer(personas, orgs, asked, answer="no"), 409, "conflict")
    assert ConsultationRequest.objects.get(organisation=orgs["shelter-be"]).answer == "yes"


def test_every_member_answered_makes_it_answered(asked, personas, orgs):
    _answer(personas, orgs, asked, answer="waitlist")
    body = _answer(personas, orgs, asked, "outsider_caseworker", "care-nl", answer="no").json()
    assert body["status"] == "answered"
    assert _get(personas, "caseworker", asked).json()["allowed_actions"] == []


def test_an_answer_with_a_stale_if_match_is_refused_and_changes_nothing(asked, personas, orgs):
    etag = _get(personas, "recipient_caseworker", asked)["ETag"]
    _answer(personas, orgs, asked, "outsider_caseworker", "care-nl", answer="no")
    assert_problem(_answer(personas, orgs, asked, HTTP_IF_MATCH=etag), 412, "precondition-failed")
    assert ConsultationRequest.objects.get(organisation=orgs["shelter-be"]).status == "pending"


def test_an_answer_is_checked(asked, personas, orgs):
    assert_problem(_answer(personas, orgs, asked, answer="maybe"), 400)
    assert_problem(_answer(personas, orgs, asked, note="x" * 301), 400)
    path = f"/api/v1/consultations/{asked['id']}/requests/{_request_id(asked, orgs, 'shelter-be')}/answer/"
    body = assert_problem(personas["recipient_caseworker"].client.post(
        path, {"answer": "yes", "given_name": "Zorita"}, format="json"), 400)
    assert "given_name" in json.dumps(body)
    assert ConsultationRequest.objects.get(organisation=orgs["shelter-be"]).status == "pending"


def test_the_asker_does_not_answer_for_a_member(asked, personas, orgs):
    assert_problem(_answer(personas, orgs, asked, "caseworker"), 403)
    assert_problem(_answer(personas, orgs, asked, "coordinator"), 403)


def test_a_retried_answer_is_replayed_not_given_twice(asked, personas, orgs):
    first = _answer(personas, orgs, asked, HTTP_IDEMPOTENCY_KEY="answer-1")
    again = _answer(personas, orgs, asked, HTTP_IDEMPOTENCY_KEY="answer-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert AuditEntry.objects.filter(action="consultation.answer").count() == 1


def test_an_answer_tells_the_asker_and_that_member_with_ids_and_codes_only(asked, personas, orgs):
    _answer(personas, orgs, asked)
    [event] = Event.objects.filter(type="consultation.answered")
    assert sorted(event.organisations) == sorted([str(orgs["hotline-be"].pk), str(orgs["shelter-be"].pk)])
    assert event.data == {"consultation": asked["id"], "request": _request_id(asked, orgs, "shelter-be"),
                          "urgency": "urgent", "answer": "yes"}
    feed = personas["caseworker"].client.get("/api/v1/events/").json()["results"]
    assert [e["data"] for e in feed if e["type"] == "consultation.answered"] == [event.data]
    other = personas["outsider_caseworker"].client.get("/api/v1/events/").json()["results"]
    assert [e["type"] for e in other if e["type"].startswith("consultation.")] == ["consultation.asked"]


# --- withdrawing ----------------------------------------------------------------------------------


def test_the_asker_withdraws_and_the_members_yet_to_answer_need_not(asked, personas, orgs):
    _answer(personas, orgs, asked, answer="no")
    etag = _get(personas, "caseworker", asked)["ETag"]
    response = _withdraw(personas, asked, HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "withdrawn" and body["allowed_actions"] == []
    assert {r["organisation"]["id"]: r["status"] for r in body["requests"]} == {
        str(orgs["shelter-be"].pk): "answered", str(orgs["care-nl"].pk): "withdrawn"}
    [event] = Event.objects.filter(type="consultation.withdrawn")
    assert event.organisations == [str(orgs["care-nl"].pk)]
    assert_problem(_answer(personas, orgs, asked, "outsider_caseworker", "care-nl"), 409)
    assert_problem(_withdraw(personas, asked), 409)


def test_a_withdrawal_with_a_stale_if_match_is_refused(asked, personas, orgs):
    etag = _get(personas, "caseworker", asked)["ETag"]
    _answer(personas, orgs, asked)
    assert_problem(_withdraw(personas, asked, HTTP_IF_MATCH=etag), 412, "precondition-failed")
    assert Consultation.objects.get().status == "open"


@pytest.mark.parametrize(("persona", "status"), [("recipient_caseworker", 403), ("coordinator", 403),
                                                 ("org_admin", 403)])
def test_only_the_asker_withdraws(asked, personas, persona, status):
    assert_problem(_withdraw(personas, asked, persona), status)
    assert Consultation.objects.get().status == "open"


def test_a_retried_withdrawal_is_replayed(asked, personas):
    first = _withdraw(personas, asked, HTTP_IDEMPOTENCY_KEY="withdraw-1")
    again = _withdraw(personas, asked, HTTP_IDEMPOTENCY_KEY="withdraw-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert AuditEntry.objects.filter(action="consultation.withdraw").count() == 1


# --- a yes into a referral ------------------------------------------------------------------------


def test_a_yes_becomes_a_sent_referral_keeping_the_link(asked, personas, orgs, flow):
    _answer(personas, orgs, asked)
    body = _refer_body(flow)
    response = _refer(personas, orgs, asked, body)

    assert response.status_code == 201, response.content
    referral = response.json()
    assert response["Location"] == f"/api/v1/referrals/{referral['id']}/"
    assert response["ETag"] == f'"{referral["version"]}"'
    assert (referral["status"], referral["kind"], referral["case"]) == ("sent", "transfer", body["case"])
    assert referral["recipient"] == str(orgs["shelter-be"].pk) and referral["consent"] == body["consent"]
    assert {name: referral[name] for name in TRIAGE} == TRIAGE
    assert personas["caseworker"].client.get(response["Location"]).json() == referral

    seen = {r["organisation"]["id"]: r for r in _get(personas, "caseworker", asked).json()["requests"]}
    assert seen[str(orgs["shelter-be"].pk)]["referral"] == referral["id"]
    assert seen[str(orgs["shelter-be"].pk)]["allowed_actions"] == []
    [own] = _get(personas, "recipient_caseworker", asked).json()["requests"]
    assert own["referral"] == referral["id"]
    assert Referral.objects.get(pk=referral["id"]).consultation_request.consultation_id == Consultation.objects.get().pk

    assert_problem(_refer(personas, orgs, asked, _refer_body(flow)), 409, "conflict")
    assert Referral.objects.count() == 1


def test_a_yes_becomes_a_referral_under_a_justified_exception(asked, personas, orgs, flow):
    _answer(personas, orgs, asked)
    case = flow.open_case()
    body = {"case": case["id"], "legal_basis": {"basis": "vital_interest", "justification": JUSTIFICATION}}
    response = _refer(personas, orgs, asked, body)
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "service" and response.json()["legal_basis"]["basis"] == "vital_interest"


def test_only_a_yes_is_referred_and_only_with_a_legal_basis(asked, personas, orgs, flow):
    _answer(personas, orgs, asked, "outsider_caseworker", "care-nl", answer="waitlist")
    assert_problem(_refer(personas, orgs, asked, _refer_body(flow), slug="care-nl"), 409)
    assert_problem(_refer(personas, orgs, asked, _refer_body(flow)), 409)  # shelter-be has not answered
    _answer(personas, orgs, asked)
    case = flow.open_case()
    assert_problem(_refer(personas, orgs, asked, {"case": case["id"]}), 422, "business-rule")
    assert not Referral.objects.exists()


def test_a_refer_body_is_checked(asked, personas, orgs, flow):
    _answer(personas, orgs, asked)
    body = _refer_body(flow)
    for extra in ({"recipient": str(orgs["care-nl"].pk)}, {"subject": {"given_name": "Zorita"}}, {"age": 9}):
        problem = assert_problem(_refer(personas, orgs, asked, body | extra), 400)
        assert next(iter(extra)) in json.dumps(problem)
    assert_problem(_refer(personas, orgs, asked, body | {"case": "00000000-0000-0000-0000-000000000000"}), 400)
    other_case = flow.open_case("recipient_caseworker")
    assert_problem(_refer(personas, orgs, asked, body | {"case": other_case["id"]}), 400)  # not hotline-be's case
    assert not Referral.objects.exists()


def test_only_the_asker_refers(asked, personas, orgs, flow):
    _answer(personas, orgs, asked)
    own_case = flow.open_case("recipient_caseworker")  # a case of its own: the body is valid, the party is not
    body = {"case": own_case["id"], "legal_basis": {"basis": "vital_interest", "justification": JUSTIFICATION}}
    assert_problem(_refer(personas, orgs, asked, body, "recipient_caseworker"), 403)
    assert_problem(_refer(personas, orgs, asked, _refer_body(flow), "coordinator"), 403)
    assert not Referral.objects.exists()


def test_a_retried_refer_is_replayed_as_the_referral(asked, personas, orgs, flow):
    _answer(personas, orgs, asked)
    body = _refer_body(flow)
    first = _refer(personas, orgs, asked, body, HTTP_IDEMPOTENCY_KEY="refer-1")
    again = _refer(personas, orgs, asked, body, HTTP_IDEMPOTENCY_KEY="refer-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and again["Location"] == first["Location"]
    assert Referral.objects.count() == 1


def test_the_refer_changes_the_consultations_etag(asked, personas, orgs, flow):
    _answer(personas, orgs, asked)
    before = _get(personas, "caseworker", asked)["ETag"]
    _refer(personas, orgs, asked, _refer_body(flow))
    assert _get(personas, "caseworker", asked)["ETag"] != before


# --- lists and filters ----------------------------------------------------------------------------


def test_direction_status_request_status_and_urgency_filters(personas, orgs):
    mine = _ask(personas, orgs).json()
    theirs = _ask(personas, orgs, "recipient_caseworker", "hotline-be", urgency="normal").json()

    assert _listed(personas, "caseworker") == [theirs["id"], mine["id"]]
    assert _listed(personas, "caseworker", "direction=outgoing") == [mine["id"]]
    assert _listed(personas, "caseworker", "direction=incoming") == [theirs["id"]]
    assert _listed(personas, "caseworker", "urgency=normal") == [theirs["id"]]
    assert _listed(personas, "caseworker", "urgency=urgent") == [mine["id"]]
    assert _listed(personas, "outsider_caseworker") == [mine["id"]]

    _answer(personas, orgs, mine)  # shelter-be answers; care-nl has yet to
    assert _listed(personas, "recipient_caseworker", "direction=incoming&request_status=pending") == []
    assert _listed(personas, "recipient_caseworker", "direction=incoming&request_status=answered") == [mine["id"]]
    assert _listed(personas, "recipient_caseworker", "status=open&direction=incoming") == [mine["id"]]
    assert _listed(personas, "caseworker", "direction=outgoing&request_status=pending") == [mine["id"]]
    assert _listed(personas, "caseworker", "direction=outgoing&request_status=answered") == [mine["id"]]

    _withdraw(personas, mine)
    assert _listed(personas, "caseworker", "status=withdrawn") == [mine["id"]]
    assert _listed(personas, "caseworker", "status=open") == [theirs["id"]]
    assert _listed(personas, "caseworker", "status=open&status=withdrawn") == [theirs["id"], mine["id"]]
    assert _listed(personas, "coordinator", "status=withdrawn") == [mine["id"]]
    assert _listed(personas, "coordinator", "request_status=withdrawn") == [mine["id"]]
    assert_problem(personas["caseworker"].client.get("/api/v1/consultations/?status=closed"), 400)
    assert_problem(personas["caseworker"].client.get("/api/v1/consultations/?direction=sideways"), 400)


def test_the_list_is_newest_first_and_paginated_by_cursor(personas, orgs):
    made = [_ask(personas, orgs, "caseworker", "shelter-be").json()["id"] for _ in range(3)]
    first = personas["caseworker"].client.get("/api/v1/consultations/?page_size=2").json()
    assert [entry["id"] for entry in first["results"]] == made[::-1][:2]
    rest = personas["caseworker"].client.get(first["next"]).json()
    assert [entry["id"] for entry in rest["results"]] == made[::-1][2:] and rest["next"] is None
    assert_problem(personas["caseworker"].client.get("/api/v1/consultations/?cursor=forged"), 400)


def test_the_list_reads_a_page_in_a_fixed_number_of_queries(personas, orgs, django_assert_max_num_queries):
    for _ in range(4):
        _ask(personas, orgs)
    for persona in ("caseworker", "recipient_caseworker", "coordinator"):
        with django_assert_max_num_queries(6):
            assert len(personas[persona].client.get("/api/v1/consultations/").json()["results"]) == 4


# --- audit -----------------------------------------------------------------------------------------


def test_a_refused_write_leaves_no_audit_entry_and_no_event(asked, personas, orgs):
    _answer(personas, orgs, asked)
    entries, events = AuditEntry.objects.count(), Event.objects.count()
    _answer(personas, orgs, asked)  # 409
    _answer(personas, orgs, asked, "coordinator")  # 403
    _withdraw(personas, asked, "recipient_caseworker")  # 403
    assert (AuditEntry.objects.count(), Event.objects.count()) == (entries, events)
