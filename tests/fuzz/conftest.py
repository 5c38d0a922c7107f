"""The world the fuzzer runs in: the demo coalition, built once per module inside one transaction.

The WSGI app runs in the test's thread, on the test's connection, so it sees this
uncommitted world. Each fuzzed request runs in a savepoint that is rolled back
(``rolled_back``), so no example can change what the next one finds: a logout,
a password change, a suspended organisation or a revoked API key last for one
request only, and every example starts from the same demo coalition.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core import signals
from django.core.management import call_command
from django.db import close_old_connections

from partners import services as partner_services
from partners.choices import ApiKeyScope
from partners.models import ApiKey, Organisation, User
from partners.tokens import issue_tokens_for_tests
from referrals import services as referral_services
from referrals.choices import CaseOutcome
from referrals.models import Case, Consent, Involvement, LegalBasisException, Referral
from tests.support.personas import PASSWORD, approved_api_key
from tests.support.transactions import rolled_back

FUZZ_DIR = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before the mark plugin applies -m "not fuzz"
def pytest_collection_modifyitems(config, items):
    """Every test under tests/fuzz is a ``fuzz`` test, so ``make test-fast`` (``-m "not fuzz"``) leaves it out.

    Marked here rather than module by module, so a new fuzz module cannot slip into the fast loop.
    """
    for item in items:
        if FUZZ_DIR in Path(item.path).parents:
            item.add_marker(pytest.mark.fuzz)


DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXP"  # a fixed, fictional base32 secret: admins get a confirmed device

# The persona each fuzz test acts as, and who that is in the demo coalition.
PERSONA_USERNAMES = {
    "caseworker": "hotline-be-caseworker",
    "org_admin": "hotline-be-admin",
    "coordinator": "coordinator",
    "auditor": "auditor",
}


@dataclass
class FuzzWorld:
    """The personas' accounts and the ids of the objects the fuzzer steers path parameters to."""

    users: dict[str, User]
    partner_key: str
    # Every object's id, by the URL segment that names it ("cases", "referrals", ...).
    ids: dict[str, list[str]] = field(default_factory=dict)
    # Ids of the objects an organisation holds (its own, or of a case it is involved in), by segment and organisation.
    owned: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # Ids of child objects by (parent segment, child segment) and parent id.
    children: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)

    def organisation_of(self, persona: str) -> str:
        return str(self.users["org_admin" if persona == "partner_system" else persona].organisation_id)

    def own_and_other_ids(self, persona: str, segment: str) -> tuple[list[str], list[str]]:
        """The ids under ``segment`` that belong to the persona's organisation, and the rest."""
        every = self.ids.get(segment, [])
        own = set(self.owned.get(segment, {}).get(self.organisation_of(persona), []))
        return sorted(own), [pk for pk in every if pk not in own]

    def authorization(self, persona: str) -> str:
        """A fresh credential: a new login's access token (valid 5 minutes), or the partner system's key."""
        if persona == "partner_system":
            return f"Api-Key {self.partner_key}"
        return f"Bearer {issue_tokens_for_tests(self.users[persona], mfa_verified=True).access}"


CONSENT = {"given_by": "young_person", "method": "written", "purposes": ["care_referral"]}


def _triage(recipient: Organisation, consent: Consent) -> dict:
    return {
        "recipient": recipient,
        "consent": consent,
        "kind": "service",
        "phenomenon": "teen_pimp",
        "urgency": "urgent",
        "requested_service": "shelter",
        "reason": "Fuzz world: fictional reason.",
        "signals": ["general_behaviour"],
        "age": 15,
        "gender": "female",
        "region": "BE-VLG",
        "language": "nl",
    }


