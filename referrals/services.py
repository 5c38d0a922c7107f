"""Writes on cases, consents and referrals: one function per transition.

Each runs in one transaction and locks the rows whose invariants it protects,
always the case before its referrals, so that concurrent actions serialise
instead of deadlocking. ``expected_version`` (from If-Match) turns a stale
write into 412. Nothing else assigns a referral's status or a case's lead.

Who may take the action at all is asked of ``referrals.actions`` under those locks
(the same rule the answers' ``allowed_actions`` list); what the input brings (a
covering consent, a justification, a recipient open to referrals) is checked here.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.audit.services import record
from coalition.core.actors import Actor
from coalition.core.errors import BusinessRuleViolation, Conflict, DomainError, PreconditionFailed
from coalition.events.services import emit
from partners.choices import MembershipStatus, OrganisationKind
from partners.models import Organisation, User

from . import matches
from .actions import (
    CaseState,
    case_open_refusal,
    case_refusal,
    consent_refusal,
    needs_case_state,
    read_case_state,
    referral_refusal,
)
from .choices import (
    CaseStatus,
    ConsentPurpose,
    ExceptionReview,
    InvolvementRole,
    ReferralKind,
    ReferralStatus,
)
from .deadlines import deadlines_for
from .models import Case, Consent, Involvement, LegalBasisException, Referral, ReferralMessage, Subject
from .policy import require_membership_allows
from .transitions import transition

POLICE_KINDS = (OrganisationKind.POLICE_LIAISON, OrganisationKind.PROSECUTION_LIAISON)


def _check_version(obj, expected_version: int | None) -> None:
    if expected_version is not None and obj.version != expected_version:
        raise PreconditionFailed()


def _require(refusal: DomainError | None) -> None:
    """Raise the refusal a rule of ``referrals.actions`` answered, if any."""
    if refusal is not None:
        raise refusal


def _active_involvement(case_id, organisation_id) -> Involvement | None:
    return Involvement.objects.filter(case_id=case_id, organisation_id=organisation_id, ended_at__isnull=True).first()


def _involved(case_id, organisation_id) -> bool:
    return Involvement.objects.filter(case_id=case_id, organisation_id=organisation_id, ended_at__isnull=True).exists()


def _require_not_erased(case: Case) -> None:
    """Refuses new free text for a case whose identity and free text were purged or erased (the caller locked it)."""
    if case.purged_at is not None:
        raise Conflict(_("The free text of this case was erased."))


def _locked_case(case_id) -> Case:
    """The case, read FOR UPDATE.

    The purge and erasure hold this lock while they blank a case, so a rule that reads
    ``purged_at`` from it (no new free text on an erased case) sees the truth: a write
    either lands before them (and is blanked with the rest) or is refused.
    """
    return Case.objects.select_for_update().get(pk=case_id)


def _locked_referral(referral_id) -> Referral:
    return (
        Referral.objects.select_for_update(of=("self",))
        .select_related("case", "sender", "recipient", "consent")
        .get(pk=referral_id)
    )


# --- audit entries and events ----------------------------------------------------------


def _involved_organisations(case_id) -> list:
    return list(Involvement.objects.filter(case_id=case_id, ended_at__isnull=True).values_list("organisation_id", flat=True))


def _referral_event(type_: str, referral: Referral) -> None:
    """A referral event for its two parties; a draft never reached the recipient, so only the sender."""
    parties = [referral.sender_id] if referral.sent_at is None else [referral.sender_id, referral.recipient_id]
    emit(
        type=type_,
        organisations=parties,
        case_id=referral.case_id,
        referral_id=referral.pk,
        data={"status": referral.status, "kind": referral.kind, "urgency": referral.urgency},
        draft=referral.sent_at is None,
    )


def _withdraw_open_referrals_of(case: Case, sender_id, now, *, keep: Referral | None = None) -> int:
    """Withdraw every open referral (draft, sent, acknowledged) ``sender_id`` sent in ``case``.

    Called when the sender's involvement ends (its lead moved on, its support
    completed): a referral may only be accepted while its sender is involved, so
    one that outlived the involvement would bring in an organisation nobody
    still involved chose.
    """
    referrals = Referral.objects.select_for_update().open().filter(case=case, sender_id=sender_id)
    if keep is not None:
        referrals = referrals.exclude(pk=keep.pk)
    return _withdraw_pending(referrals, now)


def _withdraw_pending(referrals, now) -> int:
    """Withdraw referrals as a consequence of another action (close, consent withdrawal, transfer)."""
    count = 0
    for referral in referrals:
        _apply(referral, "withdraw", now)
        _referral_event("referral.withdrawn", referral)
        count += 1
    return count


# --- cases -------------------------------------------------------------------------


@transaction.atomic
def case_open(*, actor: Actor, subject: dict[str, Any], phenomena: list[str], region: str = "") -> Case:
    """Open a case for a young person; the actor's organisation becomes its lead."""
    _require(case_open_refusal(actor))
    organisation = actor.organisation
    now = timezone.now()
    case = Case.objects.create(
        lead_organisation=organisation, opened_by_organisation=organisation, phenomena=phenomena, region=region, opened_at=now
    )
    identity = _subject_values(subject)
    Subject.objects.create(case=case, **identity)
    Involvement.objects.create(case=case, organisation=organisation, role=InvolvementRole.LEAD, started_at=now)
    record(action="case.open", actor=actor, obj=case)
    # The keys only: a new case has no consent and no exception yet, so nothing to match until one comes.
    matches.subject_keyed(actor=actor, case=case, identity=identity)
    return case


