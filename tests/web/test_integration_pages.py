"""The org admin's integration pages (issue #15, item 4): API keys and webhook endpoints.

They read and write exactly as the API's /api-keys/ and /webhooks/ do: a key made on the page
authenticates against the API with the header partner systems send, and is shown once only
(never in the list, the session, a message or a URL); revoking it stops it; an endpoint's
signing secret is shown once when it is made or rotated; a failed delivery can be queued
again. Another organisation's keys, endpoints and deliveries are the same 404 as missing ones,
other roles get 403, bad input stands beside its field (422) and changes nothing, and every
change leaves its audit entry.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from coalition.audit.models import AuditEntry
from coalition.events import services as event_services
from coalition.events.models import DeliveryStatus, Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from coalition.events.taskqueue import pending_task_targets
from coalition.events.tasks import deliver_webhook
from partners import services as partner_services
from partners.choices import ApiKeyScope
from partners.models import ApiKey
from tests.support.web import web_client_for

KEYS = "/app/organisation/api-keys/"
WEBHOOKS = "/app/organisation/webhooks/"
PUBLIC_TARGET = "https://93.184.216.34/hook"  # a public address, an IP literal: no DNS asked
SHOWN_SECRET = re.compile(r'id="shown-secret" class="secret" value="([^"]+)"')


@pytest.fixture
def admin(personas):
    return web_client_for(personas["org_admin"].user)


def errors_beside(content: str, field_id: str) -> list[str]:
    """The messages of the error list tied to the input ``field_id`` (``<ul id="<field_id>_error">``)."""
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', content, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []


def shown_secret(response) -> str:
    match = SHOWN_SECRET.search(response.content.decode())
    assert match, "no secret shown on the page"
    return match.group(1)


def kept_anywhere(client, secret: str) -> bool:
    """Whether ``secret`` is in the browser's session (its stored data) or in any of its cookies."""
    session = client.session
    session_text = repr(dict(session.items()))
    cookies = " ".join(morsel.value for morsel in client.cookies.values())
    return secret in session_text or secret in cookies


def entries(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def me_with(anonymous_client, raw_key: str):
    return anonymous_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Api-Key {raw_key}")


def key_of(persona, *, scopes=(ApiKeyScope.ORGANISATIONS_READ,), name="Case system"):
    return partner_services.api_key_create(actor=persona.user, name=name, scopes=list(scopes), expires_at=None)


def endpoint_of(persona, url: str = PUBLIC_TARGET, **extra) -> WebhookEndpoint:
    return event_services.webhook_create(actor=persona.user, url=url, **extra).endpoint


def delivery_to(endpoint: WebhookEndpoint, *, status=DeliveryStatus.FAILED, data=None, code=503) -> WebhookDelivery:
    """A delivery of an event of the endpoint's organisation, with one attempt in its log."""
    event = Event.objects.create(type="referral.sent", organisations=[str(endpoint.organisation_id)], data=data or {})
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, status=status, attempts=1, last_status_code=code
    )
    WebhookAttempt.objects.create(delivery=delivery, status_code=code, duration_ms=120, error="" if code else "timeout")
    return delivery


# --- API keys: the list ------------------------------------------------------------------------------


def test_the_key_list_shows_the_organisations_keys_by_prefix_and_no_one_elses(admin, personas):
    mine = key_of(personas["org_admin"], name="Hotline case system")
    theirs = key_of(personas["outsider_admin"], name="Care case system")

    response = admin.get(KEYS)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Hotline case system" in page and mine.api_key.prefix in page
    assert "Read the coalition directory" in page and "organisations:read" in page
    assert mine.raw_key not in page and mine.api_key.key_digest not in page
    assert "Care case system" not in page and theirs.api_key.prefix not in page
    assert 'href="/app/organisation/api-keys/new/"' in page


