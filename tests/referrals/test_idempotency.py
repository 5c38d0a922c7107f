"""``Idempotency-Key`` on every POST: a retry gets the first answer and changes nothing.

The contract: api_docs/guide.md ("Retries", under "Cases and referrals").
"""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from coalition.api.idempotency import _digest
from coalition.audit.models import AuditEntry
from coalition.events.models import WebhookEndpoint
from coalition.models import IdempotencyRecord
from partners.choices import Role
from partners.models import ApiKey
from referrals import services
from referrals.models import Case, Consent, Referral, ReferralMessage
from referrals.retention import purge_expired
from tests.support.flows import CHILD
from tests.support.personas import Persona, approved_api_key, make_user

CASE_BODY = {"subject": CHILD, "phenomena": ["grooming"], "region": "BE-VLG"}


def post(persona, path, body, key, **headers):
    return persona.client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key, **headers)


# --- replay, one route at a time -------------------------------------------------------------


def _post_twice(persona, path, body, key="retry-1"):
    first = post(persona, path, body, key)
    second = post(persona, path, body, key)
    assert 200 <= first.status_code < 300, first.json()
    assert second.status_code == first.status_code
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    return first, second


def test_opening_a_case_twice_with_one_key_opens_one_case(personas):
    first, second = _post_twice(personas["caseworker"], "/api/v1/cases/", CASE_BODY)
    assert second["ETag"] == first["ETag"]
    assert Case.objects.count() == 1


def test_drafting_a_referral_twice_with_one_key_drafts_one(flow, personas):
    case = flow.open_case()
    body = flow.referral_body(case["id"], urgency="urgent")
    _post_twice(personas["caseworker"], "/api/v1/referrals/", body)
    assert Referral.objects.count() == 1


def test_a_retried_transition_replays_its_success_instead_of_a_conflict(flow, personas):
    case = flow.open_case()
    consent = flow.consent(case["id"])
    draft = flow.draft(case["id"], consent=consent["id"])
    first, _second = _post_twice(personas["caseworker"], f"/api/v1/referrals/{draft['id']}/send/", {})
    assert first.json()["status"] == "sent"
    assert Referral.objects.get(pk=draft["id"]).version == first.json()["version"]
    # Without the key, the same request is what it is: an illegal transition.
    assert (
        personas["caseworker"].client.post(f"/api/v1/referrals/{draft['id']}/send/", {}, format="json").status_code
        == 409
    )


def test_a_retried_decline_replays_for_the_recipient(flow, personas):
    _case, referral = flow.sent_referral()
    body = {"reason_code": "no_capacity", "reason": "Full this week."}
    _post_twice(personas["recipient_caseworker"], f"/api/v1/referrals/{referral['id']}/decline/", body)
    assert Referral.objects.get(pk=referral["id"]).status == "declined"


def test_recording_consent_twice_with_one_key_records_one(flow, personas):
    case = flow.open_case()
    body = {"given_by": "guardian", "method": "written", "purposes": ["care_referral"]}
    _post_twice(personas["caseworker"], f"/api/v1/cases/{case['id']}/consents/", body)
    assert Consent.objects.filter(case_id=case["id"]).count() == 1


def test_withdrawing_consent_twice_with_one_key_replays_the_first_withdrawal(flow, personas):
    case = flow.open_case()
    consent = flow.consent(case["id"])
    first, _ = _post_twice(personas["caseworker"], f"/api/v1/cases/{case['id']}/consents/{consent['id']}/withdraw/", {})
    assert first.json()["withdrawn_at"] is not None


def test_posting_a_message_twice_with_one_key_posts_one(flow, personas):
    _case, referral = flow.sent_referral()
    _post_twice(
        personas["recipient_caseworker"],
        f"/api/v1/referrals/{referral['id']}/messages/",
        {"body": "Bed free tomorrow."},
    )
    assert ReferralMessage.objects.count() == 1


