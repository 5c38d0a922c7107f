"""Benchmark-only instrumentation, active only with ``COALITION_BENCH=true`` (never in production).

- ``QueryCountMiddleware`` counts the SQL statements each request runs and answers
  them in an ``X-DB-Queries`` header, through ``connection.execute_wrapper`` (no
  DEBUG needed, so the server runs exactly as in production otherwise).
- ``FloorView`` is the framework floor: a bare DRF list of 50 rows of one table
  with the same authentication, permission and throttling as every API view, so
  each endpoint's cost can be read as a multiple of what DRF itself costs.
"""

from django.db import connections
from rest_framework import generics, serializers

from partners.choices import Role
from partners.models import Organisation
from partners.policy import allow


class _Counter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class QueryCountMiddleware:
    """Adds ``X-DB-Queries``: statements run on any database while answering the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        counter = _Counter()
        wrappers = [connections[alias].execute_wrapper(counter) for alias in connections]
        for wrapper in wrappers:
            wrapper.__enter__()
        try:
            response = self.get_response(request)
        finally:
            for wrapper in reversed(wrappers):
                wrapper.__exit__(None, None, None)
        response["X-DB-Queries"] = str(counter.count)
        return response


class _FloorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "slug", "name", "kind", "country"]


class FloorView(generics.ListAPIView):
    """50 organisations, no filter, no pagination, no scoping: what the framework alone costs."""

    serializer_class = _FloorSerializer
    pagination_class = None
    filter_backends = []
    policy = {"get": allow(Role.CASEWORKER, Role.COORDINATOR, Role.AUDITOR, Role.ORG_ADMIN)}

    def get_queryset(self):
        return Organisation.objects.order_by("slug")[:50]
