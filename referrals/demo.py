"""Fictional demo cases, created through the services so they obey every rule.

Every name is invented. Together they show each referral state and one
transfer of custody (README, "Try it"). Beside them, a fictional history of closed cases
over the past six months gives the figures page something to draw (``seed_demo_history``).
"""

import random
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from partners.models import Organisation, User

from . import consultations, services
from .choices import ReferralKind, Urgency
from .deadlines import deadlines_for
from .models import Case, Referral

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

# Known twice (the match, README "Known elsewhere"): care-nl and ngo-nl each hold a case of Mila, each
# spelling her their own way; and Eva, whom only care-nl knows yet (README, "Known elsewhere").
KNOWN_TWICE = [
    {"given_name": "Mila", "family_name": "Van den Verzonnen", "date_of_birth": date(2010, 11, 5), "gender": "female",
     "language": "nl", "municipality": "Droomdorp", "safe_contact": "Through her mentor at school."},
    {"given_name": "mila", "family_name": "vandenverzonnen", "date_of_birth": date(2010, 11, 5), "gender": "female",
     "language": "nl", "safe_contact": "Meets our street worker on Fridays."},
]
KNOWN_TO_CARE_ONLY = {"given_name": "Eva", "family_name": "De Fictieve", "date_of_birth": date(2011, 6, 21),
                      "gender": "female", "language": "nl", "municipality": "Nergenshuizen",
                      "safe_contact": "Only through the care centre."}
SHARING = ["care_referral", "information_sharing"]


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
    r = services.referral_send(actor=street, referral=r)
    # Sent three hours ago and still not acknowledged: overdue, and late for long enough that
    # the worker escalates it to the coordinators once (the notifications' demo).
    sent_at = timezone.now() - timedelta(hours=3)
    acknowledge_due, decide_due = deadlines_for(r.urgency, sent_at, country=org["shelter-be"].country)
    Referral.objects.filter(pk=r.pk).update(created_at=sent_at - timedelta(minutes=10), sent_at=sent_at,
                                            acknowledge_due=acknowledge_due, decide_due=decide_due)
    c = consent(street, case)
    r = services.referral_create(actor=street, case=case, data=_triage(
        org["ngo-nl"], consent=c, phenomenon="boys_prostitution", gender="male", region="BE-BRU", language="fr"))
    services.referral_withdraw(actor=street, referral=services.referral_send(actor=street, referral=r))
    cases.append(case)

    # 5. Known twice: with matching on (make run) care-nl and ngo-nl are told of each other, an open match.
    #    And Eva, whom only care-nl holds: open a case for her as ngo-nl to see a match made.
    care, ngo = worker["care-nl"], worker["ngo-nl"]
    for actor, subject, region in ((care, KNOWN_TWICE[0], "NL-NH"), (ngo, KNOWN_TWICE[1], "NL-NB"),
                                   (care, KNOWN_TO_CARE_ONLY, "NL-NH")):
        case = services.case_open(actor=actor, subject=subject, phenomena=["teen_pimp"], region=region)
        consent(actor, case, purposes=SHARING)
        cases.append(case)
    return cases


# The history: who refers to whom, about what (members that take such cases), and how often.
HISTORY_ROUTES = [
    # sender, recipient, phenomena, requested service, region, language
    ("hotline-be", "shelter-be", ["teen_pimp", "child_prostitution", "trafficking"], "shelter", "BE-VLG", "nl"),
    ("hotline-be", "police-be", ["trafficking", "sextortion", "teen_pimp"], "police_report", "BE-BRU", "fr"),
    ("hotline-be", "streetwork-be", ["boys_prostitution", "child_prostitution", "sexting"], "counselling", "BE-BRU", "fr"),
    ("shelter-be", "care-nl", ["teen_pimp", "grooming"], "counselling", "NL-NH", "nl"),
    ("ngo-nl", "expertise-nl", ["sextortion", "grooming", "teen_pimp"], "counselling", "NL-NB", "nl"),
]
HISTORY_NAMES = ["Demo-Ada", "Demo-Bram", "Demo-Chloé", "Demo-Daan", "Demo-Elif", "Demo-Fien", "Demo-Gaël", "Demo-Hanna"]
HISTORY_MONTHS = 6
HISTORY_PER_MONTH = 8
# Hours to the first answer and then to the decision, by urgency (the median lies in between).
ANSWER_HOURS = {Urgency.IMMEDIATE: (0.2, 0.9), Urgency.URGENT: (2, 20), Urgency.NORMAL: (20, 100)}


def _history_moments(rng: random.Random, now: datetime) -> list[datetime]:
    """When each history referral was sent: spread over the past months, oldest first, none in the last two weeks."""
    moments = []
    for months_back in range(HISTORY_MONTHS, 0, -1):
        for _ in range(HISTORY_PER_MONTH):
            day = now.date() - timedelta(days=30 * months_back - rng.randint(0, 25) + 14)
            moments.append(timezone.make_aware(datetime.combine(day, time(rng.randint(7, 21), rng.randint(0, 59)))))
    return sorted(moments)


