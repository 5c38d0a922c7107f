"""Retention, legal holds and erasure of a young person's identity and free text (api_docs/audit.md).

What goes: the ``Subject`` row (every identifying field) and the free text that may
describe the young person (referral reasons, legal-basis justifications, decline
reasons, exception review notes, messages). What stays: the case and its metadata
(status, lead, phenomena, region, dates, outcome), consents, involvements and custody,
referral codes and times, message rows without their body, and the whole audit trail,
so figures and the record of who did what survive.

A legal hold, set by the auditor (data protection officer), keeps a case out of both
the purge and erasure until it is released. Every change writes an audit entry in its
own transaction; the purge acts as the system (no actor).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.api.idempotency import expire_idempotency_records, forget_case
from coalition.audit.services import record
from coalition.core.actors import Actor
from coalition.core.errors import Conflict
from coalition.events.services import emit

from .choices import CaseStatus
from .models import Case, Involvement, LegalBasisException, Referral, ReferralMessage, Subject

# Higher layers that keep data of their own about a case (the web app's form drafts) register
# a function here; erasure and the purge call each with the case, in their transaction.
_ERASURE_HOOKS: list[Callable[[Case], object]] = []


def register_erasure_hook(hook: Callable[[Case], object]) -> None:
    """Have ``hook(case)`` delete what its app holds about ``case`` whenever its identity is erased or purged."""
    if hook not in _ERASURE_HOOKS:
        _ERASURE_HOOKS.append(hook)


def _locked(case: Case) -> Case:
    return Case.objects.select_for_update().get(pk=case.pk)


def erase_personal_data(case: Case, now: datetime) -> dict[str, int]:
    """Remove the identity and free text of ``case`` (locked by the caller); counts for the audit detail."""
    subjects, _detail = Subject.objects.filter(case=case).delete()
    referrals = Referral.objects.filter(case=case).bump_version(
        reason="", legal_basis_justification="", decline_reason="", updated_at=now
    )
    exceptions = LegalBasisException.objects.filter(case=case).update(justification="", review_note="")
    messages = ReferralMessage.objects.filter(referral__case=case).update(body="")
    Case.objects.filter(pk=case.pk).bump_version(purged_at=now, updated_at=now)
    forget_case(case.pk)  # Idempotency-Key records about the case: a replay afterwards is a fresh request
    for hook in _ERASURE_HOOKS:
        hook(case)
    case.refresh_from_db()
    return {"subject_removed": subjects, "referrals": referrals, "exceptions": exceptions, "messages": messages}


def organisations_that_held(case: Case) -> list:
    """Every organisation that may hold a copy of the case's identity or free text.

    Each organisation ever involved (an ended involvement too: a former lead or a
    completed service kept what it copied), and both parties of every referral that was
    sent (a recipient that declined still read the reason). Not a draft's recipient:
    nothing reached it. They are told by a ``case.erased`` or ``case.purged`` event.
    """
    involved = Involvement.objects.filter(case=case).values_list("organisation_id", flat=True)
    sent = Referral.objects.filter(case=case, sent_at__isnull=False).values_list("sender_id", "recipient_id")
    return sorted({*involved, *(org for pair in sent for org in pair)} - {None}, key=str)


def retention_cutoff(now: datetime | None = None) -> datetime:
    """Cases closed before this moment are past retention."""
    return (now or timezone.now()) - timedelta(days=settings.RETENTION_DAYS)


def purge_due_at(case: Case) -> datetime | None:
    """When the purge will remove this case's identity; None if it will not (open, on hold, done)."""
    if case.status != CaseStatus.CLOSED or case.closed_at is None or case.legal_hold or case.purged_at is not None:
        return None
    return case.closed_at + timedelta(days=settings.RETENTION_DAYS)


def _expired(case: Case, cutoff: datetime) -> bool:
    return (
        case.status == CaseStatus.CLOSED
        and case.closed_at is not None
        and case.closed_at < cutoff
        and not case.legal_hold
        and case.purged_at is None
    )


def purge_expired(*, now: datetime | None = None) -> int:
    """Purge identity and free text of every case closed longer than ``RETENTION_DAYS``, not on hold.

    Idempotent: a purged case is not purged again. Each case is purged in its own
    transaction, re-checked under its row lock (a hold set or a reopening meanwhile
    wins). Stored idempotent responses past their replay window go too. One
    ``case.purge`` entry and one ``case.purged`` event (to every organisation that held
    the case, so its systems delete their copies) per case and one ``retention.purge_run`` entry per run, so the
    trail shows the purge ran even when nothing was due. Returns the number purged.
    """
    now = now or timezone.now()
    cutoff = retention_cutoff(now)
    candidates = list(
        Case.objects.filter(
            status=CaseStatus.CLOSED, closed_at__lt=cutoff, legal_hold=False, purged_at__isnull=True
        ).values_list("pk", flat=True)
    )
    purged = 0
    for case_id in candidates:
        with transaction.atomic():
            case = Case.objects.select_for_update().get(pk=case_id)
            if not _expired(case, cutoff):
                continue
            counts = erase_personal_data(case, now)
            record(action="case.purge", actor=None, obj=case, detail=counts | {"retention_days": settings.RETENTION_DAYS})
            emit(type="case.purged", organisations=organisations_that_held(case), case_id=case.pk)
            purged += 1
    with transaction.atomic():
        # Idempotency-Key records past their replay window serve nothing, and nothing else removes them.
        idempotency_records = expire_idempotency_records(now)
        record(
            action="retention.purge_run",
            actor=None,
            object_type="retention",
            detail={
                "purged": purged,
                "retention_days": settings.RETENTION_DAYS,
                "idempotency_records_deleted": idempotency_records,
            },
        )
    return purged


@transaction.atomic
def legal_hold_set(*, actor: Actor, case: Case, reason: str) -> Case:
    """The auditor puts a case on legal hold: neither the purge nor erasure touches it until released."""
    case = _locked(case)
    if case.purged_at is not None:
        raise Conflict(_("The identity and free text of this case are already erased."))
    if case.legal_hold:
        raise Conflict(_("The case is already on legal hold."))
    case.legal_hold, case.legal_hold_since, case.legal_hold_reason = True, timezone.now(), reason
    case.save(update_fields=["legal_hold", "legal_hold_since", "legal_hold_reason", "updated_at"])
    record(action="case.legal_hold", actor=actor, obj=case, detail={"reason": reason})
    return case


@transaction.atomic
def legal_hold_release(*, actor: Actor, case: Case) -> Case:
    """The auditor releases a legal hold; a case past retention is purged at the next run."""
    case = _locked(case)
    if not case.legal_hold:
        raise Conflict(_("The case is not on legal hold."))
    reason = case.legal_hold_reason
    case.legal_hold, case.legal_hold_since, case.legal_hold_reason = False, None, ""
    case.save(update_fields=["legal_hold", "legal_hold_since", "legal_hold_reason", "updated_at"])
    record(action="case.legal_hold_release", actor=actor, obj=case, detail={"reason": reason})
    return case
