"""Input and output shapes of the partners API. Every field is listed explicitly."""

import re

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..choices import ApiKeyScope, Country, Language, Phenomenon, RequestedService, Role
from ..models import (
    MAX_PLACES,
    MAX_WAITLIST,
    AccessApproval,
    ApiKey,
    Invitation,
    InvitationStatus,
    Organisation,
    OrganisationCapacity,
    User,
)

REGION_CODE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


class UniqueListField(serializers.ListField):
    """A list without duplicates (order kept as given)."""

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if len(set(values)) != len(values):
            raise serializers.ValidationError(_("Items must not repeat."))
        return values


class RegionField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(max_length=6, min_length=2, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not REGION_CODE.match(value):
            raise serializers.ValidationError(_("Use an ISO 3166-2 code such as BE-VLG or NL-NH."))
        return value


class CapacitySerializer(serializers.ModelSerializer):
    """What a member can take now for one requested service, as of ``updated_at``."""

    service = serializers.ChoiceField(choices=RequestedService.choices)
    stale = serializers.BooleanField(
        source="is_stale",
        help_text=_("Not confirmed for CAPACITY_STALE_DAYS days (7 unless configured): it no longer counts as capacity."),
    )

    class Meta:
        model = OrganisationCapacity
        fields = ["service", "places_available", "waitlist_length", "updated_at", "stale"]
        read_only_fields = fields


class OrganisationSerializer(serializers.ModelSerializer):
    """The directory entry of a member, as every member sees it."""

    regions = serializers.ListField(child=serializers.CharField())
    languages = serializers.ListField(child=serializers.ChoiceField(choices=Language.choices))
    phenomena = serializers.ListField(child=serializers.ChoiceField(choices=Phenomenon.choices))
    # Plain strings on output: empty when the organisation left them blank.
    website = serializers.CharField()
    contact_email = serializers.CharField()
    capacity = CapacitySerializer(
        many=True, help_text=_("Places available and waitlist per requested service, as its org admins published them.")
    )

    class Meta:
        model = Organisation
        fields = [
            "id", "slug", "name", "kind", "country", "regions", "languages", "phenomena",
            "min_age", "max_age", "accepting_referrals", "membership_status",
            "data_sharing_agreement_signed_on", "description", "website", "contact_email",
            "contact_phone", "caseworker_mfa_required", "capacity", "created_at", "updated_at",
        ]
        read_only_fields = fields


class OrganisationProfileSerializer(serializers.ModelSerializer):
    """What an org admin may change about their own organisation."""

    regions = UniqueListField(child=RegionField(), max_length=30, required=False)
    languages = UniqueListField(child=serializers.ChoiceField(choices=Language.choices), max_length=10, required=False)
    phenomena = UniqueListField(child=serializers.ChoiceField(choices=Phenomenon.choices), max_length=10, required=False)
    min_age = serializers.IntegerField(min_value=0, max_value=25, required=False)
    max_age = serializers.IntegerField(min_value=0, max_value=25, required=False)

    class Meta:
        model = Organisation
        fields = [
            "name", "regions", "languages", "phenomena", "min_age", "max_age", "accepting_referrals",
            "description", "website", "contact_email", "contact_phone", "caseworker_mfa_required", "on_call_email",
        ]

    def validate(self, attrs):
        # Absent from the body: the organisation's value, or for a new one the model's default (not 25).
        current = self.instance if self.instance is not None else Organisation()
        min_age = attrs.get("min_age", current.min_age)
        max_age = attrs.get("max_age", current.max_age)
        if min_age > max_age:
            raise serializers.ValidationError({"min_age": [_("Must not be above max_age.")]})
        return attrs


class CapacityEntrySerializer(serializers.Serializer):
    """One requested service's capacity, as an org admin sets it."""

    service = serializers.ChoiceField(choices=RequestedService.choices)
    places_available = serializers.IntegerField(min_value=0, max_value=MAX_PLACES)
    waitlist_length = serializers.IntegerField(min_value=0, max_value=MAX_WAITLIST, required=False, default=0)


class CapacityUpdateSerializer(serializers.Serializer):
    """The organisation's whole published capacity: one entry per service it offers (none: it publishes none)."""

    capacity = serializers.ListField(
        child=CapacityEntrySerializer(), max_length=len(RequestedService.values),
        help_text=_("Replaces what was published: every entry is confirmed as of now; a service left out is removed."),
    )

    def validate_capacity(self, entries):
        services = [entry["service"] for entry in entries]
        if len(set(services)) != len(services):
            raise serializers.ValidationError(_("Each service may appear once."))
        return entries


class OrganisationCoordinationSerializer(OrganisationProfileSerializer):
    """What a coordinator may change: the profile plus membership facts."""

    country = serializers.ChoiceField(choices=Country.choices, required=False)

    class Meta(OrganisationProfileSerializer.Meta):
        fields = [*OrganisationProfileSerializer.Meta.fields, "kind", "country", "data_sharing_agreement_signed_on"]


class OrganisationAdmitSerializer(OrganisationCoordinationSerializer):
    """A coordinator admits a new member."""

    country = serializers.ChoiceField(choices=Country.choices)

    class Meta(OrganisationCoordinationSerializer.Meta):
        fields = ["slug", *OrganisationCoordinationSerializer.Meta.fields]
        extra_kwargs = {"name": {"required": True}, "kind": {"required": True}}


class OrganisationSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ["id", "slug", "name", "kind"]
        read_only_fields = fields


class UserSerializer(serializers.ModelSerializer):
    """A colleague as their org admin sees them."""

    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices))
    organisation = serializers.UUIDField(source="organisation_id", read_only=True)
    email = serializers.CharField(read_only=True)
    mfa_enrolled = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id", "username", "email", "first_name", "last_name", "organisation", "roles", "is_active",
            "mfa_enrolled", "last_login", "date_joined",
        ]
        read_only_fields = fields


