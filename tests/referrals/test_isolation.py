"""Cross-organisation isolation (BOLA), scoped foreign keys and mass assignment.

api_docs/security.md, controls "cross-organisation isolation (BOLA)", "scoped foreign keys on input"
and "mass assignment". The scenario is a referral from hotline-be (``caseworker``) to
shelter-be (``recipient_caseworker``); care-nl (``outsider_caseworker``, ``outsider_admin``
and its own partner system) has nothing to do with it.

Every route under ``/cases/{id}/`` and ``/referrals/{id}/`` is found by walking the URL
resolver, so an action added later is swept too. For a persona that may not see the
object, each method answers exactly what it answers for an id that does not exist
(only the request id differs): the object's existence never shows.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from partners.choices import ApiKeyScope
from referrals.models import Case, Consent, Involvement, Referral, ReferralMessage, Subject
from tests.support.flows import CHILD
from tests.support.personas import Persona, approved_api_key
from tests.support.problems import without_request_id
from tests.support.routes import SERVED_METHODS, iter_routes


def _routes_under(prefix: str) -> list:
    return sorted((route for route in iter_routes() if route.path.startswith(prefix)), key=lambda route: route.path)


CASE_ROUTES = _routes_under("/api/v1/cases/{id}/")
REFERRAL_ROUTES = _routes_under("/api/v1/referrals/{id}/")

# A body each action would accept from the persona allowed to take it, so that an
# outsider's refusal cannot come from body validation running first.
BODIES = {
    ("PATCH", "/api/v1/cases/{id}/"): {"region": "BE-BRU", "subject": {"municipality": "Elsewhere"}},
    ("POST", "/api/v1/cases/{id}/close/"): {"outcome": "other"},
    ("POST", "/api/v1/cases/{id}/consents/"): {"given_by": "parent", "method": "verbal", "purposes": ["care_referral"]},
    ("PATCH", "/api/v1/referrals/{id}/"): {"urgency": "immediate", "reason": "Changed by someone else"},
    ("POST", "/api/v1/referrals/{id}/decline/"): {"reason_code": "no_capacity", "reason": "We are full this week."},
    ("POST", "/api/v1/referrals/{id}/complete/"): {"outcome_code": "service_delivered"},
    ("POST", "/api/v1/referrals/{id}/messages/"): {"body": "A note from someone who should not be here."},
}


def _fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: ids[m.group(1)], path)


def _call(persona: Persona, route, method: str, ids: dict[str, str]):
    path = _fill(route.path, ids)
    body = BODIES.get((method, route.path), {})
    if method in route.methods:
        client = persona.client  # a documented operation: its answer is checked against the schema
    else:
        client = APIClient()  # not an operation of the schema (405): sent unchecked
        client.credentials(**persona.client._credentials)
    if method in ("POST", "PUT", "PATCH"):
        return client.generic(method, path, data=json.dumps(body), content_type="application/json")
    return client.generic(method, path)


def probe(persona: Persona, routes, ids: dict[str, str]) -> dict[str, object]:
    """Each route × method with ``ids`` filled in: label → response."""
    return {
        f"{method} {route.path}": _call(persona, route, method, ids) for route in routes for method in SERVED_METHODS
    }


def sweep(persona: Persona, routes, real_ids: dict[str, str]) -> dict[str, int]:
    """Each route × method with the real ids and with unknown ones; returns the statuses seen.

    Fails if any answer to the real object differs from the answer to a missing one.
    """
    real = probe(persona, routes, real_ids)
    missing = probe(persona, routes, {name: str(uuid.uuid4()) for name in real_ids})
    differences = [
        (label, response.status_code, response.content[:300], missing[label].status_code)
        for label, response in real.items()
        if not (
            response.status_code == missing[label].status_code
            and response["Content-Type"] == missing[label]["Content-Type"]
            and without_request_id(response.json()) == without_request_id(missing[label].json())
        )
    ]
    assert not differences, f"{persona.name} can tell the object exists: {differences}"
    return {label: response.status_code for label, response in real.items()}


def _served(routes) -> list[str]:
    return [f"{method} {route.path}" for route in routes for method in route.methods]


def snapshot(referral_id, case_id) -> dict:
    """Everything an outsider's request could have changed."""
    referral = Referral.objects.get(pk=referral_id)
    case = Case.objects.get(pk=case_id)
    subject = Subject.objects.get(case_id=case_id)
    return {
        "referral": (referral.status, referral.version, referral.urgency, referral.reason,
                     referral.decline_reason_code),
        "case": (case.status, case.version, case.region, case.lead_organisation_id),
        "subject": subject.municipality,
        "messages": ReferralMessage.objects.filter(referral_id=referral_id).count(),
        "consents": [(c.pk, c.withdrawn_at) for c in Consent.objects.filter(case_id=case_id)],
        "involvements": sorted(
            (str(i.organisation_id), i.role, i.ended_at) for i in Involvement.objects.filter(case_id=case_id)
        ),
    }


