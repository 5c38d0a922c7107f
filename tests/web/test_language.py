"""The language switch on every page: a person's choice is saved on them and followed by pages and mails."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from coalition.audit.models import AuditEntry
from coalition.mail.models import OutboundMail
from partners import services
from partners.models import User
from tests.support.personas import PASSWORD
from tests.support.web import SIGN_IN, sign_in, web_client_for

SIGN_IN_TITLE = {"en": "Sign in", "nl": "Aanmelden", "fr": "Connexion"}
ACCOUNT_TITLE = {"en": "Your account", "nl": "Uw account", "fr": "Votre compte"}


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """Django keeps the last request's language on the thread: do not leak it into other tests."""
    yield
    translation.deactivate()


def _lang_of(response) -> str:
    html = response.content.decode()
    return html[html.index('<html lang="') + 12:].split('"', 1)[0]


def test_every_page_has_the_language_switch(personas):
    for client, path in [(Client(), SIGN_IN), (web_client_for(personas["caseworker"].user), "/app/account/")]:
        html = client.get(path).content.decode()
        assert 'action="/app/language/"' in html and 'for="language-switch"' in html
        assert 'lang="nl">Nederlands' in html and 'lang="fr">français' in html


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_the_switch_saves_the_persons_choice_and_the_next_page_follows_it(personas, language):
    user = personas["caseworker"].user
    client = web_client_for(user)
    response = client.post("/app/language/", {"language": language, "next": "/app/account/"})
    assert response.status_code == 302 and response.url == "/app/account/"
    user.refresh_from_db()
    assert user.language == language
    # The choice beats the browser's Accept-Language, on the next request and after.
    other = "fr" if language != "fr" else "nl"
    page = client.get("/app/account/", HTTP_ACCEPT_LANGUAGE=other)
    assert _lang_of(page) == language and page["Content-Language"] == language
    assert f"<h1>{ACCOUNT_TITLE[language]}</h1>" in page.content.decode()


def test_the_choice_follows_the_person_to_another_browser(personas):
    user = personas["caseworker"].user
    web_client_for(user).post("/app/language/", {"language": "fr", "next": "/app/account/"})
    other_browser = Client()
    sign_in(other_browser, user.username, PASSWORD)
    assert _lang_of(other_browser.get("/app/account/", HTTP_ACCEPT_LANGUAGE="nl")) == "fr"


def test_a_choice_is_audited_once(personas):
    client = web_client_for(personas["caseworker"].user)
    client.post("/app/language/", {"language": "nl", "next": "/app/account/"})
    client.post("/app/language/", {"language": "nl", "next": "/app/account/"})
    [entry] = AuditEntry.objects.filter(action="user.language")
    assert entry.detail == {"language": "nl"}


def test_without_a_choice_pages_follow_the_browser(personas):
    client = web_client_for(personas["caseworker"].user)
    assert _lang_of(client.get("/app/account/", HTTP_ACCEPT_LANGUAGE="nl")) == "nl"
    assert _lang_of(client.get("/app/account/", HTTP_ACCEPT_LANGUAGE="fr")) == "fr"


def test_a_signed_out_browser_keeps_its_choice_in_a_cookie(db):
    client = Client()
    response = client.post("/app/language/", {"language": "nl", "next": SIGN_IN})
    assert response.url == SIGN_IN
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "nl" and cookie["httponly"] is True and cookie["samesite"] == "Lax"
    page = client.get(SIGN_IN, HTTP_ACCEPT_LANGUAGE="fr")
    assert _lang_of(page) == "nl" and f"<h1>{SIGN_IN_TITLE['nl']}</h1>" in page.content.decode()


def test_an_unknown_language_changes_nothing(personas):
    user = personas["caseworker"].user
    client = web_client_for(user)
    response = client.post("/app/language/", {"language": "xx", "next": "/app/account/"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "" and settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_the_switch_goes_back_only_within_the_site(personas):
    client = web_client_for(personas["caseworker"].user)
    assert client.post("/app/language/", {"language": "nl", "next": "https://attacker.example/"}).url == "/app/"


def test_mails_to_a_person_are_in_their_chosen_language(personas):
    user = personas["caseworker"].user
    web_client_for(user).post("/app/language/", {"language": "fr", "next": "/app/account/"})
    services.password_reset_send(actor=personas["org_admin"].user, user=User.objects.get(pk=user.pk))
    assert OutboundMail.objects.filter(to=user.email).latest("created_at").language == "fr"


def test_without_a_choice_mails_use_the_invitations_language(personas):
    invitation = services.invitation_create(
        actor=personas["org_admin"].user, organisation=personas["org_admin"].organisation,
        email="newcomer@example.org", username="hotline-be-newcomer", roles=["org_admin"], language="nl",
    )
    assert OutboundMail.objects.get(to="newcomer@example.org").language == "nl"
    from tests.support.web import mailed_link

    _path, token = mailed_link("newcomer@example.org")
    newcomer = services.invitation_accept(token=token, password="my-own-chosen-passphrase-2026")
    assert invitation.pk and newcomer.language == ""
    services.tell_account_changed(newcomer, change="password_change")
    assert OutboundMail.objects.filter(to="newcomer@example.org").latest("created_at").language == "nl"
