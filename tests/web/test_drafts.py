"""Drafts of forms survive a session timeout (issue #14, item 4), for their author alone.

The page saves what is typed (app.js posts it to /app/drafts/<key>/); the form offers it back
after sign-in; a successful submit deletes it, and so does the purge a day after its last change.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from coalition.audit.models import AuditEntry
from coalition.events import jobs
from partners.choices import Role
from referrals import retention
from referrals.models import Case
from tests.support.personas import make_user
from tests.support.web import web_client_for
from web import drafts
from web.models import FormDraft

TYPED = {
    "subject_given_name": "Liora",
    "subject_safe_contact": "Only through the school counsellor",
    "phenomena": ["teen_pimp", "grooming"],
    "region": "BE-VLG",
}
SAVE = "/app/drafts/case-open/"


@pytest.fixture
def author(personas):
    return personas["caseworker"].user


@pytest.fixture
def colleague(orgs):
    """Another caseworker of the same organisation: a draft is its author's, not the organisation's."""
    return make_user("hotline-be-colleague", orgs["hotline-be"], [Role.CASEWORKER])


def test_the_page_saves_what_was_typed_for_its_author(author):
    client = web_client_for(author)
    response = client.post(SAVE, TYPED | {"csrfmiddlewaretoken": "x"})

    assert response.status_code == 204
    draft = drafts.draft_for(author, "case-open")
    assert draft.data == {
        "subject_given_name": ["Liora"], "subject_safe_contact": ["Only through the school counsellor"],
        "phenomena": ["teen_pimp", "grooming"], "region": ["BE-VLG"],
    }


def test_a_draft_is_encrypted_at_rest(author):
    drafts.save_draft(author, "case-open", {"subject_given_name": ["Liora"]})
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM web_formdraft")
        [(stored,)] = cursor.fetchall()
    assert "Liora" not in stored and stored.startswith("enc1:")


def test_the_form_offers_the_draft_back_and_restores_it(author):
    client = web_client_for(author)
    client.post(SAVE, TYPED)

    offer = client.get("/app/cases/new/").content.decode()
    assert "Restore what you typed on" in offer and "Liora" not in offer  # offered, not shown yet

    restored = client.post("/app/cases/new/", {"draft": "restore"})
    page = restored.content.decode()
    assert restored.status_code == 200 and not Case.objects.exists()
    assert 'value="Liora"' in page and "Only through the school counsellor</textarea>" in page
    assert sorted(re.findall(r'name="phenomena" value="([a-z_]+)"[^>]* checked', page)) == ["grooming", "teen_pimp"]
    assert "data-draft-unsaved" in page  # the page saves it again at once: it was taken


def test_a_draft_is_seen_by_its_author_only(author, colleague):
    web_client_for(author).post(SAVE, TYPED)
    other = web_client_for(colleague)

    assert "Restore what you typed" not in other.get("/app/cases/new/").content.decode()
    restored = other.post("/app/cases/new/", {"draft": "restore"}).content.decode()
    assert "Liora" not in restored
    other.post("/app/drafts/case-open/discard/")
    assert drafts.draft_for(author, "case-open") is not None  # the colleague discarded only their own (none)
    other.post(SAVE, {"subject_given_name": "Mirabel"})
    assert drafts.draft_for(author, "case-open").data["subject_given_name"] == ["Liora"]
    assert drafts.draft_for(colleague, "case-open").data["subject_given_name"] == ["Mirabel"]


def test_opening_the_case_deletes_its_draft(author):
    client = web_client_for(author)
    client.post(SAVE, TYPED)
    response = client.post("/app/cases/new/", TYPED)
    assert response.status_code == 302
    assert not FormDraft.objects.exists()


def test_a_refused_case_form_keeps_the_draft(author):
    client = web_client_for(author)
    client.post(SAVE, TYPED)
    assert client.post("/app/cases/new/", TYPED | {"region": "Flanders"}).status_code == 422
    assert FormDraft.objects.count() == 1


def test_discarding_a_draft_deletes_it_and_goes_back_to_the_form(author):
    client = web_client_for(author)
    client.post(SAVE, TYPED)
    response = client.post("/app/drafts/case-open/discard/", {"next": "/app/cases/new/"})
    assert response.status_code == 302 and response["Location"] == "/app/cases/new/"
    assert not FormDraft.objects.exists()


def test_discarding_never_sends_the_person_to_another_site(author):
    response = web_client_for(author).post("/app/drafts/case-open/discard/", {"next": "https://example.com/"})
    assert response["Location"] == "/app/"


def test_saving_again_replaces_the_draft_and_only_a_change_is_audited(author):
    client = web_client_for(author)
    client.post(SAVE, TYPED)
    client.post(SAVE, TYPED)
    client.post(SAVE, TYPED | {"region": "BE-BRU"})

    assert FormDraft.objects.count() == 1
    assert drafts.draft_for(author, "case-open").data["region"] == ["BE-BRU"]
    entries = AuditEntry.objects.filter(action="draft.save")
    assert entries.count() == 2
    assert all("Liora" not in str(entry.detail) for entry in entries)
    assert {entry.detail["form"] for entry in entries} == {"case-open"}


def test_a_draft_of_a_form_about_a_case_is_kept_under_its_own_key(flow, author):
    """The key's id comes from a URL, unchecked: the audit trail names the form only, never that id as a case."""
    case = flow.open_case()
    drafts.save_draft(author, f"referral-new:{case['id']}", {"reason": ["Needs a bed"]})
    assert drafts.draft_for(author, "case-open") is None
    assert drafts.draft_for(author, f"referral-new:{case['id']}").data == {"reason": ["Needs a bed"]}
    entry = AuditEntry.objects.get(action="draft.save")
    assert entry.case is None and entry.detail == {"form": "referral-new"}


