"""Who acts: one type for a person and for a partner system.

Every service and selector takes an ``Actor``. A person is a ``partners.User``; a
partner system is a ``partners.authentication.PartnerSystem`` (an API key of one
organisation, limited to the key's scopes). Both satisfy this protocol, so lower
layers can read who acts without importing ``partners``, and nothing duck-types
with ``getattr(actor, "api_key")``.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Actor(Protocol):
    """A person or a partner system, always of exactly one organisation."""

    @property
    def is_partner_system(self) -> bool:
        """True for an API key acting for its organisation; False for a person."""
        ...

    @property
    def organisation(self) -> Any:
        """The actor's ``partners.Organisation``."""
        ...

    @property
    def organisation_id(self) -> Any: ...

    @property
    def pk(self) -> Any:
        """A person's id; a partner system's is ``api-key:<id>``, which no foreign key takes."""
        ...

    @property
    def roles(self) -> Collection[str]:
        """A person's roles; a partner system has none (it has scopes)."""
        ...

    @property
    def scopes(self) -> Collection[str]:
        """A partner system's API key scopes; a person has none (they have roles)."""
        ...

    @property
    def api_key(self) -> Any:
        """The ``partners.ApiKey`` a partner system acts with; None for a person."""
        ...

    def has_role(self, role: str) -> bool: ...


def person_and_system(actor: Actor | None) -> tuple[Any, Any]:
    """Who did it, as the pair every record of an author keeps: ``(person, partner system's API key)``.

    Exactly one is set for an actor; both are None when nobody acted (a periodic job,
    the retention purge). The one place that tells the two kinds of actor apart for
    the records (``coalition.core.authorship``, the audit trail).
    """
    if actor is None:
        return None, None
    if actor.is_partner_system:
        return None, actor.api_key
    return actor, None
