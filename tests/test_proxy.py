"""Slow and idle clients: nginx in front of gunicorn keeps `/healthz` answering.

Gunicorn's gthread workers give a thread to each connection that has started a
request, until the request is complete: sixteen clients sending their headers a
byte at a time held all twelve threads and `/healthz` timed out. These tests start
the production set-up for real: gunicorn with the project's gunicorn.conf.py
(DEBUG off, TRUSTED_PROXY_COUNT=1) and Debian's nginx running the committed
api_docs/nginx/coalition.conf, with only its ports, certificate and log paths
swapped (every timeout, buffer and header directive is the committed one, TLS
included). Everything listens on 127.0.0.1 and is stopped at the end.

They skip where nginx is not installed; CI (.ci/run) installs it and requires them.
"""

from __future__ import annotations

import contextlib
import datetime
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
COMMITTED_SITE = ROOT / "api_docs" / "nginx" / "coalition.conf"
SERVER_NAME = "api.example.org"
NGINX = shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
# Pinned so that fifty slow clients are many more than gunicorn's threads on any machine.
# One worker: the kernel hands new connections to several workers unevenly, so with
# two the starvation shown without nginx would depend on which worker got how many.
GUNICORN_WORKERS, GUNICORN_THREADS = 1, 4
LOGIN_RATE = 3  # per minute, per client address: the X-Forwarded-For test counts on it
ANSWER_WITHIN = 2.0  # seconds

# .ci/run sets this after installing nginx: there a missing nginx fails instead of skipping.
REQUIRED = os.environ.get("COALITION_REQUIRE_NGINX", "") == "1"

pytestmark = [
    pytest.mark.proxy,
    pytest.mark.skipif(NGINX is None and not REQUIRED,
                       reason="nginx is not installed (apt-get install nginx); CI installs it"),
]


# --- the committed configuration, made to run on loopback ports -------------------------------


def render_site(text: str, *, https_port: int, http_port: int, upstream: str, cert: Path, key: Path, logs: Path) -> str:
    """The committed site file with only addresses and paths replaced.

    Each replacement must match exactly as often as expected, so the test fails
    (rather than silently testing something else) when the committed file changes shape.
    """
    replacements = [
        (r"listen \[::\]:(443|80)( ssl)?( default_server)?;", "", 4),
        (r"listen 443 ssl( default_server)?;", rf"listen 127.0.0.1:{https_port} ssl\1;", 2),
        (r"listen 80( default_server)?;", rf"listen 127.0.0.1:{http_port}\1;", 2),
        (r"server 127\.0\.0\.1:8000;", f"server {upstream};", 1),
        (r"/etc/ssl/coalition/fullchain\.pem", str(cert), 1),
        (r"/etc/ssl/coalition/privkey\.pem", str(key), 1),
        (r"/var/log/nginx/", f"{logs}/", 2),
    ]
    for pattern, replacement, expected in replacements:
        text, count = re.subn(pattern, replacement, text)
        assert count == expected, f"{COMMITTED_SITE.name}: {pattern!r} matched {count} times, expected {expected}"
    return text


def _nginx_main_config(directory: Path, site: Path) -> str:
    # Only what Debian's /etc/nginx/nginx.conf would otherwise provide, in the temp directory.
    return f"""
daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {directory}/client_body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    include {site};
}}
"""