@pytest.fixture
def outsider_system(orgs, personas):
    """care-nl's case system: an API key with every scope, of an unrelated organisation."""
    key = approved_api_key(
        actor=personas["outsider_admin"].user, approver=personas["coordinator"].user, name="Care NL case system",
        scopes=list(ApiKeyScope.values),
    )
    return Persona("outsider_system", raw_api_key=key.raw_key, organisation=orgs["care-nl"])


@pytest.fixture
def scenario(flow, personas):
    """A sent referral hotline-be → shelter-be with a consent and a message on it."""
    case, referral = flow.sent_referral()
    consent = Consent.objects.get(case_id=case["id"])
    posted = personas["caseworker"].client.post(
        f"/api/v1/referrals/{referral['id']}/messages/", {"body": "She trusts the school counsellor."}, format="json"
    )
    assert posted.status_code == 201
    return {
        "case": case,
        "referral": referral,
        "ids": {"id": referral["id"]},
        "case_ids": {"id": case["id"], "consent_id": str(consent.pk)},
    }


# --- BOLA: every method and action ----------------------------------------------------------------------


def test_the_sweep_covers_every_action_of_cases_and_referrals():
    covered = set(_served(CASE_ROUTES)) | set(_served(REFERRAL_ROUTES))
    for action in ("send", "acknowledge", "accept", "decline", "withdraw", "complete", "messages"):
        assert f"POST /api/v1/referrals/{{id}}/{action}/" in covered
    for route in ("/api/v1/cases/{id}/timeline/", "/api/v1/cases/{id}/consents/", "/api/v1/referrals/{id}/messages/"):
        assert f"GET {route}" in covered
    assert "POST /api/v1/cases/{id}/consents/{consent_id}/withdraw/" in covered


@pytest.mark.parametrize("persona_name", ["outsider_caseworker", "outsider_system"])
def test_unrelated_partner_gets_404_on_every_method_and_action_as_if_nothing_existed(
    persona_name, scenario, personas, outsider_system
):
    persona = outsider_system if persona_name == "outsider_system" else personas[persona_name]
    before = snapshot(scenario["referral"]["id"], scenario["case"]["id"])

    statuses = sweep(persona, REFERRAL_ROUTES, scenario["ids"]) | sweep(persona, CASE_ROUTES, scenario["case_ids"])

    served = _served(REFERRAL_ROUTES) + _served(CASE_ROUTES)
    assert {label: statuses[label] for label in served} == {label: 404 for label in served}
    assert set(statuses.values()) == {404, 405}
    assert snapshot(scenario["referral"]["id"], scenario["case"]["id"]) == before


