"""Fictional demo cases, created through the services so they obey every rule.

Every name is invented. Together they show each referral state and one
transfer of custody (README, "Try it").
"""

from datetime import date

from partners.models import Organisation, User

from . import services
from .choices import ReferralKind, Urgency
from .models import Case

CHILDREN = [
    {"given_name": "Lotte", "family_name": "Verzonnen", "date_of_birth": date(2010, 3, 14), "gender": "female", "language": "nl",
     "municipality": "Fictiefdorp", "safe_contact": "Only through the school counsellor; never the home phone."},
    {"given_name": "Amir", "family_name": "Imaginaire", "birth_year": 2009, "gender": "male", "language": "fr",
     "municipality": "Villefictive", "safe_contact": "Text first; he answers after 18:00."},
    {"given_name": "Sanne", "family_name": "Bedacht", "date_of_birth": date(2011, 9, 2), "gender": "female", "language": "nl",
     "municipality": "Verzinstad", "safe_contact": "Via her aunt (see guardian contact).",
     "guardian_contact": "Aunt, fictional number 000 00 00 00"},
    {"given_name": "Noah", "family_name": "Inventé", "birth_year": 2008, "gender": "male", "language": "fr",
     "municipality": "Nullepart", "safe_contact": "Street workers meet him at the station on Tuesdays."},
]


def _triage(recipient: Organisation, **extra):
    return {
        "recipient": recipient,
        "kind": ReferralKind.SERVICE,
        "phenomenon": "teen_pimp",
        "urgency": Urgency.URGENT,
        "requested_service": "shelter",
        "reason": "Demo: fictional reason for the referral.",
        "signals": ["general_behaviour", "appearance"],
        "age": 15,
        "gender": "female",
        "region": "BE-VLG",
        "language": "nl",
    } | extra


def seed_demo_cases() -> list[Case]:
    """Create the demo cases once; returns [] when they exist already."""
    if Case.objects.exists():
        return []
    org = {o.slug: o for o in Organisation.objects.all()}
    worker = {u.organisation.slug: u for u in User.objects.filter(username__endswith="-caseworker").select_related("organisation")}
    hotline, shelter = worker["hotline-be"], worker["shelter-be"]

    def consent(actor, case, **extra):
        data = {"given_by": "young_person", "method": "written", "purposes": ["care_referral"], "valid_from": date.today()}
        return services.consent_record(actor=actor, case=case, data=data | extra)

    cases = []
    # 1. Service referral hotline-be -> shelter-be, completed.
    case = services.case_open(actor=hotline, subject=CHILDREN[0], phenomena=["teen_pimp"], region="BE-VLG")
    c = consent(hotline, case)
    r = services.referral_create(actor=hotline, case=case, data=_triage(org["shelter-be"], consent=c))
    r = services.referral_send(actor=hotline, referral=r)
    r = services.referral_acknowledge(actor=shelter, referral=r)
    r = services.referral_accept(actor=shelter, referral=r)
    services.referral_complete(actor=shelter, referral=r, outcome_code="service_delivered")
    cases.append(case)

    # 2. Transfer hotline-be -> shelter-be (custody moves), then shelter-be -> care-nl sent.
    case = services.case_open(actor=hotline, subject=CHILDREN[2], phenomena=["teen_pimp", "child_prostitution"], region="BE-VLG")
    c = consent(hotline, case)
    r = services.referral_create(
        actor=hotline,
        case=case,
        data=_triage(org["shelter-be"], kind=ReferralKind.TRANSFER, consent=c, urgency=Urgency.IMMEDIATE),
    )
    r = services.referral_accept(actor=shelter, referral=services.referral_send(actor=hotline, referral=r))
    c2 = consent(shelter, case, recipients=[str(org["care-nl"].id)])
    r = services.referral_create(
        actor=shelter, case=case, data=_triage(org["care-nl"], consent=c2, requested_service="counselling", region="NL-NH")
    )
    services.referral_send(actor=shelter, referral=r)
    cases.append(case)

    # 3. Declined by ecpat-be, re-routed to expertise-nl (acknowledged); a draft to police-be.
    case = services.case_open(actor=hotline, subject=CHILDREN[1], phenomena=["sextortion"], region="BE-BRU")
    c = consent(hotline, case, purposes=["care_referral", "police_report"])
    r = services.referral_create(actor=hotline, case=case, data=_triage(org["ecpat-be"], consent=c, phenomenon="sextortion",
                                                                        requested_service="online_removal", gender="male"))
    r = services.referral_send(actor=hotline, referral=r)
    declined = services.referral_decline(actor=worker["ecpat-be"], referral=r, reason_code="out_of_scope",
                                         reason="Demo: we do not handle sextortion cases.")
    r = services.referral_create(actor=hotline, case=case, data=_triage(
        org["expertise-nl"], consent=c, phenomenon="sextortion", requested_service="online_removal", gender="male",
        rerouted_from=declined))
    services.referral_acknowledge(actor=worker["expertise-nl"], referral=services.referral_send(actor=hotline, referral=r))
    services.referral_create(actor=hotline, case=case, data=_triage(org["police-be"], consent=c, phenomenon="sextortion",
                                                                   requested_service="police_report", gender="male"))
    cases.append(case)

    # 4. Street work: a legal-basis exception (imminent danger), and a withdrawn referral.
    street = worker["streetwork-be"]
    case = services.case_open(actor=street, subject=CHILDREN[3], phenomena=["boys_prostitution"], region="BE-BRU")
    r = services.referral_create(actor=street, case=case, data=_triage(
        org["shelter-be"], phenomenon="boys_prostitution", urgency=Urgency.IMMEDIATE, gender="male", region="BE-BRU",
        language="fr", legal_basis="vital_interest",
        legal_basis_justification="Demo: imminent danger, no time to reach a guardian for consent."))
    services.referral_send(actor=street, referral=r)
    c = consent(street, case)
    r = services.referral_create(actor=street, case=case, data=_triage(
        org["ngo-nl"], consent=c, phenomenon="boys_prostitution", gender="male", region="BE-BRU", language="fr"))
    services.referral_withdraw(actor=street, referral=services.referral_send(actor=street, referral=r))
    cases.append(case)
    return cases


def seed_demo() -> str:
    """The demo seeder ``seed_demo`` runs (registered in ``ReferralsConfig.ready()``)."""
    cases = seed_demo_cases()
    return f"Created {len(cases)} fictional demo cases with referrals in every state." if cases else ""