def test_the_key_list_says_which_keys_are_revoked_expired_or_wait_for_approval(admin, personas):
    revoked = key_of(personas["org_admin"], name="Old system").api_key
    partner_services.api_key_revoke(actor=personas["org_admin"].user, api_key=revoked)
    expired = key_of(personas["org_admin"], name="Trial system").api_key
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    key_of(personas["org_admin"], name="Referral system", scopes=[ApiKeyScope.REFERRALS_READ])

    page = admin.get(KEYS).content.decode()

    for state in ("Revoked", "Expired", "Awaiting approval"):
        assert f">{state}</span>" in page
    # A revoked key has nothing left to revoke; the persona's own approved key still has.
    assert f"{KEYS}{revoked.pk}/revoke/" not in page and f"{KEYS}{expired.pk}/revoke/" in page


def test_the_key_list_costs_the_same_number_of_queries_however_many_keys(admin, personas):
    key_of(personas["org_admin"])
    with CaptureQueriesContext(connection) as few:
        assert admin.get(KEYS).status_code == 200
    for number in range(8):
        key_of(personas["org_admin"], name=f"System {number}")
    with CaptureQueriesContext(connection) as many:
        assert admin.get(KEYS).status_code == 200
    assert len(many) == len(few)


# --- API keys: creating one, shown once --------------------------------------------------------------


def test_a_created_key_is_shown_once_and_authenticates_against_the_api(admin, personas, anonymous_client):
    response = admin.post(f"{KEYS}new/", {"name": "Hotline case system 2", "scopes": ["organisations:read"]})

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    raw_key = shown_secret(response)
    page = response.content.decode()
    assert "it will not be shown again" in page
    key = ApiKey.objects.get(name="Hotline case system 2")
    assert raw_key.split("_")[1] == key.prefix and key.organisation == personas["org_admin"].organisation
    assert key.scopes == ["organisations:read"] and key.expires_at is None

    me = me_with(anonymous_client, raw_key)
    assert me.status_code == 200, me.content
    assert me.json()["actor_type"] == "partner_system" and me.json()["api_key"]["id"] == str(key.pk)

    # Nowhere else: not in the list, the session, a message, a cookie or an address.
    listed = admin.get(KEYS)
    assert raw_key not in listed.content.decode() and key.prefix in listed.content.decode()
    assert not kept_anywhere(admin, raw_key)
    assert "Location" not in response
    [entry] = entries("api_key.create")[-1:]
    assert entry.actor_user == personas["org_admin"].user.pk and entry.object_id == str(key.pk)
    assert entry.detail == {"scopes": ["organisations:read"], "awaiting_approval": False}
    assert raw_key not in repr(entry.detail)


def test_a_key_with_a_referrals_scope_says_it_waits_for_a_second_person(admin, anonymous_client):
    response = admin.post(f"{KEYS}new/", {"name": "Referral system", "scopes": ["referrals:read", "events:read"]})

    assert response.status_code == 200
    assert "it works only once a second person approves it" in response.content.decode()
    assert ApiKey.objects.get(name="Referral system").awaiting_approval
    assert me_with(anonymous_client, shown_secret(response)).status_code == 401


def test_the_scopes_are_checkboxes_that_say_what_each_allows(admin):
    page = admin.get(f"{KEYS}new/").content.decode()
    for scope in ApiKeyScope:
        assert f'type="checkbox" name="scopes" value="{scope.value}"' in page
        assert escape(str(scope.label)) in page


def test_an_expiry_in_the_past_is_refused_beside_its_field_and_no_key_is_made(admin):
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    response = admin.post(f"{KEYS}new/", {"name": "Late", "scopes": ["organisations:read"], "expires_at": yesterday})

    assert response.status_code == 422
    assert errors_beside(response.content.decode(), "id_expires_at") == ["Must be in the future."]
    assert not ApiKey.objects.filter(name="Late").exists()
    assert not SHOWN_SECRET.search(response.content.decode())


def test_a_key_needs_a_name_and_a_scope_as_through_the_api(admin):
    response = admin.post(f"{KEYS}new/", {"name": "", "scopes": []})

    assert response.status_code == 422
    page = response.content.decode()
    assert errors_beside(page, "id_name") and errors_beside(page, "id_scopes")
    assert not ApiKey.objects.filter(name="").exists()


