"""Reading and verifying the audit trail."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from django.db.models import QuerySet

from coalition.core.access import Role
from coalition.core.actors import Actor

from .models import AuditChainHead, AuditEntry
from .services import GENESIS_HASH, entry_digest, head_signature, record


@dataclass(frozen=True)
class ChainVerdict:
    """Whether the chain is whole; if not, the first entry where it breaks and why."""

    intact: bool
    entries: int
    first_broken_seq: int | None = None
    problem: str = ""


def verify_chain(*, chunk_size: int = 5000) -> ChainVerdict:
    """Walk every entry in order and recompute its hash, then check the head against the last entry.

    Breaks at: a missing or extra sequence number (a deleted or inserted row), a
    ``prev_hash`` that is not the previous entry's hash, a hash that does not match
    the entry's fields (an altered row), a head that names a later entry than the
    last one found (rows deleted from the end, or a head without entries), entries
    after the head or a head that does not match the last entry, no head while
    entries exist, and a head whose signature under ``AUDIT_HEAD_KEY`` does not match
    (the trail and its head rewritten by someone without the key).
    """
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for entry in AuditEntry.objects.order_by("seq").iterator(chunk_size=chunk_size):
        if entry.seq != expected_seq:
            return ChainVerdict(False, count, expected_seq, "missing entry")
        if entry.prev_hash != prev_hash:
            return ChainVerdict(False, count, entry.seq, "chain link broken")
        if entry_digest(entry) != entry.hash:
            return ChainVerdict(False, count, entry.seq, "entry altered")
        prev_hash, expected_seq, count = entry.hash, expected_seq + 1, count + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None:
        if count:
            return ChainVerdict(False, count, None, "chain head missing")
        return ChainVerdict(True, 0)  # nothing recorded yet: the head is made by the first append
    if head.last_seq > count:
        return ChainVerdict(False, count, count + 1, "entries missing at the end")
    if head.last_seq < count:
        return ChainVerdict(False, head.last_seq, head.last_seq + 1, "entries after the chain head")
    if head.last_hash != prev_hash:
        return ChainVerdict(False, max(count - 1, 0), count, "chain head does not match the last entry")
    if not hmac.compare_digest(head.signature, head_signature(head.last_seq, head.last_hash)):
        return ChainVerdict(False, count, None, "chain head signature invalid (rewritten, or AUDIT_HEAD_KEY changed)")
    return ChainVerdict(True, count)


def verify_chain_for(*, actor: Actor) -> ChainVerdict:
    """The auditor verifies the chain (API and web app alike): the verdict, recorded as ``audit.verify``.

    The entry keeps the verdict's codes and counts, written after the walk, so it is not
    part of the chain it judged.
    """
    verdict = verify_chain()
    record(
        action="audit.verify",
        actor=actor,
        object_type="audit",
        detail={"intact": verdict.intact, "entries": verdict.entries, "first_broken_seq": verdict.first_broken_seq},
    )
    return verdict


def is_auditor(actor: Actor) -> bool:
    """A person holding the auditor role; never an API key, whatever its scopes."""
    return not actor.is_partner_system and actor.has_role(Role.AUDITOR)


def audit_entries_visible_to(actor: Actor) -> QuerySet[AuditEntry]:
    """The whole trail for the auditor; nothing for anyone else."""
    return AuditEntry.objects.all() if is_auditor(actor) else AuditEntry.objects.none()