@pytest.mark.parametrize("persona_name", ["outsider_admin", "org_admin", "auditor"])
def test_people_without_case_access_are_refused_alike_for_real_and_missing_objects(persona_name, scenario, personas):
    """Org admins (even of the sender) and the auditor have no case role: 403 for any id, real or not."""
    persona = personas[persona_name]
    before = snapshot(scenario["referral"]["id"], scenario["case"]["id"])

    statuses = sweep(persona, REFERRAL_ROUTES, scenario["ids"]) | sweep(persona, CASE_ROUTES, scenario["case_ids"])

    served = _served(REFERRAL_ROUTES) + _served(CASE_ROUTES)
    assert {label: statuses[label] for label in served} == {label: 403 for label in served}
    for path in ("/api/v1/cases/", "/api/v1/referrals/"):
        response = persona.client.get(path)
        assert response.status_code == 403
        assert "results" not in response.json()
    assert snapshot(scenario["referral"]["id"], scenario["case"]["id"]) == before


def test_recipient_never_sees_a_draft(flow, personas):
    case = flow.open_case()
    consent = flow.consent(case["id"])
    draft = flow.draft(case["id"], consent=consent["id"])
    shelter = personas["recipient_caseworker"]
    before = snapshot(draft["id"], case["id"])

    statuses = sweep(shelter, REFERRAL_ROUTES, {"id": draft["id"]})

    assert {label: statuses[label] for label in _served(REFERRAL_ROUTES)} == {
        label: 404 for label in _served(REFERRAL_ROUTES)
    }
    assert shelter.client.get("/api/v1/referrals/").json()["results"] == []
    assert shelter.client.get("/api/v1/referrals/", {"direction": "incoming"}).json()["results"] == []
    assert snapshot(draft["id"], case["id"]) == before


@pytest.mark.parametrize("how", ["withdrawn", "case_closed"])
def test_a_draft_withdrawn_before_sending_stays_invisible_to_its_recipient(how, flow, personas):
    case = flow.open_case()
    consent = flow.consent(case["id"])
    draft = flow.draft(case["id"], consent=consent["id"])
    if how == "withdrawn":
        assert flow.act(draft["id"], "withdraw", "caseworker").status_code == 200
    else:
        closed = personas["caseworker"].client.post(
            f"/api/v1/cases/{case['id']}/close/", {"outcome": "other"}, format="json"
        )
        assert closed.status_code == 200
    assert Referral.objects.get(pk=draft["id"]).status == "withdrawn"

    shelter = personas["recipient_caseworker"]
    assert shelter.client.get(f"/api/v1/referrals/{draft['id']}/").status_code == 404
    assert shelter.client.get("/api/v1/referrals/").json()["results"] == []
    coordinator_ids = [r["id"] for r in personas["coordinator"].client.get("/api/v1/referrals/").json()["results"]]
    assert draft["id"] not in coordinator_ids
    # The sender still has its own record of it.
    assert personas["caseworker"].client.get(f"/api/v1/referrals/{draft['id']}/").json()["status"] == "withdrawn"


# --- lists and filters -------------------------------------------------------------------------------------


REFERRAL_FILTERS = [
    {},
    {"direction": "incoming"},
    {"direction": "outgoing"},
    {"status": "sent"},
    {"status": "draft"},
    {"overdue": "true"},
    {"overdue": "false"},
    {"phenomenon": "teen_pimp"},
    {"urgency": "urgent"},
    {"kind": "service"},
]
CASE_FILTERS = [{}, {"status": "open"}, {"phenomenon": "teen_pimp"}, {"led_by_me": "true"}, {"led_by_me": "false"}]


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.json()
    return {item["id"] for item in response.json()["results"]}


@pytest.fixture
def outsider_own(flow, orgs):
    """care-nl's own case and referral (to hotline-be), so its lists are not trivially empty."""
    case = flow.open_case("outsider_caseworker", phenomena=["teen_pimp"])
    consent = flow.consent(case["id"], "outsider_caseworker")
    referral = flow.draft(case["id"], recipient="hotline-be", persona="outsider_caseworker", consent=consent["id"])
    assert flow.act(referral["id"], "send", "outsider_caseworker").status_code == 200
    return {"case": case["id"], "referral": referral["id"]}


