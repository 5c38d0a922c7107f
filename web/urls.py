"""The web app's pages, under /app/. Each area's routes are listed here, in one place."""

from django.urls import path

from .views import account, home, referral_form

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    path("sign-in/", account.sign_in, name="sign-in"),
    path("sign-out/", account.sign_out, name="sign-out"),
    path("language/", account.language, name="language"),
    # referral form
    path("cases/<uuid:pk>/referrals/new/", referral_form.referral_new, name="referral-new"),
    path("referrals/<uuid:pk>/edit/", referral_form.referral_edit, name="referral-edit"),
    path("referrals/<uuid:pk>/reroute/", referral_form.referral_reroute, name="referral-reroute"),
]
