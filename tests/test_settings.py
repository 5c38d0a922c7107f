"""Settings come from the environment; a bad value stops the process at start (api_docs/security.md).

Each test starts a fresh interpreter with a controlled environment (nothing inherited
from the test run), so what is proved is what a deployment with those variables gets.
"""

from __future__ import annotations

import json

import pytest

from tests.support.processes import (  # noqa: F401  (production_env: fixture)
    BASE_DIR,
    assert_refused,
    production_env,
    run_manage,
    run_python,
    strong_secret,
)

# Prints the settings a deployment cares about, as JSON.
DUMP_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
from rest_framework.settings import api_settings
jwt = settings.SIMPLE_JWT
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SECRET_KEY": settings.SECRET_KEY,
    "JWT_SIGNING_KEY": settings.JWT_SIGNING_KEY,
    "AUDIT_HEAD_KEY": settings.AUDIT_HEAD_KEY,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "DB_ENGINE": settings.DATABASES["default"]["ENGINE"],
    "renderers": [cls.__name__ for cls in api_settings.DEFAULT_RENDERER_CLASSES],
    "NUM_PROXIES": api_settings.NUM_PROXIES,
    "SECURE_SSL_REDIRECT": settings.SECURE_SSL_REDIRECT,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
    "PUBLIC_API_DOCS": settings.PUBLIC_API_DOCS,
    "JWT_ALGORITHM": jwt["ALGORITHM"],
    "JWT_AUDIENCE": jwt["AUDIENCE"],
    "JWT_ISSUER": jwt["ISSUER"],
    "JWT_SIGNING_IS_SECRET_KEY": jwt["SIGNING_KEY"] == settings.SECRET_KEY,
    "JWT_ACCESS_SECONDS": jwt["ACCESS_TOKEN_LIFETIME"].total_seconds(),
    "installed": settings.INSTALLED_APPS,
    "authentication": [cls.__name__ for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES],
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "SESSION_COOKIE_HTTPONLY": settings.SESSION_COOKIE_HTTPONLY,
    "SESSION_COOKIE_SAMESITE": settings.SESSION_COOKIE_SAMESITE,
    "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
}))
"""


def loaded_settings(env: dict[str, str]) -> dict:
    result = run_python(env, DUMP_SETTINGS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_deploy_check_passes_with_production_settings(production_env):
    result = run_manage(production_env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_fails_when_a_production_safeguard_is_turned_off(production_env):
    # The control for the test above: the check does fail on a real weakness.
    env = production_env | {"SECURE_SSL_REDIRECT": "false"}
    result = run_manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W008" in result.stderr


def test_production_settings_are_secure_by_default(production_env):
    loaded = loaded_settings(production_env)
    assert loaded["DEBUG"] is False
    assert loaded["SECRET_KEY"] == production_env["SECRET_KEY"]
    assert loaded["ALLOWED_HOSTS"] == ["api.example.org"]
    assert loaded["DB_ENGINE"] == "django.db.backends.sqlite3"
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SECURE_HSTS_SECONDS"] >= 31536000
    assert loaded["PUBLIC_API_DOCS"] is False
    assert loaded["NUM_PROXIES"] == 0
    assert loaded["JWT_ALGORITHM"] == "HS256"
    assert loaded["JWT_AUDIENCE"] and loaded["JWT_ISSUER"]
    assert loaded["JWT_SIGNING_IS_SECRET_KEY"] is False
    assert 0 < loaded["JWT_ACCESS_SECONDS"] <= 300
    # Sessions are the web app's; the API never accepts a session cookie (no CSRF there).
    assert "django.contrib.sessions" in loaded["installed"]
    assert loaded["authentication"] == ["CoalitionJWTAuthentication", "ApiKeyAuthentication"]
    assert loaded["SESSION_COOKIE_SECURE"] is True and loaded["CSRF_COOKIE_SECURE"] is True
    assert loaded["SESSION_COOKIE_HTTPONLY"] is True and loaded["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_no_browsable_api_without_debug(production_env):
    assert loaded_settings(production_env)["renderers"] == ["JSONRenderer"]


def test_browsable_api_only_in_debug(production_env):
    # The control: the renderer list does depend on DEBUG.
    assert "BrowsableAPIRenderer" in loaded_settings(production_env | {"DEBUG": "true"})["renderers"]


def test_missing_secret_key_stops_the_process(production_env):
    env = dict(production_env)
    del env["SECRET_KEY"]
    assert_refused(run_python(env, "import django; django.setup()"), "SECRET_KEY")


def test_short_secret_key_stops_the_process(production_env):
    env = production_env | {"SECRET_KEY": "too-short-" + "x" * 20}
    assert_refused(run_python(env, "import django; django.setup()"), "SECRET_KEY")


def test_low_variety_secret_key_stops_the_process(production_env):
    env = production_env | {"SECRET_KEY": "ab" * 40}
    assert_refused(run_python(env, "import django; django.setup()"), "SECRET_KEY")


def test_missing_jwt_signing_key_stops_the_process(production_env):
    env = dict(production_env)
    del env["JWT_SIGNING_KEY"]
    assert_refused(run_python(env, "import django; django.setup()"), "JWT_SIGNING_KEY")


def test_jwt_signing_key_equal_to_secret_key_stops_the_process(production_env):
    env = production_env | {"JWT_SIGNING_KEY": production_env["SECRET_KEY"]}
    assert_refused(run_python(env, "import django; django.setup()"), "JWT_SIGNING_KEY")


def test_missing_audit_head_key_stops_the_process(production_env):
    env = dict(production_env)
    del env["AUDIT_HEAD_KEY"]
    assert_refused(run_python(env, "import django; django.setup()"), "AUDIT_HEAD_KEY")


@pytest.mark.parametrize("value", ["too-short-" + "x9" * 10, "SECRET_KEY", "JWT_SIGNING_KEY"])
def test_a_short_audit_head_key_or_one_equal_to_another_key_stops_the_process(production_env, value):
    env = production_env | {"AUDIT_HEAD_KEY": production_env.get(value, value)}
    assert_refused(run_python(env, "import django; django.setup()"), "AUDIT_HEAD_KEY")


def test_the_audit_head_key_is_read_from_a_file(production_env, tmp_path):
    key = strong_secret()
    (tmp_path / "audit_head_key").write_text(key + "\n")
    env = {k: v for k, v in production_env.items() if k != "AUDIT_HEAD_KEY"}
    assert loaded_settings(env | {"AUDIT_HEAD_KEY_FILE": str(tmp_path / "audit_head_key")})["AUDIT_HEAD_KEY"] == key


@pytest.mark.parametrize("cache_url", [None, "locmemcache://", "locmemcache://coalition", "dummycache://"])
def test_a_cache_of_one_process_or_none_stops_the_process_outside_debug(production_env, cache_url):
    """Each gunicorn process would count logins and requests alone (a 20/min limit, 45 logins passed)."""
    env = {k: v for k, v in production_env.items() if k != "CACHE_URL"}
    if cache_url is not None:
        env["CACHE_URL"] = cache_url
    assert_refused(run_python(env, "import django; django.setup()"), "CACHE_URL")


def test_a_shared_cache_is_accepted_and_a_single_process_run_may_opt_out(production_env):
    shown = "import django; django.setup(); from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    result = run_python(production_env, shown)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.core.cache.backends.redis.RedisCache"
    env = {k: v for k, v in production_env.items() if k != "CACHE_URL"} | {"CACHE_ALLOW_PER_PROCESS": "true"}
    result = run_python(env, shown)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "django.core.cache.backends.locmem.LocMemCache"


def test_access_token_lifetime_over_five_minutes_stops_the_process(production_env):
    env = production_env | {"JWT_ACCESS_SECONDS": "600"}
    assert_refused(run_python(env, "import django; django.setup()"), "JWT_ACCESS_SECONDS")


def test_missing_field_encryption_keys_stop_the_process(production_env):
    env = dict(production_env)
    del env["FIELD_ENCRYPTION_KEYS"]
    assert_refused(run_python(env, "import django; django.setup()"), "FIELD_ENCRYPTION_KEYS")


@pytest.mark.parametrize("value", ["abc", "1.5", "-1"])
def test_bad_trusted_proxy_count_stops_the_process(production_env, value):
    env = production_env | {"TRUSTED_PROXY_COUNT": value}
    assert_refused(run_python(env, "import django; django.setup()"), "TRUSTED_PROXY_COUNT")


def test_trusted_proxy_count_sets_drf_num_proxies(production_env):
    assert loaded_settings(production_env | {"TRUSTED_PROXY_COUNT": "2"})["NUM_PROXIES"] == 2


def test_secrets_are_read_from_files(production_env, tmp_path):
    secret_key, jwt_key = strong_secret(), strong_secret()
    (tmp_path / "secret_key").write_text(secret_key)
    (tmp_path / "jwt_key").write_text(jwt_key)
    env = dict(production_env)
    del env["SECRET_KEY"], env["JWT_SIGNING_KEY"]
    env |= {"SECRET_KEY_FILE": str(tmp_path / "secret_key"), "JWT_SIGNING_KEY_FILE": str(tmp_path / "jwt_key")}
    loaded = loaded_settings(env)
    assert loaded["SECRET_KEY"] == secret_key
    assert loaded["JWT_SIGNING_KEY"] == jwt_key


def test_debug_runs_without_secrets_for_local_development(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "coalition.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}",
    }
    loaded = loaded_settings(env)
    assert loaded["DEBUG"] is True
    assert loaded["SECRET_KEY"] != loaded["JWT_SIGNING_KEY"]
    assert loaded["SECRET_KEY"].startswith("insecure-development-only-")


# --- outbound email ------------------------------------------------------------------------

MAIL_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({name: str(getattr(settings, name, "")) for name in (
    "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS", "EMAIL_FILE_PATH", "DEFAULT_FROM_EMAIL", "PUBLIC_BASE_URL")}))
"""


