"""Who may do what, in words every layer can use: the roles, the API-key scopes and the rule.

A rule lists the roles a person needs (any one of them) and the scope an API key
needs; ``actor_satisfies`` answers "may this kind of actor call this action at all".
Which *objects* an allowed actor reaches is the selectors' job, in each app. Lower
layers name roles and write rules from here without importing ``partners``; each
front end applies the rules (the API's ``coalition.api.permissions.ActionPolicy``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from .actors import Actor


class Role(models.TextChoices):
    CASEWORKER = "caseworker", _("Caseworker")
    ORG_ADMIN = "org_admin", _("Organisation administrator")
    COORDINATOR = "coordinator", _("Coalition coordinator")
    AUDITOR = "auditor", _("Auditor / data protection officer")


class ApiKeyScope(models.TextChoices):
    ORGANISATIONS_READ = "organisations:read", _("Read the coalition directory")
    REFERRALS_READ = "referrals:read", _("Read cases and referrals of the organisation")
    REFERRALS_WRITE = "referrals:write", _("Create and act on referrals of the organisation")
    EVENTS_READ = "events:read", _("Read the organisation's event feed")


ANY_ROLE = frozenset(Role.values)
# Any valid API key, whatever its scopes (e.g. "who am I").
ANY_SCOPE = "*"


@dataclass(frozen=True)
class Rule:
    """Allowed to people with any of ``roles``, and to API keys holding ``scope``."""

    roles: frozenset[str] = frozenset()
    scope: str | None = None
    # Reachable with the enrolment-only token a person gets before confirming TOTP.
    during_mfa_enrolment: bool = False


def allow(*roles: str, scope: str | None = None, during_mfa_enrolment: bool = False) -> Rule:
    return Rule(roles=frozenset(roles), scope=scope, during_mfa_enrolment=during_mfa_enrolment)


def actor_satisfies(actor: Actor, rule: Rule) -> bool:
    """A partner system needs the rule's scope; a person one of its roles (and a confirmed second factor)."""
    if actor.is_partner_system:
        return rule.scope is not None and (rule.scope == ANY_SCOPE or rule.scope in actor.scopes)
    if getattr(actor, "mfa_enrolment_only", False) and not rule.during_mfa_enrolment:
        return False
    return bool(rule.roles.intersection(actor.roles))
