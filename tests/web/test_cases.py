"""The caseworker's case pages (issue #14, item 3): list, open, the case page, consents, close and reopen.

They read through the selectors and write through the services, exactly as the API does:
another organisation's case is the same 404 as a missing one, the identity shows only while
the organisation is involved (one ``subject.read`` entry per page that shows it), bad input
stands beside its field in the person's language and changes nothing.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coalition.audit.models import AuditEntry
from referrals.models import Case, Consent, Subject
from tests.support.flows import CHILD
from tests.support.web import comparable_page, web_client_for

CASE_FORM = {
    "subject_given_name": "Liora",
    "subject_family_name": "Inventa",
    "subject_date_of_birth": "2010-06-01",
    "subject_gender": "female",
    "subject_language": "nl",
    "subject_municipality": "Fabulonia",
    "subject_safe_contact": "Only through the school counsellor",
    "phenomena": ["teen_pimp", "grooming"],
    "region": "BE-VLG",
}


@pytest.fixture
def hotline(personas):
    return web_client_for(personas["caseworker"].user)


@pytest.fixture
def shelter(personas):
    return web_client_for(personas["recipient_caseworker"].user)


def reads_of(case_id) -> int:
    return AuditEntry.objects.filter(action="subject.read", case=case_id).count()


def errors_beside(content: str, field_id: str) -> list[str]:
    """The messages of the error list tied to the input ``field_id`` (``<ul id="<field_id>_error">``)."""
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', content, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []


def transferred_to_shelter(flow) -> dict:
    """A case hotline-be opened and transferred to shelter-be, which accepted: hotline is its former lead."""
    case = flow.open_case()
    consent = flow.consent(case["id"])
    referral = flow.draft(case["id"], kind="transfer", consent=consent["id"])
    assert flow.act(referral["id"], "send", "caseworker").status_code == 200
    assert flow.act(referral["id"], "accept", "recipient_caseworker").status_code == 200
    return case | {"referral": referral["id"]}


# --- the list ------------------------------------------------------------------------------------


def test_the_list_shows_the_organisations_own_cases_and_no_one_elses(flow, hotline):
    mine = [flow.open_case()["id"] for _ in range(2)]
    theirs = flow.open_case(persona="outsider_caseworker")["id"]

    response = hotline.get("/app/cases/")

    assert response.status_code == 200
    page = response.content.decode()
    assert all(case_id[:8] in page for case_id in mine)
    assert theirs[:8] not in page


def test_the_list_shows_no_identity_and_reads_none(flow, hotline):
    case = flow.open_case()
    response = hotline.get("/app/cases/")
    assert CHILD["given_name"] not in response.content.decode()
    assert reads_of(case["id"]) == 1  # the API's answer to opening it, not the list


def test_open_cases_come_before_closed_ones(flow, personas, hotline):
    older_open = flow.open_case()["id"]
    closed = flow.open_case()["id"]
    personas["caseworker"].client.post(f"/api/v1/cases/{closed}/close/", {"outcome": "other"}, format="json")
    newer_open = flow.open_case()["id"]

    page = hotline.get("/app/cases/").content.decode()

    positions = [page.index(case_id[:8]) for case_id in (newer_open, older_open, closed)]
    assert positions == sorted(positions)


def test_the_list_is_searched_by_status_phenomenon_and_reference(flow, personas, hotline):
    grooming = flow.open_case(phenomena=["grooming"])["id"]
    teen_pimp = flow.open_case()["id"]
    personas["caseworker"].client.post(f"/api/v1/cases/{teen_pimp}/close/", {"outcome": "other"}, format="json")

    by_phenomenon = hotline.get("/app/cases/", {"phenomenon": "grooming"}).content.decode()
    assert grooming[:8] in by_phenomenon and teen_pimp[:8] not in by_phenomenon
    by_status = hotline.get("/app/cases/", {"status": "closed"}).content.decode()
    assert teen_pimp[:8] in by_status and grooming[:8] not in by_status
    by_reference = hotline.get("/app/cases/", {"reference": grooming[:8].upper()}).content.decode()
    assert grooming[:8] in by_reference and teen_pimp[:8] not in by_reference


def test_a_reference_that_is_no_reference_is_an_error_beside_its_field(flow, hotline):
    flow.open_case()
    response = hotline.get("/app/cases/", {"reference": "Liora"})
    assert response.status_code == 200
    assert errors_beside(response.content.decode(), "id_reference") == [
        "A case reference has only the digits 0–9 and the letters a–f."
    ]
    assert 'aria-describedby="id_reference_helptext id_reference_error"' in response.content.decode()


def test_the_list_is_paged_by_25(flow, hotline):
    ids = [flow.open_case()["id"] for _ in range(26)]
    first = hotline.get("/app/cases/").content.decode()
    second = hotline.get("/app/cases/", {"page": 2}).content.decode()
    assert ids[0][:8] not in first and ids[0][:8] in second  # the oldest is on the second page
    assert "Page 1 of 2" in first and "?page=2" in first


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/app/cases/", {"status": "open"}).status_code == 200
    return len(queries)


def test_the_list_costs_as_many_queries_for_thirty_cases_as_for_one(flow, hotline):
    flow.open_case()
    one = _list_queries(hotline)
    for _ in range(29):
        flow.open_case()
    assert _list_queries(hotline) == one <= 8


# --- who may open these pages --------------------------------------------------------------------

PAGES = ["/app/cases/", "/app/cases/new/", "{case}", "{case}edit/", "{case}close/", "{case}reopen/",
         "{case}consents/new/", "{case}consents/{consent}/withdraw/"]


@pytest.mark.parametrize("persona", ["coordinator", "org_admin", "auditor"])
@pytest.mark.parametrize("page", PAGES)
def test_only_caseworkers_reach_the_case_pages(flow, personas, persona, page):
    case = flow.open_case()
    consent = flow.consent(case["id"])
    path = page.format(case=f"/app/cases/{case['id']}/", consent=consent["id"])
    client = web_client_for(personas[persona].user)
    assert client.get(path).status_code == 403
    if page not in ("/app/cases/", "{case}"):  # the list and the case page are read-only (POST: 405)
        assert client.post(path, {}).status_code == 403
    assert Case.objects.count() == 1 and Consent.objects.count() == 1


def test_a_person_not_signed_in_is_sent_to_sign_in(client):
    response = client.get("/app/cases/")
    assert response.status_code == 302 and response["Location"].startswith("/app/sign-in/")


# --- opening a case -------------------------------------------------------------------------------


def test_opening_a_case_makes_the_organisation_its_lead_and_shows_its_page(orgs, hotline):
    response = hotline.post("/app/cases/new/", CASE_FORM)

    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/app/cases/{case.pk}/"
    assert case.lead_organisation == orgs["hotline-be"]
    assert case.phenomena == ["teen_pimp", "grooming"] and case.region == "BE-VLG"
    subject = Subject.objects.get(case=case)
    assert (subject.given_name, subject.date_of_birth, subject.safe_contact) == (
        "Liora", "2010-06-01", "Only through the school counsellor"
    )
    page = hotline.get(response["Location"])
    assert "The case is open." in page.content.decode() and "Liora" in page.content.decode()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"subject_given_name": ""}, "id_subject_given_name", "This field is required."),
        ({"subject_date_of_birth": "2999-01-01"}, "id_subject_date_of_birth", "Must not be in the future."),
        ({"subject_safe_contact": "x" * 501}, "id_subject_safe_contact",
         "Ensure this field has no more than 500 characters."),
        ({"subject_birth_year": "2011"}, "id_subject_birth_year", "Does not match the date of birth."),
        ({"phenomena": []}, "id_phenomena", "This field is required."),
        ({"region": "Flanders"}, "id_region", "Use an ISO 3166-2 code such as BE-VLG or NL-NH."),
    ],
    ids=["no-given-name", "born-in-the-future", "oversized-safe-contact", "year-not-the-date", "no-phenomenon",
         "region-not-a-code"],
)
def test_bad_input_on_the_case_form_stands_beside_its_field_and_creates_nothing(hotline, change, field, message):
    response = hotline.post("/app/cases/new/", CASE_FORM | change)

    assert response.status_code == 422
    assert errors_beside(response.content.decode(), field) == [message]
    assert "Nothing was saved." in response.content.decode()
    assert not Case.objects.exists() and not Subject.objects.exists()


def test_a_missing_given_name_is_said_in_dutch_to_a_dutch_speaker(hotline):
    response = hotline.post("/app/cases/new/", CASE_FORM | {"subject_given_name": ""}, HTTP_ACCEPT_LANGUAGE="nl")

    assert response.status_code == 422
    assert errors_beside(response.content.decode(), "id_subject_given_name") == ["Dit veld is vereist."]
    assert "Voornaam" in response.content.decode()  # the label too
    assert not Case.objects.exists()


def test_a_date_in_the_future_is_said_in_french_to_a_french_speaker(hotline):
    response = hotline.post("/app/cases/new/", CASE_FORM | {"subject_date_of_birth": "2999-01-01"},
                            HTTP_ACCEPT_LANGUAGE="fr")
    assert errors_beside(response.content.decode(), "id_subject_date_of_birth") == ["Ne peut pas être dans le futur."]


def test_the_service_refuses_the_coordination_a_case_on_the_form(personas, orgs):
    """The service decides, whatever the page allowed: its refusal is the form's error, and nothing is made."""
    from partners.choices import Role
    from tests.support.personas import make_user

    coordination_caseworker = make_user("coordination-caseworker", orgs["coordination"], [Role.CASEWORKER])
    response = web_client_for(coordination_caseworker).post("/app/cases/new/", CASE_FORM)
    assert response.status_code == 422
    assert "The coordination does not hold cases." in response.content.decode()
    assert not Case.objects.exists()


