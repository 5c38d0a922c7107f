"""``allowed_actions`` tell the truth: a listed action is accepted by its service, any other one is refused.

For every referral state and kind × viewer × action, the action runs through its service in
a rolled-back savepoint, with valid input (the draft's consent covers the recipient, a
decline reason, an outcome code, a message), so that only the rules of ``referrals.actions``
decide; and the API's answers (the referral alone and a page of them) carry the list the
rules give. Likewise for cases (open, closed, erased × lead, supporting, former lead,
coordinator, partner systems, suspended members) and their consents. Tables at the end
say, for the main viewers, what the lists are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from django.db.models import Q
from django.utils import timezone

from coalition.core.errors import DomainError
from partners.authentication import PartnerSystem
from partners.choices import ApiKeyScope, MembershipStatus, Phenomenon, Role
from partners.models import ApiKey, Organisation, User
from referrals import actions, selectors, services
from referrals.api.serializers import ReferralSerializer
from referrals.choices import (
    CaseOutcome,
    ConsentGiver,
    ConsentMethod,
    ConsentPurpose,
    DeclineReason,
    ReferralKind,
    ReferralOutcome,
    ReferralStatus,
    RequestedService,
    Urgency,
)
from referrals.models import Case, Consent, Referral
from tests.support.matrix_objects import STEPS_TO  # the steps from a draft to each state
from tests.support.personas import Persona, approved_api_key, make_user
from tests.support.transactions import rolled_back

pytestmark = pytest.mark.django_db

SUBJECT = {"given_name": "Fictia", "date_of_birth": "2010-02-03", "gender": "female", "language": "nl"}
CONSENT = {"given_by": ConsentGiver.YOUNG_PERSON, "method": ConsentMethod.WRITTEN, "purposes": [ConsentPurpose.CARE_REFERRAL]}
STATES = [
    ReferralStatus.DRAFT, ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED, ReferralStatus.ACCEPTED,
    ReferralStatus.DECLINED, ReferralStatus.WITHDRAWN, ReferralStatus.COMPLETED,
]


# --- the viewers ----------------------------------------------------------------------------------------


@dataclass
class Viewer:
    """Who looks and acts: a person or a partner system, with its API client; ``suspend`` is suspended meanwhile."""

    name: str
    actor: Any
    client: Any
    suspend: Organisation | None = None


def _system(raw_key: str, key: ApiKey) -> tuple[PartnerSystem, Any]:
    persona = Persona(key.name, raw_api_key=raw_key, organisation=key.organisation)
    return PartnerSystem(api_key=key, organisation=key.organisation, scopes=frozenset(key.scopes)), persona.client


def _key(admin: User, approver: User, name: str, scopes: list[str]) -> tuple[PartnerSystem, Any]:
    created = approved_api_key(actor=admin, approver=approver, name=name, scopes=scopes)
    return _system(created.raw_key, created.api_key)


@pytest.fixture
def viewers(personas, orgs) -> dict[str, Viewer]:
    """Everyone who may look at a referral of hotline-be (the sender) to shelter-be (the recipient)."""
    people = {name: Viewer(name, personas[name].user, personas[name].client) for name in (
        "caseworker", "recipient_caseworker", "outsider_caseworker", "coordinator", "org_admin", "auditor",
    )}
    coordinator = personas["coordinator"].user
    hotline_key = ApiKey.objects.get(organisation=orgs["hotline-be"], name="Hotline case system")
    shelter_admin = make_user("shelter-be-admin", orgs["shelter-be"], [Role.ORG_ADMIN])
    systems = {
        "partner_system": Viewer("partner_system", *_system(personas["partner_system"].raw_api_key, hotline_key)),
        "read_only_system": Viewer(
            "read_only_system",
            *_key(personas["org_admin"].user, coordinator, "Hotline reader", [ApiKeyScope.REFERRALS_READ]),
        ),
        "recipient_system": Viewer(
            "recipient_system",
            *_key(shelter_admin, coordinator, "Shelter case system",
                  [ApiKeyScope.REFERRALS_READ, ApiKeyScope.REFERRALS_WRITE]),
        ),
    }
    suspended = {
        "suspended_sender": Viewer("suspended_sender", *_person_of(personas["caseworker"]), suspend=orgs["hotline-be"]),
        "suspended_recipient": Viewer(
            "suspended_recipient", *_person_of(personas["recipient_caseworker"]), suspend=orgs["shelter-be"]
        ),
    }
    return people | systems | suspended


def _person_of(persona: Persona) -> tuple[User, Any]:
    return persona.user, persona.client


@contextmanager
def acting(viewer: Viewer) -> Iterator[Any]:
    """The viewer's actor, as the API would load it; with its organisation suspended, for the block only."""
    if viewer.suspend is None:
        yield viewer.actor
        return
    with rolled_back():
        Organisation.objects.filter(pk=viewer.suspend.pk).update(membership_status=MembershipStatus.SUSPENDED)
        yield User.objects.select_related("organisation").get(pk=viewer.actor.pk)


