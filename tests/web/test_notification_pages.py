"""The notification pages: a person's own list, opening and marking read, how mail comes, the header's count;
and for org admins the on-call address and the mail problems of their organisation.

Notifications are made as in production: by the events of referrals sent and answered
through the API (``flow``), in the event's transaction. Mail problems are real failures
of the outbox against an SMTP server that refuses (tests/support/smtp.py).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coalition.mail.models import MailStatus, OutboundMail
from coalition.mail.services import deliver
from coalition.notifications import selectors, services
from coalition.notifications.choices import CHOOSABLE_KINDS, NotificationKind
from coalition.notifications.models import Notification, NotificationPreferences
from partners.choices import Role
from partners.models import Organisation
from tests.support.flows import CHILD
from tests.support.identity import assert_no_identity
from tests.support.personas import make_user
from tests.support.smtp import free_port, point_at, smtp_server  # noqa: F401  (smtp_server: a fixture)
from tests.support.web import web_client_for

LIST = "/app/notifications/"
PREFERENCES = "/app/notifications/preferences/"
SETTINGS = "/app/organisation/settings/"
PEOPLE = "/app/organisation/people/"
REASON = "Needs a safe bed tonight; contact through the school counsellor."  # flow.draft's reason


@pytest.fixture
def shelter(personas):
    return personas["recipient_caseworker"].user


@pytest.fixture
def colleague(orgs):
    """A second caseworker of shelter-be: told of the same referrals, but never shown the persona's notifications."""
    return make_user("shelter-be-colleague", orgs["shelter-be"], [Role.CASEWORKER])


def _sent(flow, urgency="urgent"):
    _case, referral = flow.sent_referral(urgency=urgency)
    return referral


def _own(user, referral) -> Notification:
    return Notification.objects.get(user=user, referral=referral["id"], kind=NotificationKind.REFERRAL_SENT)


def _items(html: str) -> list[str]:
    return re.findall(r'<li class="card notification[^"]*">', html)


# --- the list --------------------------------------------------------------------------------------


def test_the_list_shows_the_persons_own_notifications_only_in_the_mails_words(flow, shelter, colleague, personas):
    referral = _sent(flow)
    assert Notification.objects.filter(referral=referral["id"]).count() == 2  # the persona and the colleague

    page = web_client_for(shelter).get(LIST)

    html = page.content.decode()
    assert page.status_code == 200
    assert len(_items(html)) == 1
    assert "New urgent referral from Test hotline-be" in html
    assert "A new referral from Test hotline-be is waiting for Test shelter-be. Urgency: urgent." in html
    assert "Unread" in html
    assert f'action="/app/notifications/{_own(shelter, referral).pk}/open/"' in html
    colleagues = Notification.objects.get(user=colleague)
    assert str(colleagues.pk) not in html
    assert_no_identity(html, "the notification list")
    assert REASON not in html
    # The sender's caseworker was told nothing: a friendly empty list.
    sender_page = web_client_for(personas["caseworker"].user).get(LIST).content.decode()
    assert not _items(sender_page)
    assert "No notifications yet." in sender_page


def test_the_list_is_newest_first_in_pages_of_25_and_unread_only_leaves_out_those_read(flow, shelter):
    first = _sent(flow)
    for _number in range(25):
        services.notify(services.Addressed(NotificationKind.MESSAGE, [shelter], organisation_id=first["sender"]),
                        event=None)
    services.notification_mark_read(user=shelter, notification=_own(shelter, first))
    client = web_client_for(shelter)

    page_one = client.get(LIST).content.decode()
    page_two = client.get(LIST, {"page": 2}).content.decode()
    unread = client.get(LIST, {"unread": "on"}).content.decode()

    assert len(_items(page_one)) == 25 and "Page 1 of 2" in page_one
    assert "New message from Test hotline-be" in page_one and "New urgent referral" not in page_one
    assert len(_items(page_two)) == 1 and "New urgent referral from Test hotline-be" in page_two  # the oldest last
    assert '<span class="badge notification-read">Read</span>' in page_two
    assert "New urgent referral" not in unread and len(_items(unread)) == 25


def test_unread_only_with_nothing_unread_says_so(flow, shelter):
    services.notification_mark_read(user=shelter, notification=_own(shelter, _sent(flow)))

    page = web_client_for(shelter).get(LIST, {"unread": "on"}).content.decode()

    assert not _items(page)
    assert "Nothing unread: you have seen every notification." in page


def test_when_it_arrived_is_shown_in_the_persons_own_time_zone(flow, shelter, settings):
    settings.COALITION_TIME_ZONE = "Europe/Brussels"
    notification = _own(shelter, _sent(flow))
    Notification.objects.filter(pk=notification.pk).update(created_at=datetime(2026, 7, 1, 10, 0, tzinfo=UTC))
    services.preferences_update(user=shelter, data={"time_zone": "Europe/London"})

    page = web_client_for(shelter).get(LIST).content.decode()

    assert '<time datetime="2026-07-01T11:00:00+01:00">' in page  # London's summer time, not Brussels' nor UTC


