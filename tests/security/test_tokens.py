"""Bearer tokens: bad tokens are refused, JWT settings are sound, refresh rotates with reuse
detection, and a login ends at its absolute lifetime (api_docs/security.md: bad tokens, JWT settings,
refresh rotation, absolute session lifetime)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from partners.models import LoginSession
from partners.tokens import issue_tokens_for_tests
from tests.support.personas import make_organisation, make_user
from tests.support.problems import assert_problem

from .helpers import (
    ME_URL,
    PROBE_URL,
    REFRESH_URL,
    bearer_client,
    claims_of,
    refresh,
    sign,
    unsigned,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _me(access: str):
    """A request that any valid person's token may make (the probe of "does this token work")."""
    return bearer_client(access).get(PROBE_URL)


# --- bad tokens -------------------------------------------------------------------------------


def test_a_correctly_signed_copy_of_a_valid_token_is_accepted(personas):
    """Control for the forgeries below: re-signing the unchanged claims with the app's key works,
    so each refusal below is due to the one thing the forgery changes."""
    claims = claims_of(personas["caseworker"].tokens.access)
    assert _me(sign(claims)).status_code == 200


def test_missing_token_on_a_protected_route_is_401(anonymous_client):
    response = anonymous_client.get(ME_URL)
    assert_problem(response, 401, "not-authenticated")
    assert "Bearer" in response["WWW-Authenticate"]


def test_token_with_alg_none_is_401(personas):
    claims = claims_of(personas["caseworker"].tokens.access)
    assert_problem(_me(unsigned(claims)), 401)


def test_token_signed_with_another_key_is_401(personas):
    claims = claims_of(personas["caseworker"].tokens.access)
    assert_problem(_me(sign(claims, key="an-attacker-key-" + "z" * 40)), 401)


def test_token_signed_with_secret_key_instead_of_jwt_key_is_401(personas):
    claims = claims_of(personas["caseworker"].tokens.access)
    assert_problem(_me(sign(claims, key=settings.SECRET_KEY)), 401)


def test_token_with_an_algorithm_outside_the_allowlist_is_401_even_with_the_right_key(personas):
    claims = claims_of(personas["caseworker"].tokens.access)
    assert_problem(_me(sign(claims, algorithm="HS512")), 401)


def test_expired_access_token_is_401(personas):
    claims = claims_of(personas["caseworker"].tokens.access)
    now = int(time.time())
    claims |= {"iat": now - 600, "exp": now - 5}
    assert_problem(_me(sign(claims)), 401)


def test_access_token_for_another_audience_is_401(personas):
    claims = claims_of(personas["caseworker"].tokens.access) | {"aud": "some-other-api"}
    assert_problem(_me(sign(claims)), 401)


def test_access_token_without_audience_is_401(personas):
    claims = claims_of(personas["caseworker"].tokens.access)
    del claims["aud"]
    assert_problem(_me(sign(claims)), 401)


def test_access_token_from_another_issuer_is_401(personas):
    claims = claims_of(personas["caseworker"].tokens.access) | {"iss": "https://evil.example.org"}
    assert_problem(_me(sign(claims)), 401)


def test_refresh_token_used_as_access_token_is_401(personas):
    assert_problem(_me(personas["caseworker"].tokens.refresh), 401)


def test_access_token_relabelled_as_refresh_is_refused_by_the_refresh_endpoint(personas):
    assert_problem(refresh(personas["caseworker"].tokens.access), 401)


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9..", "Bearer"])
def test_garbage_bearer_token_is_401(personas, garbage):
    assert_problem(_me(garbage), 401)


def test_token_of_a_deleted_login_session_is_401(personas):
    access = personas["caseworker"].tokens.access
    assert _me(access).status_code == 200
    LoginSession.objects.filter(id=claims_of(access)["sid"]).delete()
    assert_problem(_me(access), 401)


def test_token_without_a_login_session_claim_is_401(personas):
    claims = claims_of(personas["caseworker"].tokens.access)
    del claims["sid"]
    assert_problem(_me(sign(claims)), 401)


def test_token_of_another_users_login_session_is_401(personas):
    """A sid from one person's login pasted into a token for another is not a login."""
    caseworker_claims = claims_of(personas["caseworker"].tokens.access)
    other_sid = claims_of(personas["recipient_caseworker"].tokens.access)["sid"]
    assert_problem(_me(sign(caseworker_claims | {"sid": other_sid})), 401)


# --- JWT settings ------------------------------------------------------------------------------


def test_only_hs256_is_allowed():
    assert settings.SIMPLE_JWT["ALGORITHM"] == "HS256"
    assert token_backend.algorithm == "HS256"
    assert settings.SIMPLE_JWT.get("VERIFYING_KEY") in (None, "")


