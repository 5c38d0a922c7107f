"""A consultation asked by hotline-be of shelter-be and care-nl, through the services: ``ask``."""

from __future__ import annotations

from referrals.consultations import consultation_create

TRIAGE = {"phenomenon": "teen_pimp", "urgency": "urgent", "requested_service": "shelter", "age": 15,
          "gender": "female", "region": "BE-VLG", "language": "nl"}
QUESTION = "Can you take a 15-year-old tonight? She is afraid to go home."


def ask(personas, orgs, *slugs, **extra):
    """hotline-be's caseworker asks ``slugs`` (default shelter-be and care-nl)."""
    asked = [orgs[slug] for slug in (slugs or ("shelter-be", "care-nl"))]
    data = TRIAGE | {"question": QUESTION} | extra
    return consultation_create(actor=personas["caseworker"].user, data=data, organisations=asked)


def request_of(consultation, org):
    return consultation.requests.get(organisation=org)