@pytest.mark.parametrize("persona_name", ["outsider_caseworker", "outsider_system"])
def test_the_referral_and_case_never_appear_in_an_unrelated_partners_lists_under_any_filter(
    persona_name, scenario, outsider_own, personas, outsider_system
):
    persona = outsider_system if persona_name == "outsider_system" else personas[persona_name]
    referral_id, case_id = scenario["referral"]["id"], scenario["case"]["id"]
    # Overdue, so that the overdue filter has something to find.
    Referral.objects.filter(pk=referral_id).update(acknowledge_due=timezone.now() - timedelta(hours=1))

    # The sender's own view proves each filter does select the referral where it should.
    sender = personas["caseworker"].client
    selecting = [{"direction": "outgoing"}, {"status": "sent"}, {"overdue": "true"}, {"phenomenon": "teen_pimp"},
                 {"case": case_id}]
    for query in selecting:
        assert referral_id in _ids(sender.get("/api/v1/referrals/", query)), query

    for query in [*REFERRAL_FILTERS, {"case": case_id}, {"case": case_id, "status": "sent"}]:
        seen = _ids(persona.client.get("/api/v1/referrals/", query))
        assert referral_id not in seen, query
        assert seen <= {outsider_own["referral"]}, query
    assert _ids(persona.client.get("/api/v1/referrals/", {"direction": "outgoing"})) == {outsider_own["referral"]}
    for query in CASE_FILTERS:
        seen = _ids(persona.client.get("/api/v1/cases/", query))
        assert case_id not in seen, query
        assert seen <= {outsider_own["case"]}, query
    assert _ids(persona.client.get("/api/v1/cases/")) == {outsider_own["case"]}


# --- the partner system sees what its organisation's caseworker sees ----------------------------------------


def test_partner_system_sees_exactly_what_its_organisations_caseworker_sees(scenario, outsider_own, personas):
    referral_id, case_id = scenario["referral"]["id"], scenario["case"]["id"]
    paths = [
        "/api/v1/referrals/",
        "/api/v1/referrals/?direction=incoming",
        "/api/v1/cases/",
        f"/api/v1/referrals/{referral_id}/",
        f"/api/v1/referrals/{referral_id}/messages/",
        f"/api/v1/cases/{case_id}/",
        f"/api/v1/cases/{case_id}/consents/",
        f"/api/v1/cases/{case_id}/timeline/",
        f"/api/v1/referrals/{outsider_own['referral']}/",
    ]
    for path in paths:
        person = personas["caseworker"].client.get(path)
        system = personas["partner_system"].client.get(path)
        assert person.status_code == system.status_code == 200, path
        assert person.json() == system.json(), path
    # Both got the subject: the partner system is held to the organisation's rule, no more, no less.
    subject = personas["partner_system"].client.get(f"/api/v1/cases/{case_id}/").json()["subject"]
    assert subject["given_name"] == CHILD["given_name"]


def test_partner_system_key_without_referrals_read_gets_403(scenario, personas):
    key = approved_api_key(
        actor=personas["org_admin"].user, approver=personas["coordinator"].user, name="Directory only",
        scopes=[ApiKeyScope.ORGANISATIONS_READ],
    )
    system = Persona("directory_only", raw_api_key=key.raw_key, organisation=personas["org_admin"].organisation)
    referral_id, case_id = scenario["referral"]["id"], scenario["case"]["id"]
    for path in (
        "/api/v1/referrals/",
        "/api/v1/cases/",
        f"/api/v1/referrals/{referral_id}/",
        f"/api/v1/referrals/{referral_id}/messages/",
        f"/api/v1/cases/{case_id}/",
        f"/api/v1/cases/{case_id}/consents/",
        f"/api/v1/cases/{case_id}/timeline/",
    ):
        response = system.client.get(path)
        assert response.status_code == 403, path
        assert response.json()["type"] == "urn:coalition:problem:forbidden"
    assert system.client.get("/api/v1/organisations/").status_code == 200


