"""gunicorn.conf.py: reachable only from this host (behind nginx), no management socket."""

import os
import runpy
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