def test_a_review_twice_with_one_key_replays_the_first_decision(flow, personas):
    case = flow.open_case()
    draft = flow.draft(
        case["id"], legal_basis={"basis": "vital_interest", "justification": "Imminent danger at home tonight."}
    )
    assert flow.act(draft["id"], "send", "caseworker").status_code == 200
    [exception] = personas["coordinator"].client.get("/api/v1/oversight/exceptions/").json()["results"]
    first, _ = _post_twice(
        personas["coordinator"], f"/api/v1/oversight/exceptions/{exception['id']}/review/", {"decision": "approved"}
    )
    assert first.json()["review_status"] == "approved"


# --- what counts as the same request ---------------------------------------------------------------


def test_the_same_key_with_another_body_is_422_and_creates_nothing(personas):
    client = personas["caseworker"]
    assert post(client, "/api/v1/cases/", CASE_BODY, "k-1").status_code == 201
    other = post(client, "/api/v1/cases/", CASE_BODY | {"phenomena": ["sexting"]}, "k-1")
    assert other.status_code == 422
    assert other.json()["type"] == "urn:coalition:problem:business-rule"
    assert Case.objects.count() == 1


def test_the_same_key_on_another_route_is_422(flow, personas):
    case = flow.open_case()
    client = personas["caseworker"]
    assert (
        post(
            client,
            f"/api/v1/cases/{case['id']}/consents/",
            {
                "given_by": "guardian",
                "method": "written",
                "purposes": ["care_referral"],
            },
            "k-2",
        ).status_code
        == 201
    )
    assert post(client, "/api/v1/cases/", CASE_BODY, "k-2").status_code == 422
    assert Case.objects.count() == 1


