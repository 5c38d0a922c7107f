"""The web app's pages, under /app/. Each area's routes are listed here, in one place."""

from django.urls import path, register_converter

from .views import account, home, referrals

app_name = "web"


class ReferralActionConverter:
    """The actions a referral page posts (``referrals.ACTIONS`` with a service), so /edit/ and /reroute/ stay free."""

    regex = "|".join(name for name, action in referrals.ACTIONS.items() if action.service is not None)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ReferralActionConverter, "referral_action")

urlpatterns = [
    path("sign-in/", account.sign_in, name="sign-in"),
    path("sign-out/", account.sign_out, name="sign-out"),
    path("language/", account.language, name="language"),
    # inbox and referral page
    path("", home.home, name="home"),
    path("referrals/<uuid:pk>/", referrals.referral, name="referral"),
    path("referrals/<uuid:pk>/messages/", referrals.referral_messages, name="referral-messages"),
    path("referrals/<uuid:pk>/<referral_action:action>/", referrals.referral_action, name="referral-action"),
]