def test_partner_system_key_that_only_reads_cannot_act(scenario, personas):
    key = approved_api_key(
        actor=personas["org_admin"].user, approver=personas["coordinator"].user, name="Read only", scopes=[ApiKeyScope.REFERRALS_READ]
    )
    system = Persona("read_only", raw_api_key=key.raw_key, organisation=personas["org_admin"].organisation)
    referral_id = scenario["referral"]["id"]
    assert system.client.get(f"/api/v1/referrals/{referral_id}/").status_code == 200
    assert system.client.post(f"/api/v1/referrals/{referral_id}/withdraw/", {}, format="json").status_code == 403
    assert Referral.objects.get(pk=referral_id).status == "sent"


# --- coordinators: metadata of all, no action ---------------------------------------------------------------


def test_coordinator_sees_metadata_of_every_referral_but_cannot_act(scenario, outsider_own, personas):
    coordinator = personas["coordinator"]
    referral_id, case_id = scenario["referral"]["id"], scenario["case"]["id"]
    before = snapshot(referral_id, case_id)

    assert _ids(coordinator.client.get("/api/v1/referrals/")) == {referral_id, outsider_own["referral"]}
    assert _ids(coordinator.client.get("/api/v1/cases/")) == {case_id, outsider_own["case"]}
    seen = coordinator.client.get(f"/api/v1/referrals/{referral_id}/").json()
    assert seen["status"] == "sent" and seen["reason"] is None
    assert coordinator.client.get(f"/api/v1/cases/{case_id}/").json()["subject"] is None

    responses = probe(coordinator, REFERRAL_ROUTES, scenario["ids"])
    responses |= probe(coordinator, CASE_ROUTES, scenario["case_ids"])
    statuses = {label: response.status_code for label, response in responses.items()}
    reads = {"GET /api/v1/referrals/{id}/", "GET /api/v1/cases/{id}/", "GET /api/v1/cases/{id}/timeline/",
             "GET /api/v1/cases/{id}/consents/"}
    for label in _served(REFERRAL_ROUTES) + _served(CASE_ROUTES):
        expected = 200 if label in reads else 403
        assert statuses[label] == expected, label
    # Messages are free text: not for coordinators, for any referral.
    assert statuses["GET /api/v1/referrals/{id}/messages/"] == 403
    assert snapshot(referral_id, case_id) == before


# --- scoped foreign keys on input --------------------------------------------------------------------------


def _field_errors(response) -> set[str]:
    assert response.status_code == 400, response.json()
    assert response["Content-Type"] == "application/problem+json"
    return {error["pointer"] for error in response.json()["errors"]}


def _draft_body(flow, case_id, **extra):
    return flow.referral_body(case_id, urgency="urgent", reason="Needs a safe place.") | extra


def test_referral_for_another_organisations_case_is_a_400_on_case(flow, personas, outsider_own):
    before = Referral.objects.count()
    client = personas["caseworker"].client
    response = client.post("/api/v1/referrals/", _draft_body(flow, outsider_own["case"]), format="json")
    assert _field_errors(response) == {"#/case"}
    unknown = client.post("/api/v1/referrals/", _draft_body(flow, str(uuid.uuid4())), format="json")
    # Another organisation's case reads exactly like an unknown one.
    assert without_request_id(response.json()) == without_request_id(unknown.json())
    assert Referral.objects.count() == before