def _mail_settings(env: dict[str, str]) -> dict:
    result = run_python(env, MAIL_SETTINGS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_sends_mail_over_smtp_with_tls(production_env):
    loaded = _mail_settings(production_env)
    assert loaded["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (loaded["EMAIL_HOST"], loaded["EMAIL_PORT"], loaded["EMAIL_USE_TLS"]) == ("mail.example.org", "587", "True")


@pytest.mark.parametrize("variable", ["EMAIL_URL", "DEFAULT_FROM_EMAIL", "PUBLIC_BASE_URL"])
def test_missing_mail_setting_stops_the_process_in_production(production_env, variable):
    del production_env[variable]
    assert_refused(run_python(production_env, "import django; django.setup()"), variable)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EMAIL_URL", "consolemail://"),  # one-time links would be printed into the logs
        ("EMAIL_URL", "smtp://mail.example.org:25"),  # unencrypted to another machine
        ("DEFAULT_FROM_EMAIL", "not an address"),
        ("PUBLIC_BASE_URL", "http://referrals.example.org"),
        ("PUBLIC_BASE_URL", "https://referrals.example.org/app/"),
    ],
)
def test_unsafe_mail_settings_stop_the_process_in_production(production_env, variable, value):
    production_env[variable] = value
    assert_refused(run_python(production_env, "import django; django.setup()"), variable)