# --- the world: referrals in every state and kind, cases in every position ------------------------------


def _open_case(actor) -> tuple[Case, Consent]:
    case = services.case_open(actor=actor, subject=dict(SUBJECT), phenomena=[Phenomenon.TEEN_PIMP], region="BE-VLG")
    consent = services.consent_record(actor=actor, case=case, data=CONSENT | {"valid_from": timezone.now().date()})
    return case, consent


def _draft(actor, case: Case, consent: Consent, recipient: Organisation, kind: str) -> Referral:
    data = {
        "recipient": recipient, "kind": kind, "phenomenon": Phenomenon.TEEN_PIMP, "urgency": Urgency.URGENT,
        "requested_service": RequestedService.SHELTER, "reason": "Needs a safe bed tonight.", "consent": consent,
    }
    return services.referral_create(actor=actor, case=case, data=data)


def _walk(referral: Referral, status: str, sender, recipient) -> Referral:
    for step in STEPS_TO[status]:
        party = sender if step in ("send", "withdraw") else recipient
        referral = REFERRAL_SERVICES[step](party, referral)
    assert referral.status == status
    return referral


@pytest.fixture
def referrals(personas, orgs) -> dict[tuple[str, str], Referral]:
    """(kind, status) → a referral of hotline-be to shelter-be in that state, each in a case of its own."""
    sender, recipient = personas["caseworker"].user, personas["recipient_caseworker"].user
    made = {}
    for kind in (ReferralKind.SERVICE, ReferralKind.TRANSFER):
        for status in STATES:
            case, consent = _open_case(sender)
            referral = _draft(sender, case, consent, orgs["shelter-be"], kind)
            made[(kind, status)] = _walk(referral, status, sender, recipient)
    return made


# --- running an action through its service, with valid input ---------------------------------------------


REFERRAL_SERVICES: dict[str, Callable[[Any, Referral], Any]] = {
    "send": lambda actor, r: services.referral_send(actor=actor, referral=r),
    "update": lambda actor, r: services.referral_update(actor=actor, referral=r, data={"urgency": Urgency.IMMEDIATE}),
    "acknowledge": lambda actor, r: services.referral_acknowledge(actor=actor, referral=r),
    "accept": lambda actor, r: services.referral_accept(actor=actor, referral=r),
    "decline": lambda actor, r: services.referral_decline(
        actor=actor, referral=r, reason_code=DeclineReason.NO_CAPACITY, reason="No bed free tonight."
    ),
    "withdraw": lambda actor, r: services.referral_withdraw(actor=actor, referral=r),
    "complete": lambda actor, r: services.referral_complete(
        actor=actor, referral=r, outcome_code=ReferralOutcome.SERVICE_DELIVERED
    ),
    "message": lambda actor, r: services.message_post(actor=actor, referral=r, body="A fictional note."),
}
assert tuple(REFERRAL_SERVICES) == actions.REFERRAL_ACTIONS


def _create_referral(actor, case: Case) -> Referral:
    """A draft with valid input: a transfer by the lead (what a suspended lead may still draft), else a service referral."""
    leads = case.lead_organisation_id == actor.organisation.pk
    recipient = Organisation.objects.exclude(Q(pk=actor.organisation.pk) | Q(kind="coordinator")).order_by("slug").first()
    data = {
        "recipient": recipient, "kind": ReferralKind.TRANSFER if leads else ReferralKind.SERVICE,
        "phenomenon": Phenomenon.TEEN_PIMP, "urgency": Urgency.NORMAL, "requested_service": RequestedService.COUNSELLING,
    }
    return services.referral_create(actor=actor, case=case, data=data)


CASE_SERVICES: dict[str, Callable[[Any, Case], Any]] = {
    "update": lambda actor, c: services.case_update(actor=actor, case=c, phenomena=[Phenomenon.GROOMING]),
    "close": lambda actor, c: services.case_close(actor=actor, case=c, outcome=CaseOutcome.LOST_CONTACT),
    "reopen": lambda actor, c: services.case_reopen(actor=actor, case=c),
    "record_consent": lambda actor, c: services.consent_record(
        actor=actor, case=c, data=CONSENT | {"valid_from": timezone.now().date()}
    ),
    "create_referral": _create_referral,
}
assert tuple(CASE_SERVICES) == actions.CASE_ACTIONS