def test_consent_of_another_case_is_a_400_on_consent(flow, personas, outsider_own):
    mine = flow.open_case()
    other_mine = flow.open_case()
    other_consent = flow.consent(other_mine["id"])
    foreign_consent = Consent.objects.get(case_id=outsider_own["case"])
    client = personas["caseworker"].client
    before = Referral.objects.count()
    for consent_id in (other_consent["id"], str(foreign_consent.pk), str(uuid.uuid4())):
        response = client.post("/api/v1/referrals/", _draft_body(flow, mine["id"], consent=consent_id), format="json")
        assert _field_errors(response) == {"#/consent"}
    assert Referral.objects.count() == before

    draft = flow.draft(mine["id"])
    patched = client.patch(f"/api/v1/referrals/{draft['id']}/", {"consent": str(foreign_consent.pk)}, format="json")
    assert _field_errors(patched) == {"#/consent"}
    assert Referral.objects.get(pk=draft["id"]).consent_id is None


def test_withdrawing_a_consent_of_another_case_is_404(flow, personas, outsider_own):
    mine = flow.open_case()
    foreign_consent = Consent.objects.get(case_id=outsider_own["case"])
    response = personas["caseworker"].client.post(
        f"/api/v1/cases/{mine['id']}/consents/{foreign_consent.pk}/withdraw/", {}, format="json"
    )
    assert response.status_code == 404
    assert Consent.objects.get(pk=foreign_consent.pk).withdrawn_at is None


def test_rerouting_a_referral_the_actor_cannot_see_is_a_400(flow, personas):
    elsewhere = flow.open_case("outsider_caseworker")
    elsewhere_consent = flow.consent(elsewhere["id"], "outsider_caseworker")
    not_visible = flow.draft(elsewhere["id"], persona="outsider_caseworker", consent=elsewhere_consent["id"])
    assert flow.act(not_visible["id"], "send", "outsider_caseworker").status_code == 200
    assert flow.act(not_visible["id"], "decline", "recipient_caseworker",
                    {"reason_code": "no_capacity", "reason": "Full."}).status_code == 200
    mine = flow.open_case()
    consent = flow.consent(mine["id"])
    before = Referral.objects.count()
    for rerouted_from in (not_visible["id"], str(uuid.uuid4())):
        body = _draft_body(flow, mine["id"], consent=consent["id"], rerouted_from=rerouted_from)
        response = personas["caseworker"].client.post("/api/v1/referrals/", body, format="json")
        assert _field_errors(response) == {"#/rerouted_from"}
    assert Referral.objects.count() == before


def test_rerouting_a_referral_the_actor_received_is_refused(flow, personas, outsider_own):
    """hotline-be sees care-nl's referral (it is its recipient) but did not send it: not its to re-route."""
    mine = flow.open_case()
    consent = flow.consent(mine["id"])
    before = Referral.objects.count()
    body = _draft_body(flow, mine["id"], consent=consent["id"], rerouted_from=outsider_own["referral"])
    response = personas["caseworker"].client.post("/api/v1/referrals/", body, format="json")
    assert response.status_code == 422
    assert Referral.objects.count() == before


def test_unknown_recipient_is_a_400(flow, personas):
    mine = flow.open_case()
    before = Referral.objects.count()
    response = personas["caseworker"].client.post(
        "/api/v1/referrals/", _draft_body(flow, mine["id"], recipient=str(uuid.uuid4())), format="json"
    )
    assert _field_errors(response) == {"#/recipient"}
    assert Referral.objects.count() == before


# --- mass assignment -----------------------------------------------------------------------------------------


def test_creating_a_case_cannot_set_its_lead_status_or_version(flow, personas, orgs):
    response = personas["caseworker"].client.post(
        "/api/v1/cases/",
        {
            "subject": CHILD,
            "phenomena": ["grooming"],
            "id": "00000000-0000-4000-8000-000000000001",
            "status": "closed",
            "outcome": "other",
            "lead_organisation": str(orgs["care-nl"].id),
            "organisation": str(orgs["care-nl"].id),
            "opened_by_organisation": str(orgs["care-nl"].id),
            "version": 99,
        },
        format="json",
    )
    assert response.status_code == 201
    case = Case.objects.get(pk=response.json()["id"])
    assert str(case.pk) != "00000000-0000-4000-8000-000000000001"
    assert (case.status, case.outcome, case.version) == ("open", "", 1)
    assert case.lead_organisation == orgs["hotline-be"] and case.opened_by_organisation == orgs["hotline-be"]
    involvements = Involvement.objects.filter(case=case).values_list("organisation__slug", "role")
    assert list(involvements) == [("hotline-be", "lead")]


