"""Thin views: the event feed, and an org admin's webhook endpoints with their delivery logs."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from coalition.api.pagination import NewestFirstPagination
from coalition.api.views import CoalitionAPIView, ScopedViewSet
from coalition.core.access import ApiKeyScope, Role, allow

from .. import selectors, services
from ..models import WebhookEndpoint
from . import serializers as s


class EventFeedView(CoalitionAPIView):
    """The events your organisation is party to, in order, after a cursor (coordinators: all).

    Poll with the ``next_after`` of the previous page; nothing is skipped or repeated.
    """

    policy = {"get": allow(Role.CASEWORKER, Role.COORDINATOR, scope=ApiKeyScope.EVENTS_READ)}

    @extend_schema(
        parameters=[s.EventFeedQuerySerializer],
        responses={200: s.EventFeedSerializer},
        tags=["events"],
    )
    def get(self, request):
        # A plain dict, not the QueryDict: DRF reads an empty "?limit=" from a form as "not given".
        query = s.EventFeedQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        after, limit = int(query.validated_data["after"]), query.validated_data["limit"]
        events = selectors.events_after(request.user, after=after, limit=limit + 1)
        page = events[:limit]
        body = {
            "results": s.EventSerializer(page, many=True).data,
            "next_after": str(page[-1].seq if page else after),
            "has_more": len(events) > limit,
        }
        return Response(body)


class WebhookEndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """An org admin's webhook endpoints: signed pushes of the organisation's events."""

    selector = staticmethod(selectors.webhook_endpoints_visible_to)
    queryset_model = WebhookEndpoint
    serializer_class = s.WebhookEndpointSerializer
    ordering = ("-created_at", "-id")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    policy = {
        "list": allow(Role.ORG_ADMIN),
        "retrieve": allow(Role.ORG_ADMIN),
        "create": allow(Role.ORG_ADMIN),
        "partial_update": allow(Role.ORG_ADMIN),
        "destroy": allow(Role.ORG_ADMIN),
        "rotate_secret": allow(Role.ORG_ADMIN),
        "deliveries": allow(Role.ORG_ADMIN),
        "redeliver": allow(Role.ORG_ADMIN),
    }
    problem_statuses = {"redeliver": [409]}
    idempotency_secret_actions = frozenset({"create", "rotate_secret"})  # the secret is shown once: never replayed

    @extend_schema(request=s.WebhookEndpointCreateSerializer, responses={201: s.WebhookSecretSerializer})
    def create(self, request):
        data = s.WebhookEndpointCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.webhook_create(actor=request.user, **data.validated_data)
        body = s.WebhookEndpointSerializer(created.endpoint).data | {"secret": created.secret}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.WebhookEndpointUpdateSerializer, responses={200: s.WebhookEndpointSerializer})
    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        data = s.WebhookEndpointUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_update(actor=request.user, endpoint=endpoint, data=data.validated_data)
        return Response(s.WebhookEndpointSerializer(endpoint).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.webhook_delete(actor=request.user, endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: s.WebhookSecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        rotated = services.webhook_rotate_secret(actor=request.user, endpoint=self.get_object())
        return Response(s.WebhookEndpointSerializer(rotated.endpoint).data | {"secret": rotated.secret})

    @extend_schema(responses={200: s.WebhookDeliverySerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=NewestFirstPagination, filter_backends=[])
    def deliveries(self, request, pk=None):
        deliveries = selectors.deliveries_of(self.get_object())
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(s.WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: s.WebhookDeliverySerializer})
    @action(detail=True, methods=["post"], url_path="deliveries/<uuid:delivery_id>/redeliver")
    def redeliver(self, request, pk=None, delivery_id=None):
        delivery = get_object_or_404(selectors.deliveries_of(self.get_object()), pk=delivery_id)
        delivery = services.webhook_redeliver(actor=request.user, delivery=delivery)
        delivery = selectors.deliveries_of(delivery.endpoint).get(pk=delivery.pk)
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