def test_a_name_longer_than_the_apis_limit_is_refused_beside_it(admin):
    response = admin.post(f"{KEYS}new/", {"name": "x" * 101, "scopes": ["organisations:read"]})
    assert response.status_code == 422
    assert errors_beside(response.content.decode(), "id_name") == ["Ensure this field has no more than 100 characters."]


def test_the_expiry_date_is_the_start_of_that_day_where_the_person_is(admin):
    day = timezone.localdate() + timedelta(days=30)
    response = admin.post(f"{KEYS}new/", {"name": "Expiring", "scopes": ["events:read"], "expires_at": day.isoformat()})

    assert response.status_code == 200
    expected = datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.COALITION_TIME_ZONE))
    assert ApiKey.objects.get(name="Expiring").expires_at == expected


def test_a_suspended_member_creates_no_key(admin, orgs):
    from partners.choices import MembershipStatus

    type(orgs["hotline-be"]).objects.filter(pk=orgs["hotline-be"].pk).update(membership_status=MembershipStatus.SUSPENDED)
    response = admin.post(f"{KEYS}new/", {"name": "Not now", "scopes": ["organisations:read"]})

    assert response.status_code == 422
    assert "Your organisation is suspended: it cannot create API keys." in response.content.decode()
    assert not ApiKey.objects.filter(name="Not now").exists()


# --- API keys: revoking ---------------------------------------------------------------------------------


def test_revoking_a_key_after_its_confirmation_stops_it(admin, personas, anonymous_client):
    created = key_of(personas["org_admin"], name="To revoke")
    assert me_with(anonymous_client, created.raw_key).status_code == 200
    url = f"{KEYS}{created.api_key.pk}/revoke/"

    confirmation = admin.get(url)
    assert confirmation.status_code == 200 and "Revoke the key" in confirmation.content.decode()
    assert ApiKey.objects.get(pk=created.api_key.pk).revoked_at is None  # asking changes nothing

    response = admin.post(url)

    assert response.status_code == 302 and response["Location"] == KEYS
    assert ApiKey.objects.get(pk=created.api_key.pk).revoked_at is not None
    assert me_with(anonymous_client, created.raw_key).status_code == 401
    [entry] = entries("api_key.revoke")
    assert entry.actor_user == personas["org_admin"].user.pk and entry.object_id == str(created.api_key.pk)
    assert 'The API key "To revoke" is revoked.' in admin.get(KEYS).content.decode().replace("&quot;", '"')


def test_revoking_a_revoked_key_again_is_refused_and_changes_nothing(admin, personas):
    created = key_of(personas["org_admin"], name="Gone")
    partner_services.api_key_revoke(actor=personas["org_admin"].user, api_key=created.api_key)
    url = f"{KEYS}{created.api_key.pk}/revoke/"

    assert "This API key is already revoked." in admin.get(url).content.decode()
    response = admin.post(url)

    assert response.status_code == 422
    assert "This API key is already revoked." in response.content.decode()
    assert len(entries("api_key.revoke")) == 1


def test_another_organisations_key_is_the_same_404_as_a_missing_one(admin, personas, anonymous_client):
    theirs = key_of(personas["outsider_admin"], name="Care system")
    url = f"{KEYS}{theirs.api_key.pk}/revoke/"

    assert admin.get(url).status_code == 404
    assert admin.post(url).status_code == 404
    assert admin.get(f"{KEYS}{uuid.uuid4()}/revoke/").status_code == 404
    assert ApiKey.objects.get(pk=theirs.api_key.pk).revoked_at is None
    assert me_with(anonymous_client, theirs.raw_key).status_code == 200


# --- webhooks: the list and creating one ---------------------------------------------------------------


def test_the_endpoint_list_shows_url_types_active_and_the_last_delivery(admin, personas):
    endpoint = endpoint_of(personas["org_admin"], event_types=["referral.sent", "referral.accepted"])
    delivery_to(endpoint, status=DeliveryStatus.SUCCEEDED, code=200)
    quiet = endpoint_of(personas["org_admin"], url="https://93.184.216.35/quiet", active=False)
    theirs = endpoint_of(personas["outsider_admin"], url="https://93.184.216.36/care")

    response = admin.get(WEBHOOKS)

    assert response.status_code == 200
    page = response.content.decode()
    assert PUBLIC_TARGET in page and "referral.accepted" in page and ">Succeeded</span>" in page
    assert quiet.url in page and ">Not active</span>" in page and "Nothing sent yet" in page
    assert theirs.url not in page
    assert endpoint.secret not in page


