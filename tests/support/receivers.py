"""Local HTTP receivers for webhook tests: the documented example receiver, and scripted ones."""

from __future__ import annotations

import contextlib
import importlib.util
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

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
def local_targets(settings):
    """Webhooks may target this machine over http (the local-testing setting)."""
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 2


def self_signed_certificate(name: str) -> tuple[bytes, bytes]:
    """A certificate for ``name`` (PEM) signed by its own key, and that key (PEM): a test trust anchor."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


@contextlib.contextmanager
def serving_tls(handler_class, *, certificate: bytes, key: bytes, server_names: list):
    """Serve ``handler_class`` over TLS on 127.0.0.1; records each client's SNI in ``server_names``."""
    import ssl
    import tempfile

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = Path(folder) / "cert.pem", Path(folder) / "key.pem"
        cert_file.write_bytes(certificate)
        key_file.write_bytes(key)
        context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def trickling(head: bytes, *, then: bytes = b"", seconds: float = 10.0):
    """A raw TCP receiver that reads each request, sends ``head`` at once, then ``then`` one byte a second.

    With nothing in ``then`` it hangs after ``head`` (an empty ``head`` too: it never answers).

    It gives up after ``seconds`` (so that a client without a total deadline is not held
    for good by the test itself); yields the base URL and a list of each connection's
    seconds until the client went away.
    """
    import socket
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop, held = threading.Event(), []

    def serve(conn):
        started = time.monotonic()
        try:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            conn.sendall(head)
            for byte in then:
                if stop.wait(1.0) or time.monotonic() - started > seconds:
                    break
                conn.sendall(bytes([byte]))
            if not then:
                stop.wait(seconds)  # hangs: says nothing more
        except OSError:
            pass
        finally:
            held.append(time.monotonic() - started)
            conn.close()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", held
    finally:
        stop.set()
        listener.close()
