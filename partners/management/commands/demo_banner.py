"""Print what `make run` serves: the addresses to open and the demo logins.

`make run` calls it once the server answers, with the password and TOTP secret it gave
`seed_demo` (DEMO_PASSWORD, DEMO_TOTP_SECRET). It reads the demo users from the database
and says which ones no longer match them (a password changed through the API, a device
enrolled on an earlier run), so the logins it prints are the ones that work. It refuses
to run outside debug: a banner that prints a password has no place in a deployment's logs.
"""

import base64
import binascii
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice

from partners.models import User

from .seed_demo import ORGANISATIONS, demo_users


def _wait_until_answering(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except (urllib.error.URLError, OSError):
            if time.monotonic() >= deadline:
                raise CommandError(f"Nothing answered at {url} within {seconds:g} s.") from None
            time.sleep(0.25)


def _mail_folder() -> str:
    """Where the mails go under `make run` (filemail://var/mail), relative to the project."""
    folder = getattr(settings, "EMAIL_FILE_PATH", None)
    if not folder or not settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
        return f"sent through {settings.EMAIL_BACKEND.rsplit('.', 2)[-2]} (EMAIL_URL)"
    path = Path(folder)
    shown = path.relative_to(settings.BASE_DIR) if path.is_relative_to(settings.BASE_DIR) else path
    return f"{shown}/   (one .log file per mail: invitations, reset links)"


class Command(BaseCommand):
    help = "Print the addresses served by `make run` and the demo logins (debug only)."

    def add_arguments(self, parser):
        parser.add_argument("--address", default="127.0.0.1:8000", help="host:port the development server listens on.")
        parser.add_argument(
            "--wait", type=float, default=0, metavar="SECONDS",
            help="First wait up to this long for the server to answer /healthz.",
        )
        parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD"), help="The demo password (or DEMO_PASSWORD).")
        parser.add_argument(
            "--totp-secret", default=os.environ.get("DEMO_TOTP_SECRET"), help="The demo TOTP secret (or DEMO_TOTP_SECRET)."
        )

    def handle(self, *args, address, wait, password, totp_secret, **options):
        if not settings.DEBUG:
            raise CommandError("demo_banner is for `make run` (DEBUG=true) only.")
        base = f"http://{address}"
        if wait:
            _wait_until_answering(f"{base}/healthz", wait)
        found = User.objects.select_related("organisation").in_bulk([name for name, _, _ in demo_users()], field_name="username")
        users = [found[name] for name, _, _ in demo_users() if name in found]
        if not users:
            raise CommandError("There are no demo users: run `manage.py seed_demo` first.")

        write = self.stdout.write
        write("")
        write(f"Open {base}/ in a browser and sign in with a demo login below (stop with Ctrl-C).")
        write(f"  Web app    {base}/   (under {base}/app/: each person starts on their own work)")
        write("  Try        a referral's whole life: hotline-be-caseworker opens a case and transfers it to shelter-be,")
        write("             shelter-be-caseworker accepts and refers on to care-nl, care-nl-caseworker accepts and completes;")
        write("             coordinator reviews the legal-basis exception and reads the figures; hotline-be-admin creates")
        write("             an API key (shown once); auditor verifies the audit chain and exports a case's subject")
        write("  Match      ngo-nl-caseworker opens a case for Eva De Fictieve (born 2011-06-21) with consent to share")
        write("             information: care-nl holds her too, both are told to get in touch (README, \"Known elsewhere\")")
        write(f"  API docs   {base}/api/docs/   (Swagger UI; ReDoc at {base}/api/redoc/)")
        write(f"  API        {base}/api/v1/…   (schema {base}/api/v1/schema/; log in with POST /api/v1/auth/token/)")
        write(f"  Mails      {_mail_folder()}")
        write("")
        given = f"password {password}" if password else "the password they were seeded with"
        write(f"Demo logins, {given} (DEMO_PASSWORD); * also needs a TOTP code:")
        for slug, *_ in ORGANISATIONS:
            names = [f"{u.username}{'*' if u.requires_mfa else ''}" for u in users if u.organisation.slug == slug]
            if names:
                write(f"  {slug:14} " + "  ".join(f"{name:26}" for name in names).rstrip())
        if totp_secret:
            write(f"TOTP secret of every * login: {totp_secret} (DEMO_TOTP_SECRET). A code (30 s, usable once):")
            write(
                "  .venv/bin/python -c \"import base64; from django_otp.oath import totp; "
                f"print('%06d' % totp(base64.b32decode('{totp_secret.upper()}')))\""
            )
        for username, note in self._departures(users, password, self._totp_key(totp_secret)):
            write(f"  {username}: {note}")

    @staticmethod
    def _departures(users, password, totp_key):
        """(username, note) for each demo user the logins above do not describe."""
        devices = dict(
            TOTPDevice.objects.filter(user__in=users, confirmed=True).order_by("id").values_list("user_id", "key")
        )
        for user in users:
            # seed_demo sets a password only when it creates the user: an earlier run's
            # DEMO_PASSWORD, or a change through the API, stays.
            if password and not user.check_password(password):
                yield user.username, "has another password (set on an earlier run or changed since)"
            if user.requires_mfa and user.pk not in devices:
                yield user.username, "has no TOTP device yet: enrols one at first login"
            elif user.requires_mfa and totp_key and devices[user.pk] != totp_key:
                yield user.username, "has a TOTP device of its own, not the demo secret"

    @staticmethod
    def _totp_key(secret: str | None) -> str | None:
        if not secret:
            return None
        try:
            return base64.b32decode(secret.upper() + "=" * (-len(secret) % 8)).hex()
        except (binascii.Error, ValueError):
            raise CommandError("--totp-secret must be base32.") from None
