"""A young person's case with a full history, driven through the API, for the retention and rights tests."""

from __future__ import annotations

from dataclasses import dataclass

from referrals.models import LegalBasisException
from tests.support.flows import CHILD

REASON = "Needs a safe bed tonight; contact through the school counsellor."
DECLINE_REASON = "No bed free before next week, sorry."
JUSTIFICATION = "Imminent danger tonight: the young person is about to be moved abroad."
REVIEW_NOTE = "Checked with the hotline: the danger was real that night."
MESSAGE = "She prefers to be called Zo; meet her at the library on Tuesday."
FREE_TEXTS = (REASON, DECLINE_REASON, JUSTIFICATION, REVIEW_NOTE, MESSAGE)
IDENTITY = tuple(CHILD[name] for name in ("given_name", "family_name", "date_of_birth", "municipality", "safe_contact"))


@dataclass
class History:
    case_id: str
    accepted_referral: str
    declined_referral: str
    exception_referral: str


def case_with_history(flow, *, close: bool = True) -> History:
    """hotline-be opens a case for the fictional child and records consent; shelter-be accepts
    a service referral (a message follows), care-nl declines one, and one goes to care-nl without consent
    on a legal basis (an exception, approved by the coordinator with a note). Then hotline-be
    closes the case, unless ``close`` is false."""
    case = flow.open_case()
    consent = flow.consent(case["id"])
    accepted = flow.draft(case["id"], consent=consent["id"], reason=REASON)
    assert flow.act(accepted["id"], "send", "caseworker").status_code == 200
    assert flow.act(accepted["id"], "accept", "recipient_caseworker").status_code == 200
    posted = flow.p["caseworker"].client.post(f"/api/v1/referrals/{accepted['id']}/messages/", {"body": MESSAGE}, format="json")
    assert posted.status_code == 201, posted.json()

    declined = flow.draft(case["id"], recipient="care-nl", consent=consent["id"], phenomenon="grooming", reason=REASON)
    assert flow.act(declined["id"], "send", "caseworker").status_code == 200
    response = flow.act(declined["id"], "decline", "outsider_caseworker", {"reason_code": "no_capacity", "reason": DECLINE_REASON})
    assert response.status_code == 200, response.json()

    excepted = flow.draft(
        case["id"], recipient="care-nl", phenomenon="grooming",
        legal_basis={"basis": "vital_interest", "justification": JUSTIFICATION},
    )
    response = flow.act(excepted["id"], "send", "caseworker")
    assert response.status_code == 200, response.json()
    exception = LegalBasisException.objects.get(referral_id=excepted["id"])
    response = flow.p["coordinator"].client.post(
        f"/api/v1/oversight/exceptions/{exception.pk}/review/", {"decision": "approved", "note": REVIEW_NOTE}, format="json"
    )
    assert response.status_code == 200, response.json()

    if close:
        response = flow.p["caseworker"].client.post(
            f"/api/v1/cases/{case['id']}/close/", {"outcome": "safe_and_supported"}, format="json"
        )
        assert response.status_code == 200, response.json()
    return History(case["id"], accepted["id"], declined["id"], excepted["id"])


def holds_no_personal_data(text: str) -> bool:
    return not any(value in text for value in FREE_TEXTS + IDENTITY)
