"""Webhooks: safe targets, Standard Webhooks signatures, retries, 410, Retry-After, no redirects, the log."""

import json
import socket
import ssl
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from standardwebhooks import Webhook

from coalition.audit.models import AuditEntry
from coalition.events import targets, webhooks
from coalition.events.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from coalition.events.tasks import deliver_webhook
from tests.support.flows import CHILD
from tests.support.receivers import (  # noqa: F401  (local_targets: fixture)
    Scripted,
    load_example_receiver,
    local_targets,
    self_signed_certificate,
    serving,
    serving_tls,
    trickling,
)

WEBHOOKS = "/api/v1/webhooks/"


def register(personas, url, persona="org_admin", **extra):
    response = personas[persona].client.post(WEBHOOKS, {"url": url} | extra, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def deliver_due(moved_by=timedelta(0)):
    """Run every pending delivery as if ``moved_by`` had passed: the worker's task, called directly."""
    statuses = []
    for delivery in WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).order_by("event__seq"):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - moved_by)
        statuses.append(deliver_webhook.call(str(delivery.pk)))
    return statuses


# --- where webhooks may go -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.20.30.40/hook",
        "https://192.168.1.5/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://100.64.0.1/hook",
        "https://internal.example/hook",  # resolves to loopback (see the fixture)
    ],
)
def test_targets_on_loopback_private_link_local_or_metadata_addresses_are_refused(personas, monkeypatch, url):
    real = targets.resolve
    monkeypatch.setattr(
        targets, "resolve", lambda host, port: ["127.0.0.1"] if host == "internal.example" else real(host, port)
    )
    response = personas["org_admin"].client.post(WEBHOOKS, {"url": url}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["pointer"] == "#/url"
    assert not WebhookEndpoint.objects.exists()


def test_plain_http_and_credentials_in_the_url_are_refused(personas):
    for url in ("http://93.184.216.34/hook", "https://user:pw@93.184.216.34/hook"):
        assert personas["org_admin"].client.post(WEBHOOKS, {"url": url}, format="json").status_code == 400


def test_a_public_https_target_is_accepted_and_the_setting_allows_local_ones(personas, settings):
    register(personas, "https://93.184.216.34/hook")
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    register(personas, "http://127.0.0.1:9/hook")
    assert WebhookEndpoint.objects.count() == 2


def test_a_name_that_resolves_to_a_private_address_later_is_refused_at_delivery(flow, personas, monkeypatch):
    monkeypatch.setattr(targets, "resolve", lambda host, port: ["93.184.216.34"])
    register(personas, "https://partner.example/hook")
    monkeypatch.setattr(targets, "resolve", lambda host, port: ["10.0.0.7"])
    flow.sent_referral()
    assert deliver_due() == [DeliveryStatus.PENDING]
    delivery = WebhookDelivery.objects.get()
    assert [a.error for a in delivery.attempt_log.all()] == ["refused_target"]
    assert delivery.next_attempt_at > timezone.now()


# IPv6 forms that embed or translate to an IPv4 address: refused whatever the embedded address,
# public (8.8.8.8) or not (127.0.0.1, 10.0.0.1). Python's is_global calls most of them global.
TRANSITION_ADDRESSES = [
    ("ipv4-compatible, loopback", "::127.0.0.1"),
    ("ipv4-compatible, public", "::8.8.8.8"),
    ("ipv4-mapped, loopback", "::ffff:127.0.0.1"),
    ("ipv4-mapped, public", "::ffff:8.8.8.8"),
    ("ipv4-translated, loopback", "::ffff:0:127.0.0.1"),
    ("ipv4-translated, private", "::ffff:0:10.0.0.1"),
    ("nat64 well-known, loopback", "64:ff9b::127.0.0.1"),
    ("nat64 well-known, metadata", "64:ff9b::169.254.169.254"),
    ("nat64 well-known, public", "64:ff9b::8.8.8.8"),
    ("nat64 local-use, private", "64:ff9b:1::a00:1"),
    ("nat64 local-use, public", "64:ff9b:1:0:0:0:808:808"),
    ("6to4, loopback", "2002:7f00:1::1"),
    ("6to4, private", "2002:a00:1::1"),
    ("6to4, public", "2002:808:808::1"),
    ("teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2"),
    ("site-local", "fec0::1"),
]


@pytest.mark.parametrize("address", [a for _, a in TRANSITION_ADDRESSES], ids=[n for n, _ in TRANSITION_ADDRESSES])
def test_ipv6_forms_that_embed_or_translate_to_ipv4_are_refused_by_name_and_literal(monkeypatch, settings, address):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    assert not targets.is_public(address)
    monkeypatch.setattr(targets, "resolve", lambda host, port: [address] if host == "partner.example" else [host])
    for url in ("https://partner.example/hook", f"https://[{address}]/hook"):
        with pytest.raises(targets.TargetRefused) as refused:
            targets.check_target(url)
        assert refused.value.code == "private_address"


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001:82b::200e"])
def test_public_ipv4_and_native_ipv6_addresses_are_accepted(monkeypatch, settings, address):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    monkeypatch.setattr(targets, "resolve", lambda host, port: [address])
    assert targets.check_target("https://partner.example/hook").addresses == (address,)


def test_one_private_address_among_public_ones_refuses_the_name(monkeypatch, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    monkeypatch.setattr(targets, "resolve", lambda host, port: ["93.184.216.34", "64:ff9b::a00:1"])
    with pytest.raises(targets.TargetRefused):
        targets.check_target("https://partner.example/hook")


def test_the_pinned_request_keeps_the_host_name_and_brackets_an_ipv6_address():
    target = targets.CheckedTarget(url="https://Partner.Example:8443/hook?x=1", addresses=("2606:4700::1", "1.1.1.1"))
    assert target.requests() == [
        ("https://[2606:4700::1]:8443/hook?x=1", {"Host": "partner.example:8443"}, {"sni_hostname": "partner.example"}),
        ("https://1.1.1.1:8443/hook?x=1", {"Host": "partner.example:8443"}, {"sni_hostname": "partner.example"}),
    ]


def test_dns_rebinding_after_the_check_cannot_make_a_delivery_reach_loopback(flow, personas, monkeypatch, settings):
    """The check sees a public address; any later lookup of the name answers 127.0.0.1 (a rebinding
    resolver). The delivery connects to the checked address only: the local receiver is never hit."""
    settings.DEBUG = True  # plain http to the local receiver, but no private targets allowed
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    receiver = Scripted()
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.create_connection
    connected = []

    def connect(address, *args, **kwargs):
        connected.append(address[0])
        if address[0] == "93.184.216.34":
            raise OSError("the public address is unreachable from the test")
        return real_connect(address, *args, **kwargs)

    with serving(receiver.handler()) as base:
        port = int(base.rsplit(":", 1)[1])
        monkeypatch.setattr(targets, "resolve", lambda host, port: ["93.184.216.34"])
        monkeypatch.setattr(
            socket,
            "getaddrinfo",
            lambda host, *a, **k: real_getaddrinfo("127.0.0.1" if host == "partner.example" else host, *a, **k),
        )
        monkeypatch.setattr(socket, "create_connection", connect)
        register(personas, f"http://partner.example:{port}/hook")
        flow.sent_referral()
        assert deliver_due() == [DeliveryStatus.PENDING]
    assert receiver.requests == []
    assert connected == ["93.184.216.34"]
    assert [a.error for a in WebhookDelivery.objects.get().attempt_log.all()] == ["connect_error"]


def test_a_tls_delivery_goes_to_the_pinned_address_with_the_host_name_in_sni_host_and_certificate(
    flow, personas, monkeypatch, local_targets
):
    """A real TLS receiver on 127.0.0.1 with a certificate for hooks.partner.test: the name is resolved
    once (by the check), the connection goes to that address, SNI and Host carry the name, and the
    certificate is verified against the name (one for another name is refused)."""
    name = "hooks.partner.test"
    lookups = []

    def resolve(host, port):
        lookups.append(host)
        return ["127.0.0.1"]

    real_getaddrinfo = socket.getaddrinfo

    def no_second_lookup(host, *args, **kwargs):
        assert host != name, "the connection looked the name up again"
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(targets, "resolve", resolve)
    certificate, key = self_signed_certificate(name)
    monkeypatch.setattr(webhooks, "tls_context", lambda: ssl.create_default_context(cadata=certificate.decode()))
    receiver, server_names = Scripted(), []
    with serving_tls(receiver.handler(), certificate=certificate, key=key, server_names=server_names) as port:
        register(personas, f"https://{name}:{port}/hook")
        flow.sent_referral()
        monkeypatch.setattr(socket, "getaddrinfo", no_second_lookup)
        assert deliver_due() == [DeliveryStatus.SUCCEEDED]
    assert server_names == [name]
    assert receiver.requests[0]["headers"]["Host"] == f"{name}:{port}"
    assert receiver.requests[0]["path"] == "/hook"
    assert lookups == [name, name]  # registration and delivery checks; the connection used the result

    other_certificate, other_key = self_signed_certificate("other.partner.test")
    monkeypatch.setattr(webhooks, "tls_context", lambda: ssl.create_default_context(cadata=other_certificate.decode()))
    with serving_tls(Scripted().handler(), certificate=other_certificate, key=other_key, server_names=[]) as port:
        WebhookEndpoint.objects.update(url=f"https://{name}:{port}/hook")
        flow.sent_referral()
        assert deliver_due() == [DeliveryStatus.PENDING]
    pending = WebhookDelivery.objects.get(status=DeliveryStatus.PENDING)
    assert [a.error for a in pending.attempt_log.all()] == ["connect_error"]


# --- the secret and the signature ---------------------------------------------------------------


def test_the_secret_is_shown_once_and_stored_encrypted(personas):
    created = register(personas, "https://93.184.216.34/hook")
    assert created["secret"].startswith("whsec_")
    shown = personas["org_admin"].client.get(f"{WEBHOOKS}{created['id']}/").json()
    assert "secret" not in shown
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM events_webhookendpoint")
        (stored,) = cursor.fetchone()
    assert created["secret"] not in stored
    entry = AuditEntry.objects.get(action="webhook.create")
    assert created["secret"] not in json.dumps(entry.detail)


def test_the_example_receiver_verifies_each_delivery_and_no_body_names_the_young_person(
    flow, personas, local_targets
):
    receiver = load_example_receiver()
    received = []
    # The secret comes with the registration: register, then serve and point the endpoint at the server.
    created = register(personas, "http://127.0.0.1:1/placeholder")
    secret = created["secret"]
    with serving(receiver.make_handler(secret, received.append)) as base:
        personas["org_admin"].client.patch(f"{WEBHOOKS}{created['id']}/", {"url": f"{base}/hook"}, format="json")
        _case, referral = flow.sent_referral()
        flow.act(referral["id"], "accept", "recipient_caseworker")
        assert deliver_due() == [DeliveryStatus.SUCCEEDED, DeliveryStatus.SUCCEEDED]

    assert [event["type"] for event in received] == ["referral.sent", "referral.accepted"]
    assert {event["data"]["referral"] for event in received} == {referral["id"]}
    body = json.dumps(received)
    for value in (CHILD["given_name"], CHILD["family_name"], CHILD["date_of_birth"], CHILD["safe_contact"]):
        assert value not in body


def test_a_forged_or_stale_delivery_is_refused_by_the_example_receiver():
    receiver = load_example_receiver()
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = json.dumps({"type": "referral.sent", "data": {"id": "e1"}})
    now = timezone.now()
    good = {
        "webhook-id": "e1",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign("e1", now, body),
    }
    assert receiver.verify(secret, body.encode(), good)["type"] == "referral.sent"
    with pytest.raises(Exception, match="signature"):
        receiver.verify(secret, body.replace("sent", "accepted").encode(), good)
    old = now - timedelta(minutes=10)
    stale = good | {
        "webhook-timestamp": str(int(old.timestamp())),
        "webhook-signature": Webhook(secret).sign("e1", old, body),
    }
    with pytest.raises(Exception, match="too old"):
        receiver.verify(secret, body.encode(), stale)


def test_during_a_rotation_both_secrets_verify_and_after_the_overlap_only_the_new_one(flow, personas, local_targets):
    script = Scripted((204, {}), (204, {}))
    with serving(script.handler()) as base:
        created = register(personas, f"{base}/hook")
        rotated = personas["org_admin"].client.post(f"{WEBHOOKS}{created['id']}/rotate-secret/", format="json").json()
        assert rotated["secret"] != created["secret"] and rotated["previous_secret_expires_at"]
        flow.sent_referral()
        deliver_due()
        WebhookEndpoint.objects.update(previous_secret_expires_at=timezone.now() - timedelta(seconds=1))
        flow.sent_referral()
        deliver_due()

    during, after = script.requests
    assert len(during["headers"]["webhook-signature"].split(" ")) == 2
    for secret in (created["secret"], rotated["secret"]):
        Webhook(secret).verify(during["body"], during["headers"])
    Webhook(rotated["secret"]).verify(after["body"], after["headers"])
    with pytest.raises(Exception, match="signature"):
        Webhook(created["secret"]).verify(after["body"], after["headers"])


# --- retries, duplicates, 410, Retry-After, redirects ---------------------------------------------


def test_a_receiver_failing_five_times_then_succeeding_accepts_each_event_exactly_once(flow, personas, local_targets):
    receiver = load_example_receiver()
    accepted, failures_left = [], {"n": 5}

    def handle(event):
        if failures_left["n"]:
            failures_left["n"] -= 1
            raise RuntimeError("receiver down")
        accepted.append(event["data"]["id"])

    created = register(personas, "http://127.0.0.1:1/placeholder")
    with serving(receiver.make_handler(created["secret"], handle)) as base:
        personas["org_admin"].client.patch(f"{WEBHOOKS}{created['id']}/", {"url": f"{base}/hook"}, format="json")
        _case, referral = flow.sent_referral()
        flow.act(referral["id"], "acknowledge", "recipient_caseworker")
        rounds = 0
        while WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists():
            deliver_due(moved_by=timedelta(days=1))
            rounds += 1
            assert rounds < 10
        # A manual redelivery of each sends the same webhook-id again: the receiver skips it.
        for delivery in WebhookDelivery.objects.all():
            url = f"{WEBHOOKS}{created['id']}/deliveries/{delivery.pk}/redeliver/"
            assert personas["org_admin"].client.post(url, format="json").status_code == 202
        deliver_due()

    event_ids = sorted(str(d.event.id) for d in WebhookDelivery.objects.select_related("event"))
    assert sorted(accepted) == event_ids and len(accepted) == 2
    assert sum(d.attempts for d in WebhookDelivery.objects.all()) == 5 + 2 + 2
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}


def test_the_retry_schedule_lasts_about_three_days_then_the_delivery_fails(flow, personas, local_targets):
    assert timedelta(days=2.5) < sum(webhooks.RETRY_SCHEDULE, timedelta()) < timedelta(days=3.5)
    script = Scripted(*[(500, {})] * 20)
    with serving(script.handler()) as base:
        register(personas, f"{base}/hook")
        flow.sent_referral()
        waits = []
        while WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists():
            before = timezone.now()
            deliver_due(moved_by=timedelta(days=1))
            delivery = WebhookDelivery.objects.get()
            if delivery.next_attempt_at:
                waits.append(delivery.next_attempt_at - before)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == len(webhooks.RETRY_SCHEDULE) + 1
    # The first two waits are 5 s and 5 min, each spread by the ±20 % jitter.
    assert 4 <= waits[0].total_seconds() <= 6.5 and 240 <= waits[1].total_seconds() <= 361
    assert len(script.requests) == delivery.attempts
    headers = {r["headers"]["webhook-id"] for r in script.requests}
    assert headers == {str(delivery.event.id)}  # the same id on every attempt


def test_a_410_disables_the_endpoint_and_stops_its_other_deliveries(flow, personas, local_targets):
    script = Scripted((410, {}))
    with serving(script.handler()) as base:
        created = register(personas, f"{base}/hook")
        flow.sent_referral()
        flow.sent_referral()
        first = WebhookDelivery.objects.order_by("event__seq").first()
        assert deliver_webhook.call(str(first.pk)) == DeliveryStatus.DISABLED
        assert deliver_due() == []
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.active is False and endpoint.disabled_reason == "gone"
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DISABLED}
    assert len(script.requests) == 1
    assert AuditEntry.objects.filter(action="webhook.disable", object_id=created["id"]).count() == 1
    shown = personas["org_admin"].client.get(f"{WEBHOOKS}{created['id']}/").json()
    assert shown["active"] is False and shown["disabled_reason"] == "gone"
    flow.sent_referral()
    assert WebhookDelivery.objects.count() == 2  # an inactive endpoint gets no new deliveries


