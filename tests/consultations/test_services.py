"""Consultations, every transition through the services (issue #18 items 2 and 5).

Ask, answer (yes, no, waitlist), withdraw, overdue once, a yes into a referral in one
step, keeping the link; fields that could carry identity are refused; nothing is asked of
the coordination, of oneself or of a member not accepting referrals.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from coalition.audit.models import AuditEntry
from coalition.core.errors import BusinessRuleViolation, Conflict, Forbidden, InvalidField
from coalition.events.models import Event
from referrals.consultations import (
    consultation_answer,
    consultation_create,
    consultation_refer,
    consultation_withdraw,
    detect_overdue,
)
from referrals.models import Consultation, ConsultationRequest, Referral
from tests.support.consultations import QUESTION, TRIAGE, ask, request_of


@pytest.fixture
def people(personas):
    return {name: persona.user for name, persona in personas.items() if persona.user is not None}


def test_asking_makes_one_request_per_member_each_told_of_its_own_only(personas, orgs):
    consultation = ask(personas, orgs)
    requests = list(consultation.requests.order_by("organisation__slug"))
    assert [r.organisation.slug for r in requests] == ["care-nl", "shelter-be"]
    assert {r.status for r in requests} == {"pending"} and consultation.status == "open"
    assert all(r.answer_due > consultation.created_at for r in requests)
    events = Event.objects.filter(type="consultation.asked").order_by("occurred_at")
    assert sorted(e.organisations[0] for e in events) == sorted(str(r.organisation_id) for r in requests)
    assert all(len(e.organisations) == 1 and set(e.data) == {"consultation", "request", "urgency"} for e in events)
    [entry] = AuditEntry.objects.filter(action="consultation.create")
    assert entry.detail == {"asked": 2}
    assert Consultation.objects.get().question == QUESTION  # stored encrypted, read back


@pytest.mark.parametrize("field", ["case", "consent", "subject", "given_name", "family_name", "date_of_birth",
                                   "reason", "safe_contact", "name"])
def test_a_field_that_could_carry_identity_is_refused_and_nothing_is_made(personas, orgs, field):
    with pytest.raises(InvalidField) as refused:
        ask(personas, orgs, **{field: "Zorita"})
    assert refused.value.field == field
    assert not Consultation.objects.exists() and not Event.objects.exists()


def test_a_long_question_is_refused(personas, orgs, settings):
    with pytest.raises(InvalidField) as refused:
        ask(personas, orgs, question="x" * (settings.CONSULTATION_QUESTION_MAX_LENGTH + 1))
    assert refused.value.field == "question"


@pytest.mark.parametrize("slug", ["hotline-be", "coordination"])
def test_nobody_asks_itself_or_the_coordination(personas, orgs, slug):
    with pytest.raises(InvalidField):
        ask(personas, orgs, slug)


def test_a_member_not_accepting_referrals_is_not_asked(personas, orgs):
    orgs["care-nl"].accepting_referrals = False
    orgs["care-nl"].save()
    with pytest.raises(InvalidField):
        ask(personas, orgs)


@pytest.mark.parametrize("persona", ["org_admin", "coordinator", "auditor"])
def test_only_caseworkers_ask(personas, orgs, persona):
    with pytest.raises(Forbidden):
        consultation_create(actor=personas[persona].user, data=TRIAGE, organisations=[orgs["shelter-be"]])


def test_each_asked_member_answers_once_and_the_consultation_is_answered_when_all_have(personas, orgs, people):
    consultation = ask(personas, orgs)
    shelter, care = request_of(consultation, orgs["shelter-be"]), request_of(consultation, orgs["care-nl"])
    consultation_answer(actor=people["recipient_caseworker"], request=shelter, answer="yes", note="A bed tonight.")
    consultation.refresh_from_db()
    assert consultation.status == "open"
    with pytest.raises(Conflict):
        consultation_answer(actor=people["recipient_caseworker"], request=shelter, answer="no")
    consultation_answer(actor=people["outsider_caseworker"], request=care, answer="waitlist")
    consultation.refresh_from_db()
    assert consultation.status == "answered"
    answered = [e for e in Event.objects.filter(type="consultation.answered")]
    assert {e.data["answer"] for e in answered} == {"yes", "waitlist"}
    assert all(str(consultation.asker_id) in e.organisations and len(e.organisations) == 2 for e in answered)
    assert "A bed tonight." not in str([e.data for e in Event.objects.all()])


def test_only_the_asked_member_answers_its_request(personas, orgs, people):
    consultation = ask(personas, orgs)
    shelter = request_of(consultation, orgs["shelter-be"])
    for persona in ("outsider_caseworker", "caseworker"):
        with pytest.raises(Forbidden):
            consultation_answer(actor=people[persona], request=shelter, answer="yes")
    with pytest.raises(InvalidField):
        consultation_answer(actor=people["recipient_caseworker"], request=shelter, answer="maybe")
    assert ConsultationRequest.objects.get(pk=shelter.pk).status == "pending"


def test_withdrawing_releases_the_members_yet_to_answer(personas, orgs, people):
    consultation = ask(personas, orgs)
    consultation_answer(actor=people["recipient_caseworker"], request=request_of(consultation, orgs["shelter-be"]),
                        answer="no")
    with pytest.raises(Forbidden):
        consultation_withdraw(actor=people["recipient_caseworker"], consultation=consultation)
    consultation_withdraw(actor=people["caseworker"], consultation=consultation)
    statuses = dict(consultation.requests.values_list("organisation__slug", "status"))
    assert statuses == {"shelter-be": "answered", "care-nl": "withdrawn"}
    [withdrawn] = Event.objects.filter(type="consultation.withdrawn")
    assert withdrawn.organisations == [str(orgs["care-nl"].pk)]
    with pytest.raises(Conflict):
        consultation_answer(actor=people["outsider_caseworker"], request=request_of(consultation, orgs["care-nl"]),
                            answer="yes")
    with pytest.raises(Conflict):
        consultation_withdraw(actor=people["caseworker"], consultation=Consultation.objects.get())


def test_a_late_answer_is_noticed_once(personas, orgs):
    consultation = ask(personas, orgs, urgency="immediate")
    later = max(consultation.requests.values_list("answer_due", flat=True)) + timedelta(minutes=1)
    assert detect_overdue(later) == 2
    assert detect_overdue(later + timedelta(hours=1)) == 0
    assert Event.objects.filter(type="consultation.overdue").count() == 2
    assert AuditEntry.objects.filter(action="consultation.overdue").count() == 2


def test_a_yes_becomes_a_sent_referral_in_one_step_linked_to_its_request(personas, orgs, people, flow):
    consultation = ask(personas, orgs)
    shelter = request_of(consultation, orgs["shelter-be"])
    consultation_answer(actor=people["recipient_caseworker"], request=shelter, answer="yes")
    case = flow.open_case()
    consent = flow.consent(case["id"])
    from referrals.models import Case, Consent

    referral = consultation_refer(actor=people["caseworker"], request=shelter, case=Case.objects.get(pk=case["id"]),
                                  kind="transfer", consent=Consent.objects.get(pk=consent["id"]))
    assert referral.status == "sent" and referral.kind == "transfer" and referral.recipient == orgs["shelter-be"]
    assert (referral.phenomenon, referral.urgency, referral.requested_service, referral.age) == (
        "teen_pimp", "urgent", "shelter", 15)
    assert ConsultationRequest.objects.get(pk=shelter.pk).referral_id == referral.pk
    assert Referral.objects.get(pk=referral.pk).consultation_request.consultation_id == consultation.pk
    with pytest.raises(Conflict):
        consultation_refer(actor=people["caseworker"], request=shelter, case=Case.objects.get(pk=case["id"]),
                           consent=Consent.objects.get(pk=consent["id"]))


def test_only_a_yes_of_ones_own_consultation_becomes_a_referral_and_only_with_a_legal_basis(personas, orgs, people,
                                                                                            flow):
    from referrals.models import Case

    consultation = ask(personas, orgs)
    shelter, care = request_of(consultation, orgs["shelter-be"]), request_of(consultation, orgs["care-nl"])
    consultation_answer(actor=people["recipient_caseworker"], request=shelter, answer="yes")
    consultation_answer(actor=people["outsider_caseworker"], request=care, answer="no")
    case = Case.objects.get(pk=flow.open_case()["id"])
    with pytest.raises(Conflict):
        consultation_refer(actor=people["caseworker"], request=care, case=case)
    with pytest.raises(Forbidden):
        consultation_refer(actor=people["recipient_caseworker"], request=shelter, case=case)
    with pytest.raises(BusinessRuleViolation):  # the referral's own rule: a consent or a justified exception
        consultation_refer(actor=people["caseworker"], request=shelter, case=case)
    assert not Referral.objects.exists()
    assert ConsultationRequest.objects.get(pk=shelter.pk).referral_id is None
