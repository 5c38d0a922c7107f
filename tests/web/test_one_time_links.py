"""The invitation and password-reset pages: the mailed link's token (in the URL fragment) and a new password.

The token reaches the form from the fragment by script, or pasted by hand; errors stand
beside their fields and change nothing; success leads to the sign-in page.
"""

from __future__ import annotations

import pytest
from django.test import Client

from partners import services
from partners.models import Invitation, User
from tests.support.personas import PASSWORD
from tests.support.web import SIGN_IN, mailed_link, sign_in, web_client_for

NEW_PASSWORD = "my-own-chosen-passphrase-2026"


def _invite(personas, username="hotline-be-newcomer") -> tuple[str, str]:
    services.invitation_create(
        actor=personas["org_admin"].user, organisation=personas["org_admin"].organisation,
        email=f"{username}@example.org", username=username, roles=["org_admin"],
    )
    return mailed_link(f"{username}@example.org")


def _choose(client: Client, path: str, token: str, password: str = NEW_PASSWORD, again: str | None = None):
    return client.post(path, {"token": token, "password": password, "password_again": password if again is None else again})


def _error_beside(response, field: str) -> str:
    """The text of the error list tied to ``field`` (by its id and the input's aria-describedby)."""
    html = response.content.decode()
    assert f'aria-describedby="id_{field}_error"' in html or f'aria-describedby="id_{field}_helptext id_{field}_error"' in html
    start = html.index(f'id="id_{field}_error"')
    return html[start:html.index("</ul>", start)]


# --- the page ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/app/invitation/", "/app/password-reset/"])
def test_the_page_has_a_token_field_the_script_fills_from_the_fragment(db, path):
    page = Client().get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert "data-one-time-link" in html and 'for="id_token"' in html and 'name="token"' in html
    assert 'for="id_password"' in html and 'for="id_password_again"' in html
    assert 'autocomplete="new-password"' in html


def test_the_script_copies_the_token_and_drops_the_fragment():
    from pathlib import Path

    script = (Path(__file__).resolve().parents[2] / "web/static/web/app.js").read_text()
    block = script[script.index("// account: one-time links"):]
    assert "window.location.hash" in block and "history.replaceState" in block and 'name=token' in block


def test_the_mailed_links_lead_to_these_pages(personas):
    path, _token = _invite(personas)
    assert path == "/app/invitation/"
    services.password_reset_send(actor=personas["org_admin"].user, user=personas["caseworker"].user)
    assert mailed_link(personas["caseworker"].user.email)[0] == "/app/password-reset/"


# --- invitation ----------------------------------------------------------------------------


def test_an_invitee_chooses_a_password_and_then_signs_in(personas):
    path, token = _invite(personas)
    client = Client()
    response = _choose(client, path, token)
    assert response.status_code == 302 and response.url == SIGN_IN
    assert "Your account is ready" in client.get(SIGN_IN).content.decode()
    user = User.objects.get(username="hotline-be-newcomer")
    assert user.check_password(NEW_PASSWORD)
    # An org admin needs a second factor: the first sign-in goes to enrolment.
    assert sign_in(client, user.username, NEW_PASSWORD).url == "/app/account/second-factor/"


def test_the_whole_link_pasted_by_hand_works_too(personas):
    path, token = _invite(personas)
    assert _choose(Client(), path, f"https://referrals.example.org{path}#token={token}").status_code == 302


def test_a_used_link_is_refused_beside_the_token_field(personas):
    path, token = _invite(personas)
    _choose(Client(), path, token)
    again = _choose(Client(), path, token, password="another-chosen-passphrase-2026")
    assert again.status_code == 422
    assert "This link is not valid" in _error_beside(again, "token")
    assert User.objects.get(username="hotline-be-newcomer").check_password(NEW_PASSWORD)


def test_an_unknown_token_is_refused_beside_the_token_field(db):
    response = _choose(Client(), "/app/invitation/", "not-a-token-we-ever-sent")
    assert response.status_code == 422
    assert "This link is not valid" in _error_beside(response, "token")


def test_a_weak_password_is_refused_beside_the_password_field_and_creates_nothing(personas):
    path, token = _invite(personas)
    response = _choose(Client(), path, token, password="1q2w3e4r5t6y7u")
    assert response.status_code == 422
    assert "too common" in _error_beside(response, "password")
    assert not User.objects.filter(username="hotline-be-newcomer").exists()
    assert Invitation.objects.get(username="hotline-be-newcomer").accepted_at is None
    assert _choose(Client(), path, token).status_code == 302  # the link still works


def test_two_different_passwords_are_refused_beside_the_second(personas):
    path, token = _invite(personas)
    response = _choose(Client(), path, token, again="not-the-same-passphrase-2026")
    assert response.status_code == 422
    assert "not the same" in _error_beside(response, "password_again")
    assert not User.objects.filter(username="hotline-be-newcomer").exists()


# --- password reset ------------------------------------------------------------------------


def test_a_person_sets_a_new_password_from_the_reset_link_and_their_sessions_end(personas):
    user = personas["caseworker"].user
    signed_in = web_client_for(user)
    services.password_reset_send(actor=personas["org_admin"].user, user=user)
    path, token = mailed_link(user.email)

    client = Client()
    response = _choose(client, path, token)
    assert response.status_code == 302 and response.url == SIGN_IN
    assert "Your password is changed" in client.get(SIGN_IN).content.decode()
    assert signed_in.get("/app/account/").url.startswith(SIGN_IN)
    assert sign_in(Client(), user.username, PASSWORD).status_code == 422
    assert sign_in(Client(), user.username, NEW_PASSWORD).status_code == 302


def test_a_reset_link_works_once(personas):
    user = personas["caseworker"].user
    services.password_reset_send(actor=personas["org_admin"].user, user=user)
    path, token = mailed_link(user.email)
    assert _choose(Client(), path, token).status_code == 302
    again = _choose(Client(), path, token, password="another-chosen-passphrase-2026")
    assert again.status_code == 422 and "This link is not valid" in _error_beside(again, "token")