def test_audience_and_issuer_are_set_and_used():
    assert settings.SIMPLE_JWT["AUDIENCE"]
    assert settings.SIMPLE_JWT["ISSUER"]
    assert token_backend.audience == settings.SIMPLE_JWT["AUDIENCE"]
    assert token_backend.issuer == settings.SIMPLE_JWT["ISSUER"]


def test_issued_tokens_carry_audience_issuer_and_login_claims(personas):
    claims = claims_of(personas["caseworker"].tokens.access)
    assert claims["aud"] == settings.SIMPLE_JWT["AUDIENCE"]
    assert claims["iss"] == settings.SIMPLE_JWT["ISSUER"]
    assert claims["token_type"] == "access"
    assert {"sid", "ver", "jti", "exp"} <= claims.keys()


def test_signing_key_is_distinct_from_secret_key():
    assert settings.SIMPLE_JWT["SIGNING_KEY"]
    assert settings.SIMPLE_JWT["SIGNING_KEY"] != settings.SECRET_KEY
    assert token_backend.signing_key == settings.SIMPLE_JWT["SIGNING_KEY"]


def test_access_tokens_live_at_most_five_minutes(personas):
    assert settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] <= timedelta(minutes=5)
    claims = claims_of(personas["caseworker"].tokens.access)
    assert claims["exp"] - claims["iat"] <= 300


