"""Pages that must hold no identity: walked over every page of the web app, not picked by hand.

The recipient before it accepts, both parties' pages of a declined referral, and a former
lead after its transfer was accepted: every GET page of the web app (tests/support/routes.py),
with every id of the scenario filled in, answers either without the fixture child's identity
or not at all. The lead's own case page shows it: the walk would see it if it leaked.
"""

from __future__ import annotations

import re

import pytest

from tests.support.identity import SUBJECT, assert_no_identity
from tests.support.routes import WEB_ROUTES
from tests.support.web import web_client_for

GET_PAGES = [route.path for route in WEB_ROUTES if "GET" in route.methods and set(re.findall(r"\{(\w+)\}", route.path)) <= {"id"}]


def _walk(client, ids) -> dict[str, int]:
    """GET every page with each id; the status of each, the identity checked on every 200."""
    seen = {}
    for route in GET_PAGES:
        for pk in ids if "{id}" in route else [None]:
            path = route.replace("{id}", str(pk)) if pk else route
            response = client.get(path)
            seen[path] = response.status_code
            if response.status_code == 200:
                assert_no_identity(response.content.decode(), where=path)
    return seen


@pytest.fixture
def scenario(flow):
    """A case of hotline-be with a referral pending at shelter-be, one shelter-be declined, and one transferred."""
    case = flow.open_case(subject=SUBJECT)
    consent = flow.consent(case["id"])
    pending = flow.draft(case["id"], consent=consent["id"])
    assert flow.act(pending["id"], "send", "caseworker").status_code == 200
    declined = flow.draft(case["id"], consent=consent["id"], recipient="care-nl", phenomenon="grooming")
    assert flow.act(declined["id"], "send", "caseworker").status_code == 200
    body = {"reason_code": "no_capacity", "reason": "No place free."}
    assert flow.act(declined["id"], "decline", "outsider_caseworker", body).status_code == 200

    moved = flow.open_case(subject=SUBJECT)
    moved_consent = flow.consent(moved["id"])
    transfer = flow.draft(moved["id"], consent=moved_consent["id"], kind="transfer")
    assert flow.act(transfer["id"], "send", "caseworker").status_code == 200
    assert flow.act(transfer["id"], "accept", "recipient_caseworker").status_code == 200
    return {"case": case["id"], "pending": pending["id"], "declined": declined["id"], "moved": moved["id"],
            "transfer": transfer["id"]}


def test_the_walk_sees_the_identity_where_it_is_shown(scenario, personas):
    response = web_client_for(personas["caseworker"].user).get(f"/app/cases/{scenario['case']}/")
    assert response.status_code == 200 and SUBJECT["given_name"] in response.content.decode()


def test_the_recipients_pages_hold_no_identity_before_it_accepts(scenario, personas):
    seen = _walk(web_client_for(personas["recipient_caseworker"].user), [scenario["pending"], scenario["case"]])
    assert seen[f"/app/referrals/{scenario['pending']}/"] == 200


def test_a_declined_referrals_pages_hold_no_identity_for_the_organisation_that_declined(scenario, personas):
    seen = _walk(web_client_for(personas["outsider_caseworker"].user), [scenario["declined"], scenario["case"]])
    assert seen[f"/app/referrals/{scenario['declined']}/"] == 200


def test_a_former_leads_pages_hold_no_identity_after_its_transfer_was_accepted(scenario, personas):
    seen = _walk(web_client_for(personas["caseworker"].user), [scenario["moved"], scenario["transfer"]])
    assert seen[f"/app/cases/{scenario['moved']}/"] == 200
    assert seen[f"/app/referrals/{scenario['transfer']}/"] == 200


@pytest.mark.parametrize("persona", ["coordinator", "org_admin", "auditor"])
def test_no_page_shows_identity_to_a_coordinator_an_org_admin_or_the_auditor(scenario, personas, persona):
    """Those roles never see a young person on a page (the auditor only in the export's download).

    A subject's id is its case's, so the scenario's ids reach the auditor's subject pages too.
    """
    seen = _walk(web_client_for(personas[persona].user), list(scenario.values()))
    assert seen["/app/"] in (200, 302)
