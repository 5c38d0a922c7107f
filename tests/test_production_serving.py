"""Serving in production: gunicorn.conf.py and the committed nginx configuration.

gunicorn is reachable only from this host (nginx in front) and opens no management
socket; nginx's limits agree with the app's. tests/test_proxy.py runs both for real.
"""

import os
import re
import runpy
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
NGINX_SITE = (ROOT / "api_docs" / "nginx" / "coalition.conf").read_text()


def _load_config(monkeypatch, **env) -> dict:
    for name in [name for name in os.environ if name.startswith("GUNICORN_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_gunicorn_listens_on_loopback_by_default(monkeypatch):
    assert _load_config(monkeypatch)["bind"] == "127.0.0.1:8000"


def test_the_control_socket_is_off_unless_a_path_is_given(monkeypatch):
    assert _load_config(monkeypatch)["control_socket_disable"] is True
    config = _load_config(monkeypatch, GUNICORN_CONTROL_SOCKET="/run/coalition/gunicorn.ctl")
    assert config["control_socket_disable"] is False
    assert config["control_socket"] == "/run/coalition/gunicorn.ctl"


def test_gunicorn_serves_on_a_unix_socket_that_only_its_group_may_open(tmp_path):
    """The socket is rw for owner and group only, and no control socket appears in $HOME."""
    sock_path = tmp_path / "gunicorn.sock"
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "coalition.settings",
        "DEBUG": "false",
        "HOME": str(tmp_path),
        "XDG_RUNTIME_DIR": str(tmp_path),
        "GUNICORN_BIND": f"unix:{sock_path}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_ACCESS_LOG": "",
    }
    env.pop("GUNICORN_CONTROL_SOCKET", None)
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "coalition.wsgi"],
                                   cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, log.read_text(errors="replace")[-2000:]
            try:
                with socket.socket(socket.AF_UNIX) as client:
                    client.settimeout(5)
                    client.connect(str(sock_path))
                    client.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    answer = client.recv(200)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert answer.startswith(b"HTTP/1.1 200"), answer
        assert stat.S_IMODE(sock_path.stat().st_mode) == 0o770
        assert not list(tmp_path.rglob("*.ctl"))
    finally:
        process.terminate()
        process.wait(timeout=15)


def _directives(name: str) -> list[str]:
    return re.findall(rf"^\s*{name}\s+([^;]+);", NGINX_SITE, flags=re.MULTILINE)


def test_nginx_refuses_exactly_the_bodies_the_app_refuses():
    """client_max_body_size, the in-memory body buffer and nginx's 413 text all say MAX_REQUEST_BODY_BYTES."""
    limit = settings.MAX_REQUEST_BODY_BYTES
    assert limit % 1024 == 0
    assert _directives("client_max_body_size") == [f"{limit // 1024}k"]
    assert _directives("client_body_buffer_size") == [f"{limit // 1024}k"]
    assert f"larger than {limit} bytes" in NGINX_SITE


def test_nginx_passes_on_one_client_address_and_the_scheme():
    """TRUSTED_PROXY_COUNT=1: the one address nginx saw, never a list the client started."""
    assert _directives("proxy_set_header X-Forwarded-For") == ["$remote_addr"]
    assert _directives("proxy_set_header X-Forwarded-Proto") == ["$scheme"]
    assert _directives("proxy_request_buffering") == ["on"]
    assert _directives("proxy_buffering") == ["on"]