def _import_settings(**overrides: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DEBUG": "false",
        "SECRET_KEY": "subprocess-secret-key-" + "s3cr3t-" * 8,
        "JWT_SIGNING_KEY": "subprocess-jwt-signing-key-" + "k3y-" * 12,
        "AUDIT_HEAD_KEY": "subprocess-audit-head-key-" + "h3ad-" * 8,
        "CACHE_ALLOW_PER_PROCESS": "true",
        "FIELD_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWtleS0zMi1ieXRlcy1sb25nLSEhISE=",
        "DATABASE_URL": "sqlite:///:memory:",
        "EMAIL_URL": "smtp+tls://mail.example.org:587",
        "DEFAULT_FROM_EMAIL": "noreply@example.org",
        "PUBLIC_BASE_URL": "https://referrals.example.org",
    } | overrides
    return subprocess.run(
        [sys.executable, "-c", "import coalition.settings"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_settings_accept_a_five_minute_access_lifetime():
    result = _import_settings(JWT_ACCESS_SECONDS="300")
    assert result.returncode == 0, result.stderr


def test_settings_refuse_an_access_lifetime_over_five_minutes():
    result = _import_settings(JWT_ACCESS_SECONDS="301")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "JWT_ACCESS_SECONDS" in result.stderr


def test_settings_refuse_a_jwt_signing_key_equal_to_secret_key():
    same = "one-key-for-everything-" + "s4m3-" * 10
    result = _import_settings(SECRET_KEY=same, JWT_SIGNING_KEY=same)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "JWT_SIGNING_KEY" in result.stderr


# --- refresh rotation, blacklist, reuse detection ----------------------------------------------


def test_blacklist_app_is_installed_and_migrated(db):
    assert "rest_framework_simplejwt.token_blacklist" in settings.INSTALLED_APPS
    executor = MigrationExecutor(connection)
    targets = [key for key in executor.loader.graph.leaf_nodes() if key[0] == "token_blacklist"]
    assert targets, "token_blacklist has no migrations in the graph"
    assert all(target in executor.loader.applied_migrations for target in targets)
    assert executor.migration_plan(targets) == []
    table_names = connection.introspection.table_names()
    assert BlacklistedToken._meta.db_table in table_names
    assert OutstandingToken._meta.db_table in table_names


def test_refresh_returns_a_new_working_pair_and_blacklists_the_old_refresh_token(personas):
    old = personas["caseworker"].tokens
    response = refresh(old.refresh)
    assert response.status_code == 200
    new = response.json()
    assert new["access"] != old.access
    assert new["refresh"] != old.refresh
    assert new["mfa_enrolment_required"] is False
    assert claims_of(new["refresh"])["sid"] == claims_of(old.refresh)["sid"]
    assert _me(new["access"]).status_code == 200

    old_jti = claims_of(old.refresh)["jti"]
    assert BlacklistedToken.objects.filter(token__jti=old_jti).exists()
    assert not BlacklistedToken.objects.filter(token__jti=claims_of(new["refresh"])["jti"]).exists()


def test_rotated_refresh_token_can_be_rotated_again(personas):
    first = refresh(personas["caseworker"].tokens.refresh).json()
    second = refresh(first["refresh"])
    assert second.status_code == 200
    assert _me(second.json()["access"]).status_code == 200


def test_replaying_a_rotated_refresh_token_is_401_and_revokes_the_newest_tokens_of_that_login(personas):
    old = personas["caseworker"].tokens
    newest = refresh(old.refresh).json()
    assert _me(newest["access"]).status_code == 200

    assert_problem(refresh(old.refresh), 401)

    assert_problem(_me(newest["access"]), 401)
    assert_problem(refresh(newest["refresh"]), 401)
    session = LoginSession.objects.get(id=claims_of(old.refresh)["sid"])
    assert session.revoked_at is not None
    assert BlacklistedToken.objects.filter(token__jti=claims_of(newest["refresh"])["jti"]).exists()


def test_refresh_token_reuse_does_not_touch_the_users_other_logins(personas):
    user = personas["caseworker"].user
    other_login = issue_tokens_for_tests(user)
    old = personas["caseworker"].tokens
    refresh(old.refresh)
    assert_problem(refresh(old.refresh), 401)
    assert _me(other_login.access).status_code == 200
    assert refresh(other_login.refresh).status_code == 200


def test_a_blacklisted_refresh_token_is_401_even_if_it_is_the_logins_newest(personas):
    """The blacklist is enforced, not only the session's current-jti bookkeeping."""
    tokens = personas["caseworker"].tokens
    outstanding = OutstandingToken.objects.get(jti=claims_of(tokens.refresh)["jti"])
    BlacklistedToken.objects.create(token=outstanding)
    assert_problem(refresh(tokens.refresh), 401)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_parallel_refreshes_of_one_token_give_exactly_one_success():
    if connection.vendor != "postgresql":
        pytest.skip("needs real parallel connections (PostgreSQL)")
    organisation = make_organisation("parallel-org")
    user = make_user("parallel-caseworker", organisation, ["caseworker"])
    raw_refresh = issue_tokens_for_tests(user).refresh

    workers = 2
    barrier = threading.Barrier(workers)
    statuses: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def attempt():
        from django.db import connection as thread_connection

        try:
            client = Client()
            barrier.wait(timeout=10)
            response = client.post(REFRESH_URL, {"refresh": raw_refresh}, content_type="application/json")
            with lock:
                statuses.append(response.status_code)
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread
            with lock:
                errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert sorted(statuses) == [200, 401]
    assert BlacklistedToken.objects.filter(token__jti=claims_of(raw_refresh)["jti"]).count() == 1


# --- absolute session lifetime -----------------------------------------------------------------


def test_login_lasts_the_configured_absolute_lifetime_of_at_most_twelve_hours(personas):
    session = LoginSession.objects.get(id=claims_of(personas["caseworker"].tokens.access)["sid"])
    assert settings.LOGIN_ABSOLUTE_LIFETIME <= timedelta(hours=12)
    assert session.expires_at - session.started_at == settings.LOGIN_ABSOLUTE_LIFETIME


def test_a_login_past_its_absolute_lifetime_cannot_be_refreshed_and_its_access_token_fails(personas):
    tokens = personas["caseworker"].tokens
    assert _me(tokens.access).status_code == 200
    LoginSession.objects.filter(id=claims_of(tokens.access)["sid"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert_problem(refresh(tokens.refresh), 401)
    assert_problem(_me(tokens.access), 401)


@override_settings(LOGIN_ABSOLUTE_LIFETIME=timedelta(seconds=90))
def test_refresh_token_never_outlives_its_login(personas):
    assert settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"] > timedelta(seconds=90)  # else the cap proves nothing
    tokens = issue_tokens_for_tests(personas["caseworker"].user)
    session = LoginSession.objects.get(id=claims_of(tokens.refresh)["sid"])
    cap = int(session.expires_at.timestamp())
    assert claims_of(tokens.refresh)["exp"] <= cap

    rotated = refresh(tokens.refresh)
    assert rotated.status_code == 200
    assert claims_of(rotated.json()["refresh"])["exp"] <= cap


def test_rotation_does_not_extend_the_login(personas):
    tokens = personas["caseworker"].tokens
    sid = claims_of(tokens.refresh)["sid"]
    expires_at = LoginSession.objects.get(id=sid).expires_at
    rotated = refresh(tokens.refresh).json()
    assert LoginSession.objects.get(id=sid).expires_at == expires_at
    assert claims_of(rotated["refresh"])["exp"] <= int(expires_at.timestamp())


# --- the /me/ answer and the committed schema ----------------------------------------------------


@pytest.mark.parametrize("persona", ["caseworker", "partner_system"])
def test_me_answer_matches_the_committed_schema(personas, persona):
    response = personas[persona].client.get(ME_URL)
    assert response.status_code == 200
