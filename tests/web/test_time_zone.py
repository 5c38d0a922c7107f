"""Pages show times on the coalition's clock (COALITION_TIME_ZONE, the one deadlines are counted in)."""

from __future__ import annotations

from datetime import UTC, datetime

from referrals.models import Referral
from tests.support.web import web_client_for


def test_a_deadline_is_shown_in_the_coalitions_time_zone_not_utc(flow, personas, settings):
    settings.COALITION_TIME_ZONE = "Europe/Brussels"
    _case, referral = flow.sent_referral()
    due = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)  # noon in Brussels (summer time)
    Referral.objects.filter(pk=referral["id"]).update(acknowledge_due=due)

    page = web_client_for(personas["recipient_caseworker"].user).get(f"/app/referrals/{referral['id']}/")

    assert page.status_code == 200
    assert '<time datetime="2026-07-01T12:00:00+02:00">' in page.content.decode()