# --- the case page -----------------------------------------------------------------------------------


def test_the_case_page_shows_the_young_person_and_writes_exactly_one_subject_read(flow, hotline):
    case = flow.open_case()
    before = reads_of(case["id"])

    response = hotline.get(f"/app/cases/{case['id']}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert CHILD["given_name"] in page and CHILD["safe_contact"].replace("'", "&#x27;") in page
    assert reads_of(case["id"]) == before + 1
    entry = AuditEntry.objects.filter(action="subject.read", case=case["id"]).latest("seq")
    assert entry.request_id == response["X-Request-ID"] and entry.actor_user is not None


def test_another_organisations_case_is_the_same_404_as_a_missing_one(flow, personas):
    theirs = flow.open_case(persona="outsider_caseworker")["id"]
    client = web_client_for(personas["caseworker"].user)
    for suffix in ("", "edit/", "close/", "reopen/", "consents/new/"):
        other = client.get(f"/app/cases/{theirs}/{suffix}")
        missing = client.get(f"/app/cases/{uuid.uuid4()}/{suffix}")
        assert other.status_code == missing.status_code == 404
        assert comparable_page(other) == comparable_page(missing)
        if suffix:  # the case page itself takes no POST
            assert client.post(f"/app/cases/{theirs}/{suffix}", {"outcome": "other", "version": 1}).status_code == 404
    assert reads_of(theirs) == 1 and Case.objects.get(pk=theirs).status == "open"


def test_another_organisations_consent_is_a_404(flow, personas):
    mine = flow.open_case()["id"]
    theirs = flow.open_case(persona="outsider_caseworker")["id"]
    consent = flow.consent(theirs, persona="outsider_caseworker")["id"]
    client = web_client_for(personas["caseworker"].user)
    assert client.get(f"/app/cases/{mine}/consents/{consent}/withdraw/").status_code == 404
    assert client.post(f"/app/cases/{mine}/consents/{consent}/withdraw/").status_code == 404
    assert Consent.objects.get(pk=consent).withdrawn_at is None


def test_a_former_lead_sees_the_case_without_identity_and_without_a_subject_read(flow, hotline, shelter):
    case = transferred_to_shelter(flow)
    before = reads_of(case["id"])

    response = hotline.get(f"/app/cases/{case['id']}/")

    assert response.status_code == 200
    page = response.content.decode()
    for value in (CHILD["given_name"], CHILD["family_name"], CHILD["municipality"], "2010"):
        assert value not in page
    assert "no longer involved" in page
    assert reads_of(case["id"]) == before
    # What it did stays: the transfer it sent, and the custody timeline.
    assert f"/app/referrals/{case['referral']}/" in page or "Test shelter-be" in page
    assert page.index("Test hotline-be") < page.index("by a transfer")
    # No button to act on a case it no longer holds.
    for action in ("Close the case", "Change the case", "Record a consent", ">Refer<"):
        assert action not in page
    # The new lead sees the young person.
    assert CHILD["given_name"] in shelter.get(f"/app/cases/{case['id']}/").content.decode()


def test_the_case_page_lists_consents_referrals_and_who_held_the_case(flow, shelter):
    case = transferred_to_shelter(flow)
    page = shelter.get(f"/app/cases/{case['id']}/").content.decode()

    assert "The young person" in page and "Written" in page and "Referral for care" in page
    assert "Accepted" in page and "Transfer" in page  # the referral with its status written out
    custody = page[page.index("Who held the case"):]
    assert custody.index("Test hotline-be") < custody.index("Test shelter-be")
    assert "opened the case" in custody and "leads since" in custody and "led from" in custody


def test_the_lead_sees_its_actions_and_a_supporting_organisation_only_its_own(flow, personas, hotline, shelter):
    case = flow.open_case()
    consent = flow.consent(case["id"])
    referral = flow.draft(case["id"], consent=consent["id"])  # a service referral: shelter-be supports
    flow.act(referral["id"], "send", "caseworker")
    flow.act(referral["id"], "accept", "recipient_caseworker")

    lead = hotline.get(f"/app/cases/{case['id']}/").content.decode()
    supporter = shelter.get(f"/app/cases/{case['id']}/").content.decode()

    for action in ("Close the case", "Change the case", "Record a consent"):
        assert action in lead
    assert "Record a consent" in supporter
    assert "Close the case" not in supporter and "Change the case" not in supporter
    # The service decides anyway: the supporter's close is refused on the form, and nothing changes.
    refused = shelter.post(f"/app/cases/{case['id']}/close/", {"outcome": "other", "version": 1})
    assert refused.status_code == 422
    assert "Only the lead organisation closes the case." in refused.content.decode()
    assert Case.objects.get(pk=case["id"]).status == "open"


def _case_page_queries(client, case_id) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/app/cases/{case_id}/").status_code == 200
    return len(queries)


def _with_referrals_and_consents(flow, orgs, count: int) -> str:
    case = flow.open_case()["id"]
    for _ in range(count):
        consent = flow.consent(case, recipients=[str(orgs["shelter-be"].pk), str(orgs["care-nl"].pk)])
        referral = flow.draft(case, consent=consent["id"])
        assert flow.act(referral["id"], "send", "caseworker").status_code == 200
    return case


def test_the_case_page_costs_as_many_queries_for_five_referrals_and_consents_as_for_one(flow, orgs, hotline):
    one = _case_page_queries(hotline, _with_referrals_and_consents(flow, orgs, 1))
    five = _case_page_queries(hotline, _with_referrals_and_consents(flow, orgs, 5))
    assert five == one <= 17  # 16, and one for the matches of the case ("Known elsewhere")


# --- changing, closing and reopening ------------------------------------------------------------------


def test_the_lead_changes_the_case_and_the_young_persons_details(flow, hotline):
    case = flow.open_case()
    form = hotline.get(f"/app/cases/{case['id']}/edit/")
    assert form.status_code == 200 and 'value="Zorita"' in form.content.decode()

    response = hotline.post(
        f"/app/cases/{case['id']}/edit/",
        CASE_FORM | {"subject_given_name": "Zorita", "subject_municipality": "", "phenomena": ["sextortion"],
                     "version": 1},
    )

    assert response.status_code == 302
    saved = Case.objects.get(pk=case["id"])
    assert saved.phenomena == ["sextortion"] and saved.version == 2
    assert Subject.objects.get(case=saved).municipality == ""
    entry = AuditEntry.objects.filter(action="case.update", case=case["id"]).get()
    assert entry.detail == {"subject_changed": True}


def test_a_change_against_an_old_version_says_it_changed_meanwhile_and_changes_nothing(flow, hotline):
    case = flow.open_case()
    response = hotline.post(f"/app/cases/{case['id']}/edit/", CASE_FORM | {"version": 7})
    assert response.status_code == 422
    assert "Someone changed this meanwhile." in response.content.decode()
    assert Case.objects.get(pk=case["id"]).phenomena == ["teen_pimp"]


def test_closing_asks_for_confirmation_and_an_outcome_then_reopening_brings_it_back(flow, hotline):
    case = flow.open_case()
    url = f"/app/cases/{case['id']}/"

    confirm = hotline.get(url + "close/")
    assert confirm.status_code == 200 and "Closing withdraws the case's open referrals" in confirm.content.decode()
    assert Case.objects.get(pk=case["id"]).status == "open"  # asking changes nothing

    without_outcome = hotline.post(url + "close/", {"version": 1})
    assert without_outcome.status_code == 422
    assert errors_beside(without_outcome.content.decode(), "id_outcome") == ["This field is required."]

    closed = hotline.post(url + "close/", {"outcome": "safe_and_supported", "version": 1})
    assert closed.status_code == 302 and closed["Location"] == url
    saved = Case.objects.get(pk=case["id"])
    assert (saved.status, saved.outcome) == ("closed", "safe_and_supported")
    page = hotline.get(url).content.decode()
    assert "Safe and supported" in page and "Reopen the case" in page and "Close the case" not in page

    assert "The case becomes open again" in hotline.get(url + "reopen/").content.decode()
    reopened = hotline.post(url + "reopen/", {"version": saved.version})
    assert reopened.status_code == 302
    assert Case.objects.get(pk=case["id"]).status == "open"


def test_closing_a_closed_case_again_is_refused_on_the_form(flow, hotline):
    case = flow.open_case()
    hotline.post(f"/app/cases/{case['id']}/close/", {"outcome": "other", "version": 1})
    again = hotline.post(f"/app/cases/{case['id']}/close/", {"outcome": "moved_away", "version": 2})
    assert again.status_code == 422 and "The case is already closed." in again.content.decode()
    assert Case.objects.get(pk=case["id"]).outcome == "other"


def test_reopening_with_a_stale_version_changes_nothing(flow, hotline):
    case = flow.open_case()
    hotline.post(f"/app/cases/{case['id']}/close/", {"outcome": "other", "version": 1})
    stale = hotline.post(f"/app/cases/{case['id']}/reopen/", {"version": 1})
    assert stale.status_code == 422 and "Someone changed this meanwhile." in stale.content.decode()
    assert Case.objects.get(pk=case["id"]).status == "closed"


# --- consents ---------------------------------------------------------------------------------------------


def test_recording_a_consent_for_named_recipients(flow, orgs, hotline):
    case = flow.open_case()
    form = hotline.get(f"/app/cases/{case['id']}/consents/new/").content.decode()
    assert "Test shelter-be" in form and "Test coordination" not in form

    response = hotline.post(f"/app/cases/{case['id']}/consents/new/", {
        "given_by": "guardian", "method": "written", "purposes": ["care_referral", "information_sharing"],
        "recipients": [str(orgs["shelter-be"].pk)], "valid_until": "2099-12-31",
    })

    assert response.status_code == 302
    consent = Consent.objects.get(case_id=case["id"])
    assert consent.recipients == [str(orgs["shelter-be"].pk)] and consent.given_by == "guardian"
    page = hotline.get(f"/app/cases/{case['id']}/").content.decode()
    assert "Test shelter-be" in page and "In force" in page


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"recipients": [str(uuid.uuid4())]}, "id_recipients", "Unknown organisation."),
        ({"purposes": []}, "id_purposes", "This field is required."),
        ({"purposes": ["marketing"]}, "id_purposes", "Not one of the allowed values."),
        ({"valid_from": "2030-01-10", "valid_until": "2030-01-01"}, "id_valid_until", "Must not be before valid_from."),
    ],
    ids=["unknown-recipient", "no-purpose", "unknown-purpose", "ends-before-it-starts"],
)
def test_bad_input_on_the_consent_form_stands_beside_its_field_and_records_nothing(flow, hotline, change, field,
                                                                                    message):
    case = flow.open_case()
    body = {"given_by": "young_person", "method": "verbal", "purposes": ["care_referral"]} | change
    response = hotline.post(f"/app/cases/{case['id']}/consents/new/", body)
    assert response.status_code == 422
    assert errors_beside(response.content.decode(), field) == [message]
    assert not Consent.objects.exists()


