"""The cross-organisation match: writes on match keys and matches.

- ``subject_keyed`` stores a subject's match keys (``referrals.match_keys``), called by
  the subject's create and update services and by ``match_rekey``, in their transaction;
- ``match_case`` looks the case's keys up among the open cases of other members and
  makes one ``Match`` per pair of cases, when both cases have a legal basis for
  sharing with the other member (a valid consent covering information sharing with it,
  or a legal-basis exception that was not flagged);
- ``match_act`` is one side's answer: ``contacted`` or ``not_the_same_person``;
- ``escalate_unattended`` (a job of the worker) escalates each match nobody acted on
  within ``MATCH_ACTION_WORKING_DAYS``, once.

Every key computation, lookup, match and action is audited; the events (``match.found``,
``match.updated``, ``match.escalated``) carry ids and codes only. Nothing happens unless
``MATCH_ENABLED``.

Concurrency: two members keying the same girl at once must not both miss the other.
``match_case`` first takes a transaction-scoped lock on each of the case's digests
(PostgreSQL advisory locks; SQLite runs one writer at a time anyway), so of two
transactions sharing a digest the second waits for the first to commit and then reads
its keys and its consent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.audit.services import record
from coalition.core.actors import Actor, person_and_system
from coalition.core.errors import Conflict, Forbidden, PreconditionFailed
from coalition.events.services import emit
from partners.choices import MembershipStatus

from .choices import CaseStatus, ConsentPurpose, ExceptionReview, MatchAction, MatchStatus
from .deadlines import add_span
from .match_keys import key_id, match_keys
from .models import Case, Consent, Involvement, LegalBasisException, Match, MatchKey, Subject


def matching_enabled() -> bool:
    return bool(settings.MATCH_ENABLED and settings.MATCH_KEY)


# --- keys -----------------------------------------------------------------------------------------


def subject_keyed(*, actor: Actor | None, case: Case, identity: Mapping[str, str]) -> int:
    """Replace the match keys of ``case`` by those of ``identity`` (its subject's plain values); how many.

    Called in the transaction that writes the subject. Stores digests only; marks the
    subject with the fingerprint of the key they were made under (also when the identity
    gives no key, so that ``match_rekey`` does not come back to it).
    """
    if not matching_enabled():
        return 0
    digests = match_keys(identity)
    current = key_id()
    MatchKey.objects.filter(case=case).delete()
    MatchKey.objects.bulk_create(
        [MatchKey(case=case, kind=kind, digest=digest, key_id=current) for kind, digest in sorted(digests.items())]
    )
    Subject.objects.filter(case=case).update(match_keyed_with=current)
    record(action="match.keys_compute", actor=actor, obj=case, detail={"keys": len(digests)})
    return len(digests)


def keys_forget(case: Case) -> None:
    """The erasure and purge hook (``referrals.retention``): the keys go with the identity."""
    MatchKey.objects.filter(case=case).delete()


def subject_identity(subject: Subject) -> dict[str, str]:
    """The fields the keys are made of, decrypted (for ``match_rekey``)."""
    return {name: getattr(subject, name) or "" for name in ("given_name", "family_name", "date_of_birth", "birth_year")}


# --- finding matches ------------------------------------------------------------------------------


def _lock_digests(digests: Iterable[str]) -> None:
    """Serialise the transactions that key or match the same identity (module docstring)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for digest in sorted(set(digests)):
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [int(digest[:15], 16)])


def _basis_for(case: Case, other_organisation_id, on) -> bool:
    """Whether ``case`` may be matched with a case of ``other_organisation_id``: consent or exception."""
    consents = Consent.objects.filter(case=case, withdrawn_at__isnull=True, valid_from__lte=on).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gte=on)
    )
    if any(consent.covers(recipient_id=other_organisation_id, purpose=ConsentPurpose.INFORMATION_SHARING, on=on)
           for consent in consents):
        return True
    return LegalBasisException.objects.filter(case=case).exclude(review_status=ExceptionReview.FLAGGED).exists()


def _matchable(case: Case) -> bool:
    return (
        case.status == CaseStatus.OPEN
        and case.purged_at is None
        and case.lead_organisation.membership_status == MembershipStatus.ACTIVE
    )


def _involved(case_id, organisation_id) -> bool:
    return Involvement.objects.filter(case_id=case_id, organisation_id=organisation_id, ended_at__isnull=True).exists()


def match_case(*, actor: Actor | None, case: Case) -> list[Match]:
    """Look up the keys of ``case`` among other members' open cases; the matches made now (none twice).

    Called after its keys changed, a consent was recorded, an exception was made or the
    case was reopened, in that transaction.
    """
    if not matching_enabled():
        return []
    case = Case.objects.select_related("lead_organisation").get(pk=case.pk)
    own = list(MatchKey.objects.filter(case=case, key_id=key_id()).values_list("kind", "digest"))
    if not own or not _matchable(case):
        return []
    _lock_digests(digest for _kind, digest in own)
    shared: dict = defaultdict(set)
    for other_case, kind in (
        MatchKey.objects.filter(key_id=key_id(), digest__in=[digest for _kind, digest in own])
        .exclude(case=case)
        .exclude(case__lead_organisation=case.lead_organisation)
        .values_list("case_id", "kind")
    ):
        shared[other_case].add(kind)  # a digest is made of its kind's material: equal digests, equal kinds
    today = timezone.localdate()
    made = []
    for other_id, kinds in sorted(shared.items(), key=lambda item: str(item[0])):
        other = Case.objects.select_related("lead_organisation").get(pk=other_id)
        if (
            not _matchable(other)
            or _involved(case.pk, other.lead_organisation_id)
            or _involved(other.pk, case.lead_organisation_id)
            or not _basis_for(case, other.lead_organisation_id, today)
            or not _basis_for(other, case.lead_organisation_id, today)
        ):
            continue
        match = _create(case, other, sorted(kinds))
        if match is not None:
            made.append(match)
    record(action="match.lookup", actor=actor, obj=case, detail={"keys": len(own), "matches": len(made)})
    return made