# --- opening and marking read ------------------------------------------------------------------------


def test_open_marks_the_notification_read_and_goes_to_the_referral(flow, shelter):
    referral = _sent(flow)
    notification = _own(shelter, referral)

    response = web_client_for(shelter).post(f"/app/notifications/{notification.pk}/open/")

    assert response.status_code == 302
    assert response["Location"] == f"/app/referrals/{referral['id']}/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_open_never_leaves_the_app_whatever_the_link_says(flow, shelter, monkeypatch):
    notification = _own(shelter, _sent(flow))
    monkeypatch.setattr("coalition.notifications.texts.link_path", lambda n: "https://elsewhere.example/app/")

    response = web_client_for(shelter).post(f"/app/notifications/{notification.pk}/open/")

    assert (response.status_code, response["Location"]) == (302, LIST)


def test_another_persons_notification_is_a_404_and_stays_unread(flow, shelter, colleague):
    _sent(flow)
    theirs = Notification.objects.get(user=colleague)
    client = web_client_for(shelter)

    assert client.post(f"/app/notifications/{theirs.pk}/open/").status_code == 404
    assert client.post(f"/app/notifications/{theirs.pk}/read/").status_code == 404
    assert client.post("/app/notifications/00000000-0000-0000-0000-000000000000/open/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_goes_back_to_the_page_of_the_list_it_was_pressed_on(flow, shelter):
    notification = _own(shelter, _sent(flow))
    client = web_client_for(shelter)

    response = client.post(f"/app/notifications/{notification.pk}/read/", {"next": "/app/notifications/?unread=on"})
    elsewhere = client.post(f"/app/notifications/{notification.pk}/read/", {"next": "https://elsewhere.example/"})

    assert (response.status_code, response["Location"]) == (302, "/app/notifications/?unread=on")
    assert elsewhere["Location"] == LIST
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert "The notification is marked read." in client.get(LIST).content.decode()  # said on the page it went back to


def test_mark_all_read_marks_only_the_persons_own_and_says_how_many(flow, shelter, colleague):
    _sent(flow)
    _sent(flow, urgency="normal")
    client = web_client_for(shelter)

    response = client.post("/app/notifications/read/", {"next": LIST}, follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert "2 notifications are marked read." in response.content.decode()
    assert selectors.unread_count(shelter) == 0
    assert selectors.unread_count(colleague) == 2
    again = client.post("/app/notifications/read/", {"next": LIST}, follow=True)
    assert "No notification was unread." in again.content.decode()


# --- the header --------------------------------------------------------------------------------------


def _notifications_link(html: str) -> str:
    match = re.search(r'<a href="/app/notifications/"[^>]*>(.*?)</a>', html)
    assert match, "no Notifications entry in the navigation"
    return match.group(1)


def test_the_header_shows_the_unread_count_to_see_and_in_the_links_name(flow, shelter):
    _sent(flow)
    _sent(flow, urgency="normal")
    _sent(flow, urgency="immediate")

    link = _notifications_link(web_client_for(shelter).get("/app/cases/").content.decode())

    # Read aloud: "Notifications, 3 unread"; seen: "Notifications" and the count beside it.
    assert link == (
        '<span class="visually-hidden">Notifications, 3 unread</span>'
        '<span aria-hidden="true">Notifications<span class="unread-count">3</span></span>'
    )


@pytest.mark.parametrize("name", ["caseworker", "org_admin", "coordinator", "auditor"])
def test_every_signed_in_person_has_the_notifications_entry_without_a_count_when_nothing_is_unread(personas, name):
    page = web_client_for(personas[name].user).get("/app/account/").content.decode()

    assert _notifications_link(page) == "Notifications"


def test_the_count_costs_one_query_a_page(flow, shelter):
    _sent(flow)
    client = web_client_for(shelter)

    with CaptureQueriesContext(connection) as queries:
        page = client.get("/app/account/")

    assert page.status_code == 200
    touching = [q["sql"] for q in queries.captured_queries if "notifications_notification" in q["sql"]]
    assert len(touching) == 1 and "COUNT(" in touching[0].upper()


def test_the_count_goes_down_when_one_is_opened(flow, shelter):
    _sent(flow)
    notification = _own(shelter, _sent(flow, urgency="normal"))
    client = web_client_for(shelter)

    client.post(f"/app/notifications/{notification.pk}/open/")

    assert "1 unread" in _notifications_link(client.get(LIST).content.decode())


# --- how mail comes ----------------------------------------------------------------------------------


def _preferences_form(**changes) -> dict:
    form = {f"mail_{kind}": "immediate" for kind in CHOOSABLE_KINDS}
    return form | {"digest_hour": "8", "time_zone": "Europe/Brussels"} | changes


def test_the_preferences_page_offers_each_choosable_kind_and_says_what_always_goes_at_once(shelter):
    page = web_client_for(shelter).get(PREFERENCES).content.decode()

    assert page.count('value="digest"') == len(CHOOSABLE_KINDS) == len(NotificationKind) - 1  # all but the escalation
    assert "A new referral for your organisation" in page and "In the daily digest" in page
    assert "A referral still late after its deadline" not in page.split("<form")[-1]  # not a choice
    assert "always mailed at once" in page
    assert '<option value="Europe/Brussels" selected>' in page


def test_preferences_are_saved_through_the_service(shelter):
    client = web_client_for(shelter)

    response = client.post(PREFERENCES, _preferences_form(mail_message="digest", digest_hour="18",
                                                          time_zone="Europe/Lisbon"))

    assert (response.status_code, response["Location"]) == (302, PREFERENCES)
    saved = NotificationPreferences.objects.get(user=shelter)
    assert (saved.mail, saved.digest_hour, saved.time_zone) == ({"message": "digest"}, 18, "Europe/Lisbon")
    page = client.get(PREFERENCES).content.decode()
    assert "Your notification preferences were saved." in page
    assert '<option value="Europe/Lisbon" selected>' in page


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"digest_hour": "30"}, "digest_hour", "An hour from 0 to 23."),
    ({"time_zone": "Mars/Olympus_Mons"}, "time_zone", "Not a known time zone"),
])
def test_a_refused_preference_stands_beside_its_field_and_nothing_is_saved(shelter, change, field, message):
    response = web_client_for(shelter).post(PREFERENCES, _preferences_form(mail_message="digest", **change))

    html = response.content.decode()
    assert response.status_code == 422
    assert message in html
    field_html = re.search(rf'<div class="field has-errors">\s*<label for="id_{field}">.*?</div>', html, re.S)
    assert field_html and message in field_html.group(0)
    assert not NotificationPreferences.objects.filter(user=shelter).exists()  # not even the digest for messages


