"""The consultation pages: asking first, answering, withdrawing, a yes into a referral, the list and the inbox
(README, "Ask before you share").

hotline-be's caseworker (persona ``caseworker``) asks shelter-be (``recipient_caseworker``) and
care-nl (``outsider_caseworker``) through the pages, or through ``tests/support/consultations.ask``
where the asking is not what a test is about. A member neither asking nor asked is made here
(``unrelated``). Nothing on these pages is about who the young person is.
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from partners.choices import OrganisationKind, Role
from referrals import services
from referrals.choices import ConsultationStatus, ReferralKind, ReferralStatus
from referrals.consultations import consultation_answer, consultation_create, consultation_withdraw
from referrals.models import Consultation, ConsultationRequest, Referral
from tests.support.consultations import QUESTION, TRIAGE, ask, request_of
from tests.support.flows import CHILD
from tests.support.identity import assert_no_identity
from tests.support.personas import make_organisation, make_user
from tests.support.web import comparable_page, web_client_for

NEW = "/app/consultations/new/"
LIST = "/app/consultations/"
INBOX = "/app/"
NOTE = "One bed free tonight, call the night desk."


def _client(personas, name):
    return web_client_for(personas[name].user)


def _get(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, f"{path}: {response.status_code}"
    return response.content.decode()


def _path(consultation) -> str:
    return f"/app/consultations/{consultation.pk}/"


def _refer_path(consultation, request) -> str:
    return f"/app/consultations/{consultation.pk}/requests/{request.pk}/refer/"


def _text(page: str) -> str:
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", page))


def _errors_of(page: str, field: str) -> str:
    """The error list Django renders beside ``field`` (its id ``id_<field>_error``)."""
    match = re.search(rf'<ul class="errorlist"[^>]*id="id_{field}_error"[^>]*>(.*?)</ul>', page, re.S)
    assert match, f"no error beside {field}"
    return _text(match.group(1))


def _section(page: str, key: str) -> str:
    match = re.search(rf'<section class="card inbox-section" aria-labelledby="inbox-{key}">(.*?)</section>', page, re.S)
    assert match, f"no {key} section"
    return match.group(1)


def _ask_form(orgs, *slugs, **extra) -> dict:
    return {
        "organisations": [str(orgs[slug].pk) for slug in slugs or ("shelter-be", "care-nl")],
        **{name: str(value) for name, value in TRIAGE.items()},
        "question": QUESTION,
    } | extra


def _case_with_consent(user):
    case = services.case_open(actor=user, subject={k: CHILD[k] for k in ("given_name", "family_name", "date_of_birth")},
                              phenomena=["teen_pimp"], region="BE-VLG")
    consent = services.consent_record(
        actor=user, case=case,
        data={"given_by": "young_person", "method": "written", "purposes": ["care_referral"],
              "valid_from": timezone.localdate()},
    )
    return case, consent


@pytest.fixture
def unrelated(personas):
    """A caseworker of a member that neither asks nor is asked."""
    organisation = make_organisation("unrelated-lu", OrganisationKind.NGO, country="LU", regions=["LU-L"])
    return web_client_for(make_user("unrelated-lu-caseworker", organisation, [Role.CASEWORKER]))


# --- the done-when, end to end through the pages --------------------------------------------------


def test_the_hotline_asks_two_members_the_shelter_says_yes_and_the_hotline_transfers_in_one_step(personas, orgs):
    hotline, shelter, care = (_client(personas, name) for name in ("caseworker", "recipient_caseworker",
                                                                   "outsider_caseworker"))
    case, consent = _case_with_consent(personas["caseworker"].user)

    # The referral form offers to ask first; the form asks for no case and no identity.
    referral_form = _get(hotline, f"/app/cases/{case.pk}/referrals/new/")
    assert f'href="{NEW}?case={case.pk}"' in referral_form
    new = _get(hotline, f"{NEW}?case={case.pk}")
    assert_no_identity(new, "the consultation form")
    asking = new.split('id="consultation-form"')[1].split("</form>")[0]
    fields = set(re.findall(r'<(?:input|select|textarea)[^>]* name="([a-z_]+)"', asking))
    assert fields == {"csrfmiddlewaretoken", "organisations", "phenomenon", "urgency", "requested_service", "age",
                      "gender", "region", "language", "question"}
    assert 'value="teen_pimp" selected' in asking and 'value="BE-VLG"' in asking  # pre-filled from the case
    assert "At most 500 characters." in new

    response = hotline.post(NEW, _ask_form(orgs))
    consultation = Consultation.objects.get()
    assert response.status_code == 302 and response["Location"] == _path(consultation)
    assert consultation.question == QUESTION and consultation.age == 15
    assert not hasattr(consultation, "case")

    # Each asked member finds it in its inbox and reads the facts and the question.
    for client in (shelter, care):
        asked = _section(_get(client, INBOX), "asked")
        assert f'href="{_path(consultation)}"' in asked and "Test hotline-be" in asked
        page = _get(client, _path(consultation))
        assert QUESTION in html_lib.unescape(page) and 'id="answer-form"' in page
    shelter_request = request_of(consultation, orgs["shelter-be"])
    response = shelter.post(f"{_path(consultation)}answer/", {"answer": "yes", "note": NOTE,
                                                              "version": consultation.version})
    assert response.status_code == 302
    consultation.refresh_from_db()
    assert care.post(f"{_path(consultation)}answer/", {"answer": "no", "version": consultation.version}).status_code == 302

    # The hotline's inbox highlights the yes, with the way to a referral.
    questions = _section(_get(hotline, INBOX), "questions")
    assert "1 yes, 1 no, 0 waitlist, 0 waiting" in _text(questions)
    assert f'href="{_refer_path(consultation, shelter_request)}"' in questions
    page = _get(hotline, _path(consultation))
    assert NOTE in html_lib.unescape(page)
    assert page.count("Turn into a referral") == 1

    # One step: the case, a transfer, its consent; sent at once.
    choose = _get(hotline, _refer_path(consultation, shelter_request))
    assert_no_identity(choose, "the case choice")
    assert f"Case {str(case.pk)[:8]}" in choose
    form = _get(hotline, f"{_refer_path(consultation, shelter_request)}?case={case.pk}")
    assert 'value="transfer"' in form
    response = hotline.post(_refer_path(consultation, shelter_request), {
        "case": str(case.pk), "kind": "transfer", "sharing": "consent", "consent": str(consent.pk),
    })
    referral = Referral.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/app/referrals/{referral.pk}/"
    assert (referral.kind, referral.status, referral.recipient) == (ReferralKind.TRANSFER, ReferralStatus.SENT,
                                                                     orgs["shelter-be"])
    assert (referral.phenomenon, referral.urgency, referral.age) == ("teen_pimp", "urgent", 15)
    shelter_request.refresh_from_db()
    assert shelter_request.referral == referral

    # No identity reached the shelter before it accepts: not the consultation, not the referral.
    for path in (INBOX, _path(consultation), f"/app/referrals/{referral.pk}/"):
        assert_no_identity(_get(shelter, path), f"shelter-be's {path}")
    assert "Open the referral it became" in _get(hotline, _path(consultation))
    assert "Turn into a referral" not in _get(hotline, _path(consultation))
    services.referral_accept(actor=personas["recipient_caseworker"].user, referral=referral)
    assert CHILD["given_name"] in _get(shelter, f"/app/cases/{case.pk}/")  # shared once accepted, not before


# --- who sees what --------------------------------------------------------------------------------


def test_an_asked_member_sees_its_own_request_only_never_who_else_was_asked(personas, orgs):
    consultation = ask(personas, orgs)
    consultation_answer(actor=personas["outsider_caseworker"].user, request=request_of(consultation, orgs["care-nl"]),
                        answer="no", note="Our beds are for the Netherlands only.")

    for path in (_path(consultation), INBOX, LIST, f"{LIST}?direction=incoming"):
        page = html_lib.unescape(_get(_client(personas, "recipient_caseworker"), path))
        assert "Test care-nl" not in page, path
        assert "Netherlands only" not in page, path
    page = _get(_client(personas, "recipient_caseworker"), _path(consultation))
    assert "Test hotline-be" in page and QUESTION in html_lib.unescape(page)


def test_the_asker_sees_every_answer_with_its_note_time_and_overdue_mark(personas, orgs):
    consultation = ask(personas, orgs)
    consultation_answer(actor=personas["recipient_caseworker"].user,
                        request=request_of(consultation, orgs["shelter-be"]), answer="waitlist", note=NOTE)
    ConsultationRequest.objects.filter(organisation=orgs["care-nl"]).update(
        answer_due=timezone.now() - timedelta(hours=1))

    page = _get(_client(personas, "caseworker"), _path(consultation))
    answers = _text(page.split('id="consultation-answers"')[1])
    assert "Test shelter-be" in answers and "On our waiting list" in answers and NOTE in answers
    assert "Test care-nl" in answers and "Not answered yet" in answers and "Overdue" in answers
    assert "Turn into a referral" not in page  # a waitlist is no yes
    assert 'action="/app/consultations/' in page and "Withdraw the question" in page


def test_coordinators_see_metadata_only_no_question_no_note_no_buttons(personas, orgs):
    consultation = ask(personas, orgs)
    consultation_answer(actor=personas["recipient_caseworker"].user,
                        request=request_of(consultation, orgs["shelter-be"]), answer="yes", note=NOTE)

    for path in (_path(consultation), LIST):
        page = html_lib.unescape(_get(_client(personas, "coordinator"), path))
        assert QUESTION not in page and NOTE not in page, path
        assert "Test hotline-be" in page and "Test shelter-be" in page and "Test care-nl" in page, path
        assert "Yes, we can take it" in page, path
        assert "<form method=\"post\" action=\"/app/consultations/" not in page, path
        assert "Turn into a referral" not in page, path


@pytest.mark.parametrize("name", ["org_admin", "auditor"])
def test_org_admins_and_auditors_have_no_consultation_pages(personas, orgs, name):
    consultation = ask(personas, orgs)
    request = request_of(consultation, orgs["shelter-be"])
    client = _client(personas, name)
    for path in (LIST, NEW, _path(consultation), _refer_path(consultation, request)):
        assert client.get(path).status_code == 403, path
    for path in (NEW, f"{_path(consultation)}answer/", f"{_path(consultation)}withdraw/"):
        assert client.post(path, {}).status_code == 403, path


def test_signed_out_people_are_sent_to_sign_in(client, personas, orgs):
    consultation = ask(personas, orgs)
    for path in (LIST, NEW, _path(consultation)):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/app/sign-in/")


def test_a_member_not_asked_gets_the_404_of_a_missing_consultation_and_lists_none(personas, orgs, unrelated):
    consultation = ask(personas, orgs)
    request = request_of(consultation, orgs["shelter-be"])
    missing = unrelated.get("/app/consultations/00000000-0000-0000-0000-000000000000/")
    hidden = unrelated.get(_path(consultation))

    assert hidden.status_code == missing.status_code == 404
    assert comparable_page(hidden) == comparable_page(missing)
    assert unrelated.get(_refer_path(consultation, request)).status_code == 404
    assert unrelated.post(f"{_path(consultation)}answer/", {"answer": "yes"}).status_code == 404
    assert unrelated.post(f"{_path(consultation)}withdraw/", {}).status_code == 404
    assert str(consultation.pk) not in _get(unrelated, LIST)
    assert str(consultation.pk) not in _get(unrelated, INBOX)
    assert request_of(consultation, orgs["shelter-be"]).status == "pending"


def test_an_asked_member_cannot_turn_an_answer_into_a_referral_nor_withdraw(personas, orgs):
    consultation = ask(personas, orgs)
    request = request_of(consultation, orgs["shelter-be"])
    consultation_answer(actor=personas["recipient_caseworker"].user, request=request, answer="yes")
    shelter = _client(personas, "recipient_caseworker")

    assert shelter.get(_refer_path(consultation, request)).status_code == 404
    assert shelter.post(f"{_path(consultation)}withdraw/", {}).status_code == 422
    consultation.refresh_from_db()
    assert consultation.status == ConsultationStatus.OPEN


# --- errors beside their fields, nothing changed ------------------------------------------------


def test_a_form_without_members_or_facts_shows_each_error_beside_its_field(personas, orgs):
    response = _client(personas, "caseworker").post(NEW, {"urgency": "urgent", "question": "x" * 501})

    assert response.status_code == 422
    page = response.content.decode()
    assert "Choose at least one member to ask." in _errors_of(page, "organisations")
    assert _errors_of(page, "phenomenon") and _errors_of(page, "requested_service")
    assert "500" in _errors_of(page, "question")
    assert Consultation.objects.count() == 0


def test_the_service_refusal_shows_beside_the_members(personas, orgs):
    extra = [make_organisation(f"extra-{n}", OrganisationKind.NGO) for n in range(10)]
    form = _ask_form(orgs) | {"organisations": [str(orgs["shelter-be"].pk), *(str(o.pk) for o in extra)]}

    response = _client(personas, "caseworker").post(NEW, form)

    assert response.status_code == 422
    assert "Ask at most 10 members at once." in _errors_of(response.content.decode(), "organisations")
    assert Consultation.objects.count() == 0


def test_answering_twice_or_after_a_withdrawal_is_refused_on_the_page(personas, orgs):
    consultation = ask(personas, orgs)
    shelter, care = _client(personas, "recipient_caseworker"), _client(personas, "outsider_caseworker")
    assert shelter.post(f"{_path(consultation)}answer/", {"answer": "no"}).status_code == 302

    again = shelter.post(f"{_path(consultation)}answer/", {"answer": "yes"})
    assert again.status_code == 422 and "already answered" in html_lib.unescape(again.content.decode())
    assert request_of(consultation, orgs["shelter-be"]).answer == "no"

    consultation_withdraw(actor=personas["caseworker"].user, consultation=consultation)
    late = care.post(f"{_path(consultation)}answer/", {"answer": "yes"})
    assert late.status_code == 422 and "withdrew" in late.content.decode()
    assert 'id="answer-form"' not in _get(care, _path(consultation))


def test_an_answer_without_its_choice_is_refused_beside_the_field(personas, orgs):
    consultation = ask(personas, orgs)
    response = _client(personas, "recipient_caseworker").post(f"{_path(consultation)}answer/", {"note": "x" * 301})

    assert response.status_code == 422
    page = response.content.decode()
    assert re.search(r'id="answer-answer_error"', page) and re.search(r'id="answer-note_error"', page)
    assert request_of(consultation, orgs["shelter-be"]).status == "pending"


def test_the_asker_withdraws_while_open_and_the_button_goes(personas, orgs):
    consultation = ask(personas, orgs)
    hotline = _client(personas, "caseworker")

    response = hotline.post(f"{_path(consultation)}withdraw/", {"version": consultation.version})

    assert response.status_code == 302
    consultation.refresh_from_db()
    assert consultation.status == ConsultationStatus.WITHDRAWN
    assert "Withdraw the question" not in _get(hotline, _path(consultation))
    assert "Withdrawn before answering" in _get(_client(personas, "recipient_caseworker"), _path(consultation))
    stale = hotline.post(f"{_path(consultation)}withdraw/", {"version": consultation.version})
    assert stale.status_code == 422


def test_a_withdrawal_against_an_old_version_is_refused(personas, orgs):
    consultation = ask(personas, orgs)
    version = consultation.version
    consultation_answer(actor=personas["recipient_caseworker"].user,
                        request=request_of(consultation, orgs["shelter-be"]), answer="no")

    response = _client(personas, "caseworker").post(f"{_path(consultation)}withdraw/", {"version": version})

    assert response.status_code == 422 and "Someone changed this meanwhile" in response.content.decode()
    consultation.refresh_from_db()
    assert consultation.status == ConsultationStatus.OPEN


def test_turning_a_yes_into_a_referral_needs_a_legal_basis_and_refuses_beside_the_field(personas, orgs):
    consultation = ask(personas, orgs)
    request = request_of(consultation, orgs["shelter-be"])
    consultation_answer(actor=personas["recipient_caseworker"].user, request=request, answer="yes")
    case, _consent = _case_with_consent(personas["caseworker"].user)
    hotline = _client(personas, "caseworker")

    missing = hotline.post(_refer_path(consultation, request), {"case": str(case.pk), "kind": "service",
                                                               "sharing": "consent"})
    assert missing.status_code == 422
    assert "Choose the consent" in _errors_of(missing.content.decode(), "consent")
    unjustified = hotline.post(_refer_path(consultation, request), {
        "case": str(case.pk), "kind": "service", "sharing": "legal_basis", "legal_basis": "vital_interest",
    })
    assert unjustified.status_code == 422
    assert "Nothing was sent." in unjustified.content.decode()
    assert Referral.objects.count() == 0


def test_a_case_that_is_not_offered_is_refused(personas, orgs):
    consultation = ask(personas, orgs)
    request = request_of(consultation, orgs["shelter-be"])
    consultation_answer(actor=personas["recipient_caseworker"].user, request=request, answer="yes")
    shelter_case, _consent = _case_with_consent(personas["recipient_caseworker"].user)
    _case_with_consent(personas["caseworker"].user)  # the hotline has a case of its own to offer

    response = _client(personas, "caseworker").post(_refer_path(consultation, request), {
        "case": str(shelter_case.pk), "kind": "service", "sharing": "legal_basis",
    })

    assert response.status_code == 422
    assert "Choose one of the cases listed." in html_lib.unescape(response.content.decode())
    assert Referral.objects.count() == 0


def test_a_no_or_a_yes_already_referred_cannot_become_a_referral(personas, orgs):
    consultation = ask(personas, orgs)
    no = request_of(consultation, orgs["care-nl"])
    consultation_answer(actor=personas["outsider_caseworker"].user, request=no, answer="no")

    response = _client(personas, "caseworker").get(_refer_path(consultation, no))

    assert response.status_code == 409 and "Only a yes becomes a referral." in response.content.decode()


# --- the list and the inbox -----------------------------------------------------------------------


def test_the_list_filters_by_direction_status_and_urgency(personas, orgs):
    mine = ask(personas, orgs)
    asked_of_hotline = _ask_from_shelter(personas, orgs)
    hotline = _client(personas, "caseworker")

    def listed(query=""):
        return set(re.findall(r'href="/app/consultations/([0-9a-f-]{36})/"', _get(hotline, f"{LIST}{query}")))

    assert listed() == {str(mine.pk), str(asked_of_hotline.pk)}
    assert listed("?direction=outgoing") == {str(mine.pk)}
    assert listed("?direction=incoming") == {str(asked_of_hotline.pk)}
    assert listed("?urgency=immediate") == {str(asked_of_hotline.pk)}
    assert listed("?status=withdrawn") == set()
    refused = _get(hotline, f"{LIST}?status=later")
    assert "Correct the filters to see the list." in refused


def _ask_from_shelter(personas, orgs):
    """shelter-be asks hotline-be, immediately."""
    return consultation_create(actor=personas["recipient_caseworker"].user,
                               data=TRIAGE | {"urgency": "immediate", "question": "Room for a boy?"},
                               organisations=[orgs["hotline-be"]])


def test_the_inbox_marks_a_late_answer_and_lists_the_earliest_due_first(personas, orgs):
    first = _ask_from_shelter(personas, orgs)
    second = _ask_from_shelter(personas, orgs)
    ConsultationRequest.objects.filter(consultation=second).update(answer_due=timezone.now() - timedelta(minutes=5))

    asked = _section(_get(_client(personas, "caseworker"), INBOX), "asked")

    assert re.findall(r'id="inbox-asked-([0-9a-f-]{36})"', asked) == [str(second.pk), str(first.pk)]
    assert asked.count("Overdue") == 1


def test_the_inbox_costs_the_same_queries_for_one_and_many_consultations(personas, orgs):
    hotline = _client(personas, "caseworker")
    ask(personas, orgs)
    _ask_from_shelter(personas, orgs)
    hotline.get(INBOX)
    with CaptureQueriesContext(connection) as one:
        _get(hotline, INBOX)
    for _ in range(12):
        ask(personas, orgs)
        _ask_from_shelter(personas, orgs)
    with CaptureQueriesContext(connection) as many:
        page = _get(hotline, INBOX)

    assert len(many) == len(one), [q["sql"][:120] for q in many.captured_queries]
    assert "All consultations asked of you" in page and "All your questions" in page
