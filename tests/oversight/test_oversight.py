"""Coordinators' oversight: overdue referrals, handovers, bounced and unattended cases; metadata only."""

from datetime import timedelta

from django.utils import timezone

from partners.choices import MembershipStatus
from referrals.choices import CaseStatus, ReferralStatus
from referrals.models import Case, Referral
from tests.support.flows import CHILD

OVERDUE = "/api/v1/oversight/overdue/"


def _results(persona, url):
    response = persona.client.get(url)
    assert response.status_code == 200, response.content
    return response.json()["results"]


# --- overdue -----------------------------------------------------------------------------------


def test_a_referral_past_its_acknowledge_deadline_is_overdue_by_the_hours_since(personas, data):
    now = timezone.now()
    (late,) = data.referrals(1, sent_at=now - timedelta(hours=5), acknowledge_due=now - timedelta(hours=3), urgency="urgent")
    data.referrals(1, sent_at=now - timedelta(hours=1), acknowledge_due=now + timedelta(hours=3))  # in time
    (row,) = _results(personas["coordinator"], OVERDUE)
    assert row["id"] == str(late.id) and row["case"] == str(late.case_id)
    assert row["overdue_deadline"] == "acknowledge" and row["urgency"] == "urgent"
    assert 2.9 <= row["hours_overdue"] <= 3.1


def test_a_missed_decide_deadline_wins_over_the_acknowledge_one(personas, data):
    now = timezone.now()
    data.referrals(1, sent_at=now - timedelta(days=9), acknowledge_due=now - timedelta(days=7), decide_due=now - timedelta(days=1))
    data.referrals(1, status=ReferralStatus.ACKNOWLEDGED, acknowledge_due=now - timedelta(days=7), decide_due=now + timedelta(days=1))
    (row,) = _results(personas["coordinator"], OVERDUE)
    assert row["overdue_deadline"] == "decide"


def test_answered_and_ended_referrals_are_not_overdue(personas, data):
    past = timezone.now() - timedelta(days=3)
    data.referrals(1, status=ReferralStatus.ACKNOWLEDGED, acknowledge_due=past)  # acknowledged, decide in time
    for status in (ReferralStatus.ACCEPTED, ReferralStatus.DECLINED, ReferralStatus.WITHDRAWN, ReferralStatus.COMPLETED):
        data.referrals(1, status=status, acknowledge_due=past, decide_due=past)
    assert _results(personas["coordinator"], OVERDUE) == []


def test_overdue_counts_by_urgency_follow_the_filters(personas, data):
    past = timezone.now() - timedelta(hours=1)
    data.referrals(2, urgency="immediate", acknowledge_due=past)
    data.referrals(1, urgency="normal", acknowledge_due=past, decide_due=past, phenomenon="grooming")
    counts = personas["coordinator"].client.get(f"{OVERDUE}counts/").json()
    assert counts["total"] == 3
    assert counts["by_urgency"] == [
        {"urgency": "immediate", "acknowledge": 2, "decide": 0, "total": 2},
        {"urgency": "urgent", "acknowledge": 0, "decide": 0, "total": 0},
        {"urgency": "normal", "acknowledge": 0, "decide": 1, "total": 1},
    ]
    assert personas["coordinator"].client.get(f"{OVERDUE}counts/?phenomenon=grooming").json()["total"] == 1
    assert len(_results(personas["coordinator"], f"{OVERDUE}?urgency=immediate")) == 2
    assert len(_results(personas["coordinator"], f"{OVERDUE}?deadline=decide")) == 1


def test_the_overdue_list_pages_with_a_cursor_most_overdue_first(personas, data):
    now = timezone.now()
    for hours in (5, 1, 3):
        data.referrals(1, acknowledge_due=now - timedelta(hours=hours))
    client, seen, url = personas["coordinator"].client, [], f"{OVERDUE}?page_size=1"
    while url:
        page = client.get(url).json()
        seen += [round(row["hours_overdue"]) for row in page["results"]]
        url = page["next"]
    assert seen == [5, 3, 1]


def test_an_overdue_page_takes_a_fixed_number_of_queries(personas, data, django_assert_max_num_queries):
    data.referrals(20, acknowledge_due=timezone.now() - timedelta(hours=1))
    client = personas["coordinator"].client
    client.get(OVERDUE)
    with django_assert_max_num_queries(2):
        assert len(client.get(OVERDUE).json()["results"]) == 20


# --- handovers -----------------------------------------------------------------------------------


def test_an_accepted_transfer_is_a_handover_from_the_old_lead_to_the_new(personas, orgs, flow):
    case, referral = flow.sent_referral(kind="transfer")
    assert flow.act(referral["id"], "accept", "recipient_caseworker").status_code == 200
    flow.sent_referral()  # a service referral moves no lead
    (row,) = _results(personas["coordinator"], "/api/v1/oversight/handovers/")
    assert row == {
        "case": case["id"],
        "from_organisation": str(orgs["hotline-be"].id),
        "to_organisation": str(orgs["shelter-be"].id),
        "referral": referral["id"],
        "at": row["at"],
    }
    today = timezone.localdate()
    period = f"from={today - timedelta(days=1)}&to={today}"
    assert len(_results(personas["coordinator"], f"/api/v1/oversight/handovers/?{period}")) == 1
    assert _results(personas["coordinator"], f"/api/v1/oversight/handovers/?from={today + timedelta(days=1)}") == []
    assert _results(personas["coordinator"], f"/api/v1/oversight/handovers/?to={today - timedelta(days=1)}") == []
    assert len(_results(personas["coordinator"], "/api/v1/oversight/handovers/?to=9999-12-31")) == 1