def test_the_endpoint_list_costs_the_same_number_of_queries_however_many_endpoints(admin, personas):
    delivery_to(endpoint_of(personas["org_admin"]))
    with CaptureQueriesContext(connection) as few:
        assert admin.get(WEBHOOKS).status_code == 200
    for number in range(6):
        delivery_to(endpoint_of(personas["org_admin"], url=f"https://93.184.216.{40 + number}/hook"))
    with CaptureQueriesContext(connection) as many:
        assert admin.get(WEBHOOKS).status_code == 200
    assert len(many) == len(few)


def test_creating_an_endpoint_shows_its_signing_secret_once(admin, personas):
    response = admin.post(f"{WEBHOOKS}new/", {"url": PUBLIC_TARGET, "event_types": ["referral.sent", "case.closed"]})

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    secret = shown_secret(response)
    endpoint = WebhookEndpoint.objects.get()
    assert secret.startswith("whsec_") and endpoint.secret == secret
    assert endpoint.organisation == personas["org_admin"].organisation
    assert endpoint.event_types == ["case.closed", "referral.sent"] and endpoint.active
    assert "it will not be shown again" in response.content.decode()
    assert "Location" not in response

    for page in (admin.get(WEBHOOKS), admin.get(f"{WEBHOOKS}{endpoint.pk}/")):
        assert page.status_code == 200 and secret not in page.content.decode()
    assert not kept_anywhere(admin, secret)
    [entry] = entries("webhook.create")
    assert entry.actor_user == personas["org_admin"].user.pk and entry.object_id == str(endpoint.pk)
    assert secret not in repr(entry.detail)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://93.184.216.34/hook", "The URL must use https."),
        ("https://10.20.30.40/hook", "The URL resolves to a loopback, private, link-local or reserved address"),
        ("https://169.254.169.254/latest/meta-data/", "The URL resolves to a loopback, private, link-local"),
        ("not a url", "Enter a valid URL."),
    ],
)
def test_a_target_the_service_refuses_is_shown_beside_the_url_and_nothing_is_made(admin, url, message):
    response = admin.post(f"{WEBHOOKS}new/", {"url": url})

    assert response.status_code == 422
    [error] = errors_beside(response.content.decode(), "id_url")
    assert error.startswith(message)
    assert not WebhookEndpoint.objects.exists()
    assert not entries("webhook.create")


def test_the_event_types_are_checkboxes_with_their_meaning(admin):
    page = admin.get(f"{WEBHOOKS}new/").content.decode()
    assert page.count('type="checkbox" name="event_types"') == len(event_services.EVENT_TYPES)
    assert "A referral was sent (referral.sent)" in page


# --- webhooks: the endpoint's page -----------------------------------------------------------------------


def test_the_endpoint_page_changes_its_event_types_and_switches_it_off(admin, personas):
    endpoint = endpoint_of(personas["org_admin"], event_types=["referral.sent"])
    url = f"{WEBHOOKS}{endpoint.pk}/"

    response = admin.post(url, {"event_types": ["case.closed", "case.reopened"], "description": "Our CRM"})

    assert response.status_code == 302 and response["Location"] == url
    endpoint.refresh_from_db()
    assert endpoint.event_types == ["case.closed", "case.reopened"] and endpoint.description == "Our CRM"
    assert not endpoint.active  # the box was not ticked
    [entry] = entries("webhook.update")
    assert entry.detail == {"fields": ["active", "description", "event_types"], "active": False}

    admin.post(url, {"active": "on"})
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.event_types == []  # none ticked: every type


