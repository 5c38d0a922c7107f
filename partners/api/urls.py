from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(use_regex_path=False)
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("users", views.UserViewSet, basename="user")
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")
router.register("invitations", views.InvitationViewSet, basename="invitation")
router.register("approvals", views.AccessApprovalViewSet, basename="approval")

urlpatterns = [
    path("auth/token/", views.TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", views.TokenRefreshView.as_view(), name="token-refresh"),
    path("auth/invitations/accept/", views.InvitationAcceptView.as_view(), name="invitation-accept"),
    path("auth/password-reset/", views.PasswordResetCompleteView.as_view(), name="password-reset-complete"),
    path("auth/logout/", views.LogoutView.as_view(), name="logout"),
    path("auth/totp/", views.TotpEnrolView.as_view(), name="totp-enrol"),
    path("auth/totp/confirm/", views.TotpConfirmView.as_view(), name="totp-confirm"),
    path("me/", views.MeView.as_view(), name="me"),
    path("me/password/", views.PasswordChangeView.as_view(), name="me-password"),
    path("vocabularies/", views.VocabulariesView.as_view(), name="vocabularies"),
    *router.urls,
]