def seed_demo_history() -> int:
    """Closed cases of the past months, each with one referral accepted and completed or declined; once.

    Made through the services like every demo case, then back-dated (the referral's sending,
    answers and deadlines, the case's opening) to when the history says they happened: the
    audit trail keeps the true time each entry was written.
    """
    now = timezone.now()
    if Referral.objects.filter(sent_at__lt=now - timedelta(days=13)).exists():
        return 0
    rng = random.Random(2026)  # the same history on every machine
    org = {o.slug: o for o in Organisation.objects.all()}
    worker = {u.organisation.slug: u for u in User.objects.filter(username__endswith="-caseworker").select_related("organisation")}
    made = 0
    for number, sent_at in enumerate(_history_moments(rng, now)):
        sender_slug, recipient_slug, phenomena, service, region, language = rng.choice(HISTORY_ROUTES)
        sender, recipient = worker[sender_slug], worker[recipient_slug]
        phenomenon = rng.choice(phenomena)
        urgency = rng.choices([Urgency.IMMEDIATE, Urgency.URGENT, Urgency.NORMAL], weights=[1, 3, 4])[0]
        gender = rng.choices(["female", "male", "non_binary"], weights=[6, 3, 1])[0]
        age = rng.randint(12, 17)
        subject = {"given_name": HISTORY_NAMES[number % len(HISTORY_NAMES)], "family_name": "Voorbeeld",
                   "birth_year": sent_at.year - age, "gender": gender, "language": language}
        case = services.case_open(actor=sender, subject=subject, phenomena=[phenomenon], region=region)
        consent = services.consent_record(actor=sender, case=case, data={
            "given_by": "young_person", "method": "written", "purposes": ["care_referral", "police_report"],
            "valid_from": date.today()})
        referral = services.referral_create(actor=sender, case=case, data=_triage(
            org[recipient_slug], consent=consent, phenomenon=phenomenon, urgency=urgency, requested_service=service,
            age=age, gender=gender, region=region, language=language, reason="Demo: fictional history."))
        referral = services.referral_send(actor=sender, referral=referral)
        first, then = ANSWER_HOURS[urgency]
        answered = sent_at + timedelta(hours=rng.uniform(first / 2, first * 2))
        decided = answered + timedelta(hours=rng.uniform(first, then))
        times = {"created_at": sent_at - timedelta(minutes=20), "sent_at": sent_at, "acknowledged_at": answered}
        times["acknowledge_due"], times["decide_due"] = deadlines_for(urgency, sent_at, country=org[sender_slug].country)
        referral = services.referral_acknowledge(actor=recipient, referral=referral)
        if rng.random() < 0.8:
            referral = services.referral_accept(actor=recipient, referral=referral)
            services.referral_complete(actor=recipient, referral=referral, outcome_code=rng.choice(
                ["service_delivered", "service_delivered", "partially_delivered", "young_person_disengaged"]))
            times |= {"accepted_at": decided, "completed_at": decided + timedelta(days=rng.randint(3, 20))}
        else:
            services.referral_decline(actor=recipient, referral=referral, reason_code="no_capacity",
                                      reason="Demo: no place free that week.")
            times |= {"declined_at": decided}
        case.refresh_from_db()
        services.case_close(actor=sender, case=case, outcome=rng.choice(["safe_and_supported", "handed_to_services_outside"]))
        Referral.objects.filter(pk=referral.pk).update(**times)
        Case.objects.filter(pk=case.pk).update(opened_at=sent_at - timedelta(hours=1))
        made += 1
    return made


def seed_demo_consultations() -> int:
    """Answered consultations, once: hotline-be asked shelter-be and ecpat-be about a girl tonight (a yes to turn
    into a referral, a waiting list), and streetwork-be asked ngo-nl (a no)."""
    from .models import Consultation

    if Consultation.objects.exists():
        return 0
    org = {o.slug: o for o in Organisation.objects.all()}
    worker = {u.organisation.slug: u for u in User.objects.filter(username__endswith="-caseworker").select_related("organisation")}
    tonight = consultations.consultation_create(actor=worker["hotline-be"], organisations=[org["shelter-be"], org["ecpat-be"]], data={
        "phenomenon": "teen_pimp", "urgency": Urgency.IMMEDIATE, "requested_service": "shelter", "age": 15,
        "gender": "female", "region": "BE-VLG", "language": "nl",
        "question": "Demo: can you take a 15-year-old girl tonight? She cannot go home."})
    for slug, answer, note in (("shelter-be", "yes", "Demo: one bed free tonight; call before 22:00."),
                               ("ecpat-be", "waitlist", "Demo: a counsellor is free next week.")):
        consultations.consultation_answer(actor=worker[slug], request=tonight.requests.get(organisation=org[slug]),
                                          answer=answer, note=note)
    boy = consultations.consultation_create(actor=worker["streetwork-be"], organisations=[org["ngo-nl"]], data={
        "phenomenon": "boys_prostitution", "urgency": Urgency.URGENT, "requested_service": "counselling", "age": 16,
        "gender": "male", "region": "BE-BRU", "language": "fr", "question": "Demo: do you counsel French-speaking boys?"})
    consultations.consultation_answer(actor=worker["ngo-nl"], request=boy.requests.get(), answer="no",
                                      note="Demo: only in Dutch, sorry.")
    return 2


def seed_demo() -> str:
    """The demo seeder ``seed_demo`` runs (registered in ``ReferralsConfig.ready()``)."""
    cases = seed_demo_cases()
    history = seed_demo_history() if cases else 0
    asked = seed_demo_consultations()
    lines = []
    if cases:
        lines.append(f"Created {len(cases)} fictional demo cases with referrals in every state.")
    if asked:
        lines.append(f"Created {asked} answered fictional consultations.")
    if history:
        lines.append(f"Created a fictional history of {history} closed cases over the past {HISTORY_MONTHS} months.")
    return " ".join(lines)
