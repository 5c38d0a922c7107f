"""The one check that a response is an RFC 9457 problem, as the API promises for every error."""

from __future__ import annotations

PROBLEM = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:coalition:problem:"


def assert_problem(
    response, status: int, slug: str | None = None, *, language: str | None = None, title: str | None = None
) -> dict:
    """The response is a problem with ``status`` (and the stable type ``slug``); returns its body.

    Every problem has the problem content type, its status in the body, a type under
    the project's URN, a non-empty title and detail, and the request id the response
    header carries. With ``language`` the answer says it is in that language; with
    ``title`` its title is exactly that (a translated title, say).
    """
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith(PROBLEM_TYPE_PREFIX)
    if slug is not None:
        assert body["type"] == f"{PROBLEM_TYPE_PREFIX}{slug}"
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["request_id"] == response["X-Request-ID"]
    if language is not None:
        assert response.get("Content-Language") == language
    if title is not None:
        assert body["title"] == title
    return body


def without_request_id(body: dict) -> dict:
    """A problem body without its per-request id, to compare two answers."""
    return {key: value for key, value in body.items() if key != "request_id"}
