"""OpenAPI generation: every operation documents the problem responses it can give."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from .problems import PROBLEM_CONTENT_TYPE, TITLES


class ProblemFieldErrorSerializer(serializers.Serializer):
    pointer = serializers.CharField(help_text=_("JSON pointer to the offending input, e.g. #/roles/0."))
    detail = serializers.CharField()
    code = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField(help_text=_("Stable identifier of the kind of problem (urn:coalition:problem:...)."))
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    request_id = serializers.CharField(required=False, help_text=_("Quote it when asking for support."))
    # A field named like Serializer.errors: DRF's metaclass moves declared fields off the class.
    errors = ProblemFieldErrorSerializer(many=True, required=False)  # type: ignore[assignment]


IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    # Visible ASCII only, as coalition.api.idempotency checks.
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
    "description": (
        "Retry-safe POST: a replay by the same person or API key answers the first success again, rendered "
        "for the caller now (kept 24 hours); an answer that held a secret is not replayed (409 not-replayed)."
    ),
}


RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before retrying.",
    "schema": {"type": "integer", "minimum": 1},
}


class EmptyFilterIsNoFilterExtension(DjangoFilterExtension):
    """django-filter ignores a single-valued filter sent empty (``?kind=``): the schema says so.

    Multiple-choice filters refuse an empty value (400), so they are left as they are.
    """

    priority = 1  # replaces drf-spectacular's own django-filter extension

    def get_schema_operation_parameters(self, auto_schema, *args, **kwargs):
        parameters = super().get_schema_operation_parameters(auto_schema, *args, **kwargs)
        for parameter in parameters:
            if parameter.get("in") == "query" and parameter.get("schema", {}).get("type") != "array":
                parameter["allowEmptyValue"] = True
        return parameters


class CoalitionAutoSchema(AutoSchema):
    """Adds problem+json responses: authentication, scope, input and throttling errors, and the
    503 of a database outage (with ``Retry-After``) on every operation that uses the database.

    Views add operation-specific ones (409, 422, ...) with
    ``problem_statuses = {"<action or method>": [codes]}``.
    """

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return operation
        statuses: set[int] = set()
        if self.get_auth() and any(requirement for requirement in self.get_auth()):
            statuses |= {401, 403}
        if "{" in path:
            statuses.add(404)
        parameters = operation.get("parameters", [])
        if any(p.get("in") == "query" for p in parameters):
            statuses.add(400)
        if method in ("POST", "PUT", "PATCH"):
            statuses |= {400, 413, 415}
        if method == "POST" and self.get_auth() and any(requirement for requirement in self.get_auth()):
            # Idempotency-Key: 409 while the first request runs, 422 when reused with another body.
            statuses |= {409, 422}
            operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY_PARAMETER)
        if getattr(self.view, "throttle_classes", None):
            statuses.add(429)
        if not getattr(self.view, "touches_no_database", False):
            statuses.add(503)
        action = getattr(self.view, "action", None) or method.lower()
        statuses |= set(getattr(self.view, "problem_statuses", {}).get(action, ()))

        problem = self.resolve_serializer(ProblemSerializer, "response").ref
        responses = operation.setdefault("responses", {})
        for code in sorted(statuses):
            documented = {"description": str(TITLES.get(code, "Error")), "content": {PROBLEM_CONTENT_TYPE: {"schema": problem}}}
            if code == 503:
                documented["headers"] = {"Retry-After": RETRY_AFTER_HEADER}
            responses.setdefault(str(code), documented)
        return operation
