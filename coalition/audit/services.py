"""Appending to the audit trail, in the caller's transaction.

``record`` is called by every service that writes, by the views that show a
young person's identity, and by authentication. It runs inside the caller's
transaction, so a rolled-back action leaves no entry, and it locks the chain
head, so appends are serialised and each entry's hash covers the one before.
Call it late in a service: the lock is held until the transaction commits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from coalition.core.actors import Actor, person_and_system
from coalition.core.context import current_request_id

from .filters import AuditEntryFilter
from .models import AuditChainHead, AuditEntry

GENESIS_HASH = "0" * 64


def entry_digest(entry: AuditEntry) -> str:
    """The hash of an entry: its predecessor's hash and its own fields, canonically encoded."""
    fields = [
        entry.seq,
        entry.at.isoformat(timespec="microseconds"),
        entry.action,
        str(entry.actor_user or ""),
        str(entry.actor_api_key or ""),
        str(entry.organisation or ""),
        entry.object_type,
        entry.object_id,
        str(entry.case or ""),
        entry.request_id,
        entry.detail,
    ]
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(f"{entry.prev_hash}|{canonical}".encode()).hexdigest()


def head_signature(last_seq: int, last_hash: str) -> str:
    """HMAC-SHA256 of the chain head under ``AUDIT_HEAD_KEY``, a key kept outside the database.

    Whoever can write the database can rehash every entry and the head to match, but
    cannot sign the result: the verifier then names the head as forged.
    """
    message = f"coalition-audit-head|{last_seq}|{last_hash}".encode()
    return hmac.new(settings.AUDIT_HEAD_KEY.encode(), message, hashlib.sha256).hexdigest()


def lock_chain() -> AuditChainHead:
    """Lock the chain head for the rest of the transaction (taken once, re-entrant).

    The event outbox takes the same lock, so events get ids in commit order too.
    """
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditChainHead.objects.get_or_create(pk=1, defaults={"signature": head_signature(0, GENESIS_HASH)})
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def _actor_ids(actor: Actor | None) -> dict[str, Any]:
    """Who acted, as the ids the entry keeps (ids, not foreign keys: the trail outlives accounts)."""
    person, api_key = person_and_system(actor)
    organisation = getattr(actor, "organisation", None)
    return {
        "actor_user": person.pk if person is not None else None,
        "actor_api_key": api_key.pk if api_key is not None else None,
        "organisation": organisation.pk if organisation is not None else None,
    }


def _uuid(value) -> uuid.UUID | None:
    if value is None or isinstance(value, uuid.UUID):
        return value
    return uuid.UUID(str(value))


def _entry(*, action, actor: Actor | None, obj, object_type, object_id, case_id, organisation_id, detail) -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or obj.pk
        if case_id is None:
            case_id = obj.pk if object_type == "case" else getattr(obj, "case_id", None)
    ids = _actor_ids(actor)
    if organisation_id is not None:
        ids["organisation"] = _uuid(organisation_id)
    return AuditEntry(
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        case=_uuid(case_id),
        request_id=current_request_id(),
        detail=detail or {},
        **ids,
    )


def _append(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Chain and insert ``entries`` under the head's lock: one insert and one head update (signed)."""
    with transaction.atomic():
        head = lock_chain()
        now = timezone.now()
        seq, prev_hash = head.last_seq, head.last_hash
        for entry in entries:
            seq += 1
            entry.seq, entry.at, entry.prev_hash = seq, now, prev_hash
            entry.hash = prev_hash = entry_digest(entry)
        AuditEntry.objects.bulk_create(entries)
        AuditChainHead.objects.filter(pk=1).update(
            last_seq=seq, last_hash=prev_hash, signature=head_signature(seq, prev_hash)
        )
    return entries


def record(
    *,
    action: str,
    actor: Actor | None = None,
    obj=None,
    object_type: str = "",
    object_id: Any = "",
    case_id: Any = None,
    organisation_id: Any = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry for ``action`` by ``actor`` (None: the system) on ``obj``.

    ``detail`` takes codes and counts only, never names, free text or secrets.
    """
    entry = _entry(
        action=action, actor=actor, obj=obj, object_type=object_type, object_id=object_id,
        case_id=case_id, organisation_id=organisation_id, detail=detail,
    )
    return _append([entry])[0]


def record_many(*, action: str, actor: Actor, object_type: str, object_ids: list[Any], cases: list[Any]) -> list[AuditEntry]:
    """One entry per object (e.g. each subject shown in a list), in one insert."""
    entries = [
        _entry(
            action=action, actor=actor, obj=None, object_type=object_type, object_id=object_id,
            case_id=case_id, organisation_id=None, detail=None,
        )
        for object_id, case_id in zip(object_ids, cases, strict=True)
    ]
    return _append(entries) if entries else []


def record_trail_search(*, actor: Actor, params: Mapping[str, Any], results: int) -> AuditEntry:
    """The auditor searched the trail (``audit.search``): the API's search and the web app's, one entry alike.

    ``params`` are the search's filters as submitted (already validated by ``AuditEntryFilter``);
    the entry keeps the names of those used, never their values (ids and times), the case
    searched for as its case, and how many entries were shown.
    """
    filters = sorted(name for name in AuditEntryFilter.base_filters if params.get(name))
    return record(
        action="audit.search",
        actor=actor,
        object_type="audit",
        case_id=str(params.get("case") or "").strip() or None,
        detail={"filters": filters, "results": results},
    )
