def test_caseworker_finds_organisations_by_phenomenon(personas):
    response = personas["caseworker"].client.get("/api/v1/organisations/", {"phenomenon": "teen_pimp"})
    assert response.status_code == 200
    slugs = [o["slug"] for o in response.json()["results"]]
    assert slugs == ["hotline-be", "shelter-be"]


def test_not_found_is_a_problem(personas):
    response = personas["caseworker"].client.get("/api/v1/organisations/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "urn:coalition:problem:not-found"
