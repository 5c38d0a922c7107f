"""Who may do what: each view names a rule per action; no rule means no access.

The vocabulary and the rule primitives live in ``coalition.core.access`` so that the
lower layers (events, audit) can write rules without importing ``partners``; the DRF
permission class that applies them is ``coalition.api.permissions.ActionPolicy``.
They are re-exported here for the views of ``partners`` and ``referrals``. Which
*objects* an allowed actor reaches is the selectors' job (``partners.selectors``).
"""

from __future__ import annotations

from coalition.core.access import ANY_ROLE, ANY_SCOPE, Rule, actor_satisfies, allow

__all__ = ["ANY_ROLE", "ANY_SCOPE", "Rule", "actor_satisfies", "allow"]
