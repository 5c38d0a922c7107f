"""Deny by default: each view names a rule per action; no rule means no access.

The rules (``coalition.core.access``) say which roles and scopes an action needs;
``ActionPolicy``, a DRF permission class in every view's permission classes
(``REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"]``), applies them to the request.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from coalition.core.access import Rule, actor_satisfies

from .problems import MfaEnrolmentRequired


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
                raise MfaEnrolmentRequired()
            return False
        return True