def test_key_order_in_the_body_does_not_make_another_request(personas):
    client = personas["caseworker"]
    first = post(client, "/api/v1/cases/", {"phenomena": ["grooming"], "subject": CHILD, "region": "BE-VLG"}, "k-3")
    second = client.client.generic(
        "POST",
        "/api/v1/cases/",
        json.dumps({"region": "BE-VLG", "subject": CHILD, "phenomena": ["grooming"]}),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="k-3",
    )
    assert second.status_code == 201 and second["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]


def test_keys_belong_to_one_organisation(personas):
    hotline = post(personas["caseworker"], "/api/v1/cases/", CASE_BODY, "shared-key")
    shelter = post(personas["recipient_caseworker"], "/api/v1/cases/", CASE_BODY, "shared-key")
    assert hotline.status_code == shelter.status_code == 201
    assert "Idempotent-Replayed" not in shelter
    assert hotline.json()["id"] != shelter.json()["id"]
    assert Case.objects.count() == 2


def test_a_colleagues_replay_of_the_same_key_is_a_fresh_request(personas, orgs):
    """Keys are per person or API key, not per organisation (issue #11, item 5).

    Before, a caseworker and the partner system of hotline-be shared keys: the second
    got the first one's answer (for an org admin's key: a TOTP secret or a raw API key).
    """
    colleague = Persona("colleague", user=make_user("hotline-be-caseworker-2", orgs["hotline-be"], [Role.CASEWORKER]))
    first = post(personas["caseworker"], "/api/v1/cases/", CASE_BODY, "org-wide")
    for other in (personas["partner_system"], colleague):
        again = post(other, "/api/v1/cases/", CASE_BODY, "org-wide")
        assert again.status_code == 201
        assert "Idempotent-Replayed" not in again
        assert again.json()["id"] != first.json()["id"]
    assert Case.objects.count() == 3


# --- failures and expiry ----------------------------------------------------------------------------


def test_a_failed_first_attempt_frees_the_key(personas):
    client = personas["caseworker"]
    bad = post(client, "/api/v1/cases/", {"subject": CHILD, "phenomena": []}, "k-4")
    assert bad.status_code == 400
    fixed = post(client, "/api/v1/cases/", CASE_BODY, "k-4")
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed
    assert Case.objects.count() == 1


def test_a_refused_transition_frees_the_key(flow, personas):
    case = flow.open_case()
    draft = flow.draft(case["id"])  # no consent yet: sending is 422
    client = personas["caseworker"]
    assert post(client, f"/api/v1/referrals/{draft['id']}/send/", {}, "send-1").status_code == 422
    consent = flow.consent(case["id"])
    assert (
        client.client.patch(f"/api/v1/referrals/{draft['id']}/", {"consent": consent["id"]}, format="json").status_code
        == 200
    )
    retried = post(client, f"/api/v1/referrals/{draft['id']}/send/", {}, "send-1")
    assert retried.status_code == 200
    assert "Idempotent-Replayed" not in retried


def test_a_server_error_frees_the_key(personas, monkeypatch):
    persona = personas["caseworker"]
    persona.client.raise_request_exception = False
    persona.client.validate = False  # an unplanned 500 is not in the schema, by design

    def broken(**kwargs):
        raise RuntimeError("simulated crash")

    with monkeypatch.context() as patched:
        patched.setattr(services, "case_open", broken)
        crashed = post(persona, "/api/v1/cases/", CASE_BODY, "k-500")
    assert crashed.status_code == 500

    retried = post(persona, "/api/v1/cases/", CASE_BODY, "k-500")
    assert retried.status_code == 201, retried.json()
    assert "Idempotent-Replayed" not in retried


def test_a_reservation_left_without_an_answer_is_taken_over_not_a_409_for_a_day(personas):
    """Issue #12, item 1: before, a key reserved in its own transaction stayed at 409 for 24 h after a fault.

    Reservations now commit only with their answer, so a committed one without an answer is a
    leftover (of the earlier version): the retry takes it over and runs once. A request still
    running is waited for instead (tests/referrals/test_idempotency_faults.py).
    """
    fake_request = SimpleNamespace(method="POST", path="/api/v1/cases/", data=CASE_BODY)
    IdempotencyRecord.objects.create(
        principal=f"user:{personas['caseworker'].user.pk}", key="k-busy", request_digest=_digest(fake_request)
    )
    response = post(personas["caseworker"], "/api/v1/cases/", CASE_BODY, "k-busy")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Case.objects.count() == 1
    assert IdempotencyRecord.objects.get().status_code == 201
    assert post(personas["caseworker"], "/api/v1/cases/", CASE_BODY, "k-busy")["Idempotent-Replayed"] == "true"


def test_an_error_after_the_action_wrote_rolls_the_write_back_with_the_reservation(personas, monkeypatch):
    """Issue #12, item 1 (b): before, the service's write stayed while the key was freed, so the retry made a second case."""
    persona = personas["caseworker"]
    persona.client.raise_request_exception = False
    persona.client.validate = False  # an unplanned 500 is not in the schema, by design
    entries = AuditEntry.objects.count()
    real_open = services.case_open

    def opens_then_crashes(**kwargs):
        real_open(**kwargs)
        raise RuntimeError("simulated crash after the write")

    with monkeypatch.context() as patched:
        patched.setattr(services, "case_open", opens_then_crashes)
        crashed = post(persona, "/api/v1/cases/", CASE_BODY, "k-half")
    assert crashed.status_code == 500
    assert not Case.objects.exists()  # no half-done write
    assert AuditEntry.objects.count() == entries
    assert not IdempotencyRecord.objects.exists()  # and no reservation

    retried = post(persona, "/api/v1/cases/", CASE_BODY, "k-half")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert Case.objects.count() == 1


def test_a_key_older_than_the_retention_is_forgotten(personas, settings):
    client = personas["caseworker"]
    first = post(client, "/api/v1/cases/", CASE_BODY, "k-5")
    IdempotencyRecord.objects.update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS, minutes=1)
    )
    again = post(client, "/api/v1/cases/", CASE_BODY, "k-5")
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert again.json()["id"] != first.json()["id"]
    assert Case.objects.count() == 2


def test_a_key_younger_than_the_retention_is_remembered(personas, settings):
    settings.IDEMPOTENCY_KEY_HOURS = 2
    client = personas["caseworker"]
    post(client, "/api/v1/cases/", CASE_BODY, "k-6")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=1, minutes=59))
    assert post(client, "/api/v1/cases/", CASE_BODY, "k-6")["Idempotent-Replayed"] == "true"
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=2, minutes=1))
    assert "Idempotent-Replayed" not in post(client, "/api/v1/cases/", CASE_BODY, "k-6")
    assert Case.objects.count() == 2


