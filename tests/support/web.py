"""Signing personas in to the web app, for page tests."""

from __future__ import annotations

import re
import time

from django.test import Client

from partners.models import User
from partners.tokens import open_login_for_tests
from web import auth


def web_client_for(user: User) -> Client:
    """A browser-like client with ``user`` signed in to the web app, as a real sign-in leaves it.

    The session names a live ``LoginSession`` (verified by a second factor, as the personas'
    token logins are) and the person's token version, so ``WebSessionMiddleware`` accepts it
    and ends it on the same events as a real one. CSRF is not checked by this client (page
    tests post forms directly); tests/web/test_sessions.py proves CSRF with one that checks.
    """
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    login_session = open_login_for_tests(user, mfa_verified=True)
    session = client.session
    session[auth.LOGIN_SESSION_KEY] = str(login_session.pk)
    session[auth.TOKEN_VERSION_KEY] = user.token_version
    session[auth.LAST_SEEN_KEY] = int(time.time())
    session[auth.ENROLMENT_ONLY_KEY] = False
    session.set_expiry(login_session.expires_at)
    session.save()
    return client


SIGN_IN = "/app/sign-in/"
_CSRF_VALUE = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+')


def sign_in(client: Client, username: str, password: str, otp: str = "", **extra):
    """Post the web sign-in form as a browser would (``next`` and headers in ``extra``)."""
    data = {"username": username, "password": password, "otp": otp}
    if "next" in extra:
        data["next"] = extra.pop("next")
    return client.post(SIGN_IN, data, **extra)


def page_without_csrf_tokens(response) -> str:
    """A page's HTML with its (per-answer masked) CSRF tokens blanked, to compare two answers."""
    return _CSRF_VALUE.sub(r"\1…", response.content.decode())


def sent_mails(to: str) -> list:
    """Send what the outbox holds for ``to`` (as the worker would) and return the messages."""
    from django.core import mail as django_mail

    from coalition.mail.models import OutboundMail
    from coalition.mail.services import deliver

    for mail in OutboundMail.objects.filter(to=to, status="pending"):
        deliver(mail.pk)
    return [message for message in django_mail.outbox if message.to == [to]]


def mailed_link(to: str) -> tuple[str, str]:
    """The newest one-time link mailed to ``to``: its path (as the browser opens it) and its token."""
    match = re.search(r"https?://[^/\s]+(/app/[^#\s]*)#token=([A-Za-z0-9_-]+)", sent_mails(to)[-1].body)
    assert match, "no one-time link in the mail"
    return match.group(1), match.group(2)


_CSRF_TOKENS = re.compile(rb'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")[A-Za-z0-9]+')


def comparable_page(response) -> bytes:
    """A page's body without what differs per answer: its request id, the (masked) CSRF tokens
    and the address asked for (the language switch returns there).

    Two pages equal under this are the same page: "not yours" and "not there" must be.
    """
    body = response.content.replace(response["X-Request-ID"].encode(), b"")
    body = body.replace(response.wsgi_request.get_full_path().encode(), b"")
    return _CSRF_TOKENS.sub(rb"\1", body)
