"""The notifications API: your own notifications only, read and read-all, your preferences (api_docs/guide.md, "Notifications")."""

from __future__ import annotations

import pytest

from coalition.notifications.models import Notification, NotificationPreferences
from tests.support.flows import CHILD
from tests.support.problems import assert_problem

pytestmark = pytest.mark.django_db


def _list(persona, query: str = "", **headers):
    response = persona.client.get(f"/api/v1/notifications/{query}", **headers)
    assert response.status_code == 200, response.json()
    return response.json()


def test_a_person_lists_their_own_notifications_with_the_text_in_their_language(flow, personas, orgs):
    _case, referral = flow.sent_referral(urgency="urgent")
    shelter = personas["recipient_caseworker"]

    body = _list(shelter)

    [item] = body["results"]
    assert item["kind"] == "referral_sent"
    assert item["referral"] == referral["id"] and item["urgency"] == "urgent" and item["read"] is False
    assert item["organisation"] == {"id": str(orgs["hotline-be"].id), "name": orgs["hotline-be"].name}
    assert orgs["hotline-be"].name in item["title"] and orgs["hotline-be"].name in item["text"]
    assert item["link"].endswith(f"/app/referrals/{referral['id']}/")
    assert not any(str(value) in str(item) for value in CHILD.values())
    # The sender's people were told nothing: sending is their own act.
    assert _list(personas["caseworker"])["results"] == []
    assert _list(personas["outsider_caseworker"])["results"] == []


def test_the_text_follows_accept_language(flow, personas):
    flow.sent_referral(urgency="urgent")
    shelter = personas["recipient_caseworker"]
    english = _list(shelter, HTTP_ACCEPT_LANGUAGE="en")["results"][0]
    dutch = _list(shelter, HTTP_ACCEPT_LANGUAGE="nl")["results"][0]
    french = _list(shelter, HTTP_ACCEPT_LANGUAGE="fr")["results"][0]
    assert len({english["text"], dutch["text"], french["text"]}) == 3
    assert english["kind"] == dutch["kind"] == french["kind"] == "referral_sent"  # codes are never translated


def test_the_unread_filter_and_marking_read(flow, personas):
    flow.sent_referral(urgency="urgent")
    flow.sent_referral(urgency="normal")
    shelter = personas["recipient_caseworker"]
    first, second = _list(shelter)["results"]

    response = shelter.client.post(f"/api/v1/notifications/{first['id']}/read/")
    assert response.status_code == 200 and response.json()["read"] is True
    again = shelter.client.post(f"/api/v1/notifications/{first['id']}/read/")
    assert again.json()["read_at"] == response.json()["read_at"]  # marking twice changes nothing

    assert [n["id"] for n in _list(shelter, "?unread=true")["results"]] == [second["id"]]
    assert [n["id"] for n in _list(shelter, "?unread=false")["results"]] == [first["id"]]
    assert_problem(shelter.client.get("/api/v1/notifications/?unread=maybe"), 400)

    assert shelter.client.post("/api/v1/notifications/read-all/").json() == {"marked": 1}
    assert _list(shelter, "?unread=true")["results"] == []
    assert shelter.client.post("/api/v1/notifications/read-all/").json() == {"marked": 0}


def test_another_persons_notification_is_not_found_and_stays_unread(flow, personas, orgs):
    flow.sent_referral(urgency="urgent")
    theirs = Notification.objects.get(user=personas["recipient_caseworker"].user)
    for name in ("caseworker", "outsider_caseworker", "coordinator", "org_admin"):
        assert_problem(personas[name].client.get(f"/api/v1/notifications/{theirs.pk}/"), 404)
        assert_problem(personas[name].client.post(f"/api/v1/notifications/{theirs.pk}/read/"), 404)
    personas["caseworker"].client.post("/api/v1/notifications/read-all/")
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_list_pages_by_cursor_newest_first(flow, personas):
    for _ in range(3):
        flow.sent_referral(urgency="normal")
    shelter = personas["recipient_caseworker"]
    page = _list(shelter, "?page_size=2")
    assert len(page["results"]) == 2 and page["next"]
    rest = shelter.client.get(page["next"]).json()
    ids = [n["id"] for n in page["results"] + rest["results"]]
    expected = [str(pk) for pk in Notification.objects.filter(user=shelter.user).order_by("-created_at", "-id")
                .values_list("pk", flat=True)]
    assert ids == expected


def test_an_api_key_has_no_notifications(personas):
    assert_problem(personas["partner_system"].client.get("/api/v1/notifications/"), 403)
    assert_problem(personas["partner_system"].client.get("/api/v1/me/notification-preferences/"), 403)


def test_preferences_default_to_mail_at_once_and_change_per_kind(personas, settings):
    person = personas["recipient_caseworker"]
    body = person.client.get("/api/v1/me/notification-preferences/").json()
    assert set(body["mail"].values()) == {"immediate"} and "escalation" not in body["mail"]
    assert body["always_immediate"] == ["escalation"]
    assert body["digest_hour"] == settings.NOTIFICATION_DIGEST_HOUR

    response = person.client.patch(
        "/api/v1/me/notification-preferences/",
        {"mail": {"message": "digest", "referral_answered": "digest"}, "digest_hour": 17, "time_zone": "Europe/Paris"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["mail"]["message"] == "digest" and response.json()["mail"]["referral_sent"] == "immediate"
    stored = NotificationPreferences.objects.get(user=person.user)
    assert (stored.digest_hour, stored.time_zone) == (17, "Europe/Paris")
    assert stored.mail == {"referral_answered": "digest", "message": "digest"}


@pytest.mark.parametrize(
    "body, field",
    [
        ({"mail": {"escalation": "digest"}}, "mail"),
        ({"mail": {"Zorita": "digest"}}, "mail"),
        ({"mail": {"message": "weekly"}}, "mail"),
        ({"digest_hour": 24}, "digest_hour"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
    ],
)
def test_bad_preferences_are_refused_beside_their_field_and_change_nothing(personas, body, field):
    person = personas["recipient_caseworker"]
    response = person.client.patch("/api/v1/me/notification-preferences/", body, format="json")
    problem = assert_problem(response, 400)
    assert [error["pointer"].split("/")[1] for error in problem["errors"]] == [field]
    assert "Zorita" not in str(problem)  # nothing the caller sent is echoed
    assert not NotificationPreferences.objects.filter(user=person.user).exists()