def test_withdrawing_a_consent_asks_first_then_withdraws_it(flow, hotline):
    case = flow.open_case()
    consent = flow.consent(case["id"])
    url = f"/app/cases/{case['id']}/consents/{consent['id']}/withdraw/"
    assert url in hotline.get(f"/app/cases/{case['id']}/").content.decode()

    confirm = hotline.get(url)
    assert confirm.status_code == 200 and "This cannot be undone" in confirm.content.decode()
    assert Consent.objects.get(pk=consent["id"]).withdrawn_at is None

    assert hotline.post(url).status_code == 302
    assert Consent.objects.get(pk=consent["id"]).withdrawn_at is not None
    assert "Withdrawn" in hotline.get(f"/app/cases/{case['id']}/").content.decode()
    again = hotline.post(url)
    assert again.status_code == 422 and "This consent is already withdrawn." in again.content.decode()


def test_a_former_lead_cannot_record_a_consent(flow, hotline):
    case = transferred_to_shelter(flow)
    response = hotline.post(f"/app/cases/{case['id']}/consents/new/", {
        "given_by": "young_person", "method": "verbal", "purposes": ["care_referral"],
    })
    assert response.status_code == 422
    assert "Your organisation is not involved in this case." in response.content.decode()
    assert Consent.objects.filter(case_id=case["id"]).count() == 1