class InvitationCreateSerializer(serializers.Serializer):
    """An org admin invites a person to their own organisation: a link goes to ``email`` only."""

    email = serializers.EmailField(max_length=254)
    username = serializers.RegexField(r"^[a-zA-Z0-9_.-]{3,150}$", max_length=150)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    roles = UniqueListField(child=serializers.ChoiceField(choices=Role.choices), min_length=1, max_length=4)
    language = serializers.ChoiceField(
        choices=Language.choices, required=False, default="en", help_text=_("The language of the mail: en, nl or fr.")
    )


class OrgAdminInvitationSerializer(InvitationCreateSerializer):
    """A coordinator invites a member organisation's org admin (the role is always org_admin)."""

    roles = None  # type: ignore[assignment]  # DRF's way to drop an inherited field


class InvitationSerializer(serializers.ModelSerializer):
    """An invitation as its inviter sees it: never the token."""

    organisation = serializers.UUIDField(source="organisation_id", read_only=True)
    invited_by = serializers.UUIDField(source="invited_by_id", read_only=True)
    user = serializers.UUIDField(source="user_id", read_only=True, allow_null=True)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices))
    status = serializers.ChoiceField(choices=InvitationStatus.choices, read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id", "organisation", "email", "username", "first_name", "last_name", "roles", "language", "status",
            "invited_by", "created_at", "sent_at", "expires_at", "accepted_at", "revoked_at", "user",
        ]
        read_only_fields = fields


class InvitationAcceptSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=128, write_only=True, help_text=_("The token from the invitation mail."))
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)


class PasswordResetCompleteSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=128, write_only=True, help_text=_("The token from the password-reset mail."))
    password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)


