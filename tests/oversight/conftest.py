"""The ``data`` fixture of the oversight tests: referrals made straight in the database (tests/support/figures_data.py)."""

import pytest

from tests.support.figures_data import Data


@pytest.fixture
def data(orgs):
    return Data(orgs)
