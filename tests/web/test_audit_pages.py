"""The auditor's pages (issue #15, item 5): the trail and its verification, a case's retention, legal holds,
the subject's export and erasure.

They read and write through what the auditor's API uses, and are audited as it is: a search
shows the entries the API's filters give and leaves the same ``audit.search`` entry, the
verification the same verdict and ``audit.verify`` entry, the export the API's JSON (as a
download) and its ``subject.export`` entry; a refused hold, release or erasure is the
service's error on its form (422), nothing changed. Only the auditor opens them.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coalition.audit.models import AuditEntry
from referrals.models import Case, Subject
from tests.support.audit_chain import tamper
from tests.support.case_history import case_with_history, holds_no_personal_data
from tests.support.flows import CHILD
from tests.support.web import web_client_for
from web.views import audit as audit_views

TRAIL = "/app/audit/"
VERIFY = "/app/audit/verify/"
API_ENTRIES = "/api/v1/audit/entries/"


@pytest.fixture
def auditor(personas):
    return web_client_for(personas["auditor"].user)


def case_pages(case_id) -> dict[str, str]:
    base = f"/app/audit/cases/{case_id}/"
    return {"case": base, "hold": base + "hold/", "release": base + "release/", "export": base + "export/",
            "erase": base + "erase/"}


def errors_beside(content: str, field_id: str) -> list[str]:
    """The messages of the error list tied to the input ``field_id`` (``<ul id="<field_id>_error">``)."""
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', content, re.S)
    return [unescape(m) for m in re.findall(r"<li>(.*?)</li>", match.group(1))] if match else []


ROW = re.compile(r'<th scope="row">(\d+)</th>\s*<td><time[^>]*>[^<]*</time></td>\s*<td><code>([^<]+)</code>')


def shown_entries(content: str) -> list[tuple[int, str]]:
    """(seq, action) of each row of the trail's table, in the page's order."""
    return [(int(seq), action) for seq, action in ROW.findall(content)]


def latest_entry() -> AuditEntry:
    return AuditEntry.objects.order_by("-seq").first()


def reference(case_id) -> str:
    return str(case_id)[:8]


# --- the trail ---------------------------------------------------------------------------------------------


def _search_params(history, personas, orgs) -> list[dict[str, str]]:
    return [
        {},
        {"action": "referral.send"},
        {"action_prefix": "referral."},
        {"object_type": "consent"},
        {"object_type": "referral", "object_id": history.accepted_referral},
        {"case": history.case_id},
        {"case": history.case_id, "action": "subject.read"},
        {"actor_user": str(personas["recipient_caseworker"].user.pk)},
        {"organisation": str(orgs["care-nl"].pk)},
        {"at_after": (timezone.now() + timedelta(minutes=1)).isoformat()},
        {"at_before": (timezone.now() + timedelta(minutes=1)).isoformat(), "action": "case.open"},
    ]


def test_the_trail_shows_the_entries_the_apis_filters_give_newest_first(flow, personas, orgs, auditor):
    history = case_with_history(flow)
    for params in _search_params(history, personas, orgs):
        api = personas["auditor"].client.get(API_ENTRIES, params | {"page_size": 50})
        assert api.status_code == 200, params
        expected = [(e["seq"], e["action"]) for e in api.json()["results"] if e["action"] != "audit.search"]

        page = auditor.get(TRAIL, params)

        assert page.status_code == 200, params
        shown = [row for row in shown_entries(page.content.decode()) if row[1] != "audit.search"]
        assert shown == expected, params
        assert [seq for seq, _action in shown] == sorted((seq for seq, _action in shown), reverse=True)


def test_a_time_picked_in_the_form_is_read_in_the_coalitions_time_zone(flow, auditor):
    flow.open_case()
    zone = ZoneInfo(settings.COALITION_TIME_ZONE)
    picked = {  # what the browser's date and time picker sends: no zone
        name: (timezone.now() + shift).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
        for name, shift in (("earlier", timedelta(minutes=-30)), ("later", timedelta(minutes=30)))
    }

    def actions(params) -> set[str]:
        return {action for _seq, action in shown_entries(auditor.get(TRAIL, params).content.decode())}

    assert "case.open" in actions({"at_after": picked["earlier"], "at_before": picked["later"]})
    assert "case.open" not in actions({"at_after": picked["later"]})
    assert "case.open" not in actions({"at_before": picked["earlier"]})


def test_each_search_is_an_audit_search_entry_as_the_api_writes_it(flow, personas, auditor):
    history = case_with_history(flow)
    params = {"case": history.case_id, "action": "subject.read"}
    personas["auditor"].client.get(API_ENTRIES, params)
    by_the_api = latest_entry()

    page = auditor.get(TRAIL, params | {"object_type": ""})  # an empty field of the form is no filter

    by_the_page = latest_entry()
    assert by_the_page.action == by_the_api.action == "audit.search"
    assert by_the_page.actor_user == personas["auditor"].user.pk
    assert by_the_page.case == by_the_api.case == uuid.UUID(history.case_id)
    assert by_the_page.detail == by_the_api.detail == {
        "filters": ["action", "case"], "results": len(shown_entries(page.content.decode()))
    }


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"case": "not-a-uuid"}, "id_case", "Enter a valid UUID."),
        ({"actor_user": "Zorita"}, "id_actor_user", "Enter a valid UUID."),
        ({"at_after": "yesterday"}, "id_at_after", "Enter a valid date/time."),
        ({"at_before": "0001-01-01T00:00:00+01:00"}, "id_at_before", "Enter a valid date/time."),
        ({"action": "x" * 61}, "id_action", "Ensure this value has at most 60 characters (it has 61)."),
    ],
    ids=["case", "actor", "after", "before-year-one", "action-too-long"],
)
def test_bad_filters_stand_beside_their_field_and_search_nothing(flow, auditor, params, field, message):
    flow.open_case()
    before = AuditEntry.objects.count()

    response = auditor.get(TRAIL, params)

    assert response.status_code == 200  # as the case list's search
    content = response.content.decode()
    assert errors_beside(content, field) == [message]
    assert personas_api_refuses(params)
    assert not shown_entries(content) and "Correct the search to see entries." in content
    assert AuditEntry.objects.count() == before  # no search, so no audit.search entry


def personas_api_refuses(params) -> bool:
    """The API refuses the same filters (tests/audit/test_api.py proves it for its own)."""
    from coalition.audit.filters import AuditEntryFilter

    return not AuditEntryFilter(params, queryset=AuditEntry.objects.none()).is_valid()


def test_the_trail_is_paged_newest_first_without_gaps_or_repeats(flow, auditor, monkeypatch):
    monkeypatch.setattr(audit_views, "PAGE_SIZE", 3)
    for _case in range(4):
        flow.sent_referral()
    params = {"action_prefix": "c"}  # case.* and consent.*: the page's own audit.search entries stay out
    expected = list(AuditEntry.objects.filter(action__startswith="c").order_by("-seq").values_list("seq", flat=True))
    assert len(expected) == 8  # pages of 3, 3 and 2

    first = auditor.get(TRAIL, params).content.decode()
    seqs, content = [seq for seq, _a in shown_entries(first)], first
    pages = [seqs]
    while 'rel="next"' in content:
        older = unescape(re.search(r'<a href="([^"]+)" rel="next">', content).group(1))
        content = auditor.get(TRAIL + older).content.decode()
        pages.append([seq for seq, _a in shown_entries(content)])
    assert [seq for page in pages for seq in page] == expected
    assert all(len(page) <= 3 for page in pages)

    newer = unescape(re.search(r'<a href="([^"]+)" rel="prev">', content).group(1))
    assert [seq for seq, _a in shown_entries(auditor.get(TRAIL + newer).content.decode())] == pages[-2]
    assert 'rel="prev"' not in first


def test_the_trail_costs_the_same_queries_however_many_entries_it_shows(flow, auditor):
    flow.sent_referral()

    def queries_of_a_page() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert auditor.get(TRAIL).status_code == 200
        return len(queries)

    few = queries_of_a_page()
    case_with_history(flow)
    flow.sent_referral(recipient="care-nl")
    assert len(shown_entries(auditor.get(TRAIL).content.decode())) > 20
    assert queries_of_a_page() == few


def test_a_page_position_that_is_none_is_an_error_not_a_page(auditor):
    response = auditor.get(TRAIL, {"before": "x"})
    assert response.status_code == 200
    assert "This page of the trail does not exist." in response.content.decode()


def test_the_trail_holds_ids_and_codes_and_links_each_case_to_its_retention_page(flow, personas, auditor):
    history = case_with_history(flow)
    personas["recipient_caseworker"].client.get(f"/api/v1/cases/{history.case_id}/")

    content = auditor.get(TRAIL, {"case": history.case_id}).content.decode()

    assert holds_no_personal_data(content)
    assert f'href="/app/audit/cases/{history.case_id}/"' in content  # the search's case, and each entry's
    assert f"Retention and rights of case {reference(history.case_id)}" in content
    assert reference(personas["recipient_caseworker"].user.pk) in content  # actors as ids only
    assert personas["recipient_caseworker"].user.username not in content


# --- verifying the chain --------------------------------------------------------------------------------


def test_the_verify_page_explains_and_verifies_only_when_asked(flow, auditor):
    flow.sent_referral()

    response = auditor.get(VERIFY)

    assert response.status_code == 200 and "recomputes the hash of every entry" in response.content.decode()
    assert not AuditEntry.objects.filter(action="audit.verify").exists()


def test_verifying_an_intact_chain_shows_it_unbroken_up_to_the_last_entry_and_is_audited(flow, personas, auditor):
    flow.sent_referral()
    count = AuditEntry.objects.count()

    response = auditor.post(VERIFY)

    assert response.status_code == 200
    content = response.content.decode()
    assert "The chain is whole" in content and f"Unbroken up to entry {count}" in content
    entry = latest_entry()
    assert entry.action == "audit.verify" and entry.actor_user == personas["auditor"].user.pk
    assert entry.detail == {"intact": True, "entries": count, "first_broken_seq": None}
    personas["auditor"].client.get("/api/v1/audit/verify/")
    assert latest_entry().detail == {"intact": True, "entries": count + 1, "first_broken_seq": None}  # the same entry


def test_verifying_a_tampered_chain_names_the_first_broken_entry_and_what_failed(flow, auditor):
    flow.sent_referral()
    tamper(2)

    response = auditor.post(VERIFY)

    assert response.status_code == 200
    content = unescape(response.content.decode())
    assert "The chain is broken" in content
    assert "Broken at entry 2: the entry's contents do not match its hash (the row was altered)." in content
    assert "1 entry before it checks out." in content
    assert latest_entry().detail == {"intact": False, "entries": 1, "first_broken_seq": 2}


# --- a case's retention and its legal hold ------------------------------------------------------------


def test_the_retention_page_shows_status_closure_purge_due_and_hold_without_identity(flow, auditor):
    history = case_with_history(flow)
    case = Case.objects.get(pk=history.case_id)

    response = auditor.get(case_pages(case.pk)["case"])

    assert response.status_code == 200
    content = unescape(response.content.decode())
    assert holds_no_personal_data(content)
    assert "Closed" in content and "Purge due" in content
    times = {datetime.fromisoformat(text) for text in re.findall(r'<time datetime="([^"]+)"', content)}
    assert case.closed_at + timedelta(days=settings.RETENTION_DAYS) in times
    assert "On legal hold" not in content
    for action in ("hold", "export", "erase"):
        assert f'href="{case_pages(case.pk)[action]}"' in content
    assert f'href="/app/audit/?case={case.pk}"' in content


def test_an_open_cases_purge_is_not_due(flow, auditor):
    case = flow.open_case()
    content = auditor.get(case_pages(case["id"])["case"]).content.decode()
    assert "Not while the case is open" in content


def test_a_legal_hold_needs_a_reason_then_holds_the_case_and_is_audited(flow, personas, auditor):
    history = case_with_history(flow)
    pages = case_pages(history.case_id)
    assert auditor.get(pages["hold"]).status_code == 200

    refused = auditor.post(pages["hold"], {})
    assert refused.status_code == 422
    assert errors_beside(refused.content.decode(), "id_reason") == ["This field is required."]
    assert not Case.objects.get(pk=history.case_id).legal_hold

    held = auditor.post(pages["hold"], {"reason": "litigation"})
    assert held.status_code == 302 and held["Location"] == pages["case"]
    case = Case.objects.get(pk=history.case_id)
    assert case.legal_hold and case.legal_hold_reason == "litigation"
    entry = latest_entry()
    assert entry.action == "case.legal_hold" and entry.actor_user == personas["auditor"].user.pk
    page = auditor.get(pages["case"]).content.decode()
    assert "The case is on legal hold." in page and "Court proceedings" in page
    assert "Not while the legal hold applies." in page and f'href="{pages["release"]}"' in page

    again = auditor.post(pages["hold"], {"reason": "other"})
    assert again.status_code == 422 and "The case is already on legal hold." in again.content.decode()


def test_releasing_a_hold_asks_first_then_releases_it_and_is_audited(flow, personas, auditor):
    history = case_with_history(flow)
    pages = case_pages(history.case_id)
    auditor.post(pages["hold"], {"reason": "criminal_investigation"})

    confirm = auditor.get(pages["release"])
    assert confirm.status_code == 200 and "the next purge removes" in confirm.content.decode()
    assert Case.objects.get(pk=history.case_id).legal_hold

    released = auditor.post(pages["release"])
    assert released.status_code == 302 and released["Location"] == pages["case"]
    assert not Case.objects.get(pk=history.case_id).legal_hold
    entry = latest_entry()
    assert entry.action == "case.legal_hold_release" and entry.detail == {"reason": "criminal_investigation"}

    again = auditor.post(pages["release"])
    assert again.status_code == 422 and "The case is not on legal hold." in again.content.decode()


# --- the young person's rights ---------------------------------------------------------------------------


def test_the_export_asks_first_saying_it_is_audited(flow, auditor):
    history = case_with_history(flow)
    response = auditor.get(case_pages(history.case_id)["export"])
    content = response.content.decode()
    assert response.status_code == 200 and "recorded in the audit trail" in content
    assert holds_no_personal_data(content)
    assert not AuditEntry.objects.filter(action="subject.export").exists()


def test_the_export_downloads_the_apis_json_and_is_audited(flow, personas, auditor):
    history = case_with_history(flow)

    response = auditor.post(case_pages(history.case_id)["export"])

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="subject-export-{reference(history.case_id)}.json"'
    assert response["Cache-Control"] == "no-store"
    downloaded = json.loads(response.content)
    assert downloaded["subject"]["given_name"] == CHILD["given_name"]
    entry = latest_entry()
    assert entry.action == "subject.export" and entry.actor_user == personas["auditor"].user.pk
    assert str(entry.case) == history.case_id
    assert downloaded["audit_entries"][-1]["seq"] == entry.seq  # the export lists itself

    by_the_api = personas["auditor"].client.get(f"/api/v1/audit/subjects/{history.case_id}/export/").json()
    # The same JSON but for its time and the API's own export entry, which came after.
    assert by_the_api["audit_entries"][:-1] == downloaded["audit_entries"]
    assert by_the_api["audit_entries"][-1]["action"] == "subject.export"
    for body in (by_the_api, downloaded):
        del body["exported_at"], body["audit_entries"]
    assert downloaded == by_the_api


def test_erasure_needs_the_case_reference_typed_then_erases_and_is_audited(flow, personas, auditor):
    history = case_with_history(flow)
    pages = case_pages(history.case_id)
    assert auditor.get(pages["erase"]).status_code == 200

    for typed in ("", "00000000"):
        refused = auditor.post(pages["erase"], {"reference": typed})
        assert refused.status_code == 422
        assert errors_beside(refused.content.decode(), "id_reference")
        assert Subject.objects.filter(case_id=history.case_id).exists()
    assert not AuditEntry.objects.filter(action="subject.erase").exists()

    erased = auditor.post(pages["erase"], {"reference": reference(history.case_id).upper()})

    assert erased.status_code == 302 and erased["Location"] == pages["case"]
    assert not Subject.objects.filter(case_id=history.case_id).exists()
    assert Case.objects.get(pk=history.case_id).purged_at is not None
    entry = latest_entry()
    assert entry.action == "subject.erase" and entry.actor_user == personas["auditor"].user.pk
    page = auditor.get(pages["case"]).content.decode()
    assert "identity and free text are erased" in page and "Erased" in page


def test_a_legal_hold_blocks_erasure_with_the_services_error(flow, auditor):
    history = case_with_history(flow)
    pages = case_pages(history.case_id)
    auditor.post(pages["hold"], {"reason": "litigation"})

    refused = auditor.post(pages["erase"], {"reference": reference(history.case_id)})

    assert refused.status_code == 422
    assert "The case is on legal hold: release the hold before erasing." in refused.content.decode()
    assert Subject.objects.filter(case_id=history.case_id).exists()
    assert not AuditEntry.objects.filter(action="subject.erase").exists()


def test_an_open_case_is_not_erased(flow, auditor):
    case = flow.open_case()
    refused = auditor.post(case_pages(case["id"])["erase"], {"reference": reference(case["id"])})
    assert refused.status_code == 422
    assert "The case is open: its lead organisation closes it before erasure." in refused.content.decode()
    assert Subject.objects.filter(case_id=case["id"]).exists()


# --- who may open them ------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["caseworker", "recipient_caseworker", "org_admin", "coordinator"])
def test_only_the_auditor_opens_the_auditors_pages(flow, personas, persona):
    history = case_with_history(flow)
    client = web_client_for(personas[persona].user)
    before = AuditEntry.objects.count()

    for path in (TRAIL, VERIFY, *case_pages(history.case_id).values()):
        assert client.get(path).status_code == 403, path
    for path in (VERIFY, *list(case_pages(history.case_id).values())[1:]):
        assert client.post(path, {"reason": "litigation", "reference": reference(history.case_id)}).status_code == 403
    assert AuditEntry.objects.count() == before
    assert Subject.objects.filter(case_id=history.case_id).exists()


def test_an_unknown_case_is_not_found(auditor):
    for path in case_pages(uuid.uuid4()).values():
        assert auditor.get(path).status_code == 404, path
        assert auditor.post(path, {"reason": "litigation"}).status_code in (404, 405), path


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get(TRAIL)
    assert response.status_code == 302 and response["Location"].startswith("/app/sign-in/")
