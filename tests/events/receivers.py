"""Local HTTP receivers for webhook tests: the documented example receiver, and scripted ones."""

from __future__ import annotations

import contextlib
import importlib.util
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.referrals.conftest import Flow

EXAMPLE = Path(__file__).resolve().parents[2] / "api_docs" / "examples" / "receiver.py"


def load_example_receiver():
    spec = importlib.util.spec_from_file_location("example_receiver", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def serving(handler_class):
    """Serve ``handler_class`` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class Scripted:
    """A receiver answering each request with the next scripted (status, headers); records every request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[dict] = []

    def handler(self):
        script = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                script.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status, headers = script.answers.pop(0) if script.answers else (204, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def flow(personas, orgs):
    return Flow(personas, orgs)


@pytest.fixture
def local_targets(settings):
    """Webhooks may target this machine over http (the local-testing setting)."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
