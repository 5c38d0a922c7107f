"""Key rotation covers the secrets outside the case data: webhook signing secrets and unsent mail tokens.

Dropping the old FIELD_ENCRYPTION_KEYS key after ``rotate_field_keys`` must leave every
encrypted value readable, or webhook deliveries and pending one-time links break.
"""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from coalition.events.models import WebhookEndpoint
from coalition.mail.models import OutboundMail
from coalition.mail.services import queue_mail

pytestmark = pytest.mark.django_db


def raw(model, pk, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def test_rotation_re_encrypts_webhook_secrets_and_pending_mail_tokens_so_the_new_key_alone_reads_them(orgs):
    endpoint = WebhookEndpoint.objects.create(
        organisation=orgs["hotline-be"], url="https://partner.example/hook", secret="current-secret",
        previous_secret="previous-secret",
    )
    mail = queue_mail(to="someone@example.invalid", template="invitation", token="one-time-token")
    before = {
        "secret": raw(WebhookEndpoint, endpoint.pk, "secret"),
        "previous_secret": raw(WebhookEndpoint, endpoint.pk, "previous_secret"),
        "mail": raw(OutboundMail, mail.pk, "secret"),
    }
    old, new = settings.FIELD_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()

    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        out = StringIO()
        call_command("rotate_field_keys", stdout=out)
    assert "events.WebhookEndpoint: 1 rows" in out.getvalue() and "mail.OutboundMail: 1 rows" in out.getvalue()

    after = {
        "secret": raw(WebhookEndpoint, endpoint.pk, "secret"),
        "previous_secret": raw(WebhookEndpoint, endpoint.pk, "previous_secret"),
        "mail": raw(OutboundMail, mail.pk, "secret"),
    }
    assert all(after[name] != before[name] for name in before)
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
        endpoint.refresh_from_db()
        assert (endpoint.secret, endpoint.previous_secret) == ("current-secret", "previous-secret")
        assert OutboundMail.objects.get(pk=mail.pk).secret == "one-time-token"