@dataclass
class Verdicts:
    """What the services did with each action, against what the rules listed."""

    disagreements: list[str]
    seen: set[tuple[str, bool]]

    def judge(self, where: str, action: str, listed: bool, refusal: DomainError | None, run: Callable[[], Any]) -> None:
        self.seen.add((action, listed))
        with rolled_back():
            try:
                run()
            except DomainError as error:
                if listed:
                    self.disagreements.append(f"{where}: {action} listed, but the service refused: {error!r}")
                elif type(error) is not type(refusal):
                    self.disagreements.append(f"{where}: {action} refused with {error!r}, the rule said {refusal!r}")
            else:
                if not listed:
                    self.disagreements.append(f"{where}: {action} not listed, but the service accepted it")

    def assert_agree(self, every_action) -> None:
        assert self.disagreements == []
        # The matrix proved something: each action was both open to someone and refused to someone.
        assert {(action, listed) for action in every_action for listed in (True, False)} <= self.seen


def _fresh_referral(pk) -> Referral:
    return Referral.objects.select_related("case", "sender", "recipient", "consent").get(pk=pk)


def _fresh_case(pk) -> Case:
    return Case.objects.get(pk=pk)


def _fresh_consent(pk) -> Consent:
    return Consent.objects.get(pk=pk)


def _run(service: Callable[[Any, Any], Any], actor, load: Callable[[Any], Any], pk) -> None:
    """Run ``service`` as ``actor`` on the object ``pk``, loaded afresh (the savepoint rolled back the last run)."""
    service(actor, load(pk))


def _withdraw_consent(actor, consent: Consent) -> Consent:
    return services.consent_withdraw(actor=actor, consent=consent)


def _involved(actor, case_id) -> bool:
    return actions.may_act(actor) and actor.organisation.pk in actions.read_case_states([case_id])[case_id].involved


# --- referrals ----------------------------------------------------------------------------------------------


def test_every_listed_referral_action_is_accepted_by_its_service_and_every_other_one_refused(referrals, viewers):
    verdicts = Verdicts([], set())
    for (kind, status), made in referrals.items():
        for viewer in viewers.values():
            with acting(viewer) as actor:
                referral = _fresh_referral(made.pk)
                state = actions.read_case_state(referral.case)
                allowed = actions.allowed_referral_actions(actor, referral, state)
                for action in actions.REFERRAL_ACTIONS:
                    refusal = actions.referral_refusal(actor, referral, action, state)
                    assert (refusal is None) == (action in allowed)
                    verdicts.judge(
                        f"{kind} {status}, {viewer.name}", action, action in allowed, refusal,
                        partial(_run, REFERRAL_SERVICES[action], actor, _fresh_referral, made.pk),
                    )
    verdicts.assert_agree(actions.REFERRAL_ACTIONS)


def test_the_api_shows_each_viewer_the_referral_actions_the_rules_allow(referrals, viewers):
    ours = {made.pk for made in referrals.values()}
    for viewer in viewers.values():
        with acting(viewer) as actor:
            page = viewer.client.get("/api/v1/referrals/?page_size=200")
            listed = {row["id"]: row["allowed_actions"] for row in page.json()["results"]} if page.status_code == 200 else {}
            visible = set(selectors.referrals_visible_to(actor).filter(pk__in=ours).values_list("pk", flat=True))
            for (kind, status), made in referrals.items():
                where = (kind, status, viewer.name)
                referral = _fresh_referral(made.pk)
                expected = actions.allowed_referral_actions(actor, referral, actions.read_case_state(referral.case))
                response = viewer.client.get(f"/api/v1/referrals/{made.pk}/")
                if made.pk not in visible:
                    assert response.status_code in (403, 404), where
                    assert str(made.pk) not in listed, where
                    continue
                assert response.status_code == 200, where
                assert response.json()["allowed_actions"] == expected, where
                assert listed[str(made.pk)] == expected, where


def test_a_page_of_referrals_lists_its_actions_in_one_query(referrals, viewers, django_assert_max_num_queries):
    actor = viewers["caseworker"].actor
    page = list(selectors.referrals_visible_to(actor).order_by("pk"))
    assert len(page) == len(referrals)
    with django_assert_max_num_queries(1):  # the page's cases and involvements, whatever the page's length
        rows = ReferralSerializer(page, many=True, context={"actor": actor}).data
    assert any(row["allowed_actions"] for row in rows)


# --- cases and consents ------------------------------------------------------------------------------------