# --- bounced -------------------------------------------------------------------------------------


def test_a_case_declined_twice_has_bounced_and_once_has_not(personas, orgs, data):
    bounced = data.case()
    now = timezone.now()
    data.referrals(1, case=bounced, status=ReferralStatus.DECLINED, declined_at=now - timedelta(days=2))
    data.referrals(1, case=bounced, recipient="care-nl", status=ReferralStatus.DECLINED, declined_at=now - timedelta(days=1))
    data.referrals(1, case=bounced)  # still pending: not a decline
    once = data.case()
    data.referrals(1, case=once, status=ReferralStatus.DECLINED, declined_at=now)
    (row,) = _results(personas["coordinator"], "/api/v1/oversight/bounced/")
    assert row["case"] == str(bounced.id) and row["declined_count"] == 2
    assert row["lead_organisation"] == str(orgs["hotline-be"].id) and row["status"] == "open"
    assert _results(personas["coordinator"], "/api/v1/oversight/bounced/?status=closed") == []


def test_bounced_cases_page_with_a_cursor_latest_decline_first(personas, data):
    now = timezone.now()
    cases = []
    for days in (3, 1, 2):
        case = data.case()
        data.referrals(2, case=case, status=ReferralStatus.DECLINED, declined_at=now - timedelta(days=days))
        cases.append(str(case.id))
    client, seen, url = personas["coordinator"].client, [], "/api/v1/oversight/bounced/?page_size=1"
    while url:
        page = client.get(url).json()
        seen += [row["case"] for row in page["results"]]
        url = page["next"]
    assert seen == [cases[1], cases[2], cases[0]]


# --- unattended ----------------------------------------------------------------------------------


def test_a_case_whose_lead_was_suspended_is_unattended(personas, orgs, data):
    held = data.case(lead="shelter-be")
    data.case(lead="hotline-be")  # held by an active member, just opened
    orgs["shelter-be"].membership_status = MembershipStatus.SUSPENDED
    orgs["shelter-be"].save()
    (row,) = _results(personas["coordinator"], "/api/v1/oversight/unattended/")
    assert row["case"] == str(held.id)
    assert row["reasons"] == ["no_active_member"] and row["lead_membership_status"] == "suspended"


def test_a_case_with_no_change_for_the_idle_period_is_unattended(personas, data, settings):
    settings.OVERSIGHT_IDLE_DAYS = 30
    idle, busy = data.case(), data.case()
    long_ago = timezone.now() - timedelta(days=31)
    data.referrals(1, case=idle)
    data.referrals(1, case=busy)
    Case.objects.filter(pk__in=[idle.pk, busy.pk]).update(updated_at=long_ago)
    Referral.objects.filter(case=idle).update(updated_at=long_ago)
    closed = data.case(status=CaseStatus.CLOSED, closed_at=long_ago, outcome="other")
    Case.objects.filter(pk=closed.pk).update(updated_at=long_ago)
    (row,) = _results(personas["coordinator"], "/api/v1/oversight/unattended/?reason=idle")
    assert row["case"] == str(idle.id) and row["reasons"] == ["idle"]
    assert _results(personas["coordinator"], "/api/v1/oversight/unattended/?reason=no_active_member") == []


# --- nothing that identifies anyone ---------------------------------------------------------------


def test_no_oversight_or_figure_answer_holds_identity_or_free_text(personas, flow):
    case, referral = flow.sent_referral(kind="transfer")
    flow.act(referral["id"], "decline", "recipient_caseworker", {"reason_code": "no_capacity", "reason": "Volkomen vol tot maandag."})
    case_two = flow.open_case()
    consent = flow.consent(case_two["id"])
    for recipient in ("shelter-be", "care-nl"):
        draft = flow.draft(case_two["id"], recipient=recipient, consent=consent["id"], reason="Zeer geheime reden.")
        flow.act(draft["id"], "send", "caseworker")
        flow.act(draft["id"], "decline", "recipient_caseworker" if recipient == "shelter-be" else "outsider_caseworker",
                 {"reason_code": "no_capacity", "reason": "Volkomen vol tot maandag."})
    Referral.objects.update(acknowledge_due=timezone.now() - timedelta(hours=1))
    identity = ("given_name", "family_name", "date_of_birth", "municipality", "safe_contact")
    secrets = [CHILD[field] for field in identity] + ["Volkomen vol", "Zeer geheime", "safe bed"]
    urls = [
        OVERDUE, f"{OVERDUE}counts/", "/api/v1/oversight/handovers/", "/api/v1/oversight/bounced/",
        "/api/v1/oversight/unattended/", "/api/v1/statistics/referrals/?group_by=phenomenon,gender,age_band,outcome",
        "/api/v1/statistics/referrals/?format=csv&group_by=organisation", "/api/v1/statistics/timings/",
    ]
    bounced = _results(personas["coordinator"], "/api/v1/oversight/bounced/")
    assert [row["case"] for row in bounced] == [case_two["id"]]
    for url in urls:
        content = personas["coordinator"].client.get(url).content.decode()
        for secret in secrets:
            assert secret not in content, (url, secret)
