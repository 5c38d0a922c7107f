"""`make run` greets a newcomer: no warnings on the way, then the addresses and the demo logins.

The Makefile migrates with `-v 0` (only problems would show), seeds quietly and, once the
server answers, runs `demo_banner`. These tests hold what each step may print.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core import checks
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from partners.models import User

BASE_DIR = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "demo-password-for-the-tests-2026"
TOTP_SECRET = "JBSWY3DPEHPK3PXP"


def test_the_checks_migrate_runs_report_nothing_on_this_database():
    # migrate runs the database checks; on SQLite they used to warn (models.W040).
    issues = [issue for issue in checks.run_checks(databases=["default"]) if not issue.is_silenced()]
    assert issues == []


@pytest.mark.parametrize(
    ("database_url", "silenced"),
    [("sqlite:///:memory:", True), ("postgres://nobody@127.0.0.1:5432/never-connected", False)],
)
def test_the_covering_index_warning_is_silenced_for_sqlite_only(database_url, silenced, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DEBUG": "true", "DATABASE_URL": database_url,
           "DJANGO_SETTINGS_MODULE": "coalition.settings"}
    code = "import django, json; django.setup(); from django.conf import settings; print(json.dumps(settings.SILENCED_SYSTEM_CHECKS))"
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert ("models.W040" in json.loads(result.stdout)) is silenced


@pytest.fixture
def seeded(db, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    monkeypatch.delenv("DEMO_TOTP_SECRET", raising=False)
    call_command("seed_demo", password=DEMO_PASSWORD, totp_secret=TOTP_SECRET, stdout=StringIO())


@pytest.fixture
def debug(settings, tmp_path):
    settings.DEBUG = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(settings.BASE_DIR / "var" / "mail")


def banner(**options) -> str:
    out = StringIO()
    call_command("demo_banner", stdout=out, **({"password": DEMO_PASSWORD, "totp_secret": TOTP_SECRET} | options))
    return out.getvalue()


def test_the_banner_names_the_addresses_every_login_and_how_to_log_in(seeded, debug):
    text = banner(address="127.0.0.1:8123")
    assert text.strip().startswith("Open http://127.0.0.1:8123/ in a browser")  # the web app first
    for address in ("http://127.0.0.1:8123/app/", "http://127.0.0.1:8123/api/docs/", "http://127.0.0.1:8123/api/redoc/",
                    "http://127.0.0.1:8123/api/v1/schema/", "var/mail/"):
        assert address in text
    for user in User.objects.all():
        assert user.username in text
    # The demo's own password and secret, so that a newcomer can log in at once.
    assert f"password {DEMO_PASSWORD} (DEMO_PASSWORD)" in text
    assert f"TOTP secret of every * login: {TOTP_SECRET}" in text
    assert "coordinator*" in text and "hotline-be-admin*" in text
    assert "hotline-be-caseworker*" not in text
    assert "has " not in text  # every demo user matches what the banner says


def test_the_banner_names_the_users_that_do_not_match_the_demo_password_or_secret(seeded, debug):
    caseworker = User.objects.get(username="shelter-be-caseworker")
    caseworker.set_password("changed-through-the-api-2026")
    caseworker.save()
    TOTPDevice.objects.filter(user__username="auditor").update(key="3132333435363738393031323334353637383930")
    TOTPDevice.objects.filter(user__username="coordinator").delete()
    text = banner()
    assert "shelter-be-caseworker: has another password" in text
    assert "auditor: has a TOTP device of its own" in text
    assert "coordinator: has no TOTP device yet" in text
    assert "hotline-be-caseworker:" not in text


def test_the_banner_refuses_to_run_outside_debug(seeded, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        banner()


def test_the_banner_needs_the_demo_users(db, debug):
    with pytest.raises(CommandError, match="seed_demo"):
        banner()


def test_the_banner_gives_up_when_the_server_never_answers(seeded, debug):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with pytest.raises(CommandError, match="Nothing answered"):
        banner(address=f"127.0.0.1:{port}", wait=0.5)