@pytest.fixture
def cases(personas, orgs) -> dict[str, Case]:
    """Cases hotline-be handed to shelter-be (now the lead), which care-nl supports: open, closed, closed and erased.

    Each has the consent hotline-be recorded (valid) and one shelter-be recorded and withdrew.
    """
    hotline, shelter, care = (personas[name].user for name in ("caseworker", "recipient_caseworker", "outsider_caseworker"))
    made = {}
    for position in ("open", "closed", "erased"):
        case, consent = _open_case(hotline)
        _walk(_draft(hotline, case, consent, orgs["shelter-be"], ReferralKind.TRANSFER), ReferralStatus.ACCEPTED,
              hotline, shelter)
        _walk(_draft(shelter, case, consent, orgs["care-nl"], ReferralKind.SERVICE), ReferralStatus.ACCEPTED, shelter, care)
        withdrawn = services.consent_record(actor=shelter, case=case, data=CONSENT | {"valid_from": timezone.now().date()})
        services.consent_withdraw(actor=shelter, consent=withdrawn)
        if position != "open":
            services.case_close(actor=shelter, case=case, outcome=CaseOutcome.SAFE_AND_SUPPORTED)
        if position == "erased":
            Case.objects.filter(pk=case.pk).update(purged_at=timezone.now())
        made[position] = _fresh_case(case.pk)
    return made


@pytest.fixture
def case_viewers(viewers, personas, orgs) -> dict[str, Viewer]:
    """The cases' lead (shelter-be), supporter (care-nl), former lead (hotline-be), and the others."""
    supporter = personas["outsider_caseworker"]
    return {
        "lead": viewers["recipient_caseworker"],
        "supporter": viewers["outsider_caseworker"],
        "former_lead": viewers["caseworker"],
        "coordinator": viewers["coordinator"],
        "lead_system": viewers["recipient_system"],
        "former_lead_system": viewers["partner_system"],
        "read_only_system": viewers["read_only_system"],
        "suspended_lead": viewers["suspended_recipient"],
        "suspended_supporter": Viewer("suspended_supporter", supporter.user, supporter.client, suspend=orgs["care-nl"]),
    }


def test_every_listed_case_action_is_accepted_by_its_service_and_every_other_one_refused(cases, case_viewers):
    verdicts = Verdicts([], set())
    for position, made in cases.items():
        for name, viewer in case_viewers.items():
            with acting(viewer) as actor:
                case = _fresh_case(made.pk)
                involved = _involved(actor, case.pk)
                allowed = actions.allowed_case_actions(actor, case, involved=involved)
                for action in actions.CASE_ACTIONS:
                    refusal = actions.case_refusal(actor, case, action, involved=involved)
                    verdicts.judge(
                        f"{position} case, {name}", action, action in allowed, refusal,
                        partial(_run, CASE_SERVICES[action], actor, _fresh_case, made.pk),
                    )
    verdicts.assert_agree(actions.CASE_ACTIONS)


def test_every_listed_consent_action_is_accepted_by_its_service_and_every_other_one_refused(cases, case_viewers):
    verdicts = Verdicts([], set())
    for position, made in cases.items():
        for consent in Consent.objects.filter(case=made):
            for name, viewer in case_viewers.items():
                with acting(viewer) as actor:
                    involved = _involved(actor, made.pk)
                    allowed = actions.allowed_consent_actions(actor, consent, involved=involved)
                    refusal = actions.consent_refusal(actor, consent, "withdraw", involved=involved)
                    verdicts.judge(
                        f"{position} case, consent withdrawn={consent.withdrawn_at is not None}, {name}", "withdraw",
                        "withdraw" in allowed, refusal,
                        partial(_run, _withdraw_consent, actor, _fresh_consent, consent.pk),
                    )
    verdicts.assert_agree(actions.CONSENT_ACTIONS)


def test_the_api_shows_each_viewer_the_case_and_consent_actions_the_rules_allow(cases, case_viewers):
    for name, viewer in case_viewers.items():
        with acting(viewer) as actor:
            page = viewer.client.get("/api/v1/cases/?page_size=200")
            listed = {row["id"]: row["allowed_actions"] for row in page.json()["results"]} if page.status_code == 200 else {}
            visible = set(selectors.cases_visible_to(actor).values_list("pk", flat=True))
            for position, made in cases.items():
                where = (position, name)
                response = viewer.client.get(f"/api/v1/cases/{made.pk}/")
                if made.pk not in visible:
                    assert response.status_code in (403, 404), where
                    assert str(made.pk) not in listed, where
                    continue
                case, involved = _fresh_case(made.pk), _involved(actor, made.pk)
                expected = actions.allowed_case_actions(actor, case, involved=involved)
                assert response.status_code == 200, where
                assert response.json()["allowed_actions"] == expected, where
                assert listed[str(made.pk)] == expected, where
                consents = viewer.client.get(f"/api/v1/cases/{made.pk}/consents/")
                if consents.status_code == 403:  # a write-only key reads no consent
                    continue
                for row in consents.json():
                    consent = Consent.objects.get(pk=row["id"])
                    assert row["allowed_actions"] == actions.allowed_consent_actions(actor, consent, involved=involved), (
                        where, "consent",
                    )


