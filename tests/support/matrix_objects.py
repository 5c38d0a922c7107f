"""The objects the authorization matrices act on, built through the services as the API would.

tests/security/test_authorization_matrix.py (the API) and tests/web/test_page_matrix.py (the
web app's pages) both name an object by its kind, its relation to the persona (own, partner,
unrelated) and a state; these build it.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Callable
from typing import Any

from django.contrib.auth.hashers import make_password
from django.utils import timezone

from partners import services
from partners.choices import ApiKeyScope, OrganisationKind, Phenomenon, Role
from partners.models import Organisation, User
from referrals import services as referral_services
from referrals.choices import (
    CaseOutcome,
    CaseStatus,
    ConsentGiver,
    ConsentMethod,
    ConsentPurpose,
    DeclineReason,
    ExceptionReview,
    LegalBasis,
    MatchAction,
    ReferralKind,
    ReferralOutcome,
    ReferralStatus,
    RequestedService,
    Urgency,
)
from referrals.models import Case, Consent, Referral
from tests.support.personas import Persona, make_organisation, make_user

# --- the objects rows act on -------------------------------------------------------------
#
# A row's relation names the organisation that owns the object (the *owner*) and, for
# cases and referrals, the one on the other side (the *counterpart*), seen from the persona:
#   own        owner = the persona's organisation, counterpart = its partner
#   partner    owner = the partner, counterpart = the persona's organisation
#   unrelated  two members the persona has nothing to do with
# A notification belongs to one person: "own" is the persona's own (PERSONAL_OBJECTS).
# The partner of hotline-be is shelter-be; everyone else's partner is hotline-be.


HOTLINE = "hotline-be"
PARTNER_OF_HOTLINE = "shelter-be"
# Objects held by partner organisations: the coordination holds no cases, so for the
# coordinator and the auditor (and anonymous callers) hotline-be's stand in.
CASE_OBJECTS = {"case", "consent", "referral", "exception", "match", "consultation"}


def unrelated_organisation() -> Organisation:
    """A member none of the personas belongs to or works with."""
    return make_organisation("unrelated-lu", OrganisationKind.NGO, country="LU", regions=["LU-L"])


def second_unrelated_organisation() -> Organisation:
    return make_organisation("unrelated-lu-2", OrganisationKind.CARE_PROVIDER, country="LU", regions=["LU-L"])


def parties(
    relation: str, kind: str, persona: Persona, orgs: dict[str, Organisation]
) -> tuple[Organisation, Organisation]:
    """(owner, counterpart) of the object a row acts on."""
    mine = persona.organisation
    if mine is None or (kind in CASE_OBJECTS and mine.kind == OrganisationKind.COORDINATOR):
        mine = orgs[HOTLINE]
    partner = orgs[PARTNER_OF_HOTLINE] if mine == orgs[HOTLINE] else orgs[HOTLINE]
    if relation == "own":
        return mine, partner
    if relation == "partner":
        return partner, mine
    return unrelated_organisation(), second_unrelated_organisation()


def member_of(organisation: Organisation):
    """A fresh person of ``organisation``: the persona's colleague when it is the persona's own."""
    role = Role.AUDITOR if organisation.kind == OrganisationKind.COORDINATOR else Role.CASEWORKER
    return make_user(f"member-of-{organisation.slug}", organisation, [role])


def api_key_of(organisation: Organisation):
    created = services.api_key_create(
        actor=member_of(organisation), name="Target key", scopes=[ApiKeyScope.ORGANISATIONS_READ], expires_at=None
    )
    return created.api_key


def with_fields(build: Callable[[Organisation], Any]):
    """Directory objects: built, then given the row's field values (e.g. a suspended member)."""

    def builder(owner: Organisation, _counterpart: Organisation, state: dict) -> dict[str, Any]:
        target = build(owner)
        if state:
            type(target).objects.filter(pk=target.pk).update(**state)
        return {"id": target.pk}

    return builder


# Cases, consents, referrals and exceptions are brought to the row's state through the
# services, as the API would, never by writing fields: each is an object the API could
# have produced. A person of each organisation (never a persona) does the preparing.
SUBJECT = {"given_name": "Matrixa", "family_name": "Invented", "date_of_birth": "2010-02-01", "gender": "female"}
JUSTIFICATION = "Imminent danger tonight: the young person is about to be moved abroad."


