"""The committed OpenAPI schema, and an API client that checks every response against it."""

from __future__ import annotations

import functools
from pathlib import Path

from rest_framework.test import APIClient

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "api_docs" / "openapi.yaml"


@functools.lru_cache(maxsize=1)
def committed_openapi():
    import json

    from openapi_core import Config, OpenAPI

    config = Config(
        extra_media_type_deserializers={"application/problem+json": json.loads, "text/csv": lambda body, **_: body.decode("utf-8")}
    )
    return OpenAPI.from_file_path(str(SCHEMA_PATH), config=config)


def validate_against_schema(response) -> None:
    """Fail the test if ``response`` is not what the committed schema promises."""
    from openapi_core.contrib.django import DjangoOpenAPIResponse

    request = response.wsgi_request
    committed_openapi().validate_response(_PathMatchedRequest(request), DjangoOpenAPIResponse(response))


class _PathMatchedRequest:
    """openapi-core request wrapper that lets the schema's templates match the concrete path."""

    def __init__(self, request):
        from openapi_core.contrib.django import DjangoOpenAPIRequest

        self._inner = DjangoOpenAPIRequest(request)
        self.host_url = self._inner.host_url
        self.path = self._inner.path
        self.method = self._inner.method
        self.body = self._inner.body
        self.content_type = self._inner.content_type
        self.parameters = self._inner.parameters
        self.path_pattern = None


class SchemaCheckedClient(APIClient):
    """APIClient whose every API response is validated against api_docs/openapi.yaml."""

    validate = True

    def request(self, **kwargs):
        response = super().request(**kwargs)
        path = response.wsgi_request.path
        if self.validate and (path.startswith("/api/v1/") or path in ("/healthz", "/readyz")) and path != "/api/v1/schema/":
            if response.status_code not in (404, 405) or response.wsgi_request.resolver_match is not None:
                validate_against_schema(response)
        return response