def test_an_unknown_event_type_is_refused_beside_its_field(admin, personas):
    endpoint = endpoint_of(personas["org_admin"], event_types=["referral.sent"])
    response = admin.post(f"{WEBHOOKS}{endpoint.pk}/", {"event_types": ["referral.teleported"], "active": "on"})

    assert response.status_code == 422
    assert errors_beside(response.content.decode(), "id_event_types")
    endpoint.refresh_from_db()
    assert endpoint.event_types == ["referral.sent"] and not entries("webhook.update")


def test_the_delivery_log_shows_type_status_attempts_code_and_time_but_no_payload(admin, personas):
    endpoint = endpoint_of(personas["org_admin"])
    failed = delivery_to(endpoint, code=503, data={"urgency": "immediate", "marker": "payload-marker-7f3a"})
    delivered = delivery_to(endpoint, status=DeliveryStatus.SUCCEEDED, code=204)

    response = admin.get(f"{WEBHOOKS}{endpoint.pk}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "referral.sent" in page and ">Failed</span>" in page and ">Succeeded</span>" in page
    assert "503" in page and "204" in page
    assert str(failed.event.id) in page and str(delivered.event.id) in page
    assert "payload-marker-7f3a" not in page and "immediate" not in page
    # A failed delivery can be sent again; a delivered one has nothing to send.
    assert f"{WEBHOOKS}{endpoint.pk}/deliveries/{failed.pk}/redeliver/" in page
    assert f"{WEBHOOKS}{endpoint.pk}/deliveries/{delivered.pk}/redeliver/" not in page


def test_the_delivery_log_is_shown_a_page_at_a_time(admin, personas):
    endpoint = endpoint_of(personas["org_admin"])
    for _ in range(23):
        delivery_to(endpoint)

    first = admin.get(f"{WEBHOOKS}{endpoint.pk}/").content.decode()
    second = admin.get(f"{WEBHOOKS}{endpoint.pk}/?page=2").content.decode()

    assert first.count("/redeliver/") == 20 and second.count("/redeliver/") == 3
    assert "Page 1 of 2" in first and f'href="{WEBHOOKS}{endpoint.pk}/?page=2"' in first


def test_redelivering_a_failed_delivery_queues_it_again(admin, personas):
    endpoint = endpoint_of(personas["org_admin"])
    delivery = delivery_to(endpoint)
    url = f"{WEBHOOKS}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/"

    assert admin.get(url).status_code == 405  # only the button's POST
    response = admin.post(url)

    assert response.status_code == 302 and response["Location"] == f"{WEBHOOKS}{endpoint.pk}/"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at <= timezone.now()
    assert pending_task_targets(deliver_webhook, [delivery.pk]) == {str(delivery.pk)}
    [entry] = entries("webhook.redeliver")
    assert entry.actor_user == personas["org_admin"].user.pk and entry.object_id == str(delivery.pk)
    assert "The delivery is queued to be sent again." in admin.get(f"{WEBHOOKS}{endpoint.pk}/").content.decode()


def test_redelivering_to_an_endpoint_that_is_not_active_is_refused_on_its_page(admin, personas):
    endpoint = endpoint_of(personas["org_admin"])
    delivery = delivery_to(endpoint)
    event_services.webhook_update(actor=personas["org_admin"].user, endpoint=endpoint, data={"active": False})

    response = admin.post(f"{WEBHOOKS}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/")

    assert response.status_code == 422
    assert "This endpoint is not active: activate it first." in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and not entries("webhook.redeliver")


def test_a_delivery_of_another_endpoint_is_404_through_this_one(admin, personas):
    mine = endpoint_of(personas["org_admin"])
    other = endpoint_of(personas["org_admin"], url="https://93.184.216.35/other")
    delivery = delivery_to(other)

    assert admin.post(f"{WEBHOOKS}{mine.pk}/deliveries/{delivery.pk}/redeliver/").status_code == 404
    assert admin.post(f"{WEBHOOKS}{mine.pk}/deliveries/{uuid.uuid4()}/redeliver/").status_code == 404
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


def test_rotating_the_secret_shows_the_new_one_once_and_the_old_one_signs_a_while(admin, personas):
    endpoint = endpoint_of(personas["org_admin"])
    old = endpoint.secret
    url = f"{WEBHOOKS}{endpoint.pk}/rotate/"

    confirmation = admin.get(url)
    assert confirmation.status_code == 200 and old not in confirmation.content.decode()
    response = admin.post(url)

    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    new = shown_secret(response)
    endpoint.refresh_from_db()
    assert new != old and endpoint.secret == new and endpoint.previous_secret == old
    assert endpoint.signing_secrets() == [new, old]
    assert old not in response.content.decode()
    assert new not in admin.get(f"{WEBHOOKS}{endpoint.pk}/").content.decode()
    assert not kept_anywhere(admin, new)
    [entry] = entries("webhook.rotate_secret")
    assert entry.object_id == str(endpoint.pk) and new not in repr(entry.detail)


def test_deleting_an_endpoint_after_its_confirmation(admin, personas):
    endpoint = endpoint_of(personas["org_admin"])
    delivery_to(endpoint)
    url = f"{WEBHOOKS}{endpoint.pk}/delete/"

    assert admin.get(url).status_code == 200 and WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    response = admin.post(url)

    assert response.status_code == 302 and response["Location"] == WEBHOOKS
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert not WebhookDelivery.objects.exists()
    [entry] = entries("webhook.delete")
    assert entry.object_id == str(endpoint.pk)


def test_another_organisations_endpoint_and_deliveries_are_the_same_404_as_missing_ones(admin, personas):
    theirs = endpoint_of(personas["outsider_admin"], event_types=["referral.sent"])
    delivery = delivery_to(theirs)
    secret = theirs.secret
    base = f"{WEBHOOKS}{theirs.pk}/"

    for path in (base, f"{base}rotate/", f"{base}delete/"):
        assert admin.get(path).status_code == 404, path
        assert admin.post(path, {"active": "on"}).status_code == 404, path
    assert admin.post(f"{base}deliveries/{delivery.pk}/redeliver/").status_code == 404
    assert admin.get(f"{WEBHOOKS}{uuid.uuid4()}/").status_code == 404

    theirs.refresh_from_db()
    delivery.refresh_from_db()
    assert theirs.secret == secret and theirs.event_types == ["referral.sent"]
    assert delivery.status == DeliveryStatus.FAILED
    assert not AuditEntry.objects.filter(action__startswith="webhook.", actor_user=personas["org_admin"].user.pk).exists()


# --- who may open the pages ---------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["caseworker", "coordinator", "auditor"])
def test_other_roles_get_403_on_every_integration_page(personas, persona):
    endpoint = endpoint_of(personas["org_admin"])
    delivery = delivery_to(endpoint)
    key = key_of(personas["org_admin"]).api_key
    client = web_client_for(personas[persona].user)
    forms = [
        f"{KEYS}new/", f"{KEYS}{key.pk}/revoke/", f"{WEBHOOKS}new/", f"{WEBHOOKS}{endpoint.pk}/",
        f"{WEBHOOKS}{endpoint.pk}/rotate/", f"{WEBHOOKS}{endpoint.pk}/delete/",
    ]
    for page in [KEYS, WEBHOOKS, *forms]:
        assert client.get(page).status_code == 403, page
    for page in forms:
        assert client.post(page, {"name": "x", "scopes": ["organisations:read"], "url": PUBLIC_TARGET}).status_code == 403
    assert client.post(f"{WEBHOOKS}{endpoint.pk}/deliveries/{delivery.pk}/redeliver/").status_code == 403
    assert ApiKey.objects.count() == 2  # the persona's key of the suite, and this one
    assert WebhookEndpoint.objects.count() == 1 and not ApiKey.objects.get(pk=key.pk).revoked_at


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get(KEYS)
    assert response.status_code == 302 and response["Location"].startswith("/app/sign-in/")


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_the_pages_speak_the_persons_language(personas, language):
    partner_services.user_set_language(user=personas["org_admin"].user, language=language)
    client = web_client_for(personas["org_admin"].user)
    response = client.post(f"{KEYS}new/", {"name": "Taal", "scopes": ["organisations:read"]})
    page = response.content.decode()
    assert response.status_code == 200 and f'<html lang="{language}">' in page
    assert "it will not be shown again" not in page