# --- what the lists are, for the main viewers ------------------------------------------------------------

SENDER_AND_RECIPIENT = {
    # (kind, status): (the sender's caseworker, the recipient's caseworker, the suspended sender's caseworker)
    ("service", "draft"): (["send", "update", "withdraw"], [], ["withdraw"]),
    ("service", "sent"): (["withdraw", "message"], ["acknowledge", "accept", "decline", "message"], ["withdraw"]),
    ("service", "acknowledged"): (["withdraw", "message"], ["accept", "decline", "message"], ["withdraw"]),
    ("service", "accepted"): (["message"], ["complete", "message"], []),
    ("service", "declined"): (["message"], [], []),
    ("service", "withdrawn"): (["message"], [], []),
    ("service", "completed"): (["message"], [], []),
    ("transfer", "draft"): (["send", "update", "withdraw"], [], ["send", "update", "withdraw"]),
    ("transfer", "sent"): (["withdraw", "message"], ["acknowledge", "accept", "decline", "message"], ["withdraw"]),
    ("transfer", "acknowledged"): (["withdraw", "message"], ["accept", "decline", "message"], ["withdraw"]),
    # The lead moved: the sender is no longer involved.
    ("transfer", "accepted"): ([], ["complete", "message"], []),
    ("transfer", "declined"): (["message"], [], []),
    ("transfer", "withdrawn"): (["message"], [], []),
    ("transfer", "completed"): ([], ["message"], []),
}


def test_the_referral_actions_of_the_sender_and_the_recipient_in_every_state(referrals, viewers):
    for (kind, status), made in referrals.items():
        lists = []
        for name in ("caseworker", "recipient_caseworker", "suspended_sender"):
            with acting(viewers[name]) as actor:
                referral = _fresh_referral(made.pk)
                lists.append(actions.allowed_referral_actions(actor, referral, actions.read_case_state(referral.case)))
        assert tuple(lists) == SENDER_AND_RECIPIENT[(kind, status)], (kind, status)
        # A partner system with referrals:write acts as its organisation's caseworkers; nobody else acts at all.
        for name, same_as in (("partner_system", 0), ("recipient_system", 1)):
            referral = _fresh_referral(made.pk)
            state = actions.read_case_state(referral.case)
            assert actions.allowed_referral_actions(viewers[name].actor, referral, state) == lists[same_as]
        for name in ("outsider_caseworker", "coordinator", "org_admin", "auditor", "read_only_system"):
            assert actions.allowed_referral_actions(viewers[name].actor, referral, state) == [], name


CASE_LISTS = {
    # position: (lead, supporter, former lead, suspended lead)
    "open": (["update", "close", "record_consent", "create_referral"], ["record_consent", "create_referral"], [],
             ["create_referral"]),
    "closed": (["reopen"], [], [], []),
    "erased": ([], [], [], []),
}


def test_the_case_actions_of_its_lead_supporter_and_former_lead(cases, case_viewers):
    for position, made in cases.items():
        lists = []
        for name in ("lead", "supporter", "former_lead", "suspended_lead"):
            with acting(case_viewers[name]) as actor:
                case = _fresh_case(made.pk)
                lists.append(actions.allowed_case_actions(actor, case, involved=_involved(actor, case.pk)))
        assert tuple(lists) == CASE_LISTS[position], position
        coordinator = case_viewers["coordinator"].actor
        assert actions.allowed_case_actions(coordinator, _fresh_case(made.pk), involved=False) == []


def test_consents_are_withdrawn_by_the_organisations_involved_until_withdrawn(cases, case_viewers):
    case = cases["open"]
    valid, withdrawn = Consent.objects.filter(case=case).order_by("created_at")
    for name, expected in (("lead", ["withdraw"]), ("supporter", ["withdraw"]), ("former_lead", []),
                           ("suspended_lead", ["withdraw"]), ("coordinator", [])):
        with acting(case_viewers[name]) as actor:
            involved = _involved(actor, case.pk)
            assert actions.allowed_consent_actions(actor, valid, involved=involved) == expected, name
            assert actions.allowed_consent_actions(actor, withdrawn, involved=involved) == [], name
