"""A minimal receiver of the coalition's webhooks: verify the signature, skip duplicates, answer fast.

Run it with the secret shown when the endpoint was registered:

    WEBHOOK_SECRET=whsec_... python receiver.py 8080

Put it behind https in production. Deliveries are at least once: the same event may
come twice (a retry after a lost answer, a manual redelivery); ``webhook-id`` is the
event id and never changes, so remember the ids you processed. Answer 2xx only once
the event is safely yours; anything else (or no answer within a few seconds) is
retried for about three days. Answer 410 Gone to stop deliveries to this URL.
Events carry ids and codes only: fetch the referral or case with your API key.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

MAX_BODY_BYTES = 1_000_000


class ProcessedIds:
    """Event ids already processed. In production: a table with a unique constraint on the id."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def __contains__(self, event_id: str) -> bool:
        with self._lock:
            return event_id in self._ids

    def add(self, event_id: str) -> None:
        with self._lock:
            self._ids.add(event_id)


def verify(secret: str, body: bytes, headers) -> dict:
    """The event if the signature and timestamp (within 5 minutes) are valid; else WebhookVerificationError.

    During a secret rotation the header holds several signatures: any valid one will do.
    """
    return Webhook(secret).verify(body, {key.lower(): value for key, value in dict(headers).items()})


def make_handler(secret: str, handle_event: Callable[[dict], None], processed: ProcessedIds | None = None):
    """An ``http.server`` handler class that verifies, deduplicates and hands each new event to ``handle_event``."""
    processed = processed if processed is not None else ProcessedIds()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY_BYTES:
                return self._answer(413)
            body = self.rfile.read(length)
            try:
                event = verify(secret, body, self.headers)
            except WebhookVerificationError:
                return self._answer(401)  # not from the coalition, or replayed too late
            event_id = self.headers["webhook-id"]
            if event_id not in processed:
                try:
                    handle_event(event)  # keep it quick: store or enqueue, then answer
                except Exception:
                    return self._answer(500)  # not processed: the coalition will retry
                processed.add(event_id)
            return self._answer(204)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args) -> None:  # noqa: A002 - keep request lines out of the logs
            pass

    return Handler


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080

    def handle_event(event: dict) -> None:
        print(event["type"], event["data"]["id"], event["data"].get("referral"), flush=True)

    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(os.environ["WEBHOOK_SECRET"], handle_event))
    server.serve_forever()


if __name__ == "__main__":
    main()