class AccessApprovalSerializer(serializers.ModelSerializer):
    """A request waiting for a second person; it names what it is about, never a key."""

    organisation = serializers.UUIDField(source="organisation_id", read_only=True)
    invitation = serializers.UUIDField(source="invitation_id", read_only=True, allow_null=True)
    user = serializers.UUIDField(source="user_id", read_only=True, allow_null=True)
    api_key = serializers.UUIDField(source="api_key_id", read_only=True, allow_null=True)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices))
    requested_by = serializers.UUIDField(source="requested_by_id", read_only=True)
    decided_by = serializers.UUIDField(source="decided_by_id", read_only=True, allow_null=True)

    class Meta:
        model = AccessApproval
        fields = [
            "id", "organisation", "kind", "invitation", "user", "api_key", "roles", "status", "requested_by",
            "created_at", "decided_by", "decided_at",
        ]
        read_only_fields = fields


class UserUpdateSerializer(serializers.ModelSerializer):
    roles = UniqueListField(child=serializers.ChoiceField(choices=Role.choices), min_length=1, max_length=4, required=False)

    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "roles", "is_active"]


class PasswordChangeSerializer(serializers.Serializer):
    current_password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)
    new_password = serializers.CharField(write_only=True, max_length=128, trim_whitespace=False)


class ApiKeySerializer(serializers.ModelSerializer):
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiKeyScope.choices))
    created_by = serializers.UUIDField(source="created_by_id", read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id", "name", "prefix", "scopes", "created_by", "created_at", "expires_at", "revoked_at", "last_used_at",
            "awaiting_approval",
        ]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.ModelSerializer):
    scopes = UniqueListField(child=serializers.ChoiceField(choices=ApiKeyScope.choices), min_length=1, max_length=10)
    name = serializers.CharField(max_length=100)

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "expires_at"]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text=_("The key itself. Shown once, never again."))

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


# --- authentication ------------------------------------------------------------------


class TokenObtainSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, write_only=True)
    otp = serializers.RegexField(r"^[0-9]{6,8}$", required=False, allow_blank=True, write_only=True)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    mfa_enrolment_required = serializers.BooleanField(
        help_text=_("True when the tokens only allow enrolling a second factor (POST /auth/totp/).")
    )


class TokenRefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class TotpEnrolmentSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text=_("Base32 secret for the authenticator app. Shown once."))
    otpauth_uri = serializers.CharField()


class TotpConfirmSerializer(serializers.Serializer):
    otp = serializers.RegexField(r"^[0-9]{6,8}$")


class MfaStatusSerializer(serializers.Serializer):
    # Named like Field.required: DRF's metaclass moves declared fields off the class.
    required = serializers.BooleanField()  # type: ignore[assignment]
    enrolled = serializers.BooleanField()
    verified_for_this_login = serializers.BooleanField()


class ApiKeyIdentitySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=ApiKeyScope.choices))
    expires_at = serializers.DateTimeField(allow_null=True)


class MeSerializer(serializers.Serializer):
    """Who is calling: a person (with roles) or a partner system (with an API key)."""

    actor_type = serializers.ChoiceField(choices=[("user", _("Person")), ("partner_system", _("Partner system"))])
    id = serializers.CharField()
    username = serializers.CharField(allow_null=True)
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices))
    organisation = OrganisationSummarySerializer()
    mfa = MfaStatusSerializer(allow_null=True)
    api_key = ApiKeyIdentitySerializer(allow_null=True)


class VocabularyEntrySerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # named like Field.label, see MfaStatusSerializer


class VocabulariesSerializer(serializers.Serializer):
    """Every code list with labels in the caller's language (Accept-Language)."""

    phenomena = VocabularyEntrySerializer(many=True)
    organisation_kinds = VocabularyEntrySerializer(many=True)
    membership_statuses = VocabularyEntrySerializer(many=True)
    roles = VocabularyEntrySerializer(many=True)
    languages = VocabularyEntrySerializer(many=True)
    countries = VocabularyEntrySerializer(many=True)
    api_key_scopes = VocabularyEntrySerializer(many=True)