# --- the org admin: the on-call address and mail problems ----------------------------------------------


def test_the_org_admin_sets_the_on_call_address_through_the_settings_contract(personas, orgs):
    client = web_client_for(personas["org_admin"].user)

    page = client.get(SETTINGS).content.decode()
    saved = client.post(SETTINGS, {"on_call_email": "on-call@hotline.example.org"})
    refused = client.post(SETTINGS, {"on_call_email": "not an address"})

    assert 'name="on_call_email"' in page and "On-call address" in page
    assert saved.status_code == 302
    assert refused.status_code == 422 and "Enter a valid email address." in refused.content.decode()
    assert Organisation.objects.get(pk=orgs["hotline-be"].pk).on_call_email == "on-call@hotline.example.org"


def test_a_caseworker_does_not_see_the_org_admins_settings(personas):
    client = web_client_for(personas["caseworker"].user)

    for page in (SETTINGS, PEOPLE):
        response = client.get(page)
        assert response.status_code == 403
        assert "on_call_email" not in response.content.decode()
        assert "Mail problems" not in response.content.decode()
    assert client.post(SETTINGS, {"on_call_email": "mine@example.org"}).status_code == 403


def test_the_org_admin_sees_a_bounced_address_of_a_caseworker_and_of_the_on_call_address(
    flow, personas, orgs, smtp_server, settings
):
    hotline, caseworker = orgs["hotline-be"], personas["caseworker"].user
    Organisation.objects.filter(pk=hotline.pk).update(on_call_email="on-call@hotline.example.org")
    # shelter-be sends hotline-be an immediate referral: its caseworkers and its on-call address are mailed.
    case = flow.open_case("recipient_caseworker")
    consent = flow.consent(case["id"], "recipient_caseworker")
    draft = flow.draft(case["id"], recipient="hotline-be", persona="recipient_caseworker", consent=consent["id"],
                       urgency="immediate")
    assert flow.act(draft["id"], "send", "recipient_caseworker").status_code == 200
    to_caseworker = OutboundMail.objects.get(to=caseworker.email)
    on_call = OutboundMail.objects.get(to="on-call@hotline.example.org")
    smtp_server(refuse="550 5.1.1 no such mailbox")
    assert deliver(to_caseworker.pk) == MailStatus.FAILED  # a bounce: failed for good at once
    settings.MAIL_MAX_ATTEMPTS = 1
    point_at(settings, free_port())  # nobody listens: not delivered, and given up after the attempts allowed
    assert deliver(on_call.pk) == MailStatus.FAILED

    client = web_client_for(personas["org_admin"].user)
    for address in (SETTINGS, PEOPLE):
        page = client.get(address).content.decode()
        problems = page.split('id="mail-problems-heading"')[1]
        assert "hotline-be-caseworker@example.org" in problems
        assert f'<a href="/app/organisation/people/{caseworker.pk}/">hotline-be-caseworker</a>' in problems
        assert "the mail server refused the address" in problems
        assert "on-call@hotline.example.org" in problems and "The on-call address" in problems
        assert "could not be delivered after several attempts" in problems
        assert_no_identity(page, address)
    # Another organisation's admin sees none of it.
    outsider = web_client_for(personas["outsider_admin"].user).get(SETTINGS).content.decode()
    assert "hotline" not in outsider.split('id="mail-problems-heading"')[1]
    assert CHILD["given_name"] not in outsider