def hand_of(organisation: Organisation) -> User:
    role = Role.COORDINATOR if organisation.kind == OrganisationKind.COORDINATOR else Role.CASEWORKER
    hand, _created = User.objects.get_or_create(
        username=f"matrix-hand-{organisation.slug}",
        defaults={
            "organisation": organisation,
            "roles": [role],
            "email": "hand@example.org",
            "password": make_password(None),
        },
    )
    return hand


def open_case(owner: Organisation) -> tuple[Case, Consent]:
    """A case ``owner`` leads, with a consent to refer for care to any member."""
    hand = hand_of(owner)
    case = referral_services.case_open(
        actor=hand, subject=dict(SUBJECT), phenomena=[Phenomenon.TEEN_PIMP], region="BE-VLG"
    )
    consent = referral_services.consent_record(
        actor=hand,
        case=case,
        data={
            "given_by": ConsentGiver.YOUNG_PERSON,
            "method": ConsentMethod.WRITTEN,
            "purposes": [ConsentPurpose.CARE_REFERRAL],
            "valid_from": timezone.now().date(),
        },
    )
    return case, consent


# Referral status → the transitions that lead there from a draft, each by its party.
STEPS_TO: dict[str, list[str]] = {
    ReferralStatus.DRAFT: [],
    ReferralStatus.SENT: ["send"],
    ReferralStatus.ACKNOWLEDGED: ["send", "acknowledge"],
    ReferralStatus.ACCEPTED: ["send", "accept"],
    ReferralStatus.DECLINED: ["send", "decline"],
    ReferralStatus.WITHDRAWN: ["send", "withdraw"],
    ReferralStatus.COMPLETED: ["send", "accept", "complete"],
}
STEP_SERVICES: dict[str, tuple[str, Callable, dict]] = {
    "send": ("sender", referral_services.referral_send, {}),
    "acknowledge": ("recipient", referral_services.referral_acknowledge, {}),
    "accept": ("recipient", referral_services.referral_accept, {}),
    "decline": (
        "recipient",
        referral_services.referral_decline,
        {"reason_code": DeclineReason.NO_CAPACITY, "reason": "No bed free."},
    ),
    "withdraw": ("sender", referral_services.referral_withdraw, {}),
    "complete": ("recipient", referral_services.referral_complete, {"outcome_code": ReferralOutcome.SERVICE_DELIVERED}),
}


def referral_in(owner: Organisation, counterpart: Organisation, status: str, *, legal_basis: bool = False) -> Referral:
    """A service referral from ``owner`` to ``counterpart``, walked to ``status``."""
    case, consent = open_case(owner)
    data = {
        "recipient": counterpart,
        "kind": ReferralKind.SERVICE,
        "phenomenon": Phenomenon.TEEN_PIMP,
        "urgency": Urgency.URGENT,
        "requested_service": RequestedService.SHELTER,
        "reason": "Needs a safe bed tonight.",
        "age": 15,
    }
    if legal_basis:
        data |= {"legal_basis": LegalBasis.VITAL_INTEREST, "legal_basis_justification": JUSTIFICATION}
    else:
        data["consent"] = consent
    referral = referral_services.referral_create(actor=hand_of(owner), case=case, data=data)
    hands = {"sender": hand_of(owner), "recipient": hand_of(counterpart)}
    for step in STEPS_TO[status]:
        party, service, extra = STEP_SERVICES[step]
        referral = service(actor=hands[party], referral=referral, **extra)
    assert referral.status == status
    return referral


def referral_builder(owner: Organisation, counterpart: Organisation, state: dict) -> dict[str, Any]:
    return {"id": referral_in(owner, counterpart, state["status"]).pk}


def case_in(owner: Organisation, counterpart: Organisation, state: dict) -> Case:
    """A case ``owner`` leads and ``counterpart`` supports (an accepted service referral)."""
    case = referral_in(owner, counterpart, ReferralStatus.ACCEPTED).case
    if state.get("status", CaseStatus.OPEN) == CaseStatus.CLOSED:
        case = referral_services.case_close(actor=hand_of(owner), case=case, outcome=CaseOutcome.SAFE_AND_SUPPORTED)
    return case


