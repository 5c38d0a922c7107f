"""One-time links are single use under concurrency: parallel uses of one link give one account
or one new password, never two (real parallel connections on PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework.test import APIClient

from partners import services
from partners.choices import Role
from partners.models import Invitation, PasswordReset, User
from tests.support.concurrency import race

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

PASSWORDS = [f"parallel-chosen-passphrase-{n:02d}" for n in range(8)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs real parallel connections (PostgreSQL)")




def post(url, body):
    return lambda: APIClient().post(url, body, format="json")


def raw_token_of(monkeypatch):
    """Capture the raw token a service mails (the only place it exists besides the outbox row)."""
    captured = {}
    original = services._new_token

    def capture():
        raw, digest = original()
        captured["raw"] = raw
        return raw, digest

    monkeypatch.setattr(services, "_new_token", capture)
    return captured


def test_parallel_accepts_of_one_invitation_create_exactly_one_account(personas, monkeypatch):
    captured = raw_token_of(monkeypatch)
    admin = personas["org_admin"].user
    invitation = services.invitation_create(
        actor=admin, organisation=admin.organisation, email="racer@example.org", username="hotline-be-racer",
        roles=[Role.ORG_ADMIN],
    )
    url = "/api/v1/auth/invitations/accept/"
    responses = race([post(url, {"token": captured["raw"], "password": p}) for p in PASSWORDS])

    assert sorted(r.status_code for r in responses) == [204] + [400] * (len(PASSWORDS) - 1)
    assert User.objects.filter(username__iexact="hotline-be-racer").count() == 1
    winner = PASSWORDS[[r.status_code for r in responses].index(204)]
    assert User.objects.get(username="hotline-be-racer").check_password(winner)
    assert Invitation.objects.get(pk=invitation.pk).accepted_at is not None


def test_parallel_uses_of_one_reset_link_set_exactly_one_password(personas, monkeypatch):
    captured = raw_token_of(monkeypatch)
    person = personas["caseworker"].user
    services.password_reset_send(actor=personas["org_admin"].user, user=person)
    url = "/api/v1/auth/password-reset/"
    responses = race([post(url, {"token": captured["raw"], "password": p}) for p in PASSWORDS])

    assert sorted(r.status_code for r in responses) == [204] + [400] * (len(PASSWORDS) - 1)
    winner = PASSWORDS[[r.status_code for r in responses].index(204)]
    person.refresh_from_db()
    assert person.check_password(winner)
    assert PasswordReset.objects.filter(user=person, used_at__isnull=False).count() == 1
