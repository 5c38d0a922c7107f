"""Thin views: validate input, call a service or selector, shape the output."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from coalition.api.throttling import LoginThrottle
from coalition.api.views import CoalitionAPIView, ScopedViewSet, actor_of

from .. import choices, selectors, services, tokens
from ..choices import ApiKeyScope, Role
from ..filters import CAPACITY_ORDERINGS, OrganisationFilter
from ..policy import ANY_ROLE, ANY_SCOPE, allow
from . import serializers as s


class OrganisationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """The coalition directory; coordinators admit, suspend and re-admit members."""

    selector = staticmethod(selectors.organisations_visible_to)
    queryset_model = s.Organisation
    serializer_class = s.OrganisationSerializer
    filterset_class = OrganisationFilter
    problem_statuses = {"suspend": [409, 422], "readmit": [409], "add_admin": [422], "capacity": [422]}
    policy = {
        "list": allow(*ANY_ROLE, scope=ApiKeyScope.ORGANISATIONS_READ),
        "retrieve": allow(*ANY_ROLE, scope=ApiKeyScope.ORGANISATIONS_READ),
        "create": allow(Role.COORDINATOR),
        "partial_update": allow(Role.ORG_ADMIN, Role.COORDINATOR),
        "suspend": allow(Role.COORDINATOR),
        "readmit": allow(Role.COORDINATOR),
        "add_admin": allow(Role.COORDINATOR),
        # People only: no API-key scope writes the directory.
        "capacity": allow(Role.ORG_ADMIN),
    }

    @property
    def ordering(self):
        """By slug; a list asked for ``ordering=capacity`` (validated by the filter) by places, then slug."""
        requested = self.request.query_params.get("ordering") if self.action == "list" else None
        return (CAPACITY_ORDERINGS[requested], "slug") if requested in CAPACITY_ORDERINGS else "slug"

    def narrow_queryset(self, queryset):
        return queryset.prefetch_related("capacity")

    def _update_serializer_class(self):
        if actor_of(self.request).has_role(Role.COORDINATOR):
            return s.OrganisationCoordinationSerializer
        return s.OrganisationProfileSerializer

    @extend_schema(request=s.OrganisationAdmitSerializer, responses={201: s.OrganisationSerializer})
    def create(self, request):
        data = s.OrganisationAdmitSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organisation = services.organisation_admit(actor=request.user, data=data.validated_data)
        return Response(s.OrganisationSerializer(organisation).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=s.OrganisationCoordinationSerializer,
        responses={200: s.OrganisationSerializer},
        description=str(_(
            "Org admins change their own organisation's profile; coordinators may also change kind, country and "
            "agreement date."
        )),
    )
    def partial_update(self, request, pk=None):
        organisation = self.get_object()
        actor = request.user
        if not actor.has_role(Role.COORDINATOR) and organisation.pk != actor.organisation.pk:
            self.permission_denied(request, message=str(_("Only your own organisation's profile can be changed.")))
        serializer_class = self._update_serializer_class()
        if serializer_class is not s.OrganisationCoordinationSerializer:
            # The documented body is the coordinator's: an org admin's may carry its other fields,
            # which are ignored, but not in a shape the schema forbids (a kind that does not exist).
            documented = s.OrganisationCoordinationSerializer(organisation, data=request.data, partial=True)
            documented.is_valid(raise_exception=True)
        data = serializer_class(organisation, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        organisation = services.organisation_update(actor=actor, organisation=organisation, data=data.validated_data)
        return Response(s.OrganisationSerializer(organisation).data)

    @extend_schema(
        request=s.CapacityUpdateSerializer,
        responses={200: s.OrganisationSerializer},
        description=str(_(
            "Org admins publish their own organisation's capacity: places available and waitlist per requested "
            "service. The body replaces what was published; every entry is confirmed as of now."
        )),
    )
    @action(detail=True, methods=["put"])
    def capacity(self, request, pk=None):
        organisation = self.get_object()
        if organisation.pk != request.user.organisation.pk:
            self.permission_denied(request, message=str(_("Only your own organisation's capacity can be set.")))
        data = s.CapacityUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.capacity_set(actor=request.user, organisation=organisation, entries=data.validated_data["capacity"])
        return Response(s.OrganisationSerializer(self.get_object()).data)

    @extend_schema(request=None, responses={200: s.OrganisationSerializer})
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        organisation = services.organisation_set_membership(
            actor=request.user, organisation=self.get_object(), status=choices.MembershipStatus.SUSPENDED
        )
        return Response(s.OrganisationSerializer(organisation).data)

    @extend_schema(request=None, responses={200: s.OrganisationSerializer})
    @action(detail=True, methods=["post"])
    def readmit(self, request, pk=None):
        organisation = services.organisation_set_membership(
            actor=request.user, organisation=self.get_object(), status=choices.MembershipStatus.ACTIVE
        )
        return Response(s.OrganisationSerializer(organisation).data)


    @extend_schema(request=s.OrgAdminInvitationSerializer, responses={201: s.InvitationSerializer})
    @action(detail=True, methods=["post"], url_path="admins")
    def add_admin(self, request, pk=None):
        """Invite a member organisation's org admin: a one-time link goes to their address only."""
        data = s.OrgAdminInvitationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.organisation_add_admin(
            actor=request.user, organisation=self.get_object(), **data.validated_data
        )
        return Response(s.InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """An org admin's view of the people of their own organisation (new people come by invitation)."""

    selector = staticmethod(selectors.users_visible_to)
    queryset_model = s.User
    serializer_class = s.UserSerializer
    ordering = "username"
    problem_statuses = {"partial_update": [409, 422], "send_password_reset": [422], "reset_totp": [422]}
    policy = {
        "list": allow(Role.ORG_ADMIN),
        "retrieve": allow(Role.ORG_ADMIN),
        "partial_update": allow(Role.ORG_ADMIN),
        "send_password_reset": allow(Role.ORG_ADMIN),
        "reset_totp": allow(Role.ORG_ADMIN),
    }

    def _fresh(self, user):
        return self.get_queryset().get(pk=user.pk)

    @extend_schema(
        request=s.UserUpdateSerializer,
        responses={200: s.UserSerializer},
        description=str(_(
            "Granting the caseworker role waits for a second person's approval (see /approvals/); the other changes "
            "apply at once. Nobody changes their own roles."
        )),
    )
    def partial_update(self, request, pk=None):
        user = self.get_object()
        data = s.UserUpdateSerializer(user, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.user_update(actor=request.user, user=user, data=dict(data.validated_data))
        return Response(s.UserSerializer(self._fresh(user)).data)

    @extend_schema(
        request=None,
        responses={204: None},
        description=str(_("Mail the person a one-time link to choose a new password; their current password works until then.")),
    )
    @action(detail=True, methods=["post"], url_path="send-password-reset")
    def send_password_reset(self, request, pk=None):
        services.password_reset_send(actor=request.user, user=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"], url_path="reset-totp")
    def reset_totp(self, request, pk=None):
        services.user_reset_totp(actor=request.user, user=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Invitations: org admins of their own organisation; coordinators the ones they sent. DELETE revokes."""

    selector = staticmethod(selectors.invitations_visible_to)
    queryset_model = s.Invitation
    serializer_class = s.InvitationSerializer
    problem_statuses = {"create": [422], "destroy": [409], "resend": [409]}
    policy = {
        "list": allow(Role.ORG_ADMIN, Role.COORDINATOR),
        "retrieve": allow(Role.ORG_ADMIN, Role.COORDINATOR),
        "create": allow(Role.ORG_ADMIN),
        "destroy": allow(Role.ORG_ADMIN, Role.COORDINATOR),
        "resend": allow(Role.ORG_ADMIN, Role.COORDINATOR),
    }

    @extend_schema(
        request=s.InvitationCreateSerializer,
        responses={201: s.InvitationSerializer},
        description=str(_(
            "Invite a person to your organisation. The one-time link goes only to their address; with the caseworker "
            "role it is sent once a second person approves."
        )),
    )
    def create(self, request):
        data = s.InvitationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = services.invitation_create(
            actor=request.user, organisation=request.user.organisation, **data.validated_data
        )
        return Response(s.InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.invitation_revoke(actor=request.user, invitation=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: s.InvitationSerializer})
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        invitation = services.invitation_resend(actor=request.user, invitation=self.get_object())
        return Response(s.InvitationSerializer(invitation).data)


class AccessApprovalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Requests waiting for a second person: caseworker roles and API keys with a referrals scope."""

    selector = staticmethod(selectors.approvals_visible_to)
    queryset_model = s.AccessApproval
    serializer_class = s.AccessApprovalSerializer
    problem_statuses = {"approve": [409, 422], "reject": [409, 422]}
    policy = {
        "list": allow(Role.ORG_ADMIN, Role.COORDINATOR),
        "retrieve": allow(Role.ORG_ADMIN, Role.COORDINATOR),
        "approve": allow(Role.ORG_ADMIN, Role.COORDINATOR),
        "reject": allow(Role.ORG_ADMIN, Role.COORDINATOR),
    }

    def _decide(self, request, approve: bool):
        approval = services.approval_decide(actor=request.user, approval=self.get_object(), approve=approve)
        return Response(s.AccessApprovalSerializer(approval).data)

    @extend_schema(request=None, responses={200: s.AccessApprovalSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(request, approve=True)

    @extend_schema(request=None, responses={200: s.AccessApprovalSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(request, approve=False)


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """An org admin's partner-system keys. DELETE revokes; revoked keys stay listed."""

    selector = staticmethod(selectors.api_keys_visible_to)
    queryset_model = s.ApiKey
    serializer_class = s.ApiKeySerializer
    problem_statuses = {"destroy": [409]}
    policy = {
        "list": allow(Role.ORG_ADMIN),
        "retrieve": allow(Role.ORG_ADMIN),
        "create": allow(Role.ORG_ADMIN),
        "destroy": allow(Role.ORG_ADMIN),
    }
    idempotency_secret_actions = frozenset({"create"})  # the raw key is shown once: never replayed

    @extend_schema(
        request=s.ApiKeyCreateSerializer,
        responses={201: s.ApiKeyCreatedSerializer},
        description=str(_(
            "The key is shown once, here. A key with a referrals scope works only once a second person approves it "
            "(see /approvals/)."
        )),
    )
    def create(self, request):
        data = s.ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = services.api_key_create(actor=request.user, **data.validated_data)
        body = s.ApiKeySerializer(created.api_key).data | {"key": created.raw_key}
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        services.api_key_revoke(actor=request.user, api_key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- authentication --------------------------------------------------------------------


class TokenObtainView(CoalitionAPIView):
    """Log in: username, password and, where required, a TOTP code."""

    authentication_classes = []
    permission_classes = [AllowAny]  # public by design: listed in PUBLIC_ROUTES of tests/support/routes.py
    throttle_classes = [LoginThrottle]
    problem_statuses = {"post": [401]}

    @extend_schema(request=s.TokenObtainSerializer, responses={200: s.TokenPairSerializer}, tags=["auth"])
    def post(self, request):
        data = s.TokenObtainSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = tokens.login(request=request, **data.validated_data | {"otp": data.validated_data.get("otp") or None})
        return Response(s.TokenPairSerializer(pair).data)


class InvitationAcceptView(CoalitionAPIView):
    """Accept an invitation: the token from the mail and your own password create your account."""

    authentication_classes = []
    permission_classes = [AllowAny]  # public by design: the token in the body is the credential
    throttle_classes = [LoginThrottle]
    problem_statuses = {"post": [409]}

    @extend_schema(request=s.InvitationAcceptSerializer, responses={204: None}, tags=["auth"])
    def post(self, request):
        data = s.InvitationAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.invitation_accept(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetCompleteView(CoalitionAPIView):
    """Choose a new password with the token from a password-reset mail; every login ends."""

    authentication_classes = []
    permission_classes = [AllowAny]  # public by design: the token in the body is the credential
    throttle_classes = [LoginThrottle]

    @extend_schema(request=s.PasswordResetCompleteSerializer, responses={204: None}, tags=["auth"])
    def post(self, request):
        data = s.PasswordResetCompleteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_complete(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenRefreshView(CoalitionAPIView):
    """Rotate a refresh token: a new pair; the old refresh token is dead from now on."""

    authentication_classes = []
    permission_classes = [AllowAny]  # public by design: the refresh token is the credential
    throttle_classes = [LoginThrottle]
    problem_statuses = {"post": [401]}

    @extend_schema(request=s.TokenRefreshSerializer, responses={200: s.TokenPairSerializer}, tags=["auth"])
    def post(self, request):
        data = s.TokenRefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = tokens.rotate_refresh(raw_refresh=data.validated_data["refresh"])
        return Response(s.TokenPairSerializer(pair).data)


class LogoutView(CoalitionAPIView):
    """End this login: its access and refresh tokens stop working at once."""

    policy = {"post": allow(*ANY_ROLE, during_mfa_enrolment=True)}

    @extend_schema(request=None, responses={204: None}, tags=["auth"])
    def post(self, request):
        tokens.logout(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TotpEnrolView(CoalitionAPIView):
    """Start enrolling a TOTP second factor (only while none is confirmed)."""

    policy = {"post": allow(*ANY_ROLE, during_mfa_enrolment=True)}
    problem_statuses = {"post": [409]}
    idempotency_secret_actions = frozenset({"post"})  # the TOTP secret is shown once: never replayed

    @extend_schema(request=None, responses={201: s.TotpEnrolmentSerializer}, tags=["auth"])
    def post(self, request):
        enrolment = services.totp_enrol(user=request.user)
        return Response(s.TotpEnrolmentSerializer(enrolment).data, status=status.HTTP_201_CREATED)


class TotpConfirmView(CoalitionAPIView):
    """Confirm enrolment with a current code; then log in again with a code."""

    policy = {"post": allow(*ANY_ROLE, during_mfa_enrolment=True)}
    problem_statuses = {"post": [409]}

    @extend_schema(request=s.TotpConfirmSerializer, responses={204: None}, tags=["auth"])
    def post(self, request):
        data = s.TotpConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.totp_confirm(user=request.user, otp=data.validated_data["otp"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(CoalitionAPIView):
    """Who you are: your organisation, your roles, your second-factor status or your key."""

    policy = {"get": allow(*ANY_ROLE, scope=ANY_SCOPE, during_mfa_enrolment=True)}

    @extend_schema(responses={200: s.MeSerializer})
    def get(self, request):
        actor = request.user
        if actor.is_partner_system:
            body = {
                "actor_type": "partner_system",
                "id": str(actor.api_key.id),
                "username": None,
                "roles": [],
                "organisation": actor.organisation,
                "mfa": None,
                "api_key": actor.api_key,
            }
        else:
            body = {
                "actor_type": "user",
                "id": str(actor.id),
                "username": actor.username,
                "roles": actor.roles,
                "organisation": actor.organisation,
                "mfa": {
                    "required": actor.requires_mfa,
                    "enrolled": tokens.confirmed_totp_device(actor) is not None,
                    "verified_for_this_login": bool(request.auth.get("mfa")),
                },
                "api_key": None,
            }
        return Response(s.MeSerializer(body).data)


class PasswordChangeView(CoalitionAPIView):
    """Change your own password. Every token you hold is revoked: log in again."""

    policy = {"post": allow(*ANY_ROLE)}

    @extend_schema(request=s.PasswordChangeSerializer, responses={204: None})
    def post(self, request):
        data = s.PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_change_own_password(user=request.user, **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VocabulariesView(CoalitionAPIView):
    """The coalition's code lists, labelled in the language asked for by Accept-Language."""

    policy = {"get": allow(*ANY_ROLE, scope=ANY_SCOPE)}

    @extend_schema(responses={200: s.VocabulariesSerializer})
    def get(self, request):
        def entries(text_choices):
            return [{"code": code, "label": str(label)} for code, label in text_choices.choices]

        body = {
            "phenomena": entries(choices.Phenomenon),
            "organisation_kinds": entries(choices.OrganisationKind),
            "membership_statuses": entries(choices.MembershipStatus),
            "roles": entries(choices.Role),
            "languages": entries(choices.Language),
            "countries": entries(choices.Country),
            "api_key_scopes": entries(choices.ApiKeyScope),
        }
        return Response(s.VocabulariesSerializer(body).data)