def test_updating_a_case_cannot_change_its_lead_status_or_version(flow, personas, orgs):
    case = flow.open_case()
    response = personas["caseworker"].client.patch(
        f"/api/v1/cases/{case['id']}/",
        {"region": "BE-BRU", "status": "closed", "lead_organisation": str(orgs["shelter-be"].id),
         "organisation": str(orgs["shelter-be"].id), "version": 50, "closed_at": "2020-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 200
    row = Case.objects.get(pk=case["id"])
    assert row.region == "BE-BRU"
    assert (row.status, row.closed_at, row.lead_organisation, row.version) == ("open", None, orgs["hotline-be"], 2)


def test_creating_or_updating_a_referral_cannot_set_status_sender_author_or_version(flow, personas, orgs):
    case = flow.open_case()
    other_case = flow.open_case()
    forged = {
        "status": "accepted",
        "sender": str(orgs["care-nl"].id),
        "created_by": str(personas["outsider_caseworker"].user.pk),
        "lead_organisation": str(orgs["shelter-be"].id),
        "organisation": str(orgs["care-nl"].id),
        "version": 42,
        "accepted_at": "2020-01-01T00:00:00Z",
        "acknowledge_due": "2020-01-01T00:00:00Z",
        "outcome_code": "service_delivered",
    }
    client = personas["caseworker"].client
    created = client.post("/api/v1/referrals/", _draft_body(flow, case["id"]) | forged, format="json")
    assert created.status_code == 201
    referral_id = created.json()["id"]

    def row():
        return Referral.objects.select_related("case").get(pk=referral_id)

    first = row()
    assert (first.status, first.sender, first.created_by, first.version) == (
        "draft", orgs["hotline-be"], personas["caseworker"].user, 1
    )
    assert (first.accepted_at, first.acknowledge_due, first.outcome_code) == (None, None, "")
    assert first.case.lead_organisation == orgs["hotline-be"]

    patched = personas["caseworker"].client.patch(
        f"/api/v1/referrals/{referral_id}/", forged | {"urgency": "immediate", "case": other_case["id"]}, format="json"
    )
    assert patched.status_code == 200
    second = row()
    assert second.urgency == "immediate"  # the allowed field changed
    assert (second.status, second.sender, second.created_by, second.version, str(second.case_id)) == (
        "draft", orgs["hotline-be"], personas["caseworker"].user, 2, case["id"]
    )
    assert (second.accepted_at, second.acknowledge_due, second.outcome_code) == (None, None, "")
    assert Case.objects.get(pk=case["id"]).lead_organisation == orgs["hotline-be"]


def test_recording_consent_cannot_set_its_case_or_recording_organisation(flow, personas, orgs, outsider_own):
    case = flow.open_case()
    response = personas["caseworker"].client.post(
        f"/api/v1/cases/{case['id']}/consents/",
        {"given_by": "young_person", "method": "written", "purposes": ["care_referral"], "case": outsider_own["case"],
         "recorded_by_organisation": str(orgs["care-nl"].id), "organisation": str(orgs["care-nl"].id),
         "withdrawn_at": "2020-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 201
    consent = Consent.objects.get(pk=response.json()["id"])
    assert (str(consent.case_id), consent.recorded_by_organisation, consent.withdrawn_at) == (
        case["id"], orgs["hotline-be"], None
    )
    assert Consent.objects.filter(case_id=outsider_own["case"]).count() == 1