def _subject_values(subject: dict[str, Any]) -> dict[str, str]:
    values = {}
    for name, value in subject.items():
        if value is None:
            value = ""
        elif isinstance(value, date):
            value = value.isoformat()
        values[name] = str(value)
    return values


@transaction.atomic
def case_update(*, actor: Actor, case: Case, phenomena=None, region=None, subject=None, expected_version=None) -> Case:
    """The lead changes the case's triage facts or the subject's details."""
    case = _locked_case(case.pk)
    _check_version(case, expected_version)
    _require(case_refusal(actor, case, "update", involved=_involved(case.pk, actor.organisation.pk)))
    if phenomena is not None:
        case.phenomena = phenomena
    if region is not None:
        case.region = region
    subject_row = None
    if subject:
        subject_row = Subject.objects.get(case=case)
        for name, value in _subject_values(subject).items():
            setattr(subject_row, name, value)
        subject_row.save()
    case.bump_version()
    case.save()
    record(action="case.update", actor=actor, obj=case, detail={"subject_changed": bool(subject)})
    if subject_row is not None and matches.matching_enabled():
        matches.subject_keyed(actor=actor, case=case, identity=matches.subject_identity(subject_row))
        matches.match_case(actor=actor, case=case)
    return case


@transaction.atomic
def case_close(*, actor: Actor, case: Case, outcome: str, expected_version=None) -> Case:
    """The lead closes the case with an outcome; open referrals are withdrawn, supporters released."""
    case = _locked_case(case.pk)
    _check_version(case, expected_version)
    _require(case_refusal(actor, case, "close", involved=_involved(case.pk, actor.organisation.pk)))
    now = timezone.now()
    parties = _involved_organisations(case.pk)
    withdrawn = _withdraw_pending(Referral.objects.select_for_update().open().filter(case=case), now)
    Involvement.objects.filter(case=case, ended_at__isnull=True, role=InvolvementRole.SUPPORTING).update(ended_at=now)
    case.status = CaseStatus.CLOSED
    case.closed_at = now
    case.outcome = outcome
    case.bump_version()
    case.save()
    record(action="case.close", actor=actor, obj=case, detail={"outcome": outcome, "referrals_withdrawn": withdrawn})
    emit(type="case.closed", organisations=parties, case_id=case.pk, data={"outcome": outcome})
    return case


@transaction.atomic
def case_reopen(*, actor: Actor, case: Case, expected_version=None) -> Case:
    """The last lead reopens a closed case."""
    case = _locked_case(case.pk)
    _check_version(case, expected_version)
    _require(case_refusal(actor, case, "reopen", involved=_involved(case.pk, actor.organisation.pk)))
    case.status = CaseStatus.OPEN
    case.closed_at = None
    case.outcome = ""
    case.bump_version()
    case.save()
    record(action="case.reopen", actor=actor, obj=case)
    emit(type="case.reopened", organisations=_involved_organisations(case.pk), case_id=case.pk)
    matches.match_case(actor=actor, case=case)
    return case


