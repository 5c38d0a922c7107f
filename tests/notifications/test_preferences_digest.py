"""How mail comes: the preferences (checked, all or nothing) and the daily digest (one a day, at the person's hour).

The digest runs on the worker every few minutes (``send_digests(now=)``); time moves through
its ``now``. The day is a winter one (2031-01-15): Brussels is UTC+1, New York UTC-5.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection

from coalition.audit.models import AuditEntry
from coalition.core.errors import InvalidField
from coalition.mail.services import render
from coalition.notifications import services
from coalition.notifications.choices import CHOOSABLE_KINDS, NotificationKind
from coalition.notifications.models import Notification, NotificationPreferences
from tests.support.concurrency import race
from tests.support.notifications import address_of, notification_mails

pytestmark = pytest.mark.django_db

DAY = date(2031, 1, 15)
BASE_URL = "https://referrals.example.org"


def utc(hour: int, minute: int = 0, second: int = 0, *, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def choose_digest(user, kinds=(NotificationKind.REFERRAL_ANSWERED,), *, hour: int = 8,
                  time_zone: str = "Europe/Brussels") -> NotificationPreferences:
    return services.preferences_update(
        user=user, data={"mail": dict.fromkeys(kinds, "digest"), "digest_hour": hour, "time_zone": time_zone}
    )


def answered(flow, urgency: str = "urgent") -> dict:
    """A referral hotline-be sent and shelter-be acknowledged: hotline-be's caseworkers get a ``referral_answered``."""
    _case, referral = flow.sent_referral(urgency=urgency)
    assert flow.act(referral["id"], "acknowledge", "recipient_caseworker").status_code == 200
    return referral


def digests_to(user) -> list:
    return list(notification_mails().filter(template="notification_digest", to=user.email))


def immediate_mails_to(user) -> list:
    return list(notification_mails().filter(template="notification", to=user.email))


# --- preferences -------------------------------------------------------------------------------------


def preferences_row(user) -> tuple | None:
    row = NotificationPreferences.objects.filter(user=user).values_list("mail", "digest_hour", "time_zone").first()
    return row