def test_retry_after_is_honoured(flow, personas, local_targets):
    script = Scripted((429, {"Retry-After": "600"}), (503, {"Retry-After": "999999999"}))
    with serving(script.handler()) as base:
        register(personas, f"{base}/hook")
        flow.sent_referral()
        before = timezone.now()
        deliver_due()
        delivery = WebhookDelivery.objects.get()
        assert timedelta(seconds=599) < delivery.next_attempt_at - before < timedelta(seconds=610)
        before = timezone.now()
        deliver_due(moved_by=timedelta(seconds=600))
        delivery.refresh_from_db()
        waited = delivery.next_attempt_at - before
        assert timedelta(hours=23) < waited <= webhooks.MAX_RETRY_AFTER + timedelta(seconds=5)
    assert [a.status_code for a in delivery.attempt_log.all()] == [429, 503]


def test_redirects_are_not_followed(flow, personas, local_targets):
    elsewhere = Scripted()
    with serving(elsewhere.handler()) as other:
        script = Scripted((307, {"Location": f"{other}/stolen"}))
        with serving(script.handler()) as base:
            register(personas, f"{base}/hook")
            flow.sent_referral()
            assert deliver_due() == [DeliveryStatus.PENDING]
    assert elsewhere.requests == []
    attempt = WebhookDelivery.objects.get().attempt_log.get()
    assert (attempt.status_code, attempt.error) == (307, "redirect")


