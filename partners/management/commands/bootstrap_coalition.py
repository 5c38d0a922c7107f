"""Start a real deployment: the coordination organisation and its first people.

Every other organisation and user is then created through the API (coordinators
admit members; each member's org admin adds its people). The password is read
from a prompt or the BOOTSTRAP_PASSWORD variable, never from the command line.
"""

import getpass
import os

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from partners.choices import OrganisationKind, Role
from partners.models import Organisation, User


class Command(BaseCommand):
    help = "Create the coalition's coordination organisation and a first user (coordinator and org admin)."

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="coordination")
        parser.add_argument("--name", required=True, help="Name of the coordination organisation.")
        parser.add_argument("--country", default="BE")
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument(
            "--roles", default="coordinator,org_admin", help="Comma-separated roles of the first user (coordinator, org_admin, auditor)."
        )

    @transaction.atomic
    def handle(self, *args, slug, name, country, username, email, roles, **options):
        roles = sorted({r.strip() for r in roles.split(",") if r.strip()})
        allowed = {Role.COORDINATOR, Role.ORG_ADMIN, Role.AUDITOR}
        if not roles or not set(roles) <= allowed:
            raise CommandError("--roles must be a subset of coordinator, org_admin, auditor.")
        if User.objects.filter(username__iexact=username).exists():
            raise CommandError("That username exists already.")
        organisation, created = Organisation.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "kind": OrganisationKind.COORDINATOR, "country": country, "accepting_referrals": False,
                      "min_age": 0, "max_age": 25},
        )
        if organisation.kind != OrganisationKind.COORDINATOR:
            raise CommandError(f"Organisation {slug} exists and is not the coordination.")
        password = os.environ.get("BOOTSTRAP_PASSWORD") or getpass.getpass("Password: ")
        user = User(username=username, email=email, organisation=organisation, roles=roles)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        user.set_password(password)
        user.save()
        self.stdout.write(
            f"{'Created' if created else 'Reused'} organisation {slug}; created user {username} ({', '.join(roles)}). "
            "They enrol a TOTP device at first login (POST /api/v1/auth/totp/)."
        )
