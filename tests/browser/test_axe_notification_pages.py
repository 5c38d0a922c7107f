"""The notification pages in Chromium, in English: axe-core finds no violation, nothing is asked of
another origin, the Content-Security-Policy refuses nothing, and no template syntax shows.

The pages have real content: shelter-be's caseworker's list with notifications of new referrals,
one read and the others not, then filtered to the unread ones; the mail preferences, as they
are and refused beside a field; and hotline-be's settings as its org admin sees them with a
bounced address (a caseworker's notification mail that an SMTP server refused for good). The
notifications are made as in production, by referrals sent through the API. English only, to
keep the run short: the other languages' words are the same templates' (tests/test_i18n.py).

Each page checked is also a screenshot, ``en-<number>-<page>.png`` (tests/support/browser.py).
"""

from __future__ import annotations

import pytest

from coalition.mail.models import MailStatus, OutboundMail
from coalition.mail.services import deliver
from coalition.notifications import services
from coalition.notifications.models import Notification
from tests.support import browser as b
from tests.support.pages_in_browser import Pages
from tests.support.smtp import smtp_server  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def test_the_notification_pages_pass_axe_without_other_origins_or_csp_refusals(
    browser, live_server, flow, personas, smtp_server
):
    shelter, admin = personas["recipient_caseworker"].user, personas["org_admin"].user
    for urgency in ("immediate", "urgent", "normal"):
        flow.sent_referral(urgency=urgency)
    services.notification_mark_read(user=shelter, notification=Notification.objects.filter(user=shelter).last())
    # shelter-be acknowledges one: hotline-be's caseworker is mailed, and that address bounces.
    referral = Notification.objects.filter(user=shelter).first().referral
    assert flow.act(referral, "acknowledge", "recipient_caseworker").status_code == 200
    smtp_server(refuse="550 5.1.1 no such mailbox")
    bounced = OutboundMail.objects.get(to=personas["caseworker"].user.email)
    assert deliver(bounced.pk) == MailStatus.FAILED

    pages = Pages(browser, live_server, "en")
    pages.as_person(shelter)
    pages.open("/app/notifications/", "notifications")
    assert "New immediate referral from Test hotline-be" in b.page_text(browser)
    b.choose(browser, "Unread only")
    b.press(browser, "Show")
    pages.check("notifications, unread only")
    pages.open("/app/notifications/preferences/", "mail preferences")
    b.fill(browser, "Hour of the daily digest", "25")
    b.press(browser, "Save the preferences")
    assert b.visible_errors(browser)
    pages.check("mail preferences with an error")

    pages.as_person(admin)
    pages.open("/app/organisation/settings/", "settings with a mail problem")
    assert "the mail server refused the address" in b.part(browser, "Mail problems").text

    assert not pages.failures, f"{len(pages.failures)} of {len(pages.checked)} pages fail:\n" + "\n".join(
        f"- {page}:\n    " + "\n    ".join(problems) for page, problems in pages.failures.items()
    )
