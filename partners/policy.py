"""Who may do what: each view names a rule per action; no rule means no access.

A rule lists the roles a person needs (any one of them) and the scope an API key
needs. Which *objects* an allowed actor reaches is the selectors' job
(``partners.selectors``); this module only answers "may this kind of actor call
this action at all".
"""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework.permissions import BasePermission

from coalition.core.actors import Actor

from .choices import Role

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


def is_partner_system(actor: Actor) -> bool:
    return actor.is_partner_system


def actor_satisfies(actor: Actor, rule: Rule) -> bool:
    if is_partner_system(actor):
        return rule.scope is not None and (rule.scope == ANY_SCOPE or rule.scope in actor.scopes)
    if getattr(actor, "mfa_enrolment_only", False) and not rule.during_mfa_enrolment:
        return False
    return bool(rule.roles.intersection(actor.roles))


def rule_for(view, request) -> Rule | None:
    policy = getattr(view, "policy", None) or {}
    action = getattr(view, "action", None) or request.method.lower()
    if action == "head":
        action = "get"
    return policy.get(action)


def _has_handler(view, method: str) -> bool:
    name = method.lower()
    if name == "options":
        return False
    action_map = getattr(view, "action_map", None)
    if action_map is not None:
        return name in action_map
    return hasattr(view, name)


class ActionPolicy(BasePermission):
    """Deny by default: an action absent from ``view.policy`` is refused to everyone."""

    def has_permission(self, request, view) -> bool:
        if not _has_handler(view, request.method):
            return True  # let dispatch answer 405 Method Not Allowed (no metadata is served)
        rule = rule_for(view, request)
        if rule is None:
            return False
        actor = request.user
        if not actor_satisfies(actor, rule):
            if getattr(actor, "mfa_enrolment_only", False):
                from coalition.api.problems import MfaEnrolmentRequired

                raise MfaEnrolmentRequired()
            return False
        return True