@pytest.mark.parametrize(
    "key",
    ["x" * 256, "x" * 300, "", "has space", "tab\there", "caf\u00e9"],
    ids=[
        "256-chars",
        "300-chars",
        "empty",
        "space",
        "tab",
        "non-ascii",
    ],
)
def test_a_malformed_key_is_400_and_does_nothing(personas, key):
    response = post(personas["caseworker"], "/api/v1/cases/", CASE_BODY, key)
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/Idempotency-Key"
    assert not Case.objects.exists()
    assert not IdempotencyRecord.objects.exists()


def test_a_key_of_255_visible_characters_is_fine(personas):
    assert post(personas["caseworker"], "/api/v1/cases/", CASE_BODY, "~" * 255).status_code == 201


def test_without_a_key_every_post_acts(personas):
    client = personas["caseworker"].client
    client.post("/api/v1/cases/", CASE_BODY, format="json")
    client.post("/api/v1/cases/", CASE_BODY, format="json")
    assert Case.objects.count() == 2
    assert not IdempotencyRecord.objects.exists()




# --- no secret and no identity is kept (issue #11, item 5) ------------------------------------------------

NOT_REPLAYED = "urn:coalition:problem:not-replayed"
WEBHOOKS = "/api/v1/webhooks/"


def _stored_rows() -> str:
    """Every column of every idempotency record, as the database holds them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM coalition_idempotencyrecord")
        return json.dumps(cursor.fetchall(), default=str)


def _secret_bearing_requests(personas):
    """(persona, path, body, the secret in the answer, what to count) for each answer that shows a secret once."""
    admin = personas["org_admin"]
    endpoint = admin.client.post(WEBHOOKS, {"url": "https://93.184.216.34/hook"}, format="json").json()
    return [
        (admin, "/api/v1/api-keys/", {"name": "Nightly sync", "scopes": ["referrals:read"]}, "key",
         lambda: ApiKey.objects.count()),
        (personas["caseworker"], "/api/v1/auth/totp/", {}, "secret", lambda: TOTPDevice.objects.count()),
        (admin, WEBHOOKS, {"url": "https://93.184.216.35/hook"}, "secret", lambda: WebhookEndpoint.objects.count()),
        (admin, f"{WEBHOOKS}{endpoint['id']}/rotate-secret/", {}, "secret",
         lambda: WebhookEndpoint.objects.get(pk=endpoint["id"]).secret),
    ]


def test_no_stored_record_holds_a_secret_and_a_replay_of_a_secret_answer_acts_once(personas):
    """Before, the answer (raw API key, TOTP secret, webhook secret) was stored and replayed to anyone of the org."""
    for index, (persona, path, body, secret_field, state) in enumerate(_secret_bearing_requests(personas)):
        key = f"secret-{index}"
        first = post(persona, path, body, key)
        assert first.status_code in (200, 201), first.json()
        secret = first.json()[secret_field]
        after_first = state()
        assert secret not in _stored_rows()

        replay = post(persona, path, body, key)
        assert replay.status_code == 409, path
        problem = replay.json()
        assert problem["type"] == NOT_REPLAYED
        assert secret not in replay.content.decode()
        if "id" in first.json():
            assert first.json()["id"] in problem["detail"]  # names what the first request created
        assert state() == after_first, path  # nothing ran a second time: no second key, device, endpoint, secret


def test_a_remembered_answer_keeps_no_identity_and_no_body(personas):
    response = post(personas["caseworker"], "/api/v1/cases/", CASE_BODY, "k-7")
    stored = _stored_rows()
    for value in (CHILD["given_name"], CHILD["family_name"], CHILD["safe_contact"], CHILD["date_of_birth"]):
        assert value not in stored
    record = IdempotencyRecord.objects.get()
    assert (record.resource_type, record.resource_id, str(record.case_id)) == (
        "referrals.case", response.json()["id"], response.json()["id"]
    )
    assert record.principal == f"user:{personas['caseworker'].user.pk}"


def test_a_replay_is_rendered_for_now_not_from_a_stored_body(flow, personas):
    """A subject changed after the first answer: the replay shows the current name, and audits that read."""
    first = post(personas["caseworker"], "/api/v1/cases/", CASE_BODY, "k-8")
    case_id = first.json()["id"]
    renamed = personas["caseworker"].client.patch(
        f"/api/v1/cases/{case_id}/", {"subject": {"given_name": "Quintessa"}}, format="json"
    )
    assert renamed.status_code == 200
    replay = post(personas["caseworker"], "/api/v1/cases/", CASE_BODY, "k-8")
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["subject"]["given_name"] == "Quintessa"
    assert replay["ETag"] == renamed["ETag"]
    reads = AuditEntry.objects.filter(request_id=replay["X-Request-ID"], action="subject.read")
    assert [str(entry.case) for entry in reads] == [case_id]


def test_a_replay_by_a_key_without_read_scope_shows_no_subject(personas, orgs):
    key = approved_api_key(
        actor=personas["org_admin"].user, approver=personas["coordinator"].user, name="Intake", scopes=["referrals:write"]
    )
    writer = Persona("writer", raw_api_key=key.raw_key, organisation=orgs["hotline-be"])
    first = post(writer, "/api/v1/cases/", CASE_BODY, "k-9")
    replay = post(writer, "/api/v1/cases/", CASE_BODY, "k-9")
    assert replay["Idempotent-Replayed"] == "true"
    assert first.json()["subject"] is None and replay.json()["subject"] is None
    assert not AuditEntry.objects.filter(request_id=replay["X-Request-ID"], action="subject.read").exists()


def _closed_case_with_records(flow, personas):
    case = flow.open_case()
    client = personas["caseworker"]
    assert post(client, f"/api/v1/cases/{case['id']}/consents/", {
        "given_by": "guardian", "method": "written", "purposes": ["care_referral"],
    }, "c-1").status_code == 201
    closed = post(client, f"/api/v1/cases/{case['id']}/close/", {"outcome": "safe_and_supported"}, "c-2")
    assert closed.status_code == 200
    other = post(client, "/api/v1/cases/", CASE_BODY, "c-3").json()["id"]
    assert IdempotencyRecord.objects.filter(case_id=case["id"]).count() == 2
    return case["id"], other


def test_erasure_deletes_the_cases_records_and_a_replay_afterwards_shows_no_name(flow, personas):
    """Before, a replay answered the stored body with the erased child's name for 24 h, unaudited."""
    case_id, other = _closed_case_with_records(flow, personas)
    erased = personas["auditor"].client.post(f"/api/v1/audit/subjects/{case_id}/erase/", format="json")
    assert erased.status_code == 200, erased.json()
    assert not IdempotencyRecord.objects.filter(case_id=case_id).exists()
    assert IdempotencyRecord.objects.filter(case_id=other).exists()  # other cases keep theirs

    replay = post(personas["caseworker"], f"/api/v1/cases/{case_id}/close/", {"outcome": "safe_and_supported"}, "c-2")
    assert "Idempotent-Replayed" not in replay  # a fresh request: the case is closed already
    assert replay.status_code == 409
    assert CHILD["given_name"] not in replay.content.decode()
    assert not AuditEntry.objects.filter(request_id=replay["X-Request-ID"], action="subject.read").exists()


def test_the_retention_purge_deletes_the_cases_records(flow, personas, settings):
    case_id, other = _closed_case_with_records(flow, personas)
    Case.objects.filter(pk=case_id).update(closed_at=timezone.now() - timedelta(days=settings.RETENTION_DAYS + 1))
    assert purge_expired() == 1
    assert not IdempotencyRecord.objects.filter(case_id=case_id).exists()
    assert IdempotencyRecord.objects.filter(case_id=other).exists()
