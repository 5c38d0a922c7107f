"""Helpers to build cases and referrals through the API, as partners would; ``flow`` is their fixture.

tests/conftest.py re-exports ``flow`` so that every test package has it.
"""

import pytest

CHILD = {
    "given_name": "Zorita",
    "family_name": "Fictionalis",
    "date_of_birth": "2010-04-03",
    "gender": "female",
    "language": "nl",
    "municipality": "Imaginaria",
    "safe_contact": "Never call the mother's phone",
}


class Flow:
    """A referral's life driven through the API by the personas."""

    def __init__(self, personas, orgs):
        self.p = personas
        self.orgs = orgs

    def open_case(self, persona="caseworker", **extra):
        body = {"subject": CHILD, "phenomena": ["teen_pimp"], "region": "BE-VLG"} | extra
        response = self.p[persona].client.post("/api/v1/cases/", body, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    def consent(self, case_id, persona="caseworker", **extra):
        body = {"given_by": "young_person", "method": "written", "purposes": ["care_referral"]} | extra
        response = self.p[persona].client.post(f"/api/v1/cases/{case_id}/consents/", body, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    def draft(self, case_id, recipient="shelter-be", persona="caseworker", **extra):
        body = {
            "case": case_id,
            "recipient": str(self.orgs[recipient].id),
            "kind": "service",
            "phenomenon": "teen_pimp",
            "urgency": "urgent",
            "requested_service": "shelter",
            "reason": "Needs a safe bed tonight; contact through the school counsellor.",
            "signals": ["general_behaviour"],
            "age": 16,
            "gender": "female",
            "region": "BE-VLG",
            "language": "nl",
        } | extra
        response = self.p[persona].client.post("/api/v1/referrals/", body, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    def referral_body(self, case_id, recipient="shelter-be", urgency="normal", **extra):
        """The smallest valid body of POST /referrals/ (no triage details, no legal basis)."""
        return {
            "case": case_id,
            "recipient": str(self.orgs[recipient].id),
            "kind": "service",
            "phenomenon": "teen_pimp",
            "urgency": urgency,
            "requested_service": "shelter",
        } | extra

    def act(self, referral_id, action, persona, body=None, **headers):
        return self.p[persona].client.post(f"/api/v1/referrals/{referral_id}/{action}/", body or {}, format="json", **headers)

    def sent_referral(self, recipient="shelter-be", **extra):
        case = self.open_case()
        consent = self.consent(case["id"])
        referral = self.draft(case["id"], recipient=recipient, consent=consent["id"], **extra)
        response = self.act(referral["id"], "send", "caseworker")
        assert response.status_code == 200, response.json()
        return case, response.json()


@pytest.fixture
def flow(personas, orgs):
    return Flow(personas, orgs)