# --- consent -----------------------------------------------------------------------


@transaction.atomic
def consent_record(*, actor: Actor, case: Case, data: dict[str, Any]) -> Consent:
    """An involved organisation records consent for sharing."""
    case = _locked_case(case.pk)
    _require(case_refusal(actor, case, "record_consent", involved=_involved(case.pk, actor.organisation.pk)))
    data = dict(data)
    data["recipients"] = [str(r) for r in data.get("recipients", [])]
    consent = Consent.objects.create(case=case, recorded_by_organisation=actor.organisation, **data)
    record(action="consent.record", actor=actor, obj=consent)
    if ConsentPurpose.INFORMATION_SHARING in consent.purposes:
        matches.match_case(actor=actor, case=case)
    return consent


@transaction.atomic
def consent_withdraw(*, actor: Actor, consent: Consent) -> Consent:
    """Withdrawal blocks new referrals relying on the consent and withdraws the pending ones.

    Accepted referrals keep what they received: it was shared lawfully at the time.
    """
    _locked_case(consent.case_id)
    consent = Consent.objects.select_for_update().get(pk=consent.pk)
    _require(consent_refusal(actor, consent, "withdraw", involved=_involved(consent.case_id, actor.organisation.pk)))
    now = timezone.now()
    consent.withdrawn_at = now
    consent.save(update_fields=["withdrawn_at"])
    withdrawn = _withdraw_pending(Referral.objects.select_for_update().open().filter(consent=consent), now)
    record(action="consent.withdraw", actor=actor, obj=consent, detail={"referrals_withdrawn": withdrawn})
    emit(type="consent.withdrawn", organisations=_involved_organisations(consent.case_id), case_id=consent.case_id)
    return consent


# --- referrals -----------------------------------------------------------------------


def purpose_for(recipient: Organisation) -> str:
    """Referring to police or prosecution needs consent for a police report; others for care."""
    return ConsentPurpose.POLICE_REPORT if recipient.kind in POLICE_KINDS else ConsentPurpose.CARE_REFERRAL


def _relies_on_flagged_exception(referral: Referral) -> bool:
    """A legal-basis referral whose exception a coordinator flagged, or that re-routes one that was."""
    referral_ids = [referral.pk, referral.rerouted_from_id] if referral.rerouted_from_id else [referral.pk]
    return LegalBasisException.objects.filter(referral_id__in=referral_ids, review_status=ExceptionReview.FLAGGED).exists()


def _require_legal_basis(referral: Referral, on: date) -> None:
    """Sending and accepting need a covering consent or a justified exception that was not flagged.

    An exception counts at once (safety first) while its review is pending, and once
    approved; a flagged one no longer counts for anything that relied on it.
    """
    if referral.legal_basis:
        if len(referral.legal_basis_justification.strip()) < 20:
            raise BusinessRuleViolation(_("A legal-basis exception needs a written justification (at least 20 characters)."))
        if _relies_on_flagged_exception(referral):
            raise BusinessRuleViolation(_("A coordinator flagged this legal-basis exception: it can no longer be relied on."))
        return
    consent = referral.consent
    if consent is None:
        raise BusinessRuleViolation(_("Sharing needs a valid consent or a justified legal-basis exception."))
    if not consent.covers(recipient_id=referral.recipient_id, purpose=purpose_for(referral.recipient), on=on):
        raise BusinessRuleViolation(_("The consent does not cover this recipient, purpose or date, or was withdrawn."))


def _require_recipient_open(recipient: Organisation) -> None:
    if recipient.membership_status != MembershipStatus.ACTIVE or not recipient.accepting_referrals:
        raise BusinessRuleViolation(_("The recipient is not an active member accepting referrals."))
    if recipient.kind == OrganisationKind.COORDINATOR:
        raise BusinessRuleViolation(_("The coordination does not receive referrals."))