def test_a_silent_receiver_times_out_and_is_retried(flow, personas, local_targets, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts connections, never answers
    try:
        register(personas, f"http://127.0.0.1:{listener.getsockname()[1]}/hook")
        flow.sent_referral()
        assert deliver_due() == [DeliveryStatus.PENDING]
    finally:
        listener.close()
    assert WebhookDelivery.objects.get().attempt_log.get().error == "timeout"


# --- which endpoints get which events; the log ---------------------------------------------------


def test_only_active_endpoints_of_a_party_subscribed_to_the_type_get_a_delivery(flow, personas):
    sent_only = register(personas, "https://93.184.216.34/sent", event_types=["referral.sent"])
    every = register(personas, "https://93.184.216.34/all")
    register(personas, "https://93.184.216.34/off", active=False)
    outsider = register(personas, "https://93.184.216.34/outsider", persona="outsider_admin")
    _case, referral = flow.sent_referral()
    flow.act(referral["id"], "acknowledge", "recipient_caseworker")

    by_endpoint = {}
    for delivery in WebhookDelivery.objects.select_related("event").order_by("event__seq"):
        by_endpoint.setdefault(str(delivery.endpoint_id), []).append(delivery.event.type)
    assert by_endpoint == {
        sent_only["id"]: ["referral.sent"],
        every["id"]: ["referral.sent", "referral.acknowledged"],
    }
    assert outsider["id"] not in by_endpoint


def test_an_unknown_event_type_is_refused(personas):
    response = personas["org_admin"].client.post(
        WEBHOOKS, {"url": "https://93.184.216.34/hook", "event_types": ["referral.exploded"]}, format="json"
    )
    assert response.status_code == 400


def test_the_org_admin_reads_each_attempt_in_the_delivery_log(
    flow, personas, local_targets, django_assert_max_num_queries
):
    script = Scripted((500, {}), (204, {}))
    with serving(script.handler()) as base:
        created = register(personas, f"{base}/hook")
        flow.sent_referral()
        deliver_due()
        deliver_due(moved_by=timedelta(minutes=1))
    with django_assert_max_num_queries(12):
        response = personas["org_admin"].client.get(f"{WEBHOOKS}{created['id']}/deliveries/")
    [delivery] = response.json()["results"]
    assert delivery["status"] == "succeeded" and delivery["attempts"] == 2
    assert [(a["status_code"], a["error"]) for a in delivery["attempt_log"]] == [(500, ""), (204, "")]
    assert all(a["duration_ms"] >= 0 for a in delivery["attempt_log"])
    outsider = personas["outsider_admin"].client.get(f"{WEBHOOKS}{created['id']}/deliveries/")
    assert outsider.status_code == 404


def test_every_change_to_an_endpoint_is_audited(personas):
    created = register(personas, "https://93.184.216.34/hook")
    client = personas["org_admin"].client
    client.patch(f"{WEBHOOKS}{created['id']}/", {"event_types": ["referral.sent"]}, format="json")
    client.post(f"{WEBHOOKS}{created['id']}/rotate-secret/", format="json")
    client.delete(f"{WEBHOOKS}{created['id']}/")
    actions = list(AuditEntry.objects.filter(object_id=created["id"]).order_by("seq").values_list("action", flat=True))
    assert actions == ["webhook.create", "webhook.update", "webhook.rotate_secret", "webhook.delete"]


def test_redelivering_to_an_inactive_endpoint_is_a_conflict(flow, personas):
    created = register(personas, "https://93.184.216.34/hook")
    flow.sent_referral()
    personas["org_admin"].client.patch(f"{WEBHOOKS}{created['id']}/", {"active": False}, format="json")
    delivery = WebhookDelivery.objects.get()
    response = personas["org_admin"].client.post(f"{WEBHOOKS}{created['id']}/deliveries/{delivery.pk}/redeliver/")
    assert response.status_code == 409


# --- one slow partner cannot stall the others ---------------------------------------------------

TRICKLED_HEAD = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 60


def _timed_delivery(delivery):
    started = time.monotonic()
    outcome = deliver_webhook.call(str(delivery.pk))
    return outcome, time.monotonic() - started


def test_a_receiver_trickling_its_headers_is_cut_off_at_the_attempts_deadline(flow, personas, local_targets, settings):
    """httpx's timeout is per read: one byte a second used to hold the worker as long as the receiver liked."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    with trickling(b"", then=TRICKLED_HEAD, seconds=15) as (base, _held):
        register(personas, f"{base}/hook")
        flow.sent_referral()
        outcome, took = _timed_delivery(WebhookDelivery.objects.get())
    assert outcome == DeliveryStatus.PENDING and took < 3.5, took
    assert WebhookDelivery.objects.get().attempt_log.get().error == "timeout"


def test_an_answer_whose_body_never_ends_counts_from_its_status_and_headers(flow, personas, local_targets, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n"
    with trickling(head, then=b"x" * 500, seconds=15) as (base, _held):
        register(personas, f"{base}/hook")
        flow.sent_referral()
        outcome, took = _timed_delivery(WebhookDelivery.objects.get())
    assert outcome == DeliveryStatus.SUCCEEDED and took < 1.5, took  # the body is never read


def test_a_receiver_that_accepts_and_never_answers_ends_within_the_deadline(flow, personas, local_targets, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    with trickling(b"", then=b"", seconds=30) as (base, _held):
        register(personas, f"{base}/hook")
        flow.sent_referral()
        outcome, took = _timed_delivery(WebhookDelivery.objects.get())
    assert outcome == DeliveryStatus.PENDING and took < 2.5
    assert WebhookDelivery.objects.get().attempt_log.get().error == "timeout"


def test_two_trickling_endpoints_do_not_hold_back_a_third_ones_webhooks(flow, personas, local_targets, settings):
    """The worker's order of work: two slow partners first, then a healthy one that must still go out promptly."""
    from django_tasks_db.compat import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    healthy = Scripted()
    with (
        trickling(b"", then=TRICKLED_HEAD, seconds=20) as (slow_a, _a),
        trickling(b"", then=TRICKLED_HEAD, seconds=20) as (slow_b, _b),
        serving(healthy.handler()) as fine,
    ):
        for url in (slow_a, slow_b, fine):
            register(personas, f"{url}/hook")
        flow.sent_referral()
        started = time.monotonic()
        for task in DBTaskResult.objects.ready().order_by("enqueued_at", "id"):  # as one worker takes them
            if task.status == TaskResultStatus.READY:
                task.task.call(*task.args_kwargs["args"])
        took = time.monotonic() - started
    assert len(healthy.requests) == 1 and took < 4, took
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 1


def test_an_endpoint_with_its_fill_in_flight_makes_its_next_delivery_wait(flow, personas, local_targets, settings):
    from django_tasks_db.models import DBTaskResult

    settings.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT = 2
    script = Scripted()
    with serving(script.handler()) as base:
        register(personas, f"{base}/hook")
        for _ in range(3):
            flow.sent_referral()
        first, second, third = WebhookDelivery.objects.order_by("event__seq")
        WebhookDelivery.objects.filter(pk__in=[first.pk, second.pk]).update(
            locked_until=timezone.now() + timedelta(seconds=30)  # two attempts in flight on other workers
        )
        before = timezone.now()
        assert deliver_webhook.call(str(third.pk)) is None
        assert script.requests == []
        retry = DBTaskResult.objects.filter(args_kwargs__args=[str(third.pk)]).order_by("-enqueued_at").first()
        wait = retry.run_after - before
        assert timedelta(seconds=0.8 * 2) <= wait <= timedelta(seconds=1.2 * 2 + 1)  # about one attempt later
        third.refresh_from_db()
        assert third.locked_until is None and third.attempts == 0

        WebhookDelivery.objects.filter(pk=first.pk).update(locked_until=None)  # one attempt ended
        assert deliver_webhook.call(str(third.pk)) == DeliveryStatus.SUCCEEDED
    assert len(script.requests) == 1


def test_retry_waits_are_spread_by_twenty_percent_either_way():
    import random

    from coalition.events.taskqueue import jittered

    rng = random.Random(12)
    waits = [jittered(timedelta(minutes=30), rng=rng).total_seconds() for _ in range(2000)]
    assert 0.8 * 1800 <= min(waits) < 0.82 * 1800 and 1.18 * 1800 < max(waits) <= 1.2 * 1800
    assert len({round(w) for w in waits}) > 500  # not one instant for everybody


def test_failed_attempts_of_many_deliveries_are_not_all_retried_at_the_same_moment(flow, personas, local_targets):
    script = Scripted(*[(500, {})] * 10)
    with serving(script.handler()) as base:
        register(personas, f"{base}/hook")
        for _ in range(6):
            flow.sent_referral()
        deliver_due()
    nexts = sorted(d.next_attempt_at for d in WebhookDelivery.objects.all())
    assert nexts[-1] - nexts[0] > timedelta(milliseconds=300)  # 5 s ± 20 %, not one instant


def test_the_sweep_enqueues_a_lost_delivery_once_and_not_again_while_its_task_waits(flow, personas, settings):
    from django_tasks_db.models import DBTaskResult

    settings.WEBHOOK_SWEEP_SECONDS = 60
    register(personas, "https://93.184.216.34/hook")
    for _ in range(3):
        flow.sent_referral()
    lost, backlog, _fresh = WebhookDelivery.objects.order_by("event__seq")
    WebhookDelivery.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=10))
    DBTaskResult.objects.filter(args_kwargs__args=[str(lost.pk)]).delete()  # a killed worker's lost task
    WebhookDelivery.objects.filter(pk=_fresh.pk).update(next_attempt_at=timezone.now())
    before = DBTaskResult.objects.count()

    assert webhooks.sweep_due_deliveries() == 1  # the backlog's delivery still has its task
    assert webhooks.sweep_due_deliveries() == 0
    assert DBTaskResult.objects.count() == before + 1
    assert DBTaskResult.objects.filter(args_kwargs__args=[str(lost.pk)]).count() == 1
    assert DBTaskResult.objects.filter(args_kwargs__args=[str(backlog.pk)]).count() == 1
