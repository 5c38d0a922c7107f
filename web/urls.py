"""The web app's pages, under /app/. Each area's routes are listed here, in one place."""

from django.urls import path

from .views import account, home

app_name = "web"

urlpatterns = [
    path("", home.home, name="home"),
    # account: signing in and out, the second factor, the language; one-time links (public)
    path("sign-in/", account.sign_in, name="sign-in"),
    path("sign-out/", account.sign_out, name="sign-out"),
    path("language/", account.language, name="language"),
    path("account/", account.account, name="account"),
    path("account/second-factor/", account.second_factor, name="second-factor"),
    path("invitation/", account.invitation, name="invitation"),
    path("password-reset/", account.password_reset, name="password-reset"),
]