def _validate_draft(referral: Referral) -> None:
    if referral.recipient_id == referral.sender_id:
        raise BusinessRuleViolation(_("An organisation cannot refer to itself."))
    if referral.consent is not None and referral.consent.case_id != referral.case_id:
        raise BusinessRuleViolation(_("The consent belongs to another case."))
    if referral.consent_id and referral.legal_basis:
        raise BusinessRuleViolation(_("Give a consent or a legal basis, not both."))
    if referral.kind == ReferralKind.TRANSFER and referral.case.lead_organisation_id != referral.sender_id:
        raise BusinessRuleViolation(_("Only the lead organisation transfers the case."))
    rerouted_from = referral.rerouted_from
    if rerouted_from is not None and (
        rerouted_from.case_id != referral.case_id
        or rerouted_from.sender_id != referral.sender_id
        or rerouted_from.status != ReferralStatus.DECLINED
    ):
        raise BusinessRuleViolation(_("Only a referral of yours that was declined, in the same case, can be re-routed."))


@transaction.atomic
def referral_create(*, actor: Actor, case: Case, data: dict[str, Any]) -> Referral:
    """Draft a referral from the actor's organisation, which must be involved in the open case."""
    case = _locked_case(case.pk)
    involved = _involved(case.pk, actor.organisation.pk)
    _require(case_refusal(actor, case, "create_referral", involved=involved, referral_kind=data.get("kind")))
    referral = Referral(case=case, sender=actor.organisation, status=ReferralStatus.DRAFT, **data, **Referral.by(actor))
    _validate_draft(referral)
    referral.save()
    record(action="referral.create", actor=actor, obj=referral)
    return referral


@transaction.atomic
def referral_update(*, actor: Actor, referral: Referral, data: dict[str, Any], expected_version=None) -> Referral:
    """The sender changes a draft (its reason and justification are free text: refused once the case is erased).

    A suspended member's draft must stay a transfer: its membership is asked again of the changed kind.
    """
    referral, _state = _start_transition(actor, referral, "update", expected_version, lock_case=True)
    for name, value in data.items():
        setattr(referral, name, value)
    require_membership_allows(actor, "referral.update", referral_kind=referral.kind)
    _validate_draft(referral)
    referral.bump_version()
    referral.save()
    record(action="referral.update", actor=actor, obj=referral)
    return referral


def _apply(referral: Referral, action: str, now) -> None:
    """Take ``action`` (``referrals.transitions``): the new status, its time, the next version, saved.

    Every caller holds the referral's row lock (read FOR UPDATE).
    """
    step = transition(action)
    step.require(referral.status)
    assert step.target is not None, f"{action} keeps the status"
    referral.status = step.target
    setattr(referral, f"{step.target}_at", now)
    referral.bump_version()
    referral.save()


def _start_transition(
    actor: Actor, referral: Referral, action: str, expected_version, *, lock_case: bool = False
) -> tuple[Referral, CaseState | None]:
    """Lock (the case, if asked, then) the referral, check If-Match, and refuse what ``action``'s rule refuses.

    Returns the locked referral and, where the rule reads it, the case's state read under the case's lock.
    """
    state = None
    if lock_case:
        case = _locked_case(referral.case_id)
        if needs_case_state(action):
            state = read_case_state(case)
    referral = _locked_referral(referral.pk)
    _check_version(referral, expected_version)
    _require(referral_refusal(actor, referral, action, state))
    return referral, state


@transaction.atomic
def referral_send(*, actor: Actor, referral: Referral, expected_version=None) -> Referral:
    """Send a draft: needs a legal basis and an open recipient; sets the deadlines."""
    referral, state = _start_transition(actor, referral, "send", expected_version, lock_case=True)
    assert state is not None
    _validate_draft(referral)
    _require_recipient_open(referral.recipient)
    if referral.kind == ReferralKind.SERVICE and referral.recipient_id in state.involved:
        raise BusinessRuleViolation(_("The recipient is already involved in this case."))
    now = timezone.now()
    _require_legal_basis(referral, now.date())
    referral.acknowledge_due, referral.decide_due = deadlines_for(referral.urgency, now, country=referral.recipient.country)
    legal_exception = None
    if referral.legal_basis:
        legal_exception = LegalBasisException.objects.create(
            referral=referral,
            case_id=referral.case_id,
            organisation_id=referral.sender_id,
            basis=referral.legal_basis,
            justification=referral.legal_basis_justification,
            created_at=now,
        )
    _apply(referral, "send", now)
    record(action="referral.send", actor=actor, obj=referral, detail={"legal_basis": referral.legal_basis or None})
    _referral_event("referral.sent", referral)
    if legal_exception is not None:
        emit(
            type="exception.review_required",
            organisations=[referral.sender_id],
            case_id=referral.case_id,
            referral_id=referral.pk,
            data={"exception": str(legal_exception.pk), "basis": legal_exception.basis},
        )
        matches.match_case(actor=actor, case=referral.case)  # the exception is a legal basis for the match too
    return referral


