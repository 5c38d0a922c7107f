"""Base classes every API view derives from, so cross-cutting rules apply everywhere."""

from rest_framework import viewsets
from rest_framework.views import APIView

from .idempotency import IdempotencyMixin


class CoalitionAPIView(IdempotencyMixin, APIView):
    """An API view with the coalition's conventions (Idempotency-Key on POST)."""


class CoalitionViewSet(IdempotencyMixin, viewsets.GenericViewSet):
    """A viewset with the coalition's conventions (Idempotency-Key on POST)."""
