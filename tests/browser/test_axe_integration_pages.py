"""Every page of the org admin's integrations in Chromium, in English, Dutch and French: axe-core
finds no violation, nothing is asked of another origin, the Content-Security-Policy refuses
nothing, and no template syntax shows.

The pages are hotline-be's org admin's with real content: a list of API keys in each state
(active, awaiting approval, expired, revoked), the key form empty and with its errors, the
page that shows a new key once, the revoke confirmation; a list of webhook endpoints (active,
switched off, with and without deliveries), the endpoint form empty and with a refused URL,
the page that shows its signing secret once, the endpoint's page with its delivery log (failed
and delivered, a redeliver button), the rotation's confirmation and its new secret, the delete
confirmation. The data is made through the services (and, for the delivery log, as
tests/support/matrix_objects.py makes it) before the browser opens anything.

Buttons are found by their accessible name in the page's language (tests/support/pages_in_browser.py).
Each page checked is also a screenshot, ``<language>-<number>-<page>.png``.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from coalition.events import services as event_services
from coalition.events.models import DeliveryStatus, Event, WebhookAttempt, WebhookDelivery
from partners import services as partner_services
from partners.choices import ApiKeyScope
from partners.models import ApiKey
from tests.support import browser as b
from tests.support.pages_in_browser import Pages

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

LANGUAGES = ["en", "nl", "fr"]
KEYS = "/app/organisation/api-keys/"
WEBHOOKS = "/app/organisation/webhooks/"


def required(pages: Pages, english: str) -> re.Pattern[str]:
    """A required field's label in the page's language, followed by its "(required)" mark in that language."""
    return re.compile(rf"^{re.escape(pages.t(english))}( {re.escape(pages.t('(required)'))})?$")


def _delivery(endpoint, event_type: str, status: str, code: int | None) -> WebhookDelivery:
    event = Event.objects.create(type=event_type, organisations=[str(endpoint.organisation_id)])
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, status=status, attempts=1 if status == DeliveryStatus.SUCCEEDED else 10,
        last_status_code=code, delivered_at=timezone.now() if status == DeliveryStatus.SUCCEEDED else None,
    )
    WebhookAttempt.objects.create(delivery=delivery, status_code=code, duration_ms=80, error="" if code else "timeout")
    return delivery


@pytest.fixture
def integrations(personas):
    """hotline-be's keys in every state and two endpoints, one with a delivery log."""
    admin = personas["org_admin"].user
    partner_services.api_key_create(actor=admin, name="Case system", scopes=[ApiKeyScope.EVENTS_READ], expires_at=None)
    partner_services.api_key_create(
        actor=admin, name="Referral bridge", scopes=[ApiKeyScope.REFERRALS_READ, ApiKeyScope.REFERRALS_WRITE],
        expires_at=timezone.now() + timedelta(days=90),
    )
    expired = partner_services.api_key_create(
        actor=admin, name="Trial", scopes=[ApiKeyScope.ORGANISATIONS_READ], expires_at=None
    ).api_key
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=2))
    revoked = partner_services.api_key_create(
        actor=admin, name="Old system", scopes=[ApiKeyScope.ORGANISATIONS_READ], expires_at=None
    ).api_key
    partner_services.api_key_revoke(actor=admin, api_key=revoked)

    endpoint = event_services.webhook_create(
        actor=admin, url="https://93.184.216.34/hook", description="Case system",
        event_types=["referral.sent", "referral.accepted"],
    ).endpoint
    _delivery(endpoint, "referral.sent", DeliveryStatus.FAILED, 503)
    _delivery(endpoint, "referral.accepted", DeliveryStatus.SUCCEEDED, 204)
    _delivery(endpoint, "referral.sent", DeliveryStatus.FAILED, None)
    event_services.webhook_create(actor=admin, url="https://93.184.216.35/paused", active=False)
    return {"endpoint": endpoint, "key": ApiKey.objects.get(name="Case system")}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_integration_page_passes_axe_without_other_origins_or_csp_refusals(
    browser, live_server, personas, integrations, language
):
    admin = personas["org_admin"].user
    partner_services.user_set_language(user=admin, language=language)
    pages = Pages(browser, live_server, language)
    endpoint = integrations["endpoint"]
    pages.as_person(admin)

    # --- API keys ------------------------------------------------------------------------------------------
    pages.open(KEYS, "API keys")
    pages.open(f"{KEYS}new/", "API key form")
    b.press(browser, pages.t("Create the key"))
    assert b.visible_errors(browser)
    pages.check("API key form with its errors")
    b.fill(browser, required(pages, "Name"), "Walk system")
    b.fill_date(browser, pages.t("Expires on"), "2001-01-01")
    b.choose(browser, f"{pages.t('Read the coalition directory')} (organisations:read)")
    b.press(browser, pages.t("Create the key"))
    assert b.visible_errors(browser)
    pages.check("API key form with an expiry in the past")
    b.field(browser, pages.t("Expires on")).clear()
    b.press(browser, pages.t("Create the key"))
    assert b.field(browser, pages.t("API key")).get_attribute("value").startswith("crn_")
    pages.check("the new API key, shown once")
    pages.open(f"{KEYS}{integrations['key'].pk}/revoke/", "API key revoke confirmation")

    # --- webhooks ------------------------------------------------------------------------------------------
    pages.open(WEBHOOKS, "webhook endpoints")
    pages.open(f"{WEBHOOKS}new/", "webhook endpoint form")
    b.press(browser, pages.t("Add the endpoint"))
    assert b.visible_errors(browser)
    pages.check("webhook endpoint form with its errors")
    b.fill(browser, required(pages, "URL"), "http://93.184.216.36/hook")
    b.press(browser, pages.t("Add the endpoint"))
    assert b.visible_errors(browser)
    pages.check("webhook endpoint form with a refused URL")
    b.fill(browser, required(pages, "URL"), "https://93.184.216.36/hook")
    b.choose(browser, f"{pages.t('A referral was sent')} (referral.sent)")
    b.press(browser, pages.t("Add the endpoint"))
    assert b.field(browser, pages.t("Signing secret")).get_attribute("value").startswith("whsec_")
    pages.check("the new endpoint's signing secret, shown once")
    pages.open(f"{WEBHOOKS}{endpoint.pk}/", "webhook endpoint with its delivery log")
    assert len(b.part(browser, pages.t("Delivery log")).find_elements("css selector", "tbody tr")) == 3
    pages.open(f"{WEBHOOKS}{endpoint.pk}/rotate/", "signing secret rotation confirmation")
    b.press(browser, pages.t("Make a new secret"))
    assert b.field(browser, pages.t("Signing secret")).get_attribute("value").startswith("whsec_")
    pages.check("the rotated signing secret, shown once")
    pages.open(f"{WEBHOOKS}{endpoint.pk}/delete/", "webhook endpoint delete confirmation")

    assert not pages.failures, f"{len(pages.failures)} of {len(pages.checked)} pages in {language!r} fail:\n" + "\n".join(
        f"- {page}:\n    " + "\n    ".join(problems) for page, problems in pages.failures.items()
    )