@transaction.atomic
def referral_acknowledge(*, actor: Actor, referral: Referral, expected_version=None) -> Referral:
    referral, _state = _start_transition(actor, referral, "acknowledge", expected_version)
    _apply(referral, "acknowledge", timezone.now())
    record(action="referral.acknowledge", actor=actor, obj=referral)
    _referral_event("referral.acknowledged", referral)
    return referral


@transaction.atomic
def referral_accept(*, actor: Actor, referral: Referral, expected_version=None) -> Referral:
    """Accept: the recipient becomes involved; a transfer moves the lead, atomically.

    The case row is locked first, so of two transfers of one case only the
    first accepted moves the lead; the second finds the sender no longer lead (409).
    A referral is accepted only while its sender is still involved in the case (409).
    Both are rules of ``referrals.actions``, asked under the case's lock.
    """
    referral, _state = _start_transition(actor, referral, "accept", expected_version, lock_case=True)
    case = referral.case
    now = timezone.now()
    _require_legal_basis(referral, now.date())
    previous_lead = case.lead_organisation_id
    try:
        with transaction.atomic():
            _move_involvements(referral, case, now)
            _apply(referral, "accept", now)
    except IntegrityError:  # the database refuses a second lead or involvement: never two leads
        raise Conflict(_("The case changed meanwhile. Try again.")) from None
    record(action="referral.accept", actor=actor, obj=referral, detail={"kind": referral.kind})
    _referral_event("referral.accepted", referral)
    if referral.kind == ReferralKind.TRANSFER:
        emit(
            type="case.lead_transferred",
            organisations=[previous_lead, *_involved_organisations(case.pk)],
            case_id=case.pk,
            referral_id=referral.pk,
            data={"from": str(previous_lead), "to": str(referral.recipient_id)},
        )
    return referral


def _move_involvements(referral: Referral, case: Case, now) -> None:
    recipient_involvement = _active_involvement(case.pk, referral.recipient_id)
    if referral.kind == ReferralKind.TRANSFER:
        Involvement.objects.filter(case=case, role=InvolvementRole.LEAD, ended_at__isnull=True).update(ended_at=now)
        if recipient_involvement is not None:
            recipient_involvement.ended_at = now
            recipient_involvement.save(update_fields=["ended_at"])
        Involvement.objects.create(
            case=case, organisation_id=referral.recipient_id, role=InvolvementRole.LEAD, started_at=now, referral=referral
        )
        case.lead_organisation_id = referral.recipient_id
        case.bump_version()
        case.save()
        # The old lead is no longer involved: nothing it still had open may bring anyone in.
        _withdraw_open_referrals_of(case, referral.sender_id, now, keep=referral)
    elif recipient_involvement is None:
        Involvement.objects.create(
            case=case, organisation_id=referral.recipient_id, role=InvolvementRole.SUPPORTING, started_at=now, referral=referral
        )


@transaction.atomic
def referral_decline(*, actor: Actor, referral: Referral, reason_code: str, reason: str, expected_version=None) -> Referral:
    """The recipient declines; the reason is free text, so the case is locked and must not be erased."""
    referral, _state = _start_transition(actor, referral, "decline", expected_version, lock_case=True)
    referral.decline_reason_code = reason_code
    referral.decline_reason = reason
    _apply(referral, "decline", timezone.now())
    record(action="referral.decline", actor=actor, obj=referral, detail={"reason_code": reason_code})
    _referral_event("referral.declined", referral)
    return referral


