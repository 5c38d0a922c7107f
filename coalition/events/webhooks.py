"""Webhook deliveries: created with the event (the outbox), sent by the worker, at least once.

Each event an organisation is party to becomes one ``WebhookDelivery`` per active
endpoint of that organisation subscribed to its type, in the event's own
transaction, together with the task that will send it (the database task backend
writes its row in the same transaction). The delivery row is the truth: a lost or
killed task is made good by the periodic sweep.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import time
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpcore
import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks import Webhook

from coalition.audit.services import record
from coalition.events.taskqueue import enqueue_for, jittered, pending_task_targets

from .models import DeliveryStatus, Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .targets import TargetRefused, check_target

logger = logging.getLogger(__name__)

# Waits after the 1st, 2nd, ... failed attempt (each spread by ±20 %, see ``jittered``): about
# three days in all, then the delivery fails.
RETRY_SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
# A receiver's Retry-After is honoured up to this long.
MAX_RETRY_AFTER = timedelta(hours=24)
USER_AGENT = "coalition-referral-network-webhooks/1"


def schedule_deliveries(event: Event) -> list[WebhookDelivery]:
    """Create one delivery per active endpoint subscribed to ``event``'s type, and enqueue it."""
    if not event.organisations:
        return []
    endpoints = WebhookEndpoint.objects.filter(organisation_id__in=event.organisations, active=True).only(
        "id", "event_types"
    )
    now = timezone.now()
    deliveries = [
        WebhookDelivery(endpoint=endpoint, event=event, next_attempt_at=now)
        for endpoint in endpoints
        if endpoint.subscribes_to(event.type)
    ]
    if deliveries:
        WebhookDelivery.objects.bulk_create(deliveries)
        for delivery in deliveries:
            enqueue_delivery(delivery)
    return deliveries


def enqueue_delivery(delivery: WebhookDelivery, run_after: datetime | None = None) -> None:
    """Queue the task that sends ``delivery`` (in the caller's transaction, with the database backend)."""
    from .tasks import deliver_webhook

    enqueue_for(deliver_webhook, delivery.pk, run_after)


# --- the body and its signature ------------------------------------------------------


def event_body(event: Event) -> dict:
    """What a webhook carries: type, time and ids, never personal data (the feed's item, enveloped)."""
    data = dict(event.data or {})
    data |= {
        "id": str(event.id),
        "seq": event.seq,
        "case": str(event.case) if event.case else None,
        "referral": str(event.referral) if event.referral else None,
        "organisations": list(event.organisations),
    }
    return {"type": event.type, "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"), "data": data}


def signed_headers(endpoint: WebhookEndpoint, *, msg_id: str, body: str, at: datetime) -> dict[str, str]:
    """Standard Webhooks headers; during a rotation's overlap, one signature per valid secret."""
    signatures = [Webhook(secret).sign(msg_id, at, body) for secret in endpoint.signing_secrets(at)]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


# --- sending ---------------------------------------------------------------------------


def lease_duration() -> timedelta:
    """Longer than any attempt can take: the attempt's deadline plus the address check (DNS) and the database."""
    return timedelta(seconds=4 * settings.WEBHOOK_TIMEOUT_SECONDS + 5)


CLAIMED, BUSY, NOT_DUE = "claimed", "busy", "not_due"


@transaction.atomic
def _claim(delivery_id) -> str:
    """Take the lease of a due, unleased delivery, unless its endpoint already has its fill in flight.

    At most ``WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT`` deliveries to one endpoint hold a lease
    at once: claims for one endpoint are serialised on its row, so the count cannot be
    overtaken by a concurrent claim. A slow receiver thus holds at most that many workers.
    """
    now = timezone.now()
    due = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
    )
    endpoint_id = due.values_list("endpoint_id", flat=True).first()
    if endpoint_id is None:
        return NOT_DUE
    list(WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).values_list("pk"))
    in_flight = WebhookDelivery.objects.filter(endpoint_id=endpoint_id, locked_until__gt=now).count()
    if in_flight >= settings.WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT:
        return BUSY
    return CLAIMED if due.update(locked_until=now + lease_duration()) == 1 else NOT_DUE