REFUSED = [
    ("unknown kind", {"mail": {"gossip": "digest"}}, "mail"),
    ("escalation is always at once", {"mail": {"escalation": "digest"}}, "mail"),
    ("no such delivery", {"mail": {"message": "weekly"}}, "mail"),
    ("mail not a mapping", {"mail": ["message"]}, "mail"),
    ("hour too late", {"digest_hour": 24}, "digest_hour"),
    ("hour negative", {"digest_hour": -1}, "digest_hour"),
    ("hour as text", {"digest_hour": "8"}, "digest_hour"),
    ("hour as a flag", {"digest_hour": True}, "digest_hour"),
    ("hour with minutes", {"digest_hour": 7.5}, "digest_hour"),
    ("unknown time zone", {"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ("empty time zone", {"time_zone": ""}, "time_zone"),
    ("a path for a time zone", {"time_zone": "../../etc/passwd"}, "time_zone"),
    ("no time zone", {"time_zone": None}, "time_zone"),
    # A valid field beside an invalid one: the valid one is not kept either.
    ("good hour, bad zone", {"digest_hour": 6, "time_zone": "Nowhere/Land"}, "time_zone"),
    ("good kind, bad kind", {"mail": {"message": "digest", "escalation": "digest"}}, "mail"),
]


@pytest.mark.parametrize(("data", "field"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_invalid_preferences_are_refused_on_their_field_and_change_nothing(personas, data, field):
    user = personas["caseworker"].user
    services.preferences_update(user=user, data={"mail": {"referral_sent": "digest"}, "digest_hour": 7,
                                                 "time_zone": "Europe/Brussels"})
    before, entries = preferences_row(user), AuditEntry.objects.count()

    with pytest.raises(InvalidField) as refused:
        services.preferences_update(user=user, data=data)

    assert refused.value.field == field
    assert preferences_row(user) == before == ({"referral_sent": "digest"}, 7, "Europe/Brussels")
    assert AuditEntry.objects.count() == entries


def test_a_refused_first_choice_leaves_no_preferences_behind(personas):
    user = personas["caseworker"].user
    with pytest.raises(InvalidField):
        services.preferences_update(user=user, data={"mail": {"escalation": "digest"}})
    assert not NotificationPreferences.objects.filter(user=user).exists()


def test_escalation_is_not_among_the_kinds_a_person_chooses_for():
    assert NotificationKind.ESCALATION not in CHOOSABLE_KINDS
    assert set(CHOOSABLE_KINDS) == set(NotificationKind.values) - {NotificationKind.ESCALATION}


def test_valid_preferences_are_kept_and_audited_and_immediate_is_the_default_stored_as_nothing(personas):
    user = personas["caseworker"].user
    services.preferences_update(user=user, data={"mail": {"message": "digest", "referral_sent": "digest"},
                                                 "digest_hour": 0, "time_zone": "America/New_York"})
    services.preferences_update(user=user, data={"mail": {"referral_sent": "immediate"}})

    preferences = NotificationPreferences.objects.get(user=user)
    assert (preferences.mail, preferences.digest_hour, preferences.time_zone) == ({"message": "digest"}, 0,
                                                                                    "America/New_York")
    assert preferences.delivery_for("referral_sent") == "immediate"
    entries = AuditEntry.objects.filter(action="notification.preferences_update", actor_user=user.pk).order_by("seq")
    assert [e.detail for e in entries] == [
        {"fields": ["digest_hour", "mail", "time_zone"], "digest": ["message", "referral_sent"]},
        {"fields": ["mail"], "digest": ["message"]},
    ]


# --- at once or in the digest ------------------------------------------------------------------------


def test_a_digest_choice_holds_back_an_urgent_referrals_answer_but_not_an_immediate_ones(flow, personas):
    user = personas["caseworker"].user
    choose_digest(user)

    answered(flow, "urgent")
    held = Notification.objects.get(user=user, kind=NotificationKind.REFERRAL_ANSWERED)
    assert (held.mail_delivery, held.mail) == ("digest", None)
    assert immediate_mails_to(user) == []

    answered(flow, "immediate")
    sent = Notification.objects.filter(user=user, kind=NotificationKind.REFERRAL_ANSWERED, urgency="immediate").get()
    assert sent.mail_delivery == "immediate" and sent.mail is not None
    assert [m.pk for m in immediate_mails_to(user)] == [sent.mail_id]


def test_a_digest_for_one_kind_leaves_the_other_kinds_at_once(flow, personas):
    user = personas["recipient_caseworker"].user
    choose_digest(user, kinds=[NotificationKind.MESSAGE])
    flow.sent_referral()
    notification = Notification.objects.get(user=user, kind=NotificationKind.REFERRAL_SENT)
    assert notification.mail_delivery == "immediate" and notification.mail.to == user.email


# --- the daily digest --------------------------------------------------------------------------------


@pytest.fixture
def waiting(flow, personas, colleagues):
    """Two answers waiting for the digest of a Brussels and a New York caseworker of hotline-be, both at 8:00."""
    brussels, new_york = personas["caseworker"].user, colleagues.hotline_second
    choose_digest(brussels, time_zone="Europe/Brussels")
    choose_digest(new_york, time_zone="America/New_York")
    referrals = [answered(flow), answered(flow)]
    return brussels, new_york, referrals


def test_the_digest_goes_out_at_the_persons_hour_in_their_time_zone_once_a_day(waiting):
    brussels, new_york, referrals = waiting

    assert services.send_digests(now=utc(6, 59, 59)) == 0  # 07:59:59 in Brussels
    assert digests_to(brussels) == digests_to(new_york) == []

    assert services.send_digests(now=utc(7)) == 1  # 08:00 in Brussels, 02:00 in New York
    [digest] = digests_to(brussels)
    assert digests_to(new_york) == []
    assert services.send_digests(now=utc(7, 5)) == 0  # the next run, on this or another worker
    assert services.send_digests(now=utc(12, 59, 59)) == 0  # 07:59:59 in New York

    assert services.send_digests(now=utc(13)) == 1  # 08:00 in New York
    assert len(digests_to(new_york)) == 1 and len(digests_to(brussels)) == 1
    assert services.send_digests(now=utc(23, 55)) == 0

    # One mail with both answers, each with its link; nothing held back is mailed at once besides.
    message = render(digest)
    for referral in referrals:
        assert f"{BASE_URL}/app/referrals/{referral['id']}/" in message.body
    assert message.to == [brussels.email] and "2" in message.subject
    assert immediate_mails_to(brussels) == []
    assert not Notification.objects.filter(mail_delivery="digest", digested_at__isnull=True).exists()
    preferences = NotificationPreferences.objects.get(user=brussels)
    assert preferences.last_digest_on == DAY
    # The digest is the mail that carried them.
    assert set(Notification.objects.filter(user=brussels, mail_delivery="digest").values_list("mail", flat=True)) == {
        digest.pk
    }


def test_a_day_with_nothing_waiting_sends_nothing_and_what_comes_later_waits_for_the_next_day(flow, waiting):
    brussels, new_york, _referrals = waiting
    services.send_digests(now=utc(7))
    services.send_digests(now=utc(13))

    next_day = DAY + timedelta(days=1)
    assert services.send_digests(now=utc(7, day=next_day)) == 0  # nothing waiting: no mail
    assert len(digests_to(brussels)) == len(digests_to(new_york)) == 1

    answered(flow)  # one more answer, on the next day after both hours
    assert services.send_digests(now=utc(14, day=next_day)) == 2  # the day was not taken yet by either
    answered(flow)  # and another, later the same day
    assert services.send_digests(now=utc(20, day=next_day)) == 0  # one digest a day
    # 02:00 UTC on the day after is still the evening before in New York: its day is taken.
    third_day = next_day + timedelta(days=1)
    assert services.send_digests(now=utc(2, day=third_day)) == 0
    assert services.send_digests(now=utc(7, day=third_day)) == 1  # Brussels' 08:00
    assert services.send_digests(now=utc(13, day=third_day)) == 1  # New York's 08:00
    assert len(digests_to(brussels)) == len(digests_to(new_york)) == 3


def test_the_digest_leaves_out_what_was_read_in_the_app_and_a_digest_of_only_read_ones_is_not_sent(waiting):
    brussels, new_york, referrals = waiting
    first, second = (Notification.objects.get(user=brussels, referral=r["id"]) for r in referrals)
    services.notification_mark_read(user=brussels, notification=first)
    services.notification_mark_all_read(user=new_york)

    assert services.send_digests(now=utc(13)) == 1  # Brussels only: New York read everything

    [digest] = digests_to(brussels)
    body = render(digest).body
    assert f"/app/referrals/{referrals[1]['id']}/" in body and f"/app/referrals/{referrals[0]['id']}/" not in body
    assert [item["link_path"] for item in digest.context["items"]] == [f"/app/referrals/{second.referral}/"]
    assert digests_to(new_york) == []
    assert not Notification.objects.filter(mail_delivery="digest", digested_at__isnull=True).exists()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.mail_id, second.mail_id) == (None, digest.pk)  # the read one was mailed in no digest


def test_a_long_digest_lists_the_first_items_and_counts_the_rest(waiting, monkeypatch):
    brussels, _new_york, _referrals = waiting
    monkeypatch.setattr(services, "DIGEST_MAX_ITEMS", 1)
    services.send_digests(now=utc(7))
    [digest] = digests_to(brussels)
    assert len(digest.context["items"]) == 1 and digest.context["more"] == 1
    assert "And 1 more." in render(digest).body


def test_the_digest_is_written_in_the_persons_language(waiting):
    brussels, _new_york, _referrals = waiting
    brussels.language = "fr"
    brussels.save(update_fields=["language"])
    services.send_digests(now=utc(7))
    [digest] = digests_to(brussels)
    assert digest.language == "fr"


def test_an_inactive_person_gets_no_digest(waiting):
    brussels, _new_york, _referrals = waiting
    brussels.is_active = False
    brussels.save(update_fields=["is_active"])
    assert services.send_digests(now=utc(7)) == 0
    assert digests_to(brussels) == []


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_digest_at_once_send_one(flow, personas):
    if connection.vendor != "postgresql":
        pytest.skip("needs real parallel connections (PostgreSQL)")
    user = personas["caseworker"].user
    choose_digest(user)
    answered(flow)

    results = race([lambda: services.send_digests(now=utc(9)), lambda: services.send_digests(now=utc(9))])

    assert sorted(results) == [0, 1]
    assert [m.to for m in digests_to(user)] == [address_of("hotline-be-caseworker")]