@transaction.atomic
def referral_withdraw(*, actor: Actor, referral: Referral, expected_version=None) -> Referral:
    referral, _state = _start_transition(actor, referral, "withdraw", expected_version)
    _apply(referral, "withdraw", timezone.now())
    record(action="referral.withdraw", actor=actor, obj=referral)
    _referral_event("referral.withdrawn", referral)
    return referral


@transaction.atomic
def referral_complete(*, actor: Actor, referral: Referral, outcome_code: str, expected_version=None) -> Referral:
    """The recipient completes an accepted referral; a service referral's involvement ends."""
    referral, _state = _start_transition(actor, referral, "complete", expected_version, lock_case=True)
    now = timezone.now()
    if referral.kind == ReferralKind.SERVICE:
        ended = Involvement.objects.filter(
            case_id=referral.case_id,
            organisation_id=referral.recipient_id,
            role=InvolvementRole.SUPPORTING,
            ended_at__isnull=True,
        ).update(ended_at=now)
        if ended:
            _withdraw_open_referrals_of(referral.case, referral.recipient_id, now)
    referral.outcome_code = outcome_code
    _apply(referral, "complete", now)
    record(action="referral.complete", actor=actor, obj=referral, detail={"outcome_code": outcome_code})
    _referral_event("referral.completed", referral)
    return referral


# --- messages and exceptions -----------------------------------------------------------


@transaction.atomic
def message_post(*, actor: Actor, referral: Referral, body: str) -> ReferralMessage:
    """The sender or the recipient writes a message on a sent referral.

    The case is locked first (case before referral, as every transition), and
    ``purged_at`` re-read under that lock: a message racing the purge or erasure of
    its case is either blanked by it or refused (409), never left with its text.
    """
    referral, _state = _start_transition(actor, referral, "message", None, lock_case=True)
    message = ReferralMessage.objects.create(
        referral=referral, organisation=actor.organisation, body=body, **ReferralMessage.by(actor)
    )
    record(action="referral.message_post", actor=actor, obj=message, case_id=referral.case_id)
    emit(
        type="referral.message_posted",
        organisations=[referral.sender_id, referral.recipient_id],
        case_id=referral.case_id,
        referral_id=referral.pk,
        data={"message": str(message.pk)},
    )
    return message


@transaction.atomic
def exception_review(
    *, actor: User, legal_exception: LegalBasisException, decision: str, note: str = ""
) -> LegalBasisException:
    """A coordinator approves or flags a legal-basis exception, once.

    Flagging stops what relied on it: its referral, if still pending, is withdrawn
    (an accepted one keeps what it received, as with a withdrawn consent), and the
    sender organisation is told by an ``exception.flagged`` event (ids and codes,
    never the note or the justification). The case is locked first, as by every
    transition, so a flag and an accept of the same referral serialise, and a note
    is refused once the case's free text was erased.
    """
    case = _locked_case(legal_exception.case_id)
    legal_exception = LegalBasisException.objects.select_for_update().get(pk=legal_exception.pk)
    if legal_exception.review_status != ExceptionReview.PENDING:
        raise Conflict(_("This exception has been reviewed already."))
    if note:  # the note is free text: none is added to an erased case (a review without one still is)
        _require_not_erased(case)
    now = timezone.now()
    legal_exception.review_status = decision
    legal_exception.reviewed_by = actor
    legal_exception.reviewed_at = now
    legal_exception.review_note = note
    legal_exception.save()
    detail: dict[str, Any] = {"decision": decision}
    if decision == ExceptionReview.FLAGGED:
        detail["referrals_withdrawn"] = _withdraw_pending(
            Referral.objects.select_for_update().open().filter(pk=legal_exception.referral_id), now
        )
    record(action="exception.review", actor=actor, obj=legal_exception, detail=detail)
    if decision == ExceptionReview.FLAGGED:
        emit(
            type="exception.flagged",
            organisations=[legal_exception.organisation_id],
            case_id=legal_exception.case_id,
            referral_id=legal_exception.referral_id,
            data={"exception": str(legal_exception.pk), "basis": legal_exception.basis},
        )
    return legal_exception

