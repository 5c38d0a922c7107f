"""``?format=`` is a parameter of the statistics endpoints only (they document it); elsewhere it means nothing.

DRF's URL format override used to answer an undocumented 404 on every endpoint for an
unknown ``?format=`` value, which the fuzz tests found.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["yaml", "csv", "api", "nonsense"])
def test_a_format_parameter_on_an_endpoint_that_does_not_document_it_is_ignored(personas, value):
    response = personas["caseworker"].client.get(f"/api/v1/cases/?format={value}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


def test_the_statistics_endpoints_still_read_their_documented_format_parameter(personas):
    client = personas["coordinator"].client
    csv = client.get("/api/v1/statistics/referrals/?year=2025&format=csv")
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert client.get("/api/v1/statistics/referrals/?year=2025&format=json")["Content-Type"] == "application/json"
    unknown = client.get("/api/v1/statistics/timings/?year=2025&format=nonsense")
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["pointer"] == "#/format"
