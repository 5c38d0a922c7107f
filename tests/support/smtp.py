"""A real SMTP server for tests (aiosmtpd on 127.0.0.1, a free port), and the settings that point at it.

``smtp_server`` is a fixture: import it into a test module (``from tests.support.smtp
import smtp_server``) and call it to start a server; the settings then send there
through Django's ordinary SMTP backend, as in production.
"""

from __future__ import annotations

import email
from email import policy

import pytest
from aiosmtpd.controller import Controller

from tests.support.ports import free_port


class Inbox:
    """An aiosmtpd handler that keeps every message, or refuses every recipient.

    ``refuse``: the reply to every recipient, a temporary one (``450``: try later) by
    default when set to True; a permanent one (``550``) is a bounce.
    """

    def __init__(self, refuse: bool | str = False):
        self.refuse = refuse
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse:
            return self.refuse if isinstance(self.refuse, str) else "450 4.2.1 mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on a free local port; the settings point at it."""

    def start(refuse: bool | str = False) -> Inbox:
        inbox = Inbox(refuse=refuse)
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        point_at(settings, port)
        return inbox

    started: list[Controller] = []
    yield start
    for controller in started:
        controller.stop()


def point_at(settings, port: int) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5


