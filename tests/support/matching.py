"""Matching on (``MATCH_ENABLED``) with the suite's key, and two members who know the same girl.

Fixtures ``matching`` and ``known_twice``, re-exported by tests/conftest.py for every package.
"""

from __future__ import annotations

import pytest

from tests.support.flows import CHILD

# The same fictional girl as the care provider writes her down: other case, accents, order, hyphen.
SAME_CHILD_ELSEWHERE = CHILD | {"given_name": "FICTIONALIS", "family_name": "zorîta", "safe_contact": "Via the aunt"}
INFORMATION_SHARING = {"purposes": ["information_sharing", "care_referral"]}


@pytest.fixture
def matching(settings):
    settings.MATCH_ENABLED = True
    return settings


@pytest.fixture
def known_twice(matching, flow):
    """hotline-be and care-nl each hold a case of the same girl, with consent to share information."""
    hotline_case = flow.open_case()
    flow.consent(hotline_case["id"], **INFORMATION_SHARING)
    care_case = flow.open_case("outsider_caseworker", subject=SAME_CHILD_ELSEWHERE, region="NL-NH")
    flow.consent(care_case["id"], "outsider_caseworker", **INFORMATION_SHARING)
    return hotline_case, care_case