def _retry_after(response: httpx.Response) -> timedelta | None:
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        wait = timedelta(seconds=int(value[:9]))
    else:
        try:
            wait = parsedate_to_datetime(value) - timezone.now()
        except (TypeError, ValueError):
            return None
    return max(timedelta(0), min(wait, MAX_RETRY_AFTER))


def tls_context() -> ssl.SSLContext | bool:
    """What httpx verifies receivers' certificates with (its default trust store; a seam for tests)."""
    return True


class _Deadline(httpcore.NetworkBackend):
    """httpcore's sync network backend with one deadline for every socket operation of an attempt.

    httpx's timeouts apply to each read, so a receiver trickling one byte a second holds
    a worker for as long as it likes. Here each connect, TLS handshake, write and read
    may take only what is left until the deadline, and a watchdog shuts the sockets down
    shortly after it, which ends any blocking call (a TLS handshake made of many reads
    included): the attempt cannot outlive its deadline.
    """

    def __init__(self, seconds: float):
        self._inner = httpcore.SyncBackend()
        self.deadline = time.monotonic() + seconds
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._expired = False
        self._watchdog = threading.Timer(seconds + 0.5, self._shut_down)
        self._watchdog.daemon = True
        self._watchdog.start()

    def left(self, timeout: float | None, error: type[Exception]) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise error("the attempt's deadline passed")
        return remaining if timeout is None else min(timeout, remaining)

    def track(self, stream: httpcore.NetworkStream) -> httpcore.NetworkStream:
        sock = stream.get_extra_info("socket")
        with self._lock:
            if sock is not None:
                self._sockets.append(sock)
            expired = self._expired
        if expired:
            self._shut_down()
        return _DeadlineStream(stream, self)

    def _shut_down(self) -> None:
        with self._lock:
            self._expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the OS call, also under a TLS socket
            except OSError:
                pass

    def close(self) -> None:
        self._watchdog.cancel()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stream = self._inner.connect_tcp(
            host, port, timeout=self.left(timeout, httpcore.ConnectTimeout), local_address=local_address,
            socket_options=socket_options,
        )
        return self.track(stream)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):  # pragma: no cover - never a unix socket
        raise httpcore.ConnectError("webhooks go over TCP")

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, max(0.0, self.deadline - time.monotonic())))


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, backend: _Deadline):
        self._inner, self._backend = inner, backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout=self._backend.left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout=self._backend.left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        stream = self._inner.start_tls(
            ssl_context, server_hostname=server_hostname, timeout=self._backend.left(timeout, httpcore.ConnectTimeout)
        )
        return self._backend.track(stream)

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


def _client(deadline: _Deadline, timeout: float) -> httpx.Client:
    """An httpx client whose connections go through ``deadline`` (no proxy, no environment)."""
    transport = httpx.HTTPTransport(verify=tls_context(), trust_env=False)
    # httpx 0.28 builds its httpcore pool without a way to pass a network backend: replace the pool.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(verify=tls_context(), trust_env=False),
        max_connections=1,
        max_keepalive_connections=0,
        network_backend=deadline,
    )
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)


def _post(endpoint: WebhookEndpoint, event: Event) -> tuple[int | None, str, timedelta | None]:
    """One attempt: (status code, error class, Retry-After). Never raises for the receiver's faults.

    The request goes to an address the target check just approved, never to a fresh DNS
    lookup, so a name that rebinds to an internal address after the check is not
    followed; the Host header and the TLS server name stay the registered host name.
    Redirects are not followed. The whole exchange (connect, TLS, send, status line and
    headers, over every checked address) has ``WEBHOOK_TIMEOUT_SECONDS`` in all; the
    response body is never read.
    """
    try:
        target = check_target(endpoint.url)
    except TargetRefused:
        return None, "refused_target", None
    body = json.dumps(event_body(event), separators=(",", ":"), sort_keys=True)
    headers = signed_headers(endpoint, msg_id=str(event.id), body=body, at=timezone.now())
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    deadline = _Deadline(timeout)
    status_code = retry_after = None
    try:
        with _client(deadline, timeout) as client:
            for url, pinned_headers, extensions in target.requests():
                try:
                    with client.stream(
                        "POST", url, content=body.encode(), headers=headers | pinned_headers, extensions=extensions
                    ) as response:
                        status_code = response.status_code
                        if status_code in (429, 503):
                            retry_after = _retry_after(response)
                        redirect = response.is_redirect
                    break  # closed without reading the body
                except httpx.ConnectError:
                    if time.monotonic() >= deadline.deadline:
                        raise
                    continue  # refused or unreachable at once: the next checked address, as a resolver would
    except httpx.TimeoutException:
        return None, "timeout", None
    except (httpx.HTTPError, OSError):  # after the deadline: the watchdog shut the socket
        return None, "timeout" if time.monotonic() >= deadline.deadline else "http_error", None
    finally:
        deadline.close()
    if status_code is None:
        return None, "connect_error", None
    if redirect:
        return status_code, "redirect", None
    return status_code, "", retry_after


