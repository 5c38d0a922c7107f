"""The ``colleagues`` fixture of the notification tests: more people than the personas (tests/support/notifications.py)."""

import pytest

from tests.support.notifications import make_colleagues


@pytest.fixture
def colleagues(orgs, personas):
    return make_colleagues(orgs)
