"""Settings proved in a fresh process: the environment a production deployment sets, and runners.

Settings are read once per process, so what a deployment with given variables gets is
proved by starting Python (or manage.py) with exactly those variables.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
FIELD_KEY = "dGVzdC1vbmx5LWtleS0zMi1ieXRlcy1sb25nLSEhISE="


def strong_secret() -> str:
    """A secret long and varied enough for every key setting."""
    return secrets.token_urlsafe(48)


@pytest.fixture
def production_env(tmp_path) -> dict[str, str]:
    """The variables a production deployment sets, and nothing else (DEBUG unset)."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "coalition.settings",
        "SECRET_KEY": strong_secret(),
        "JWT_SIGNING_KEY": strong_secret(),
        "AUDIT_HEAD_KEY": strong_secret(),
        "FIELD_ENCRYPTION_KEYS": FIELD_KEY,
        "ALLOWED_HOSTS": "api.example.org",
        "EMAIL_URL": "smtp+tls://mailer:mail-password@mail.example.org:587",
        "DEFAULT_FROM_EMAIL": "Coalition <noreply@example.org>",
        "PUBLIC_BASE_URL": "https://referrals.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'production.sqlite3'}",
        "CACHE_URL": "rediscache://127.0.0.1:6379/0",  # never connected to by these tests
    }


def run_python(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=60
    )


def run_manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=60
    )


def assert_refused(result: subprocess.CompletedProcess, variable: str) -> None:
    """The process stopped at start with ImproperlyConfigured naming ``variable``."""
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured:"), result.stderr
    assert variable in last_line