def case_builder(owner: Organisation, counterpart: Organisation, state: dict) -> dict[str, Any]:
    return {"id": case_in(owner, counterpart, state).pk}


def consent_builder(owner: Organisation, counterpart: Organisation, state: dict) -> dict[str, Any]:
    """The consent the lead recorded in such a case (the one its referral relied on)."""
    consent = Consent.objects.get(case=case_in(owner, counterpart, {}))
    if state.get("status", "valid") == "withdrawn":
        consent = referral_services.consent_withdraw(actor=hand_of(owner), consent=consent)
    return {"id": consent.case_id, "consent_id": consent.pk}


def exception_builder(owner: Organisation, counterpart: Organisation, state: dict) -> dict[str, Any]:
    """The legal-basis exception ``owner`` made by sending without consent."""
    exception = referral_in(owner, counterpart, ReferralStatus.SENT, legal_basis=True).exception
    decision = state.get("review_status", ExceptionReview.PENDING)
    if decision != ExceptionReview.PENDING:
        reviewer = hand_of(make_organisation("coordination", OrganisationKind.COORDINATOR))
        exception = referral_services.exception_review(actor=reviewer, legal_exception=exception, decision=decision)
    return {"id": exception.pk}


# --- events: webhook endpoints and their deliveries (coalition/events) ----------------------


def _webhook_of(organisation: Organisation):
    """An endpoint of ``organisation`` on a public address (an IP literal: no DNS needed)."""
    from coalition.events.models import WebhookEndpoint
    from coalition.events.services import new_webhook_secret

    return WebhookEndpoint.objects.create(
        organisation=organisation, url="https://93.184.216.34/hook", secret=new_webhook_secret()
    )


def _webhook_delivery(owner: Organisation, _counterpart: Organisation, state: dict) -> dict[str, Any]:
    """A failed delivery of one of ``owner``'s events to one of its endpoints."""
    from coalition.events.models import DeliveryStatus, Event, WebhookDelivery

    endpoint = _webhook_of(owner)
    event = Event.objects.create(type="referral.sent", organisations=[str(owner.pk)])
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, status=DeliveryStatus.FAILED, attempts=10)
    return {"id": endpoint.pk, "delivery_id": delivery.pk}


# --- invitations and approvals (partners) ---------------------------------------------------


def _admin_of(organisation: Organisation, name: str) -> User:
    return make_user(f"matrix-{name}-{organisation.slug}", organisation, [Role.ORG_ADMIN])


def _invitation_of(organisation: Organisation):
    """A pending invitation sent by an org admin of ``organisation`` who is not a persona."""
    return services.invitation_create(
        actor=_admin_of(organisation, "inviter"),
        organisation=organisation,
        email="invitee@example.org",
        username=f"matrix-invitee-{organisation.slug}",
        roles=[Role.ORG_ADMIN],
    )


def _approval_of(organisation: Organisation):
    """A pending key approval requested by one of two non-persona admins: no coordinator decides it."""
    from partners.models import AccessApproval

    requester = _admin_of(organisation, "requester")
    _admin_of(organisation, "second-admin")
    created = services.api_key_create(
        actor=requester, name="Needs approval", scopes=[ApiKeyScope.REFERRALS_READ], expires_at=None
    )
    return AccessApproval.objects.get(api_key=created.api_key)


# --- notifications (coalition/notifications): one person's each -------------------------------------

# Objects that belong to one person rather than to an organisation; their builder also gets the
# persona (``persona=``): "own" is the persona's own, "partner" one of a person of the partner
# organisation, "unrelated" one of a person of an unrelated member.
PERSONAL_OBJECTS = {"notification"}


def _notification(owner: Organisation, counterpart: Organisation, state: dict, persona: Persona | None = None) -> dict:
    """A notification made by the notifications service (a new referral from ``counterpart``), for a person of ``owner``.

    The persona's own when ``owner`` is the persona's organisation; else a person of ``owner``
    who is not a persona. ``state``: its ``kind`` (default: a new referral).
    """
    from coalition.notifications.choices import NotificationKind
    from coalition.notifications.services import Addressed, notify

    mine = persona is not None and persona.user is not None and persona.organisation == owner
    user = persona.user if mine and persona is not None and persona.user is not None else hand_of(owner)
    addressed = Addressed(state.get("kind", NotificationKind.REFERRAL_SENT), [user], organisation_id=counterpart.pk,
                          urgency=Urgency.URGENT)
    [notification] = notify(addressed, event=None)
    return {"id": notification.pk}


