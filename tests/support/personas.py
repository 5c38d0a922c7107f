"""The suite's cast: organisations, people and partner systems made through the real services.

The ``orgs`` and ``personas`` fixtures (tests/conftest.py) build the stable cast from these.
"""

from __future__ import annotations

from partners import services
from partners.choices import ApiKeyScope, Language, OrganisationKind, Phenomenon, Role
from partners.models import Organisation, User
from partners.tokens import issue_tokens_for_tests
from tests.support.schema import SchemaCheckedClient

PASSWORD = "correct-horse-battery-staple-42"


def make_organisation(slug: str, kind: str = OrganisationKind.NGO, **fields) -> Organisation:
    defaults = {
        "name": f"Test {slug}",
        "kind": kind,
        "country": "BE",
        "regions": ["BE-VLG"],
        "languages": [Language.NL, Language.EN],
        "phenomena": [Phenomenon.TEEN_PIMP, Phenomenon.GROOMING],
        "min_age": 10,
        "max_age": 18,
    }
    defaults.update(fields)
    organisation, _ = Organisation.objects.get_or_create(slug=slug, defaults=defaults)
    return organisation


def make_user(username: str, organisation: Organisation, roles: list[str], password: str = PASSWORD) -> User:
    user = User(username=username, organisation=organisation, roles=roles, email=f"{username}@example.org")
    user.set_password(password)
    user.save()
    return user


def approved_api_key(*, actor: User, approver: User, name: str, scopes: list[str]) -> services.NewApiKey:
    """A key made through the service and, where it needs one, approved by ``approver`` (a second person)."""
    from partners.models import AccessApproval

    created = services.api_key_create(actor=actor, name=name, scopes=scopes, expires_at=None)
    if created.api_key.awaiting_approval:
        approval = AccessApproval.objects.get(api_key=created.api_key)
        services.approval_decide(actor=approver, approval=approval, approve=True)
        created.api_key.refresh_from_db()
    return created


class Persona:
    """A named actor of the suite with an authenticated, schema-checked client."""

    def __init__(self, name: str, *, user: User | None = None, raw_api_key: str | None = None, organisation=None):
        self.name = name
        self.user = user
        self.raw_api_key = raw_api_key
        self.organisation = organisation or (user.organisation if user else None)
        self.client = SchemaCheckedClient()
        if user is not None:
            self.tokens = issue_tokens_for_tests(user, mfa_verified=True)
            self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.tokens.access}")
        elif raw_api_key is not None:
            self.client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_api_key}")

    def __repr__(self) -> str:
        return f"<Persona {self.name}>"


def the_orgs() -> dict[str, Organisation]:
    """The suite's organisations, by slug (made if missing)."""
    return {
        "hotline-be": make_organisation("hotline-be", OrganisationKind.HOTLINE, phenomena=list(Phenomenon.values), min_age=0),
        "shelter-be": make_organisation("shelter-be", OrganisationKind.SHELTER, phenomena=[Phenomenon.TEEN_PIMP], min_age=12),
        "care-nl": make_organisation(
            "care-nl", OrganisationKind.CARE_PROVIDER, country="NL", regions=["NL-NH"], phenomena=[Phenomenon.GROOMING]
        ),
        "coordination": make_organisation("coordination", OrganisationKind.COORDINATOR, phenomena=[], regions=[]),
    }


def the_personas(orgs: dict[str, Organisation]) -> dict[str, Persona]:
    """The suite's cast (see the module docstring) in ``orgs``."""
    hotline, shelter, care, coordination = orgs["hotline-be"], orgs["shelter-be"], orgs["care-nl"], orgs["coordination"]
    admin_user = make_user("hotline-be-admin", hotline, [Role.ORG_ADMIN])
    coordinator = make_user("coordinator", coordination, [Role.COORDINATOR])
    # hotline-be has no other org admin: the coordinator is the second person who approves the key.
    key = approved_api_key(actor=admin_user, approver=coordinator, name="Hotline case system", scopes=list(ApiKeyScope.values))
    people = {
        "caseworker": Persona("caseworker", user=make_user("hotline-be-caseworker", hotline, [Role.CASEWORKER])),
        "recipient_caseworker": Persona(
            "recipient_caseworker", user=make_user("shelter-be-caseworker", shelter, [Role.CASEWORKER])
        ),
        "outsider_caseworker": Persona("outsider_caseworker", user=make_user("care-nl-caseworker", care, [Role.CASEWORKER])),
        "org_admin": Persona("org_admin", user=admin_user),
        "outsider_admin": Persona("outsider_admin", user=make_user("care-nl-admin", care, [Role.ORG_ADMIN])),
        "coordinator": Persona("coordinator", user=coordinator),
        "auditor": Persona("auditor", user=make_user("auditor", coordination, [Role.AUDITOR])),
        "partner_system": Persona("partner_system", raw_api_key=key.raw_key, organisation=hotline),
        "anonymous": Persona("anonymous"),
    }
    return people