def deliver(delivery_id) -> str | None:
    """Send one due delivery once and record the attempt; returns its status, or None if not due.

    Safe to call twice at once: only the caller that claims the lease sends. When the
    endpoint already has its fill of deliveries in flight, the task is queued again for a
    little later (about one attempt's deadline) instead of waiting on a worker.
    """
    claim = _claim(delivery_id)
    if claim == BUSY:
        wait = jittered(timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS))
        enqueue_delivery(WebhookDelivery(pk=delivery_id), run_after=timezone.now() + wait)
        return None
    if claim != CLAIMED:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.DISABLED, locked_until=None, next_attempt_at=None
        )
        return DeliveryStatus.DISABLED
    started = time.monotonic()
    status_code, error, retry_after = _post(endpoint, event)
    duration_ms = int((time.monotonic() - started) * 1000)
    return _settle(delivery, status_code=status_code, error=error, retry_after=retry_after, duration_ms=duration_ms)


@transaction.atomic
def _settle(delivery, *, status_code, error, retry_after, duration_ms) -> str:
    now = timezone.now()
    delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    manual = delivery.failures == 0 and delivery.attempts > 0 and delivery.status == DeliveryStatus.PENDING
    WebhookAttempt.objects.create(
        delivery=delivery, at=now, status_code=status_code, duration_ms=duration_ms, error=error, manual=manual
    )
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.locked_until = None
    if status_code is not None and 200 <= status_code < 300 and not error:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, now, None
    elif status_code == 410:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.DISABLED, None
        _disable_gone_endpoint(delivery.endpoint)
    else:
        delivery.failures += 1
        if delivery.failures > len(RETRY_SCHEDULE):
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        else:
            wait = jittered(RETRY_SCHEDULE[delivery.failures - 1])
            delivery.next_attempt_at = now + max(wait, retry_after or timedelta(0))
    delivery.save()
    logger.info(
        "webhook attempt",
        extra={
            "delivery": str(delivery.pk),
            "status_code": status_code,
            "error": error,
            "duration_ms": duration_ms,
            "outcome": delivery.status,
        },
    )
    if delivery.status == DeliveryStatus.PENDING:
        enqueue_delivery(delivery, run_after=delivery.next_attempt_at)
    return delivery.status


def _disable_gone_endpoint(endpoint: WebhookEndpoint) -> None:
    """A 410 Gone: the receiver asks us to stop. Its other pending deliveries stop too."""
    updated = WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(active=False, disabled_reason="gone")
    WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).exclude(
        locked_until__gt=timezone.now()
    ).update(status=DeliveryStatus.DISABLED, next_attempt_at=None)
    if updated:
        record(
            action="webhook.disable", actor=None, obj=endpoint, organisation_id=endpoint.organisation_id,
            detail={"reason": "gone"},
        )


def sweep_due_deliveries(*, grace: timedelta | None = None, limit: int = 500) -> int:
    """Re-enqueue pending deliveries overdue by more than ``grace``, not leased, and whose task is lost.

    A delivery that still has a READY or RUNNING task (a backlog: the workers have not
    reached it yet) is left alone, so a run never queues a second task for it; a task row
    a killed worker left RUNNING is failed first by ``recover_abandoned_tasks``.
    """
    from .tasks import deliver_webhook

    now = timezone.now()
    grace = grace if grace is not None else timedelta(seconds=settings.WEBHOOK_SWEEP_SECONDS)
    due = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now - grace)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    queued = pending_task_targets(deliver_webhook, due)
    lost = [pk for pk in due if str(pk) not in queued]
    for pk in lost:
        enqueue_delivery(WebhookDelivery(pk=pk))
    return len(lost)
