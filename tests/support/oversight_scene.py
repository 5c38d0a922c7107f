"""A coalition with something on every coordinator's list, made through the services as the API would.

Used by the coordinator's browser tests (tests/browser/test_axe_coordinator_pages.py and
test_coordinator_journey.py): an overdue referral, a handover, a bounced case, an unattended
case, legal-basis exceptions (one overdue for review, one fresh, one reviewed) and a suspended
member. Only deadlines, ages and idle times are moved in the database, as time would move them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from partners.choices import MembershipStatus, OrganisationKind, Phenomenon
from partners.models import Organisation
from referrals import services
from referrals.choices import DeclineReason, ExceptionReview, ReferralKind, ReferralStatus, RequestedService, Urgency
from referrals.models import Case, LegalBasisException, Referral
from tests.support.matrix_objects import hand_of, open_case, referral_in
from tests.support.personas import make_organisation


@dataclass
class OversightScene:
    overdue: Referral
    transfer: Referral
    bounced: Case
    idle: Case
    old_exception: LegalBasisException
    fresh_exception: LegalBasisException
    reviewed_exception: LegalBasisException
    suspended: Organisation


def _referral(owner, recipient, case, consent, *, kind=ReferralKind.SERVICE) -> Referral:
    return services.referral_create(actor=hand_of(owner), case=case, data={
        "recipient": recipient, "kind": kind, "phenomenon": Phenomenon.TEEN_PIMP, "urgency": Urgency.URGENT,
        "requested_service": RequestedService.SHELTER, "reason": "Needs a safe bed tonight.", "age": 15,
        "consent": consent,
    })


def oversight_scene(orgs) -> OversightScene:
    hotline, shelter, care = orgs["hotline-be"], orgs["shelter-be"], orgs["care-nl"]
    now = timezone.now()

    overdue = referral_in(hotline, shelter, ReferralStatus.SENT)
    Referral.objects.filter(pk=overdue.pk).update(acknowledge_due=now - timedelta(hours=5))

    case, consent = open_case(hotline)
    transfer = _referral(hotline, shelter, case, consent, kind=ReferralKind.TRANSFER)
    transfer = services.referral_send(actor=hand_of(hotline), referral=transfer)
    transfer = services.referral_accept(actor=hand_of(shelter), referral=transfer)

    bounced, bounced_consent = open_case(hotline)
    for recipient in (shelter, care):
        referral = services.referral_send(
            actor=hand_of(hotline), referral=_referral(hotline, recipient, bounced, bounced_consent)
        )
        services.referral_decline(
            actor=hand_of(recipient), referral=referral, reason_code=DeclineReason.NO_CAPACITY, reason="No bed free."
        )

    idle, _consent = open_case(shelter)
    Case.objects.filter(pk=idle.pk).update(updated_at=now - timedelta(days=400))

    exceptions = [referral_in(hotline, shelter, ReferralStatus.SENT, legal_basis=True).exception for _ in range(3)]
    old, fresh, reviewed = exceptions
    LegalBasisException.objects.filter(pk=old.pk).update(created_at=now - timedelta(hours=80))
    coordination = make_organisation("coordination", OrganisationKind.COORDINATOR)
    services.exception_review(actor=hand_of(coordination), legal_exception=reviewed, decision=ExceptionReview.APPROVED,
                              note="The legal reason holds.")
    Referral.objects.filter(pk__in=[e.referral_id for e in exceptions]).update(acknowledge_due=now + timedelta(hours=2))

    suspended = make_organisation("suspended-lu", OrganisationKind.NGO, country="LU")
    Organisation.objects.filter(pk=suspended.pk).update(membership_status=MembershipStatus.SUSPENDED)
    return OversightScene(
        overdue=overdue, transfer=transfer, bounced=bounced, idle=idle,
        old_exception=LegalBasisException.objects.get(pk=old.pk),
        fresh_exception=LegalBasisException.objects.get(pk=fresh.pk),
        reviewed_exception=LegalBasisException.objects.get(pk=reviewed.pk), suspended=suspended,
    )
