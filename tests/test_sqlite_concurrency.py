"""The embedded default (SQLite file, `make run`) holds concurrent writes (issue #12, item 5).

A real server process (tests/sqlite_server.py: Django's threaded WSGI server, as
``runserver`` uses) on a temporary SQLite FILE with the project's settings; ten real
threads post at the same moment. Before WAL, a busy timeout and IMMEDIATE
transactions, some of them died with 500 "database is locked" (a deferred
transaction that read first could not upgrade to a write). Now writers queue: one
wins, the others get a clear 409 (or 401 once the winner revoked their tokens), none
a 5xx. Runs in both suites: the SQLite file is its own, whatever DATABASE_URL says.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest
from django_otp.oath import TOTP

ROOT = Path(__file__).resolve().parent.parent
PARALLEL = 10


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app served from a fresh SQLite file; yields (base URL, scenario, stderr path)."""
    folder = tmp_path_factory.mktemp("sqlite-writers")
    log = folder / "server.log"
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "LOG_LEVEL": "WARNING",
    }
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.sqlite_server"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    try:
        line = process.stdout.readline()
        assert line, f"the server did not start: {log.read_text()[-2000:]}"
        scenario = json.loads(line)
        yield f"http://127.0.0.1:{scenario['port']}", scenario, log
    finally:
        process.terminate()
        process.wait(timeout=10)


def race(requests):
    """Send the requests (method, url, token, body) from real threads at the same moment."""
    barrier = threading.Barrier(len(requests))
    results = [None] * len(requests)

    def run(index, method, url, token, body):
        with httpx.Client(timeout=60) as client:
            barrier.wait()
            results[index] = client.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"})

    threads = [threading.Thread(target=run, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    return results


def _no_server_error(responses, log: Path):
    codes = sorted(r.status_code for r in responses)
    assert all(code < 500 for code in codes), (codes, log.read_text()[-3000:])
    assert "database is locked" not in log.read_text()
    return codes


def test_the_sqlite_file_is_in_wal_mode(server):
    _base, _scenario, log = server
    with closing(sqlite3.connect(log.parent / "db.sqlite3")) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_ten_simultaneous_accepts_on_a_sqlite_file_give_one_200_and_nine_409s(server):
    base, scenario, log = server
    url = f"{base}/api/v1/referrals/{scenario['referral']}/accept/"
    responses = race([("POST", url, scenario["tokens"]["shelter"], {}) for _ in range(PARALLEL)])
    assert _no_server_error(responses, log) == [200] + [409] * (PARALLEL - 1)
    assert all(r.headers["Content-Type"] == "application/problem+json" for r in responses if r.status_code == 409)
    shown = httpx.get(f"{base}/api/v1/referrals/{scenario['referral']}/",
                      headers={"Authorization": f"Bearer {scenario['tokens']['shelter']}"})
    assert shown.json()["status"] == "accepted"


def test_ten_simultaneous_case_closes_on_a_sqlite_file_give_one_200_and_nine_409s(server):
    base, scenario, log = server
    url = f"{base}/api/v1/cases/{scenario['case']}/close/"
    body = {"outcome": "safe_and_supported"}
    responses = race([("POST", url, scenario["tokens"]["hotline"], body) for _ in range(PARALLEL)])
    assert _no_server_error(responses, log) == [200] + [409] * (PARALLEL - 1)


def test_ten_simultaneous_totp_confirmations_on_a_sqlite_file_give_one_success_and_no_500(server):
    """The winner revokes the user's tokens: a loser is 409 (no pending enrolment) or 401 (token revoked)."""
    base, scenario, log = server
    key = base64.b32decode(scenario["totp_secret"] + "=" * (-len(scenario["totp_secret"]) % 8))
    totp = TOTP(key)
    totp.time = time.time()
    code = f"{totp.token():06d}"
    url = f"{base}/api/v1/auth/totp/confirm/"
    responses = race([("POST", url, scenario["tokens"]["enrolling"], {"otp": code}) for _ in range(PARALLEL)])
    codes = _no_server_error(responses, log)
    assert codes.count(204) == 1, codes
    assert set(codes) - {204} <= {401, 409}, codes
