"""The notifications as the API shows them: codes, ids, the other organisation, and the text in your language."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from referrals.choices import Urgency

from .. import texts
from ..choices import ALWAYS_IMMEDIATE, CHOOSABLE_KINDS, MailDelivery, NotificationKind
from ..models import Notification


class NotificationOrganisationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class NotificationSerializer(serializers.ModelSerializer):
    """One notification. ``title`` and ``text`` are in the request's language and the person's time zone."""

    organisation = NotificationOrganisationSerializer(allow_null=True, help_text=_("The other organisation."))
    urgency = serializers.ChoiceField(choices=Urgency.choices, allow_blank=True)
    title = serializers.SerializerMethodField()
    text = serializers.SerializerMethodField()
    link = serializers.SerializerMethodField()
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id", "kind", "title", "text", "organisation", "urgency", "status", "deadline", "due_at", "referral",
            "case", "match", "consultation", "link", "created_at", "read", "read_at",
        ]
        read_only_fields = fields

    def _texts(self, notification: Notification) -> dict[str, str]:
        cache = self._text_cache = getattr(self, "_text_cache", {})
        if notification.pk not in cache:
            actor = self.context["request"].user
            cache[notification.pk] = texts.texts_of(
                notification,
                organisation=notification.organisation.name if notification.organisation else "",
                own_organisation=actor.organisation.name,
                time_zone=self.context.get("time_zone", ""),
            )
        return cache[notification.pk]

    def get_title(self, notification: Notification) -> str:
        return self._texts(notification)["subject"]

    def get_text(self, notification: Notification) -> str:
        return self._texts(notification)["sentence"]

    @extend_schema_field(serializers.URLField())
    def get_link(self, notification: Notification) -> str:
        """The page of the web app to open (it asks for sign-in)."""
        return settings.PUBLIC_BASE_URL + texts.link_path(notification)

    def get_read(self, notification: Notification) -> bool:
        return notification.read_at is not None


class ReadAllSerializer(serializers.Serializer):
    marked = serializers.IntegerField(help_text=_("How many unread notifications were marked read."))


def _mail_choices_field(**kwargs) -> serializers.DictField:
    return serializers.DictField(child=serializers.ChoiceField(choices=MailDelivery.choices), **kwargs)


class NotificationPreferencesSerializer(serializers.Serializer):
    """How your notifications' mails reach you. Every notification is also in the web app's list."""

    mail = _mail_choices_field(
        help_text=_("Per kind of notification: immediate (a mail at once) or digest (in the daily digest).")
    )
    always_immediate = serializers.ListField(
        child=serializers.ChoiceField(choices=NotificationKind.choices), read_only=True,
        help_text=_("Kinds always mailed at once; referrals of immediate urgency are too, whatever you chose."),
    )
    digest_hour = serializers.IntegerField(min_value=0, max_value=23, help_text=_("The hour of the daily digest."))
    time_zone = serializers.CharField(max_length=64, help_text=_("Your time zone (IANA name, such as Europe/Brussels)."))

    @staticmethod
    def body_of(preferences) -> dict:
        return {
            "mail": {kind: preferences.delivery_for(kind) for kind in CHOOSABLE_KINDS},
            "always_immediate": sorted(ALWAYS_IMMEDIATE),
            "digest_hour": preferences.digest_hour,
            "time_zone": preferences.time_zone,
        }


class NotificationPreferencesUpdateSerializer(serializers.Serializer):
    mail = _mail_choices_field(required=False)
    digest_hour = serializers.IntegerField(min_value=0, max_value=23, required=False)
    time_zone = serializers.CharField(max_length=64, required=False)

    def validate_mail(self, value: dict) -> dict:
        unknown = sorted(set(value) - set(CHOOSABLE_KINDS))
        if unknown:
            # The unknown keys are not repeated: an error message echoes nothing a caller sent.
            raise serializers.ValidationError(
                _("Only these kinds can be chosen: %(kinds)s.") % {"kinds": ", ".join(CHOOSABLE_KINDS)}
            )
        return value