def test_plain_smtp_to_a_relay_on_this_host_is_allowed(production_env):
    production_env["EMAIL_URL"] = "smtp://127.0.0.1:25"
    assert _mail_settings(production_env)["EMAIL_HOST"] == "127.0.0.1"


def test_debug_writes_mails_to_var_mail(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "coalition.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}",
    }
    loaded = _mail_settings(env)
    assert loaded["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert loaded["EMAIL_FILE_PATH"] == str(BASE_DIR / "var" / "mail")
    assert loaded["PUBLIC_BASE_URL"] == "http://127.0.0.1:8000"

DUMP_SQLITE = """
import json, django
django.setup()
from django.conf import settings
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    journal = cursor.fetchone()[0]
    cursor.execute("PRAGMA synchronous")
    synchronous = cursor.fetchone()[0]
print(json.dumps({"options": settings.DATABASES["default"].get("OPTIONS", {}), "journal": journal,
                  "synchronous": synchronous, "transaction_mode": connection.transaction_mode}))
"""


def test_a_sqlite_file_uses_wal_a_busy_timeout_and_immediate_transactions(production_env):
    """Concurrent writers on the `make run` database queue instead of failing with "database is locked"."""
    result = run_python(production_env, DUMP_SQLITE)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert (loaded["journal"], loaded["transaction_mode"], loaded["synchronous"]) == ("wal", "IMMEDIATE", 1)  # 1: NORMAL
    assert loaded["options"]["timeout"] >= 5


def test_an_in_memory_sqlite_database_keeps_the_defaults(production_env):
    result = run_python(production_env | {"DATABASE_URL": "sqlite:///:memory:"}, DUMP_SQLITE)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert (loaded["options"], loaded["journal"], loaded["transaction_mode"]) == ({}, "memory", None)


BENCH_ROUTE = """
import django
django.setup()
from django.urls import NoReverseMatch, reverse
try:
    print(reverse("bench-floor"))
except NoReverseMatch:
    print("not mounted")
"""


def test_the_benchmark_routes_are_mounted_only_with_coalition_bench(production_env):
    assert run_python(production_env, BENCH_ROUTE).stdout.strip() == "not mounted"
    assert run_python(production_env | {"COALITION_BENCH": "true"}, BENCH_ROUTE).stdout.strip() == "/api/v1/bench/floor/"


@pytest.mark.parametrize(
    ("variable", "value", "check_id"),
    [
        ("COALITION_TIME_ZONE", "Europe/Brusels", "referrals.E002"),
        ("REFERRAL_DEADLINES", "immediate=1h/4h,urgent=4h/24h", "referrals.E001"),
        ("REFERRAL_DEADLINES", "immediate=1h/4h,urgent=4h/24h,normal=2d/5d", "referrals.E001"),
    ],
)
def test_a_bad_deadline_setting_stops_the_process(production_env, variable, value, check_id):
    """Read by referrals (settings import none of it): its system check refuses to start."""
    result = run_manage(production_env | {variable: value}, "check")
    assert result.returncode != 0
    # The control, the same settings with good values passing, is test_deploy_check_passes_with_production_settings.
    assert "SystemCheckError" in result.stderr and check_id in result.stderr and variable in result.stderr


WSGI_START = """
import coalition.wsgi
print("started")
"""


def test_a_bad_deadline_setting_stops_the_wsgi_entry_point_too(production_env):
    """Gunicorn loads coalition.wsgi and runs no management command: the settings checks run there."""
    assert run_python(production_env, WSGI_START).stdout.strip() == "started"
    result = run_python(production_env | {"REFERRAL_DEADLINES": "immediate=1h/4h"}, WSGI_START)
    assert result.returncode != 0 and "referrals.E001" in result.stderr and "started" not in result.stdout


LOG_ONCE = """
import logging
import django
django.setup()
logging.getLogger("django.utils.autoreload").info("one line of django's")
"""


@pytest.mark.parametrize("debug", ["true", "false"])
def test_a_django_log_record_is_written_once_in_debug_and_in_production(production_env, debug):
    """Django's default config adds a console handler of its own to "django" in DEBUG; ours is the root's."""
    result = run_python(production_env | {"DEBUG": debug, "LOG_FORMAT": "plain"}, LOG_ONCE)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("one line of django's") == 1


# --- the match key (issue #17): checked at start, never in the database -----------------------

MATCH_KEY_LOADED = "import django; django.setup(); from django.conf import settings; print(settings.MATCH_KEY)"


def test_matching_on_without_a_match_key_stops_the_process(production_env):
    env = {k: v for k, v in production_env.items() if not k.startswith("MATCH_KEY")} | {"MATCH_ENABLED": "true"}
    assert_refused(run_python(env, "import django; django.setup()"), "MATCH_KEY")


@pytest.mark.parametrize("enabled", ["true", "false"])
def test_a_short_match_key_stops_the_process_whether_matching_is_on_or_not(production_env, enabled):
    env = production_env | {"MATCH_ENABLED": enabled, "MATCH_KEY": "short-key-" + "k" * 10}
    assert_refused(run_python(env, "import django; django.setup()"), "MATCH_KEY")


def test_the_match_key_is_read_from_a_file(production_env, tmp_path):
    key = strong_secret()[:40]
    (tmp_path / "match_key").write_text(key + "\n")
    env = {k: v for k, v in production_env.items() if not k.startswith("MATCH_KEY")}
    result = run_python(env | {"MATCH_ENABLED": "true", "MATCH_KEY_FILE": str(tmp_path / "match_key")}, MATCH_KEY_LOADED)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == key
