"""Build the fictional demo coalition (README, "Try it"). Safe to run again: nothing is duplicated."""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from partners.choices import Language, OrganisationKind, Phenomenon, Role
from partners.demo import run_demo_seeders, seed_capacity
from partners.models import Organisation, User

P = Phenomenon
# slug, name, kind, country, regions, languages, phenomena, min_age, max_age
Row = tuple[str, str, str, str, list[str], list[str], list[str], int, int]
ORGANISATIONS: list[Row] = [
    # slug, name, kind, country, regions, languages, phenomena, min_age, max_age
    ("hotline-be", "Demo Child Hotline Belgium", OrganisationKind.HOTLINE, "BE", ["BE-VLG", "BE-WAL", "BE-BRU"],
     [Language.NL, Language.FR, Language.EN], list(P.values), 0, 18),
    ("ecpat-be", "Demo Children's Rights NGO", OrganisationKind.NGO, "BE", ["BE-VLG", "BE-BRU"],
     [Language.NL, Language.FR, Language.EN], [P.CHILD_SEX_TOURISM, P.TRAFFICKING, P.ABUSE_IMAGES], 0, 18),
    ("shelter-be", "Demo Youth Shelter Antwerp", OrganisationKind.SHELTER, "BE", ["BE-VLG"],
     [Language.NL, Language.EN], [P.TEEN_PIMP, P.CHILD_PROSTITUTION, P.TRAFFICKING], 12, 18),
    ("streetwork-be", "Demo Street Work Brussels", OrganisationKind.CARE_PROVIDER, "BE", ["BE-BRU"],
     [Language.FR, Language.NL, Language.AR], [P.BOYS_PROSTITUTION, P.CHILD_PROSTITUTION, P.SEXTING], 12, 25),
    ("police-be", "Demo Police Liaison Belgium", OrganisationKind.POLICE_LIAISON, "BE", ["BE-VLG", "BE-WAL", "BE-BRU"],
     [Language.NL, Language.FR], [P.TRAFFICKING, P.ABUSE_IMAGES, P.SEXTORTION, P.TEEN_PIMP], 0, 18),
    ("care-nl", "Demo Care Centre Netherlands", OrganisationKind.CARE_PROVIDER, "NL", ["NL-NH", "NL-ZH", "NL-UT"],
     [Language.NL, Language.EN], [P.TEEN_PIMP, P.CHILD_PROSTITUTION, P.GROOMING], 12, 23),
    ("expertise-nl", "Demo Expertise Centre Netherlands", OrganisationKind.NGO, "NL", ["NL-NH", "NL-ZH", "NL-UT", "NL-NB"],
     [Language.NL, Language.EN], [P.TEEN_PIMP, P.SEXTORTION, P.GROOMING, P.OTHER_ONLINE_EXPLOITATION], 0, 23),
    ("ngo-nl", "Demo Youth NGO Netherlands", OrganisationKind.NGO, "NL", ["NL-NB", "NL-GE"],
     [Language.NL], [P.SEXTING, P.GROOMING, P.SEXTORTION], 10, 18),
    ("coordination", "Demo Coalition Coordination", OrganisationKind.COORDINATOR, "BE", [],
     [Language.NL, Language.FR, Language.EN], [], 0, 25),
]


def demo_users():
    """(username, organisation slug, roles) of every demo login."""
    for slug, *_ in ORGANISATIONS:
        if slug == "coordination":
            continue
        yield f"{slug}-caseworker", slug, [Role.CASEWORKER]
        yield f"{slug}-admin", slug, [Role.ORG_ADMIN]
    yield "coordination-admin", "coordination", [Role.ORG_ADMIN]
    yield "coordinator", "coordination", [Role.COORDINATOR]
    yield "auditor", "coordination", [Role.AUDITOR]


class Command(BaseCommand):
    help = "Create the fictional demo coalition (organisations and users). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD"), help="Password of every demo user (or DEMO_PASSWORD).")
        parser.add_argument(
            "--totp-secret",
            default=os.environ.get("DEMO_TOTP_SECRET"),
            help="Base32 TOTP secret given to every user who needs a second factor (or DEMO_TOTP_SECRET).",
        )

    @transaction.atomic
    def handle(self, *args, password=None, totp_secret=None, **options):
        if not password:
            raise CommandError("Give --password or set DEMO_PASSWORD.")
        totp_key_hex = None
        if totp_secret:
            import base64
            import binascii

            try:
                totp_key_hex = base64.b32decode(totp_secret.upper() + "=" * (-len(totp_secret) % 8)).hex()
            except (binascii.Error, ValueError):
                raise CommandError("--totp-secret must be base32.") from None

        organisations = {}
        for slug, name, kind, country, regions, languages, phenomena, min_age, max_age in ORGANISATIONS:
            organisations[slug], _ = Organisation.objects.update_or_create(
                slug=slug,
                defaults={
                    "name": name, "kind": kind, "country": country, "regions": regions,
                    "languages": [str(x) for x in languages], "phenomena": [str(x) for x in phenomena],
                    "min_age": min_age, "max_age": max_age, "accepting_referrals": kind != OrganisationKind.COORDINATOR,
                    "contact_email": f"{slug}@example.org",
                },
            )

        rows = []
        for username, slug, roles in demo_users():
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"organisation": organisations[slug], "roles": [str(r) for r in roles], "email": f"{username}@example.org"},
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
            mfa = "no"
            if user.requires_mfa:
                mfa = "TOTP not enrolled"
                if totp_key_hex:
                    TOTPDevice.objects.update_or_create(
                        user=user, name="demo", defaults={"key": totp_key_hex, "confirmed": True}
                    )
                    mfa = "TOTP (demo secret)"
                elif TOTPDevice.objects.filter(user=user, confirmed=True).exists():
                    mfa = "TOTP (enrolled earlier)"
            rows.append((username, slug, ",".join(user.roles), mfa, "new" if created else "existing"))

        # The directory's capacity (by the demo org admins), then the demo cases and whatever else other apps add.
        for line in filter(None, [seed_capacity(), *run_demo_seeders()]):
            self.stdout.write(line)
        self.stdout.write("Demo coalition ready. Logins (password as given; existing users keep theirs):")
        self.stdout.write(f"  {'username':28} {'organisation':15} {'roles':14} {'second factor':24} ")
        for username, slug, roles, mfa, state in rows:
            self.stdout.write(f"  {username:28} {slug:15} {roles:14} {mfa:24} {state}")
