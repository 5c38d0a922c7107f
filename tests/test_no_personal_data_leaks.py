"""A whole lifecycle, errors included: no log line, event or error body holds the young person's identity,
a token or a password; every log line is JSON with the request id."""

from __future__ import annotations

import io
import json
import logging

import pytest

from coalition.audit.models import AuditEntry
from coalition.events.models import Event
from tests.support.flows import CHILD
from tests.support.personas import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def captured_logs(settings):
    """Every record of every logger, at DEBUG, through the production JSON formatter and filter."""
    from logging.config import dictConfig

    stream = io.StringIO()
    config = dict(settings.LOGGING)
    config["handlers"] = {
        "capture": {"class": "logging.StreamHandler", "stream": stream, "formatter": "json", "filters": ["request_id"]}
    }
    config["root"] = {"handlers": ["capture"], "level": "DEBUG"}
    config["loggers"] = {}
    dictConfig(config)
    try:
        yield stream
    finally:
        dictConfig(settings.LOGGING)
        logging.getLogger().setLevel(settings.LOGGING["root"]["level"])


def test_a_whole_lifecycle_leaks_no_identity_token_or_password(flow, personas, captured_logs):
    anonymous = personas["anonymous"].client
    username = personas["caseworker"].user.username
    bodies: list[str] = []

    def keep(response):
        if response.status_code >= 400:
            bodies.append(response.content.decode())
        return response

    # Logins: a wrong password, a right one, a refresh.
    keep(anonymous.post("/api/v1/auth/token/", {"username": username, "password": "Zorita-wrong-password"}, format="json"))
    login = anonymous.post("/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json")
    tokens = login.json()
    anonymous.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")

    # The young person's name typed into fields where it does not belong: refused without repeating it.
    misplaced = {"subject": CHILD | {"gender": CHILD["given_name"]}, "phenomena": [CHILD["family_name"]], "region": "XX"}
    assert keep(personas["caseworker"].client.post("/api/v1/cases/", misplaced, format="json")).status_code == 400

    # The whole life of a transfer, with a refused send, a message and a close.
    case = flow.open_case()
    draft = flow.draft(case["id"], kind="transfer")
    assert keep(flow.act(draft["id"], "send", "caseworker")).status_code == 422
    consent = flow.consent(case["id"])
    personas["caseworker"].client.patch(f"/api/v1/referrals/{draft['id']}/", {"consent": consent["id"]}, format="json")
    flow.act(draft["id"], "send", "caseworker")
    assert keep(flow.act(draft["id"], "accept", "caseworker")).status_code == 422
    assert keep(personas["outsider_caseworker"].client.get(f"/api/v1/cases/{case['id']}/")).status_code == 404
    flow.act(draft["id"], "accept", "recipient_caseworker")
    personas["recipient_caseworker"].client.post(
        f"/api/v1/referrals/{draft['id']}/messages/", {"body": f"{CHILD['given_name']} arrived safely."}, format="json"
    )
    personas["recipient_caseworker"].client.get(f"/api/v1/cases/{case['id']}/")
    keep(personas["recipient_caseworker"].client.post(f"/api/v1/cases/{case['id']}/close/", {}, format="json"))
    personas["recipient_caseworker"].client.post(
        f"/api/v1/cases/{case['id']}/close/", {"outcome": "safe_and_supported"}, format="json"
    )

    logs = captured_logs.getvalue()
    lines = [line for line in logs.splitlines() if line.strip()]
    assert lines, "the scenario logged nothing: the capture is broken"
    records = [json.loads(line) for line in lines]  # every line is JSON
    request_lines = [r for r in records if r.get("logger") == "django.request"]
    assert request_lines and all(r["request_id"] for r in request_lines)

    events = json.dumps([[e.type, e.case, e.referral, e.organisations, e.data] for e in Event.objects.all()], default=str)
    audit = json.dumps([[a.action, a.object_id, a.detail] for a in AuditEntry.objects.all()], default=str)
    assert len(bodies) >= 5
    secrets = [
        CHILD["given_name"], CHILD["family_name"], CHILD["date_of_birth"], CHILD["safe_contact"],
        PASSWORD, "Zorita-wrong-password", tokens["access"], tokens["refresh"],
        personas["caseworker"].tokens.access,
    ]
    for where, text in (("logs", logs), ("events", events), ("audit", audit), ("error bodies", "\n".join(bodies))):
        for secret in secrets:
            assert secret not in text, f"{secret[:12]}… appears in the {where}"
