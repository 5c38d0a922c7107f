"""Progressive disclosure and field allowlists per persona and stage
(api_docs/concepts.md, "Minimum data" and "Who may do what").

api_docs/security.md, controls "field allowlist per role and stage" (a snapshot of the response keys,
and of which are null, per persona), "legal basis for disclosure" (what a recipient sees
before it accepts), "caching" (``Cache-Control: no-store``) and "nothing sensitive in
URLs" (no identity field is a query parameter in the committed schema).

Every response a persona gets in a scenario is recorded (``recorder``), so that "never
disclosed" is checked on all of them, not on the few a test happens to look at.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from partners.choices import ApiKeyScope
from referrals.models import Subject
from tests.support.flows import CHILD
from tests.support.personas import Persona, approved_api_key

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "api_docs" / "openapi.yaml"

REFERRAL_KEYS = {
    "id", "case", "sender", "recipient", "kind", "status", "phenomenon", "urgency", "requested_service", "reason",
    "signals", "consent", "legal_basis", "age", "age_band", "gender", "region", "language", "acknowledge_due",
    "decide_due",
    "overdue", "decline_reason_code", "decline_reason", "outcome_code", "rerouted_from", "created_at", "sent_at",
    "acknowledged_at", "accepted_at", "declined_at", "withdrawn_at", "completed_at", "version", "allowed_actions",
}
CASE_KEYS = {
    "id", "status", "lead_organisation", "phenomena", "region", "opened_at", "closed_at", "outcome", "version",
    "subject", "allowed_actions",
}
SUBJECT_KEYS = {
    "given_name", "family_name", "date_of_birth", "birth_year", "gender", "language", "municipality", "safe_contact",
    "guardian_contact",
}
# Field names that identify the young person. The subject's gender and language are also
# triage fields of a referral (api_docs/concepts.md) and directory filters, so they are not here.
IDENTIFYING_KEYS = {
    "given_name", "family_name", "date_of_birth", "birth_year", "municipality", "safe_contact", "guardian_contact",
}
# The fixture child's identifying values, as they would appear in a JSON body.
IDENTIFYING_VALUES = [
    CHILD[name] for name in ("given_name", "family_name", "date_of_birth", "municipality", "safe_contact")
]
FREE_TEXT = {"reason", "decline_reason"}
# A coordinator's view of a referral is minimal (issue #11, item 11): no exact age, gender or
# language, which combined single out a child in a small region; an age band instead.
TRIAGE_DETAILS = {"age", "gender", "language"}

# A service referral sent with consent: which referral fields are null at each stage,
# for a persona that may read its free text. Free-text readers: see FREE_TEXT_READERS.
NULL_AT_STAGE = {
    "sent": {"legal_basis", "rerouted_from", "acknowledged_at", "accepted_at", "declined_at", "withdrawn_at",
             "completed_at", "decline_reason_code", "outcome_code"},
    "acknowledged": {"legal_basis", "rerouted_from", "accepted_at", "declined_at", "withdrawn_at", "completed_at",
                     "decline_reason_code", "outcome_code"},
    "accepted": {"legal_basis", "rerouted_from", "declined_at", "withdrawn_at", "completed_at", "decline_reason_code",
                 "outcome_code"},
    "completed": {"legal_basis", "rerouted_from", "declined_at", "withdrawn_at", "decline_reason_code"},
    "declined": {"legal_basis", "rerouted_from", "accepted_at", "withdrawn_at", "completed_at", "outcome_code"},
    "withdrawn": {"legal_basis", "rerouted_from", "acknowledged_at", "accepted_at", "declined_at", "completed_at",
                  "decline_reason_code", "outcome_code"},
}
SENDER = {"caseworker", "partner_system"}
# Who reads the referral's reason (and decline reason) at each stage; others get null.
FREE_TEXT_READERS = {
    "sent": SENDER | {"recipient_caseworker"},
    "acknowledged": SENDER | {"recipient_caseworker"},
    "accepted": SENDER | {"recipient_caseworker"},
    "completed": SENDER,  # the recipient's involvement ended with the service
    "declined": SENDER,
    "withdrawn": SENDER,
}
# What GET /cases/{id}/ answers: "identity" (subject filled), "metadata" (subject null) or a status.
# The sender's organisation (caseworker and partner system) leads the case throughout.
_SENDER_VIEW = {"caseworker": "identity", "partner_system": "identity", "coordinator": "metadata"}
CASE_VIEW = {
    "sent": _SENDER_VIEW | {"recipient_caseworker": 404},
    "acknowledged": _SENDER_VIEW | {"recipient_caseworker": 404},
    "accepted": _SENDER_VIEW | {"recipient_caseworker": "identity"},
    "completed": _SENDER_VIEW | {"recipient_caseworker": "metadata"},
    "declined": _SENDER_VIEW | {"recipient_caseworker": 404},
    "withdrawn": _SENDER_VIEW | {"recipient_caseworker": 404},
}
PERSONAS = [
    "caseworker", "partner_system", "recipient_caseworker", "coordinator", "outsider_caseworker", "outsider_system",
]


def _record(persona: Persona, log: list) -> None:
    original = persona.client.request

    def request(**kwargs):
        response = original(**kwargs)
        log.append(response)
        return response

    persona.client.request = request


@pytest.fixture
def outsider_system(orgs, personas):
    """care-nl's case system: an API key with every scope, of an unrelated organisation."""
    key = approved_api_key(
        actor=personas["outsider_admin"].user, approver=personas["coordinator"].user, name="Care NL case system",
        scopes=list(ApiKeyScope.values),
    )
    return Persona("outsider_system", raw_api_key=key.raw_key, organisation=orgs["care-nl"])