def _self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _start_nginx(directory: Path, *, nginx_port: int, upstream: str, cert: Path, key: Path) -> subprocess.Popen:
    """nginx as a child process with the rendered committed site, everything under ``directory``."""
    site = directory / "coalition.conf"
    site.write_text(render_site(
        COMMITTED_SITE.read_text(), https_port=nginx_port, http_port=free_port(),
        upstream=upstream, cert=cert, key=key, logs=directory,
    ))
    main = directory / "nginx.conf"
    main.write_text(_nginx_main_config(directory, site))
    command = [NGINX, "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(main)]
    checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- talking to it -----------------------------------------------------------------------------


class Stack:
    """Addresses of the running gunicorn and nginx, and a raw HTTP(S) client for both."""

    def __init__(self, *, gunicorn_port: int, nginx_port: int, tls: ssl.SSLContext, cert: Path, key: Path):
        self.gunicorn_port = gunicorn_port
        self.nginx_port = nginx_port
        self.tls = tls
        self.cert, self.key = cert, key

    def connect(self, *, via_nginx: bool, timeout: float | None = ANSWER_WITHIN) -> socket.socket:
        port = self.nginx_port if via_nginx else self.gunicorn_port
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if via_nginx:
            sock = self.tls.wrap_socket(sock, server_hostname=SERVER_NAME)
        return sock

    def request(self, method: str, path: str, *, via_nginx: bool = True, headers: dict | None = None,
                body: bytes = b"", send_body: bool = True, timeout: float = ANSWER_WITHIN):
        """One request on a fresh connection: (status, headers, body)."""
        head = {"Host": SERVER_NAME, "Connection": "close", **(headers or {})}
        if body or method == "POST":
            head.setdefault("Content-Length", str(len(body)))
            head.setdefault("Content-Type", "application/json")
        raw = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n"
        with self.connect(via_nginx=via_nginx, timeout=timeout) as sock:
            sock.sendall(raw.encode() + (body if send_body else b""))
            response = http.client.HTTPResponse(sock)
            response.begin()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()

    def healthz_seconds(self, *, via_nginx: bool) -> float:
        started = time.monotonic()
        status, _headers, body = self.request("GET", "/healthz", via_nginx=via_nginx)
        assert status == 200 and b'"ok"' in body, (status, body)
        return time.monotonic() - started


class SlowClients:
    """Connections that start a request and then hang on: slow headers, slow bodies, idle.

    A thread sends one more byte on every slow connection twice a second, so none of
    them is ever complete and none is idle long enough to trip a per-read timeout.
    """

    def __init__(self, stack: Stack, *, via_nginx: bool):
        self.stack, self.via_nginx = stack, via_nginx
        self.slow: list[socket.socket] = []
        self.idle: list[socket.socket] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one thread at a time on a TLS socket
        self._thread = threading.Thread(target=self._trickle, daemon=True)

    def open(self, *, slow_headers: int, slow_bodies: int = 0, idle: int = 0) -> SlowClients:
        for _ in range(slow_headers):
            sock = self.stack.connect(via_nginx=self.via_nginx)
            sock.sendall(f"GET /healthz HTTP/1.1\r\nHost: {SERVER_NAME}\r\nX-Slow: ".encode())
            self.slow.append(sock)
        for _ in range(slow_bodies):
            sock = self.stack.connect(via_nginx=self.via_nginx)
            sock.sendall(
                f"POST /api/v1/auth/token/ HTTP/1.1\r\nHost: {SERVER_NAME}\r\n"
                f"Content-Type: application/json\r\nContent-Length: 200000\r\n\r\n{{".encode()
            )
            self.slow.append(sock)
        for _ in range(idle):
            self.idle.append(self.stack.connect(via_nginx=self.via_nginx))
        self._thread.start()
        return self

    def _trickle(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                for sock in self.slow:
                    with contextlib.suppress(OSError):
                        sock.sendall(b"a")

    def still_waiting(self) -> int:
        """How many connections the server still holds open without having answered."""
        waiting = 0
        with self._lock:
            for sock in self.slow + self.idle:
                sock.setblocking(False)
                try:
                    data = sock.recv(1)
                except (BlockingIOError, ssl.SSLWantReadError):
                    waiting += 1
                except OSError:
                    pass
                else:
                    assert not data, f"the server answered a connection that never completed its request: {data!r}"
                finally:
                    sock.settimeout(ANSWER_WITHIN)
        return waiting

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for sock in self.slow + self.idle:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> SlowClients:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
        # Leave gunicorn as found for the next test: its threads see the closed sockets.
        deadline = time.monotonic() + 15
        while True:
            try:
                self.stack.healthz_seconds(via_nginx=False)
                return
            except (OSError, http.client.HTTPException):
                if time.monotonic() > deadline:
                    raise


@pytest.fixture(scope="module")
def stack():
    if NGINX is None:
        pytest.fail("COALITION_REQUIRE_NGINX=1 but no nginx binary was found")
    directory = Path(tempfile.mkdtemp(prefix="coalition-proxy-"))
    directory.chmod(0o755)  # nginx's workers may run as another user than its master
    processes: list[subprocess.Popen] = []
    try:
        cert, key = _self_signed_certificate(directory)
        tls = ssl.create_default_context(cafile=str(cert))

        gunicorn_port, nginx_port = free_port(), free_port()
        env = os.environ | {
            "DJANGO_SETTINGS_MODULE": "coalition.settings",
            "DEBUG": "false",
            # Nothing here reads a table: an empty database file keeps the test to itself.
            "DATABASE_URL": f"sqlite:///{directory}/db.sqlite3",
            "DATABASE_POOL": "false",
            "ALLOWED_HOSTS": SERVER_NAME,
            "TRUSTED_PROXY_COUNT": "1",
            "SECURE_SSL_REDIRECT": "true",
            # A cache shared between processes, as Redis is in production.
            "CACHE_URL": f"filecache://{directory}/cache",
            "THROTTLE_LOGIN": f"{LOGIN_RATE}/min",
            "GUNICORN_BIND": f"127.0.0.1:{gunicorn_port}",
            "GUNICORN_WORKERS": str(GUNICORN_WORKERS),
            "GUNICORN_THREADS": str(GUNICORN_THREADS),
            "GUNICORN_ACCESS_LOG": "",
        }
        gunicorn_log = (directory / "gunicorn.log").open("wb")
        gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "coalition.wsgi"],
            cwd=ROOT, env=env, stdout=gunicorn_log, stderr=subprocess.STDOUT,
        )
        processes.append(gunicorn)

        processes.append(_start_nginx(directory, nginx_port=nginx_port, upstream=f"127.0.0.1:{gunicorn_port}",
                                      cert=cert, key=key))

        running = Stack(gunicorn_port=gunicorn_port, nginx_port=nginx_port, tls=tls, cert=cert, key=key)
        deadline = time.monotonic() + 30
        while True:
            for process in processes:
                if process.poll() is not None:
                    logs = (directory / "gunicorn.log").read_text(errors="replace")[-3000:]
                    pytest.fail(f"{process.args[0]} exited with {process.returncode}:\n{logs}")
            try:
                running.healthz_seconds(via_nginx=True)
                break
            except (OSError, http.client.HTTPException, AssertionError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield running
    finally:
        for process in reversed(processes):
            _stop(process)
        shutil.rmtree(directory, ignore_errors=True)


# --- the tests ---------------------------------------------------------------------------------


def test_fifty_slow_clients_and_idle_connections_through_nginx_do_not_starve_healthz(stack):
    """Issue #12 item 9: nginx holds the slow and idle connections, gunicorn never sees them."""
    with SlowClients(stack, via_nginx=True).open(slow_headers=25, slow_bodies=25, idle=24) as clients:
        time.sleep(1.5)  # every slow client has started and sent more since
        timings = [stack.healthz_seconds(via_nginx=True) for _ in range(5)]
        assert max(timings) < ANSWER_WITHIN, timings
        # They were held, not refused: the answers above came while all 74 hung on.
        assert clients.still_waiting() == 74


def test_the_same_slow_clients_straight_at_gunicorn_starve_it(stack):
    """The contrast that shows the test above can fail: without nginx, /healthz gets no answer."""
    with SlowClients(stack, via_nginx=False).open(slow_headers=50):
        time.sleep(1.5)
        with pytest.raises(TimeoutError):
            stack.healthz_seconds(via_nginx=False)


def test_a_forged_x_forwarded_for_does_not_buy_a_fresh_throttle_bucket(stack):
    """nginx replaces the client's X-Forwarded-For: a new forged address per attempt is still one client."""
    statuses = [
        stack.request("POST", "/api/v1/auth/token/", body=b"{",
                      headers={"X-Forwarded-For": f"203.0.113.{attempt}"})[0]
        for attempt in range(LOGIN_RATE + 1)
    ]
    # 400: the malformed body reached the login view, counted once each for one client.
    assert statuses == [400] * LOGIN_RATE + [429], statuses


def test_a_body_at_the_limit_reaches_the_app_over_https(stack):
    """A 256 KiB body passes nginx, and the app sees https (no redirect): X-Forwarded-Proto arrived."""
    status, headers, body = stack.request("POST", "/api/v1/me/password/", body=b"x" * (256 * 1024))
    assert status == 401, (status, body[:200])
    assert headers["content-type"].startswith("application/problem+json")
    assert "strict-transport-security" in headers  # the app's own header, passed through


def test_a_body_over_the_limit_is_refused_by_nginx_as_a_problem(stack):
    status, headers, body = stack.request(
        "POST", "/api/v1/me/password/", headers={"Content-Length": str(256 * 1024 + 1)}, send_body=False
    )
    assert status == 413
    assert headers["content-type"] == "application/problem+json"
    assert b"payload-too-large" in body


def test_with_gunicorn_down_nginx_answers_503_with_retry_after_as_a_problem(stack, tmp_path):
    """A client told to retry, not handed nginx's 502 page, while gunicorn restarts."""
    tmp_path.chmod(0o755)
    nginx_port = free_port()
    nothing_listens = f"127.0.0.1:{free_port()}"
    nginx = _start_nginx(tmp_path, nginx_port=nginx_port, upstream=nothing_listens, cert=stack.cert, key=stack.key)
    try:
        down = Stack(gunicorn_port=0, nginx_port=nginx_port, tls=stack.tls, cert=stack.cert, key=stack.key)
        deadline = time.monotonic() + 10
        while True:
            try:
                status, headers, body = down.request("GET", "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        _stop(nginx)
    assert status == 503
    assert headers["retry-after"] == "5"
    assert headers["content-type"] == "application/problem+json"
    assert b"service-unavailable" in body


def test_nginx_does_not_name_its_version(stack):
    _status, headers, _body = stack.request("GET", "/healthz")
    assert headers["server"] == "nginx"
