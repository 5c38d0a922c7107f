"""An org admin's API key in Chromium: made with one scope, seen once, gone from sight, revoked.

hotline-be's org admin signs in with a password and a code from the authenticator app, opens
the organisation's API keys, creates a key that may read the coalition directory, copies it
from the one page that shows it, goes back to the list, where only its prefix is, and later
revokes it. Between the steps a partner system calls the API with the key, as the page says
(``Authorization: Api-Key <key>``): it works until it is revoked. Every field, button and link
is found by its label or accessible name, as a screen reader user finds them.
"""

from __future__ import annotations

import pytest
from django.test import Client
from selenium.webdriver.common.by import By

from coalition.audit.models import AuditEntry
from partners.models import ApiKey
from tests.security.helpers import device_code, give_confirmed_totp_device
from tests.support import browser as b
from tests.support.personas import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

KEYS = "/app/organisation/api-keys/"
KEY_NAME = "Hotline directory sync"


def page_is_clean(browser) -> None:
    """Nothing asked of another origin, nothing refused by the CSP, nothing for axe-core."""
    assert b.third_party_requests(browser) == []
    assert b.csp_violations(browser) == []
    b.assert_no_axe_violations(browser)


def calls_the_api_with(raw_key: str) -> int:
    """A partner system's call with the key: the status of ``GET /api/v1/organisations/``."""
    return Client().get("/api/v1/organisations/", HTTP_AUTHORIZATION=f"Api-Key {raw_key}").status_code


def test_an_org_admin_creates_an_api_key_sees_it_once_and_revokes_it(browser, live_server, personas):
    admin = personas["org_admin"].user
    device = give_confirmed_totp_device(admin)
    b.sign_in(browser, live_server, admin.username, PASSWORD, otp=device_code(device))

    # --- the organisation's keys: the suite's own, none of them shown ---------------------------------------
    b.open_page(browser, live_server, KEYS)
    assert b.heading(browser) == "API keys"
    page_is_clean(browser)
    b.follow(browser, "Create an API key")
    assert b.heading(browser) == "Create an API key"

    b.fill(browser, "Name", KEY_NAME)
    b.choose(browser, "Read the coalition directory (organisations:read)")
    b.press(browser, "Create the key")

    # --- the key, once -----------------------------------------------------------------------------------
    assert b.heading(browser) == "Your new API key"
    assert "Copy it now: it will not be shown again." in b.page_text(browser)
    raw_key = b.field(browser, "API key").get_attribute("value")
    key = ApiKey.objects.get(name=KEY_NAME)
    assert raw_key.startswith(f"crn_{key.prefix}_") and key.scopes == ["organisations:read"]
    assert raw_key not in browser.current_url
    page_is_clean(browser)
    assert calls_the_api_with(raw_key) == 200

    # --- back to the list: the key's name and prefix, never the key ------------------------------------------
    b.follow(browser, "I have copied the key: back to the API keys")
    assert b.heading(browser) == "API keys"
    row = browser.find_element(By.XPATH, f"//tbody/tr[th[normalize-space()='{KEY_NAME}']]")
    assert key.prefix in row.text and "Active" in row.text and "Read the coalition directory" in row.text
    assert raw_key not in browser.page_source
    browser.refresh()
    assert raw_key not in browser.page_source
    page_is_clean(browser)

    # --- revoking it ---------------------------------------------------------------------------------------
    b.follow(b.part(browser, "Your organisation's API keys, newest first"), f"Revoke {KEY_NAME} ({key.prefix})")
    assert b.heading(browser) == f"Revoke the API key {KEY_NAME}"
    page_is_clean(browser)
    b.press(browser, "Revoke the key")

    assert b.heading(browser) == "API keys"
    assert f'The API key "{KEY_NAME}" is revoked.' in b.page_text(browser)
    row = browser.find_element(By.XPATH, f"//tbody/tr[th[normalize-space()='{KEY_NAME}']]")
    assert "Revoked" in row.text and not row.find_elements(By.TAG_NAME, "a")
    page_is_clean(browser)
    assert calls_the_api_with(raw_key) == 401
    actions = list(AuditEntry.objects.filter(object_id=str(key.pk)).order_by("seq").values_list("action", flat=True))
    assert actions[0] == "api_key.create" and actions[-1] == "api_key.revoke"
