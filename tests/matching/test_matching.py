"""Matches: made only where both members have a legal basis, once per pair, never inside one member,
keyed again after a rotation, and gone with the identity (issue #17 items 1 to 4 and 6).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command

from coalition.audit.models import AuditEntry
from coalition.events.models import Event
from referrals.match_keys import key_id
from referrals.matches import stale_key_count
from referrals.models import Case, Match, MatchKey, Subject
from referrals.retention import purge_expired
from tests.support.flows import CHILD
from tests.support.matching import INFORMATION_SHARING, SAME_CHILD_ELSEWHERE

CARE = "outsider_caseworker"


def care_case(flow, subject=SAME_CHILD_ELSEWHERE, consent=INFORMATION_SHARING):
    case = flow.open_case(CARE, subject=subject, region="NL-NH")
    if consent is not None:
        flow.consent(case["id"], CARE, **consent)
    return case


def hotline_case(flow, consent=INFORMATION_SHARING, **extra):
    case = flow.open_case(**extra)
    if consent is not None:
        flow.consent(case["id"], **consent)
    return case


def test_a_subject_gets_its_keys_when_created_and_new_ones_when_changed(matching, flow):
    case = hotline_case(flow, consent=None)
    first = dict(MatchKey.objects.filter(case=case["id"]).values_list("kind", "digest"))
    assert set(first) == {"name_and_birth_date", "given_name_and_birth_year"}
    assert Subject.objects.get(case=case["id"]).match_keyed_with == key_id()
    changed = flow.p["caseworker"].client.patch(
        f"/api/v1/cases/{case['id']}/", {"subject": {"date_of_birth": "2011-01-02"}}, format="json",
        HTTP_IF_MATCH=f'"{case["version"]}"',
    )
    assert changed.status_code == 200, changed.json()
    second = dict(MatchKey.objects.filter(case=case["id"]).values_list("kind", "digest"))
    assert second["name_and_birth_date"] != first["name_and_birth_date"]
    assert second["given_name_and_birth_year"] != first["given_name_and_birth_year"]  # the year changed too
    actions = list(AuditEntry.objects.filter(case=case["id"], action__startswith="match.").values_list("action", flat=True))
    assert actions.count("match.keys_compute") == 2 and actions.count("match.lookup") == 1  # no lookup at opening


def test_keys_and_matching_are_off_unless_enabled(flow):
    hotline_case(flow)
    care_case(flow)
    assert not MatchKey.objects.exists() and not Match.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="match.").exists()


def test_several_shared_keys_make_one_match(matching, flow):
    hotline_case(flow)
    care_case(flow, subject=CHILD)  # spelt the same: both keys shared
    [match] = Match.objects.all()
    assert match.key_kinds == ["given_name_and_birth_year", "name_and_birth_date"]
    assert Event.objects.filter(type="match.found").count() == 2


def test_a_members_own_cases_never_match_each_other(matching, flow):
    hotline_case(flow)
    hotline_case(flow)
    assert not Match.objects.exists()


@pytest.mark.parametrize("consent", [
    None,
    {"purposes": ["care_referral"]},  # consent to refer for care is not consent to share information
    {"purposes": ["information_sharing"], "valid_from": "2020-01-01", "valid_until": "2020-12-31"},  # expired
], ids=["no-consent", "care-only", "expired"])
def test_no_match_without_a_legal_basis_on_either_side(matching, flow, consent):
    hotline_case(flow, consent=consent)
    care_case(flow)
    assert not Match.objects.exists()
    [lookup] = AuditEntry.objects.filter(action="match.lookup").order_by("-seq")[:1]
    assert lookup.detail == {"keys": 2, "matches": 0}


def test_a_consent_naming_other_recipients_does_not_cover_the_match(matching, flow, orgs):
    hotline_case(flow, consent=INFORMATION_SHARING | {"recipients": [str(orgs["shelter-be"].id)]})
    care_case(flow)
    assert not Match.objects.exists()


def test_the_match_is_made_when_the_missing_consent_is_recorded(matching, flow):
    case = hotline_case(flow, consent=None)
    care_case(flow)
    assert not Match.objects.exists()
    flow.consent(case["id"], **INFORMATION_SHARING)
    assert Match.objects.count() == 1


def test_a_legal_basis_exception_is_a_basis_for_the_match(matching, flow):
    case = hotline_case(flow, consent=None)
    body = flow.referral_body(case["id"], urgency="immediate", legal_basis={
        "basis": "vital_interest", "justification": "Imminent danger tonight: she was taken from school."})
    draft = flow.p["caseworker"].client.post("/api/v1/referrals/", body, format="json")
    assert flow.act(draft.json()["id"], "send", "caseworker").status_code == 200
    care_case(flow)
    assert Match.objects.count() == 1


def test_a_withdrawn_consent_no_longer_covers_a_new_match(matching, flow):
    case = hotline_case(flow, consent=None)
    consent = flow.consent(case["id"], **INFORMATION_SHARING)
    withdrawn = flow.p["caseworker"].client.post(f"/api/v1/cases/{case['id']}/consents/{consent['id']}/withdraw/", {}, format="json")
    assert withdrawn.status_code == 200, withdrawn.json()
    care_case(flow)
    assert not Match.objects.exists()


def test_a_closed_case_is_not_matched(matching, flow):
    case = hotline_case(flow)
    closed = flow.p["caseworker"].client.post(f"/api/v1/cases/{case['id']}/close/", {"outcome": "moved_away"},
                                              format="json")
    assert closed.status_code == 200, closed.json()
    care_case(flow)
    assert not Match.objects.exists()


def test_the_other_member_learns_no_identity(known_twice, flow, orgs):
    hotline, care = known_twice
    match = Match.objects.get()
    # care-nl reads nothing of hotline-be's case ...
    assert flow.p[CARE].client.get(f"/api/v1/cases/{hotline['id']}/").status_code == 404
    # ... and its events say only that there is a match, on its own case.
    [event] = [e for e in Event.objects.filter(type="match.found") if e.organisations == [str(orgs["care-nl"].id)]]
    assert str(event.case) == care["id"] and event.referral is None
    assert event.data == {"match": str(match.pk)}
    text = json.dumps([e.data for e in Event.objects.all()]) + json.dumps(
        [e.detail for e in AuditEntry.objects.filter(action__startswith="match.")])
    for value in (*CHILD.values(), *SAME_CHILD_ELSEWHERE.values()):
        assert value not in text
    # A raw read of the keys yields no name or date.
    for digest in MatchKey.objects.values_list("digest", flat=True):
        assert "zorita" not in digest.lower() and "2010" not in digest


def test_every_match_is_audited_for_both_cases(known_twice):
    hotline, care = known_twice
    match = Match.objects.get()
    created = AuditEntry.objects.filter(action="match.create", object_id=str(match.pk))
    assert sorted(str(entry.case) for entry in created) == sorted([hotline["id"], care["id"]])


def test_match_rekey_keys_existing_subjects_in_resumable_batches_and_finds_their_match(settings, flow):
    hotline_case(flow)
    care_case(flow)
    hotline_case(flow, consent=None, subject=CHILD | {"given_name": "Other", "family_name": "Girl"})
    assert not MatchKey.objects.exists()  # matching was off
    settings.MATCH_ENABLED = True
    assert stale_key_count() == 3
    call_command("match_rekey", batch_size=1, max_batches=1, stdout=open("/dev/null", "w"))
    assert stale_key_count() == 2  # stopped after one batch: run again to go on
    call_command("match_rekey", batch_size=1, stdout=open("/dev/null", "w"))
    assert stale_key_count() == 0
    assert Match.objects.count() == 1
    assert set(MatchKey.objects.values_list("key_id", flat=True)) == {key_id()}


def test_after_a_rotation_keys_are_recomputed_and_matches_still_found(matching, flow):
    hotline_case(flow)
    old = set(MatchKey.objects.values_list("digest", flat=True))
    matching.MATCH_KEY = "a-rotated-match-key-" + "r0t4t3d-" * 4
    assert stale_key_count() == 1
    # Until rekeyed, keys under the old secret are compared with nothing.
    care_case(flow)
    assert not Match.objects.exists()
    call_command("match_rekey", stdout=open("/dev/null", "w"))
    assert not old & set(MatchKey.objects.values_list("digest", flat=True))
    assert Match.objects.count() == 1


def test_erasure_deletes_the_keys(known_twice, flow, personas):
    hotline, _care = known_twice
    closed = flow.p["caseworker"].client.post(f"/api/v1/cases/{hotline['id']}/close/", {"outcome": "moved_away"},
                                              format="json")
    assert closed.status_code == 200
    erased = personas["auditor"].client.post(f"/api/v1/audit/subjects/{hotline['id']}/erase/", format="json")
    assert erased.status_code == 200, erased.json()
    assert not MatchKey.objects.filter(case=hotline["id"]).exists()
    assert MatchKey.objects.exclude(case=hotline["id"]).exists()  # the other member's keys are its own


def test_match_rekey_refuses_while_matching_is_off():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="MATCH_ENABLED"):
        call_command("match_rekey")


def test_the_retention_purge_deletes_the_keys(matching, flow):
    case = hotline_case(flow)
    closed = flow.p["caseworker"].client.post(f"/api/v1/cases/{case['id']}/close/", {"outcome": "moved_away"},
                                              format="json")
    assert closed.status_code == 200 and MatchKey.objects.filter(case=case["id"]).exists()
    later = Case.objects.get(pk=case["id"]).closed_at + timedelta(days=settings.RETENTION_DAYS + 1)
    assert purge_expired(now=later) == 1
    assert not MatchKey.objects.filter(case=case["id"]).exists()
