"""Liveness and readiness, outside authentication, for load balancers and orchestrators."""

from django.db import connection
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .problems import PROBLEM_CONTENT_TYPE, problem_body

_status = inline_serializer("HealthStatus", {"status": serializers.CharField()})


class HealthzView(APIView):
    """The process is alive. Touches nothing else."""

    authentication_classes = []
    permission_classes = [AllowAny]  # public by design: health check
    throttle_classes = []

    @extend_schema(responses={200: _status}, tags=["health"], auth=[])
    def get(self, request):
        return Response({"status": "ok"})


class ReadyzView(APIView):
    """The process can serve: the database answers."""

    authentication_classes = []
    permission_classes = [AllowAny]  # public by design: readiness check
    throttle_classes = []

    @extend_schema(responses={200: _status, 503: OpenApiResponse(description="Database unreachable")}, tags=["health"], auth=[])
    def get(self, request):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception:  # noqa: BLE001  any database failure means not ready
            body = problem_body(status_code=503, slug="not-ready", detail=_("The database is unreachable."), request=request)
            return Response(body, status=503, content_type=PROBLEM_CONTENT_TYPE)
        return Response({"status": "ready"})
