"""The ``consultation`` object of the page matrix (tests/web/page_matrix.d/consultations.yaml), built through
the services: the owner's caseworker (a hand, never a persona) asks the counterpart.

Seen from the persona: "own" is asked by its organisation of its partner, "partner" asked of its
organisation by the partner, "unrelated" between two members it has nothing to do with. State
{answered: yes|no}: the counterpart answered so. The row's {request_id} is the counterpart's request.

Registered into tests/support/matrix_objects.py's ``OBJECT_BUILDERS`` on import (unless a
``consultation`` builder is there already), and counted among the objects held by partners, so
the coordinator, the auditor and anonymous people meet hotline-be's.
"""

from __future__ import annotations

from typing import Any

from partners.models import Organisation
from referrals.consultations import consultation_answer, consultation_create
from tests.support.consultations import QUESTION, TRIAGE
from tests.support.matrix_objects import CASE_OBJECTS, OBJECT_BUILDERS, hand_of


def consultation_builder(owner: Organisation, counterpart: Organisation, state: dict) -> dict[str, Any]:
    consultation = consultation_create(actor=hand_of(owner), data=TRIAGE | {"question": QUESTION},
                                       organisations=[counterpart])
    request = consultation.requests.get()
    if state.get("answered"):
        request = consultation_answer(actor=hand_of(counterpart), request=request, answer=state["answered"])
    return {"id": consultation.pk, "request_id": request.pk}


def register() -> None:
    OBJECT_BUILDERS.setdefault("consultation", consultation_builder)
    CASE_OBJECTS.add("consultation")


register()