@pytest.mark.parametrize("key", ["Case-Open", "case-open:not-an-id", "a" * 41, "case open"])
def test_a_key_that_names_no_form_is_a_404_and_saves_nothing(author, key):
    response = web_client_for(author).post(f"/app/drafts/{key}/", TYPED)
    assert response.status_code == 404
    assert not FormDraft.objects.exists()


def test_a_draft_larger_than_a_form_is_refused(author):
    response = web_client_for(author).post(SAVE, {"subject_safe_contact": "x" * (drafts.MAX_DRAFT_CHARS + 1)})
    assert response.status_code == 413
    assert not FormDraft.objects.exists()


def test_drafts_are_saved_by_post_only_and_for_someone_signed_in(client, author):
    assert web_client_for(author).get(SAVE).status_code == 405
    response = client.post(SAVE, TYPED)
    assert response.status_code == 302 and response["Location"].startswith("/app/sign-in/")
    assert not FormDraft.objects.exists()


def test_the_purge_deletes_drafts_a_day_after_their_last_change(author, colleague):
    drafts.save_draft(author, "case-open", {"region": ["BE-VLG"]})
    drafts.save_draft(colleague, "case-open", {"region": ["BE-BRU"]})
    FormDraft.objects.filter(owner=author).update(updated_at=timezone.now() - timedelta(days=1, minutes=1))

    assert drafts.purge_drafts() == 1

    assert drafts.draft_for(author, "case-open") is None
    assert drafts.draft_for(colleague, "case-open") is not None
    assert AuditEntry.objects.get(action="draft.purge").detail == {"drafts": 1}


def test_the_worker_runs_the_purge_of_drafts():
    registered = {job.name: job for job in jobs.JOBS}
    assert registered["purge_form_drafts"].run is drafts.purge_drafts
    assert registered["purge_form_drafts"].every() <= drafts.DRAFT_LIFETIME


def test_taking_a_draft_removes_it(author):
    drafts.save_draft(author, "case-open", {"region": ["BE-VLG"]})
    assert drafts.take_draft(author, "case-open").data == {"region": ["BE-VLG"]}
    assert drafts.take_draft(author, "case-open") is None


def test_a_draft_restores_only_fields_the_form_has():
    from web.case_forms import CaseOpenForm

    draft = drafts.Draft(key="case-open", data={"phenomena": ["grooming"], "region": ["BE-VLG"], "lead": ["x"]},
                         saved_at=timezone.now())
    assert drafts.initial_from(CaseOpenForm, draft) == {"phenomena": ["grooming"], "region": "BE-VLG"}


def test_erasing_a_case_deletes_every_draft_about_it_and_only_those(flow, author, colleague, personas):
    case = flow.open_case()
    other = flow.open_case()
    drafts.save_draft(author, f"referral-new:{case['id']}", {"reason": ["Needs a bed"]})
    drafts.save_draft(colleague, f"referral-new:{case['id']}", {"reason": ["Needs a bed too"]})
    drafts.save_draft(author, f"referral-new:{other['id']}", {"reason": ["Another case"]})
    drafts.save_draft(author, "case-open", {"region": ["BE-VLG"]})
    retention.erase_personal_data(Case.objects.get(pk=case["id"]), timezone.now())
    assert sorted(FormDraft.objects.values_list("key", flat=True)) == ["case-open", f"referral-new:{other['id']}"]