# --- matches (referrals.matches): two members who know the same invented girl ----------------------

_MATCHED_GIRLS = itertools.count()


def _girl_of_a_match() -> dict[str, str]:
    """An invented girl no other match builder made: her keys find her two cases and no others."""
    number, letters = next(_MATCHED_GIRLS), ""
    while True:
        number, digit = divmod(number, 26)
        letters += string.ascii_lowercase[digit]
        if not number:
            break
    return dict(SUBJECT) | {"given_name": f"Matcha{letters}"}


def _match(owner: Organisation, counterpart: Organisation, state: dict) -> dict[str, Any]:
    """The match of a case ``owner`` leads and a case ``counterpart`` leads, found by the services.

    Each opens a case of the same girl and records her consent to share information, with
    matching on (``MATCH_ENABLED``) while they do; the second consent finds the match.
    ``state``: ``{answered: owner}`` has the owner's side answer ``contacted`` first.
    """
    from django.db.models import Q
    from django.test import override_settings

    from referrals.matches import match_act
    from referrals.models import Match

    girl = _girl_of_a_match()
    cases = []
    with override_settings(MATCH_ENABLED=True):
        for organisation in (owner, counterpart):
            hand = hand_of(organisation)
            case = referral_services.case_open(
                actor=hand, subject=dict(girl), phenomena=[Phenomenon.TEEN_PIMP], region="BE-VLG"
            )
            referral_services.consent_record(
                actor=hand,
                case=case,
                data={
                    "given_by": ConsentGiver.YOUNG_PERSON,
                    "method": ConsentMethod.WRITTEN,
                    "purposes": [ConsentPurpose.INFORMATION_SHARING],
                    "valid_from": timezone.now().date(),
                },
            )
            cases.append(case)
    first, second = cases
    match = Match.objects.get(Q(case_a=first, case_b=second) | Q(case_a=second, case_b=first))
    if state.get("answered") == "owner":
        match = match_act(actor=hand_of(owner), match=match, action=MatchAction.CONTACTED)
    return {"id": match.pk}


# --- consultations (referrals.consultations): triage data only, asked of one member -----------------


def _consultation(owner: Organisation, counterpart: Organisation, state: dict) -> dict[str, Any]:
    """A consultation ``owner`` asked of ``counterpart`` alone, through the services.

    "own": the persona's organisation asked; "partner": it was asked; "unrelated": neither.
    ``{id}`` is the consultation, ``{request_id}`` the counterpart's request. ``state``:
    ``{answer: yes|no|waitlist}`` has the counterpart answer first; ``{status: withdrawn}``
    has the owner withdraw it.
    """
    from referrals.consultations import consultation_answer, consultation_create, consultation_withdraw

    consultation = consultation_create(
        actor=hand_of(owner),
        data={"phenomenon": Phenomenon.TEEN_PIMP, "urgency": Urgency.URGENT,
              "requested_service": RequestedService.SHELTER, "age": 15, "question": "A bed tonight?"},
        organisations=[counterpart],
    )
    request = consultation.requests.get()
    if state.get("answer"):
        consultation_answer(actor=hand_of(counterpart), request=request, answer=state["answer"])
    if state.get("status") == "withdrawn":
        consultation_withdraw(actor=hand_of(owner), consultation=consultation)
    return {"id": consultation.pk, "request_id": request.pk}


# object kind → builder(owner, counterpart, state) → the route's path parameters.
OBJECT_BUILDERS: dict[str, Callable[[Organisation, Organisation, dict], dict[str, Any]]] = {
    "organisation": with_fields(lambda organisation: organisation),
    "user": with_fields(member_of),
    "api_key": with_fields(api_key_of),
    "case": case_builder,
    "consent": consent_builder,
    "referral": referral_builder,
    "exception": exception_builder,
    "webhook": with_fields(_webhook_of),
    "webhook_delivery": _webhook_delivery,
    "invitation": with_fields(_invitation_of),
    "approval": with_fields(_approval_of),
    "notification": _notification,
    "match": _match,
    "consultation": _consultation,
}
