"""Signing in and out, the second factor, the person's language, and the one-time-link pages.

Sign-in follows the API's rules exactly: one credential check for both front ends
(``partners.tokens.check_credentials``: lockout, password, TOTP, audit), and a
``LoginSession`` per sign-in (``web.auth``), so that whatever ends a token login ends
a web session too. The pages without ``@signed_in`` (sign-in, sign-out, the language
switch, invitation, password reset) are public: they take credentials, a mailed
one-time token, or nothing worth protecting.
"""

from __future__ import annotations

from typing import Literal, cast
from urllib.parse import urlencode

import segno
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from coalition.core.errors import DomainError, InvalidCredentials, LockedOut
from partners import services, tokens
from partners.api.serializers import (
    InvitationAcceptSerializer,
    PasswordResetCompleteSerializer,
    TokenObtainSerializer,
    TotpConfirmSerializer,
)
from partners.choices import Role
from partners.services import InvalidLink

from .. import auth
from ..errors import add_domain_error
from ..forms import ContractForm
from ..pages import person, signed_in

# --- forms ------------------------------------------------------------------------------


def _digits(value: str) -> str:
    """A code as typed, without the spaces people copy from an authenticator app ("123 456")."""
    return "".join(value.split())


class SignInForm(ContractForm):
    """Username, password and the optional one-time code: the API's login contract."""

    contract = TokenObtainSerializer

    username = forms.CharField(
        label=_l("Username"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label=_l("Password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    otp = forms.CharField(
        label=_l("Authentication code (if you use a second factor)"),
        required=False,
        max_length=16,
        help_text=_l("The 6-digit code your authenticator app shows now. Leave it empty if you have no second factor."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_otp(self) -> str:
        return _digits(self.cleaned_data["otp"])


class ConfirmCodeForm(ContractForm):
    """The first code of a new authenticator: the API's TOTP confirmation contract."""

    contract = TotpConfirmSerializer

    otp = forms.CharField(
        label=_l("Code from your authenticator app"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_otp(self) -> str:
        return _digits(self.cleaned_data["otp"])


class NewPasswordForm(ContractForm):
    """The mailed one-time token and a new password, twice (the API takes it once)."""

    token = forms.CharField(
        label=_l("Code from the link"),
        max_length=2000,
        help_text=_l(
            "Filled in from the link in your mail. If it is empty, paste the part of the link after #token= here."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label=_l("New password"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_again = forms.CharField(
        label=_l("New password again"),
        max_length=128,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = password_validators_help_text_html()

    def clean_token(self) -> str:
        value = self.cleaned_data["token"].strip()
        # The whole link pasted: keep the token only.
        return value.split("#token=", 1)[1] if "#token=" in value else value

    def clean(self):
        password, again = self.cleaned_data.get("password"), self.cleaned_data.get("password_again")
        if password and again and password != again:
            self.add_error("password_again", _("The two passwords are not the same."))
        return super().clean()

    def contract_input(self, cleaned):
        return {"token": cleaned.get("token"), "password": cleaned.get("password")}


class InvitationForm(NewPasswordForm):
    contract = InvitationAcceptSerializer


class PasswordResetForm(NewPasswordForm):
    contract = PasswordResetCompleteSerializer


# --- helpers ----------------------------------------------------------------------------


def _next(request: HttpRequest) -> str | None:
    return auth.safe_next(request, request.POST.get("next") or request.GET.get("next"))


def _with_next(url: str, next_url: str | None) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _too_many_attempts(request: HttpRequest, form: forms.Form, template: str, context: dict) -> HttpResponse | None:
    """The API's login throttle (per client address) on a public form: a 429 page with the form."""
    wait = auth.throttled(request)
    if wait is None:
        return None
    form.errors.clear()
    form.add_error(None, _("Too many attempts from your address. Wait a minute, then try again."))
    response = render(request, template, {**context, "form": form}, status=429)
    response["Retry-After"] = str(wait)
    return response


# --- signing in and out -----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """Sign in with the API's rules; one answer for an unknown user, a wrong password or code."""
    next_url = _next(request)
    if request.method == "GET":
        if request.user.is_authenticated:
            if auth.enrolment_only(request):
                return redirect(_with_next(reverse("web:second-factor"), next_url))
            return redirect(next_url or auth.landing(person(request)))
        return render(request, "web/account/sign_in.html", {"form": SignInForm(), "next": next_url})

    form = SignInForm(request.POST)
    context = {"next": next_url}
    if (throttled := _too_many_attempts(request, form, "web/account/sign_in.html", context)) is not None:
        return throttled
    status = 422
    if form.is_valid():
        data = form.validated
        try:
            checked = tokens.check_credentials(
                request=request, username=data["username"], password=data["password"], otp=data.get("otp") or None
            )
        except LockedOut as error:
            form.add_error(None, str(error.message))
            status = 429
        except InvalidCredentials as error:
            if getattr(request, "axes_locked_out", False):
                # This attempt (a wrong code) reached the limit: say so now, as every later one will.
                form.add_error(None, str(LockedOut.default_message))
                status = 429
            else:
                form.add_error(None, str(error.message))
        else:
            with transaction.atomic():
                login_session = tokens.open_login(checked)
            auth.begin(request, checked, login_session)
            if checked.enrolment_only:
                messages.info(request, _("Set up a second factor before you go on: your role or organisation requires one."))
                return redirect(_with_next(reverse("web:second-factor"), next_url))
            return redirect(next_url or auth.landing(checked.user))
    return render(request, "web/account/sign_in.html", {**context, "form": form}, status=status)


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    """End this login everywhere it is used (its tokens and this session); public, so that
    a form posted after the session already ended still lands on the sign-in page."""
    was_signed_in = request.user.is_authenticated
    auth.end(request)
    if was_signed_in:
        messages.success(request, _("You signed out."))
    return redirect("web:sign-in")


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """The language switch: saved as the signed-in person's preference, and in a cookie for everyone."""
    code = request.POST.get("language", "")
    next_url = auth.safe_next(request, request.POST.get("next")) or reverse("web:home")
    if code not in dict(settings.LANGUAGES):
        return redirect(next_url)
    if request.user.is_authenticated:
        services.user_set_language(user=person(request), language=code)
    translation.activate(code)
    response = redirect(next_url)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        code,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=cast(Literal["Lax", "Strict", "None"], settings.LANGUAGE_COOKIE_SAMESITE),
    )
    return response


# --- the person's account ---------------------------------------------------------------


@signed_in
@require_safe
def account(request: HttpRequest) -> HttpResponse:
    """Who is signed in, with which roles and second factor; what the web app offers them now."""
    user = person(request)
    return render(
        request,
        "web/account/account.html",
        {
            "nav": "account",
            "roles": [Role(role).label for role in user.roles if role in Role.values],
            "is_caseworker": user.has_role(Role.CASEWORKER),
            "has_second_factor": tokens.confirmed_totp_device(user) is not None,
            "requires_second_factor": user.requires_mfa,
        },
    )


@signed_in
@require_http_methods(["GET", "POST"])
def second_factor(request: HttpRequest) -> HttpResponse:
    """Enrol a TOTP second factor: a QR code drawn on the server, then a first code to confirm it.

    The API's services do the work (``totp_enrol``, ``totp_confirm``). Confirming ends
    every login of the person, as through the API; this browser is then signed in again
    as verified by the code just given, and goes on.
    """
    user = person(request)
    next_url = _next(request)
    enrolled = tokens.confirmed_totp_device(user) is not None
    enrolment = None if enrolled else services.totp_pending_enrolment(user=user)
    pending = {"secret": enrolment.secret, "uri": enrolment.otpauth_uri} if enrolment else None
    form = ConfirmCodeForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "start" and not enrolled:
            try:
                services.totp_enrol(user=user)
            except DomainError as error:
                messages.error(request, str(error.message))
            return redirect(_with_next(reverse("web:second-factor"), next_url))
        if action == "confirm" and pending:
            form = ConfirmCodeForm(request.POST)
            status = 422
            if form.is_valid():
                try:
                    with transaction.atomic():
                        services.totp_confirm(user=user, otp=form.validated["otp"])
                        checked = tokens.CheckedCredentials(
                            user=user, device=tokens.confirmed_totp_device(user), enrolment_only=False
                        )
                        login_session = tokens.open_login(checked)
                except DomainError as error:
                    add_domain_error(form, error)
                else:
                    auth.begin(request, checked, login_session)
                    messages.success(request, _("Your second factor is set up. Sign in with a code from now on."))
                    return redirect(next_url or auth.landing(user))
    context = {"nav": "account", "enrolled": enrolled, "next": next_url, "form": form}
    if pending:
        context["pending"] = pending
        context["qr"] = segno.make(pending["uri"], error="m").svg_data_uri(scale=5, light="#fff")
    return render(request, "web/account/second_factor.html", context, status=status)


# --- one-time links: invitation and password reset ----------------------------------------


def _one_time_link_page(request: HttpRequest, *, form_class, accept, template: str, done: str) -> HttpResponse:
    """A page that takes the mailed one-time token (from the link's fragment) and a new password."""
    if request.method == "GET":
        return render(request, template, {"form": form_class()})
    form = form_class(request.POST)
    if (throttled := _too_many_attempts(request, form, template, {})) is not None:
        return throttled
    if form.is_valid():
        try:
            accept(token=form.validated["token"], password=form.validated["password"])
        except InvalidLink as error:
            form.add_error("token", str(error.message))
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, done)
            return redirect("web:sign-in")
    return render(request, template, {"form": form}, status=422)


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest) -> HttpResponse:
    """Accept an invitation: choose your password (then sign in and, where needed, set up a second factor)."""
    return _one_time_link_page(
        request,
        form_class=InvitationForm,
        accept=services.invitation_accept,
        template="web/account/invitation.html",
        done=_("Your account is ready. Sign in with your username and your new password."),
    )


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    """Choose a new password with a reset link; every login of the person ends."""
    return _one_time_link_page(
        request,
        form_class=PasswordResetForm,
        accept=services.password_reset_complete,
        template="web/account/password_reset.html",
        done=_("Your password is changed and every earlier sign-in has ended. Sign in with the new password."),
    )
