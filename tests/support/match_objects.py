"""Matches for the page matrix (tests/web/test_page_matrix.py), built through the services as the API would.

A match is made the way it is in production: two members open a case of the same young
person and record a consent covering information sharing, with matching on; the
consent's ``match_case`` finds the pair. Relations, seen from the persona (the owner is
the organisation ``tests.support.matrix_objects.parties`` gives):

  own        the persona's organisation holds one of the two cases
  partner    the persona's partner holds one of them; the persona's organisation neither
  unrelated  two members the persona has nothing to do with

The other case is always held by a member none of the personas works with (``elsewhere``).
The coordination holds no cases: for the coordinator and the auditor, hotline-be stands in,
as it does for the other case objects.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.test import override_settings
from django.utils import timezone

from partners.choices import OrganisationKind, Phenomenon
from partners.models import Organisation
from referrals import services as referral_services
from referrals.choices import ConsentGiver, ConsentMethod, ConsentPurpose, MatchAction, MatchStatus
from referrals.matches import match_act
from referrals.models import Case, Match
from tests.support.flows import CHILD
from tests.support.matrix_objects import HOTLINE, SUBJECT, hand_of
from tests.support.personas import make_organisation

INFORMATION_SHARING = [ConsentPurpose.INFORMATION_SHARING, ConsentPurpose.CARE_REFERRAL]

# The fixture child (tests/support/flows.CHILD) as another member writes her down: other case, accents,
# order, hyphen; and the body of a consent that lets a case be matched. The same as tests/matching/conftest's
# (test modules may not import a conftest: tests/test_conventions.py).
SAME_CHILD_ELSEWHERE = CHILD | {"given_name": "FICTIONALIS", "family_name": "zorîta", "safe_contact": "Via the aunt"}
SHARING_CONSENT = {"purposes": [ConsentPurpose.INFORMATION_SHARING.value, ConsentPurpose.CARE_REFERRAL.value]}


def elsewhere() -> Organisation:
    """The member holding the other case of every matrix match: no persona belongs to it or works with it."""
    return make_organisation("elsewhere-lu", OrganisationKind.CARE_PROVIDER, country="LU", regions=["LU-L"])


def _case_with_sharing_consent(organisation: Organisation) -> Case:
    hand = hand_of(organisation)
    case = referral_services.case_open(actor=hand, subject=dict(SUBJECT), phenomena=[Phenomenon.TEEN_PIMP],
                                       region="BE-VLG")
    referral_services.consent_record(actor=hand, case=case, data={
        "given_by": ConsentGiver.YOUNG_PERSON, "method": ConsentMethod.WRITTEN, "purposes": INFORMATION_SHARING,
        "valid_from": timezone.now().date(),
    })
    return case


def match_between(holder: Organisation, other: Organisation) -> Match:
    """The match of a case ``holder`` leads and one ``other`` leads, the same young person, found by the consent."""
    with override_settings(MATCH_ENABLED=True):
        own = _case_with_sharing_consent(holder)
        _case_with_sharing_consent(other)
    return Match.objects.get(Q(case_a=own) | Q(case_b=own))


def match_builder(owner: Organisation, _counterpart: Organisation, state: dict) -> dict[str, Any]:
    """A match one of whose cases ``owner`` holds, brought to ``state``.

    ``state``: ``status`` (open; done: a side said it was in touch; not_the_same_person: a side
    said that), ``answered_by`` (the side that answered: ``elsewhere``, the default, or
    ``owner``) and ``past_due: true`` (its due time gone: open, it is unattended).
    """
    if owner.kind == OrganisationKind.COORDINATOR:
        owner = Organisation.objects.get(slug=HOTLINE)
    other = elsewhere()
    match = match_between(owner, other)
    status = state.get("status", MatchStatus.OPEN)
    if status != MatchStatus.OPEN:
        action = MatchAction.CONTACTED if status == MatchStatus.DONE else MatchAction.NOT_THE_SAME_PERSON
        side = owner if state.get("answered_by") == "owner" else other
        match = match_act(actor=hand_of(side), match=match, action=action)
    if state.get("past_due"):
        Match.objects.filter(pk=match.pk).update(due_at=timezone.now() - timedelta(hours=1))
    assert match.status == status
    return {"id": match.pk}


# object kind → builder, as tests/support/matrix_objects.OBJECT_BUILDERS has them.
MATCH_OBJECT_BUILDERS = {"match": match_builder}