def _create(case: Case, other: Case, kinds: list[str]) -> Match | None:
    first, second = sorted((case, other), key=lambda c: str(c.pk))
    if Match.objects.filter(case_a=first, case_b=second).exists():
        return None
    now = timezone.now()
    due_at = add_span(now, f"{settings.MATCH_ACTION_WORKING_DAYS}wd", country=first.lead_organisation.country)
    try:
        with transaction.atomic():
            match = Match.objects.create(
                case_a=first, case_b=second, organisation_a=first.lead_organisation,
                organisation_b=second.lead_organisation, key_kinds=kinds, created_at=now, due_at=due_at,
            )
    except IntegrityError:  # made by a concurrent lookup of the other case
        return None
    for side in (first, second):
        record(action="match.create", actor=None, obj=match, case_id=side.pk, organisation_id=side.lead_organisation_id,
               detail={"keys": len(kinds)})
        emit(type="match.found", organisations=[side.lead_organisation_id], case_id=side.pk,
             data={"match": str(match.pk)})
    return match


# --- acting on a match ----------------------------------------------------------------------------


def status_after(action_a: str, action_b: str) -> str:
    """A match's status from its two sides' marks: either "not the same person" settles it, else any contact does."""
    marks = {action_a, action_b}
    if MatchAction.NOT_THE_SAME_PERSON in marks:
        return MatchStatus.NOT_THE_SAME_PERSON
    if MatchAction.CONTACTED in marks:
        return MatchStatus.DONE
    return MatchStatus.OPEN


@transaction.atomic
def match_act(*, actor: Actor, match: Match, action: str, expected_version: int | None = None) -> Match:
    """The actor's side marks the match ``contacted`` or ``not_the_same_person``, once."""
    match = Match.objects.select_for_update().select_related("case_a", "case_b").get(pk=match.pk)
    if expected_version is not None and match.version != expected_version:
        raise PreconditionFailed(_("The match changed since you read it; read it again."))
    side = match.side_of(actor.organisation.pk)
    if side is None:
        raise Forbidden(_("Only the organisations that hold the two cases act on a match."))
    if action not in MatchAction.values:
        raise Conflict(_("Unknown action."))
    if getattr(match, f"action_{side}"):
        raise Conflict(_("Your organisation has already answered this match."))
    now = timezone.now()
    setattr(match, f"action_{side}", action)
    setattr(match, f"acted_{side}_at", now)
    setattr(match, f"acted_{side}_by", person_and_system(actor)[0])
    match.status = status_after(match.action_a, match.action_b)
    match.bump_version()
    match.save()
    own_case = match.case_a if side == "a" else match.case_b
    record(action=f"match.{action}", actor=actor, obj=match, case_id=own_case.pk, detail={"status": match.status})
    emit(type="match.updated", organisations=[match.case_a.lead_organisation_id, match.case_b.lead_organisation_id],
         data={"match": str(match.pk), "status": match.status})
    return match


# --- escalation -----------------------------------------------------------------------------------


def escalate_unattended(now: datetime | None = None, *, limit: int = 200) -> int:
    """Escalate, once each, the open matches nobody acted on by their due time: oversight and the coordinators."""
    now = now or timezone.now()
    due = list(
        Match.objects.filter(status=MatchStatus.OPEN, escalated_at__isnull=True, due_at__lte=now)
        .order_by("due_at").values_list("pk", flat=True)[:limit]
    )
    escalated = 0
    for pk in due:
        with transaction.atomic():
            match = (
                Match.objects.select_for_update(of=("self",)).select_related("case_a", "case_b")
                .filter(pk=pk, status=MatchStatus.OPEN, escalated_at__isnull=True).first()
            )
            if match is None:  # answered meanwhile, or another worker escalated it
                continue
            match.escalated_at = now
            match.save(update_fields=["escalated_at", "updated_at"])
            record(action="match.escalate", actor=None, obj=match, detail={"working_days": settings.MATCH_ACTION_WORKING_DAYS})
            # The sides are the cases' leads now, as for every answer (``Match.side_of``).
            emit(type="match.escalated",
                 organisations=[match.case_a.lead_organisation_id, match.case_b.lead_organisation_id],
                 data={"match": str(match.pk)})
            escalated += 1
    return escalated


# --- rekeying ---------------------------------------------------------------------------------------


def rekey_batch(*, size: int = 500) -> int:
    """Key up to ``size`` subjects not yet keyed under the current ``MATCH_KEY``, and match them; how many.

    ``manage.py match_rekey`` calls it until it returns 0: each batch commits on its own,
    so an interrupted run resumes where it stopped.
    """
    if not matching_enabled():
        return 0
    current = key_id()
    pending = list(
        Subject.objects.exclude(match_keyed_with=current).order_by("case_id").values_list("case_id", flat=True)[:size]
    )
    for case_id in pending:
        with transaction.atomic():
            subject = Subject.objects.select_for_update().filter(case_id=case_id).first()
            if subject is None or subject.match_keyed_with == current:
                continue
            case = Case.objects.get(pk=case_id)
            subject_keyed(actor=None, case=case, identity=subject_identity(subject))
            match_case(actor=None, case=case)
    return len(pending)


def stale_key_count() -> int:
    """Subjects not keyed under the current ``MATCH_KEY`` (what ``match_rekey`` has left to do)."""
    if not matching_enabled():
        return 0
    return Subject.objects.exclude(match_keyed_with=key_id()).count()