def _build_world() -> FuzzWorld:
    call_command("seed_demo", password=PASSWORD, totp_secret=DEMO_TOTP_SECRET, stdout=StringIO())
    org = {o.slug: o for o in Organisation.objects.all()}
    user = {u.username: u for u in User.objects.select_related("organisation")}
    hotline_admin, hotline = user["hotline-be-admin"], user["hotline-be-caseworker"]
    shelter = user["shelter-be-caseworker"]

    # The partner system (every scope), a revoked key of the same organisation and another organisation's key.
    # Keys with referrals scopes need a second person: the coordinator (each organisation has one admin).
    coordinator = user["coordinator"]
    partner = approved_api_key(
        actor=hotline_admin, approver=coordinator, name="Hotline case system", scopes=list(ApiKeyScope.values)
    )
    revoked = approved_api_key(
        actor=hotline_admin, approver=coordinator, name="Old hotline system", scopes=[ApiKeyScope.REFERRALS_READ]
    )
    partner_services.api_key_revoke(actor=hotline_admin, api_key=revoked.api_key)
    approved_api_key(actor=user["care-nl-admin"], approver=coordinator, name="Care system", scopes=list(ApiKeyScope.values))

    # The demo sends nothing to hotline-be: give it an incoming referral to act on and an accepted one to complete.
    subject = {"given_name": "Fictia", "date_of_birth": date(2011, 1, 1), "gender": "female", "language": "nl"}
    for final_step in ("send", "accept"):
        case = referral_services.case_open(actor=shelter, subject=subject, phenomena=["teen_pimp"], region="BE-VLG")
        consent_data = CONSENT | {"valid_from": date.today()}
        consent = referral_services.consent_record(actor=shelter, case=case, data=consent_data)
        referral = referral_services.referral_create(actor=shelter, case=case, data=_triage(org["hotline-be"], consent))
        referral = referral_services.referral_send(actor=shelter, referral=referral)
        if final_step == "accept":
            referral_services.referral_accept(actor=hotline, referral=referral)
    # A closed case of hotline-be, to reopen.
    closed = referral_services.case_open(actor=hotline, subject=subject, phenomena=["grooming"], region="BE-VLG")
    referral_services.case_close(actor=hotline, case=closed, outcome=CaseOutcome.values[0])

    def ids(model) -> list[str]:
        return [str(pk) for pk in model.objects.order_by("pk").values_list("pk", flat=True)]

    def grouped(pairs) -> dict[str, list[str]]:
        groups: dict[str, set[str]] = defaultdict(set)
        for key, value in pairs:
            groups[str(key)].add(str(value))
        return {key: sorted(values) for key, values in groups.items()}

    case_organisations = list(Involvement.objects.values_list("case_id", "organisation_id"))
    organisations_of_case = grouped(case_organisations)
    consents = list(Consent.objects.values_list("id", "case_id"))
    return FuzzWorld(
        users={persona: user[username] for persona, username in PERSONA_USERNAMES.items()},
        partner_key=partner.raw_key,
        ids={
            "organisations": ids(Organisation),
            "users": ids(User),
            "api-keys": ids(ApiKey),
            "cases": ids(Case),
            "consents": ids(Consent),
            "referrals": ids(Referral),
            "exceptions": ids(LegalBasisException),
        },
        owned={
            "organisations": grouped((pk, pk) for pk in Organisation.objects.values_list("pk", flat=True)),
            "users": grouped((o, pk) for pk, o in User.objects.values_list("pk", "organisation_id")),
            "api-keys": grouped((o, pk) for pk, o in ApiKey.objects.values_list("pk", "organisation_id")),
            "cases": grouped((o, case) for case, o in case_organisations),
            "consents": grouped(
                (o, pk) for pk, case in consents for o in organisations_of_case.get(str(case), [])
            ),
            "referrals": grouped(
                (o, pk) for pk, *orgs in Referral.objects.values_list("pk", "sender_id", "recipient_id") for o in orgs
            ),
            "exceptions": grouped(
                (o, pk) for pk, o in LegalBasisException.objects.values_list("pk", "organisation_id")
            ),
        },
        children={("cases", "consents"): grouped((case, pk) for pk, case in consents)},
    )


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker):
    """The demo coalition plus a partner system, in a transaction rolled back after the module."""
    # Like Django's test client: the app must not close the connection that holds the test transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    # Thousands of expected 4xx would each be logged as a warning; keep errors (500s) visible.
    quiet = [logging.getLogger(name) for name in ("django.request", "axes", "axes.handlers.database")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:
        logger.setLevel(logging.ERROR)
    try:
        with django_db_blocker.unblock(), rolled_back():
            yield _build_world()
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
