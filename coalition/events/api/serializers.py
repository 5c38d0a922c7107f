from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from coalition.api.representation import CompiledRepresentation

from ..models import DeliveryStatus, Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from ..services import EVENT_TYPES

EVENT_TYPE_CHOICES = [(name, name) for name in EVENT_TYPES]


class EventSerializer(CompiledRepresentation, serializers.ModelSerializer):
    """A thin event: what happened, when, to which case and referral, between which organisations."""

    seq = serializers.IntegerField(help_text=_("Position in the feed; pass the last one you read as ?after=."))
    type = serializers.ChoiceField(choices=EVENT_TYPE_CHOICES)
    organisations = serializers.ListField(child=serializers.UUIDField(), help_text=_("Ids of the parties."))
    # A field named like Serializer.data: DRF's metaclass moves declared fields off the class.
    data = serializers.DictField(  # type: ignore[assignment]
        help_text=_("Codes only (status, urgency, deadline...), never personal data.")
    )

    class Meta:
        model = Event
        fields = ["id", "seq", "type", "occurred_at", "case", "referral", "organisations", "data"]
        read_only_fields = fields


class EventFeedQuerySerializer(serializers.Serializer):
    after = serializers.RegexField(
        r"^[0-9]{1,18}$", required=False, default="0",
        help_text=_("Cursor: the next_after of your previous page (or the seq of the last event you processed)."),
    )
    limit = serializers.IntegerField(min_value=1, max_value=500, required=False, default=100)


class EventFeedSerializer(serializers.Serializer):
    results = EventSerializer(many=True)
    next_after = serializers.CharField(help_text=_("Pass as ?after= to read on; unchanged when nothing new."))
    has_more = serializers.BooleanField(help_text=_("True when more events are already waiting."))


class WebhookEndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPE_CHOICES),
        help_text=_("The event types sent to this endpoint; empty means every type."),
    )
    disabled_reason = serializers.CharField(help_text=_("'gone' when the receiver answered 410 Gone."))
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text=_("Until then the previous secret also signs each delivery.")
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id", "url", "description", "event_types", "active", "disabled_reason",
            "previous_secret_expires_at", "created_at", "updated_at",
        ]
        read_only_fields = fields


class WebhookEndpointCreateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPE_CHOICES), required=False, default=list,
        max_length=len(EVENT_TYPES),
    )
    active = serializers.BooleanField(required=False, default=True)


class WebhookEndpointUpdateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000, required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPE_CHOICES), required=False, max_length=len(EVENT_TYPES)
    )
    active = serializers.BooleanField(required=False)


class WebhookSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text=_("The signing secret (whsec_...). Shown once, never again."))

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookAttemptSerializer(serializers.ModelSerializer):
    error = serializers.CharField(help_text=_("Class of failure: timeout, connect_error, redirect, refused_target..."))

    class Meta:
        model = WebhookAttempt
        fields = ["at", "status_code", "duration_ms", "error", "manual"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event = serializers.UUIDField(source="event.id", help_text=_("The event id, sent as the webhook-id header."))
    event_type = serializers.CharField(source="event.type")
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempt_log = WebhookAttemptSerializer(many=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "event", "event_type", "status", "attempts", "next_attempt_at", "last_status_code",
            "created_at", "delivered_at", "attempt_log",
        ]
        read_only_fields = fields
