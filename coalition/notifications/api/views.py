"""Thin views: a person's notifications (list, read, read all) and their notification preferences.

Notifications belong to people: an API key (a partner system acting for its
organisation) has none, and reads the same facts from the event feed and webhooks.
A partner system showing a person their notifications calls these with that person's token.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from coalition.api.pagination import NewestFirstPagination
from coalition.api.views import CoalitionAPIView, ScopedViewSet
from coalition.core.access import ANY_ROLE, allow

from .. import selectors, services
from ..filters import NotificationFilter
from ..models import Notification
from . import serializers as s


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Your notifications, newest first: what needs you, never anything about the young person."""

    selector = staticmethod(selectors.notifications_for)
    queryset_model = Notification
    serializer_class = s.NotificationSerializer
    filterset_class = NotificationFilter
    pagination_class = NewestFirstPagination
    http_method_names = ["get", "post", "head", "options"]
    policy = {
        "list": allow(*ANY_ROLE),
        "retrieve": allow(*ANY_ROLE),
        "read": allow(*ANY_ROLE),
        "read_all": allow(*ANY_ROLE),
    }

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False) and self.request.user.is_authenticated:
            context["time_zone"] = selectors.preferences_for(self.request.user).time_zone
        return context

    @extend_schema(request=None, responses={200: s.NotificationSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        """Mark the notification read (again: no change)."""
        notification = services.notification_mark_read(user=request.user, notification=self.get_object())
        return Response(self.get_serializer(notification).data)

    @extend_schema(request=None, responses={200: s.ReadAllSerializer})
    @action(detail=False, methods=["post"], url_path="read-all", filter_backends=[], pagination_class=None)
    def read_all(self, request):
        """Mark every unread notification of yours read."""
        return Response({"marked": services.notification_mark_all_read(user=request.user)})


class NotificationPreferencesView(CoalitionAPIView):
    """How your notifications' mails reach you: per kind at once or in a daily digest, at your hour."""

    policy = {"get": allow(*ANY_ROLE), "patch": allow(*ANY_ROLE)}

    @extend_schema(responses={200: s.NotificationPreferencesSerializer}, tags=["me"])
    def get(self, request):
        return Response(s.NotificationPreferencesSerializer.body_of(selectors.preferences_for(request.user)))

    @extend_schema(request=s.NotificationPreferencesUpdateSerializer,
                   responses={200: s.NotificationPreferencesSerializer}, tags=["me"])
    def patch(self, request):
        data = s.NotificationPreferencesUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        preferences = services.preferences_update(user=request.user, data=data.validated_data)
        return Response(s.NotificationPreferencesSerializer.body_of(preferences))