@pytest.fixture
def cast(personas, outsider_system):
    return personas | {"outsider_system": outsider_system}


@pytest.fixture
def recorder(cast):
    """persona name → every response that persona received from here on."""
    log = defaultdict(list)
    for name, persona in cast.items():
        _record(persona, log[name])
    return log


def _walk(value, path=""):
    """(key path, key, value) of every member of every object nested in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}/{key}", key, item
            yield from _walk(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}/{index}")


def identity_in(responses) -> list[str]:
    """Where identity shows in ``responses``: an identifying value anywhere, or a subject or identity key set."""
    found = []
    for response in responses:
        where = f"{response.wsgi_request.method} {response.wsgi_request.path} ({response.status_code})"
        text = response.content.decode()
        found += [f"{where}: value {value!r}" for value in IDENTIFYING_VALUES if value in text]
        if response.content and response["Content-Type"].endswith("json"):
            for key_path, key, item in _walk(response.json()):
                if (key in IDENTIFYING_KEYS or key == "subject") and item not in (None, ""):
                    found.append(f"{where}: {key_path}")
    return found


def referral_shape(body: dict) -> tuple[set[str], set[str]]:
    return set(body), {key for key, value in body.items() if value is None}


def expected_referral_shape(stage: str, persona: str) -> tuple[set[str], set[str]]:
    nulls = set(NULL_AT_STAGE[stage])
    if persona not in FREE_TEXT_READERS[stage]:
        nulls |= FREE_TEXT
    if persona == "coordinator":
        nulls |= TRIAGE_DETAILS
    return REFERRAL_KEYS, nulls


def check_stage(stage: str, cast, case_id: str, referral_id: str) -> None:
    for name in PERSONAS:
        client = cast[name].client
        referral = client.get(f"/api/v1/referrals/{referral_id}/")
        case = client.get(f"/api/v1/cases/{case_id}/")
        if name.startswith("outsider"):
            assert (referral.status_code, case.status_code) == (404, 404), (stage, name)
            continue
        assert referral.status_code == 200, (stage, name)
        assert referral.json()["status"] == stage
        assert referral_shape(referral.json()) == expected_referral_shape(stage, name), (stage, name)
        listed = [r for r in client.get("/api/v1/referrals/").json()["results"] if r["id"] == referral_id]
        assert listed == [referral.json()], (stage, name)  # the list shows no more than the detail

        view = CASE_VIEW[stage][name]
        if isinstance(view, int):
            assert case.status_code == view, (stage, name)
            continue
        body = case.json()
        assert set(body) == CASE_KEYS, (stage, name)
        if view == "identity":
            assert set(body["subject"]) == SUBJECT_KEYS, (stage, name)
            assert body["subject"]["given_name"] == CHILD["given_name"]
        else:
            assert body["subject"] is None, (stage, name)
        assert {key for key, value in body.items() if value is None} == {"closed_at", "outcome"} | (
            {"subject"} if view == "metadata" else set()
        ), (stage, name)


# --- snapshots per persona and stage -----------------------------------------------------------------------


def test_each_persona_gets_exactly_its_fields_through_a_service_referrals_life(flow, cast, recorder):
    case, referral = flow.sent_referral()
    check_stage("sent", cast, case["id"], referral["id"])
    assert flow.act(referral["id"], "acknowledge", "recipient_caseworker").status_code == 200
    check_stage("acknowledged", cast, case["id"], referral["id"])
    # Before accepting, the recipient got triage data only: never the identity.
    assert identity_in(recorder["recipient_caseworker"]) == []

    assert flow.act(referral["id"], "accept", "recipient_caseworker").status_code == 200
    check_stage("accepted", cast, case["id"], referral["id"])
    completed = flow.act(referral["id"], "complete", "recipient_caseworker", {"outcome_code": "service_delivered"})
    assert completed.status_code == 200
    check_stage("completed", cast, case["id"], referral["id"])

    for name in ("coordinator", "outsider_caseworker", "outsider_system"):
        assert identity_in(recorder[name]) == [], name
    assert recorder["coordinator"] and recorder["outsider_system"]


@pytest.mark.parametrize("ending", ["declined", "withdrawn"])
def test_a_declined_or_withdrawn_referral_never_disclosed_identity_to_its_recipient(ending, flow, cast, recorder):
    case, referral = flow.sent_referral()
    shelter = cast["recipient_caseworker"].client
    # The recipient does everything it may before the ending: reads, acknowledges, writes.
    assert shelter.get("/api/v1/referrals/").status_code == 200
    assert shelter.get("/api/v1/referrals/", {"direction": "incoming"}).status_code == 200
    assert shelter.get(f"/api/v1/referrals/{referral['id']}/").json()["reason"] == referral["reason"]
    assert flow.act(referral["id"], "acknowledge", "recipient_caseworker").status_code == 200
    messages = f"/api/v1/referrals/{referral['id']}/messages/"
    assert shelter.post(messages, {"body": "Which region?"}, format="json").status_code == 201
    assert shelter.get(f"/api/v1/referrals/{referral['id']}/messages/").status_code == 200
    for path in ("", "consents/", "timeline/"):
        assert shelter.get(f"/api/v1/cases/{case['id']}/{path}").status_code == 404
    if ending == "declined":
        ended = flow.act(referral["id"], "decline", "recipient_caseworker",
                         {"reason_code": "out_of_region", "reason": "We only work in Brussels."})
    else:
        ended = flow.act(referral["id"], "withdraw", "caseworker")
    assert ended.status_code == 200

    stage = ending
    acknowledged = {"acknowledged_at"}  # acknowledged above, so not null
    for name in PERSONAS:
        response = cast[name].client.get(f"/api/v1/referrals/{referral['id']}/")
        if name.startswith("outsider"):
            assert response.status_code == 404
            continue
        keys, nulls = referral_shape(response.json())
        _keys, expected = expected_referral_shape(stage, name)
        assert (keys, nulls) == (REFERRAL_KEYS, expected - acknowledged), name
    for path in ("", "consents/", "timeline/"):
        assert shelter.get(f"/api/v1/cases/{case['id']}/{path}").status_code == 404
    assert shelter.get(f"/api/v1/referrals/{referral['id']}/messages/").status_code == 404

    assert len(recorder["recipient_caseworker"]) >= 12
    assert identity_in(recorder["recipient_caseworker"]) == []
    for name in ("coordinator", "outsider_caseworker", "outsider_system"):
        assert identity_in(recorder[name]) == [], name


def test_identity_appears_to_the_recipient_only_once_it_accepts(flow, cast, recorder):
    """The scan itself is proved to find identity: after acceptance it does."""
    case, referral = flow.sent_referral()
    shelter = cast["recipient_caseworker"].client
    assert shelter.get(f"/api/v1/cases/{case['id']}/").status_code == 404
    assert identity_in(recorder["recipient_caseworker"]) == []
    assert flow.act(referral["id"], "accept", "recipient_caseworker").status_code == 200
    assert shelter.get(f"/api/v1/cases/{case['id']}/").status_code == 200
    found = identity_in(recorder["recipient_caseworker"])
    assert any(CHILD["given_name"] in item for item in found)
    assert any(item.endswith("/subject") for item in found)


# --- coordinators and partner systems ----------------------------------------------------------------------


def test_coordinator_sees_no_free_text_and_no_justification(flow, cast, recorder):
    case = flow.open_case()
    justification = "Imminent danger tonight, the pimp has located her."
    referral = flow.draft(case["id"], legal_basis={"basis": "vital_interest", "justification": justification})
    assert flow.act(referral["id"], "send", "caseworker").status_code == 200
    declined = flow.act(referral["id"], "decline", "recipient_caseworker",
                        {"reason_code": "no_capacity", "reason": "No bed free until Monday."})
    assert declined.status_code == 200

    coordinator = cast["coordinator"].client
    detail = coordinator.get(f"/api/v1/referrals/{referral['id']}/").json()
    (listed,) = [r for r in coordinator.get("/api/v1/referrals/").json()["results"] if r["id"] == referral["id"]]
    for body in (detail, listed):
        assert set(body) == REFERRAL_KEYS
        assert body["reason"] is None
        assert body["decline_reason"] is None
        assert body["legal_basis"] == {"basis": "vital_interest", "justification": None}
        assert body["decline_reason_code"] == "no_capacity"  # codes are metadata
        assert (body["age"], body["gender"], body["language"], body["age_band"]) == (None, None, None, "15-17")
    assert coordinator.get(f"/api/v1/cases/{case['id']}/").json()["subject"] is None

    # The sender, involved, reads all of it: the nulls above are the coordinator's, not the data's.
    sender_view = cast["caseworker"].client.get(f"/api/v1/referrals/{referral['id']}/").json()
    assert sender_view["legal_basis"]["justification"] == justification
    assert sender_view["decline_reason"] == "No bed free until Monday."
    assert sender_view["reason"] == referral["reason"]
    assert (sender_view["age"], sender_view["gender"], sender_view["language"]) == (16, "female", "nl")
    assert sender_view["age_band"] == "15-17"

    free_text = [referral["reason"], "No bed free until Monday."]
    referral_responses = [r for r in recorder["coordinator"] if r.wsgi_request.path.startswith("/api/v1/referrals/")]
    assert referral_responses
    for response in referral_responses:
        for text in [*free_text, justification]:
            assert text not in response.content.decode()
    assert identity_in(recorder["coordinator"]) == []


def test_unrelated_partner_system_never_gets_identity_or_the_referral(flow, cast, recorder):
    case, referral = flow.sent_referral()
    assert flow.act(referral["id"], "accept", "recipient_caseworker").status_code == 200
    system = cast["outsider_system"].client
    assert system.get("/api/v1/referrals/").json()["results"] == []
    assert system.get("/api/v1/cases/").json()["results"] == []
    for path in (
        f"/api/v1/referrals/{referral['id']}/",
        f"/api/v1/referrals/{referral['id']}/messages/",
        f"/api/v1/cases/{case['id']}/",
        f"/api/v1/cases/{case['id']}/consents/",
        f"/api/v1/cases/{case['id']}/timeline/",
    ):
        assert system.get(path).status_code == 404
    assert identity_in(recorder["outsider_system"]) == []
    # Its own organisation's case system does get identity: the rule is per organisation, not per kind of client.
    own = cast["partner_system"].client.get(f"/api/v1/cases/{case['id']}/").json()
    assert own["subject"]["given_name"] == CHILD["given_name"]


# --- caching --------------------------------------------------------------------------------------------------


def test_every_response_of_a_scenario_carries_cache_control_no_store(flow, cast, recorder):
    case, referral = flow.sent_referral()
    flow.act(referral["id"], "accept", "recipient_caseworker")
    for name in PERSONAS:
        client = cast[name].client
        client.get("/api/v1/referrals/")
        client.get(f"/api/v1/referrals/{referral['id']}/")
        client.get(f"/api/v1/cases/{case['id']}/")
        client.get(f"/api/v1/cases/{case['id']}/timeline/")
    flow.act(referral["id"], "decline", "recipient_caseworker", {"reason_code": "other", "reason": "x"})  # 409
    cast["org_admin"].client.get("/api/v1/referrals/")  # 403
    cast["anonymous"].client.get("/api/v1/referrals/")  # 401

    responses = [response for log in recorder.values() for response in log]
    statuses = {response.status_code for response in responses}
    assert {200, 201, 401, 403, 404, 409} <= statuses
    missing = [
        f"{r.wsgi_request.method} {r.wsgi_request.path} {r.status_code}"
        for r in responses
        if r.get("Cache-Control") != "no-store"
    ]
    assert missing == []


# --- nothing identifying in URLs --------------------------------------------------------------------------


def _schema_parameters(schema: dict):
    components = schema.get("components", {}).get("parameters", {})
    for path, item in schema["paths"].items():
        operations = [op for method, op in item.items() if method in ("get", "put", "post", "patch", "delete", "head")]
        for parameter in item.get("parameters", []) + [p for op in operations for p in op.get("parameters", [])]:
            if "$ref" in parameter:
                parameter = components[parameter["$ref"].rsplit("/", 1)[-1]]
            yield path, parameter


def test_no_identity_field_is_a_query_or_path_parameter_in_the_committed_schema():
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    in_url = [(path, p["name"]) for path, p in _schema_parameters(schema) if p["in"] in ("query", "path")]
    names = {name for _path, name in in_url}
    assert {"direction", "overdue", "phenomenon", "cursor"} <= names  # the walk does find the list filters
    assert IDENTIFYING_KEYS <= set(Subject.IDENTITY_FIELDS)
    offending = [
        (path, name) for path, name in in_url
        if any(field in name.lower() for field in [*IDENTIFYING_KEYS, "subject"])
    ]
    assert offending == []
