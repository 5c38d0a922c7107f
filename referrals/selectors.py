"""Reads on cases and referrals, always through the actor.

Who sees what (api_docs/concepts.md, "Minimum data" and "Who may do what"):
- a partner organisation (its caseworkers, or its API key with the read scope)
  sees the cases it is or was involved in, and the referrals it sent or received
  (received ones only once sent);
- it sees a case's subject (identity) only while it is involved;
- it sees a referral's free text (reason, justification, decline reason, messages)
  while it is involved in the case or the referral is still pending with it;
- a suspended member sees only its open cases (those it is involved in now) and the
  referrals about them (``referrals.policy``);
- coordinators see metadata of every case and referral, never identity or free text;
- org admins and auditors have no case access here (auditors export through
  the audit trail).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from coalition.audit.selectors import is_auditor
from coalition.audit.services import record_many
from coalition.core.actors import Actor
from partners.choices import ApiKeyScope, Role

from .actions import (
    CaseState,
    allowed_case_actions,
    allowed_consent_actions,
    allowed_referral_actions,
    may_act,
    read_case_states,
)
from .choices import OPEN_REFERRAL_STATUSES, CaseStatus
from .models import (
    Case,
    Consent,
    Involvement,
    LegalBasisException,
    Referral,
    ReferralMessage,
    ReferralQuerySet,
    Subject,
)
from .policy import reads_open_cases_only


def is_coordinator(actor: Actor) -> bool:
    return not actor.is_partner_system and actor.has_role(Role.COORDINATOR)


def acts_for_partner(actor: Actor) -> bool:
    """A caseworker or a partner system: acts on its organisation's cases."""
    return actor.is_partner_system or actor.has_role(Role.CASEWORKER)


def _active_involvement(org_id):
    return Involvement.objects.filter(case=OuterRef("pk"), organisation_id=org_id, ended_at__isnull=True)


def cases_visible_to(actor: Actor) -> QuerySet[Case]:
    if is_coordinator(actor):
        return Case.objects.select_related("lead_organisation")
    if not acts_for_partner(actor):
        return Case.objects.none()
    org_id = actor.organisation.pk
    if reads_open_cases_only(actor):
        # Suspended: its open cases only, to hand them over; closed and past ones are hidden.
        return (
            Case.objects.filter(Exists(_active_involvement(org_id)), status=CaseStatus.OPEN)
            .annotate(identity_visible=Exists(_active_involvement(org_id)))
            .select_related("lead_organisation")
        )
    ever_involved = Involvement.objects.filter(case=OuterRef("pk"), organisation_id=org_id)
    return (
        Case.objects.filter(Exists(ever_involved))
        .annotate(identity_visible=Exists(_active_involvement(org_id)))
        .select_related("lead_organisation")
    )


def may_read(actor: Actor) -> bool:
    """A caseworker, or an API key holding ``referrals:read``: a write-only key reads nothing."""
    if actor.is_partner_system:
        return ApiKeyScope.REFERRALS_READ in actor.scopes
    return actor.has_role(Role.CASEWORKER)


def involved_in(actor: Actor, case: Case) -> bool:
    """The actor acts for a partner involved in the case now: the precondition of every write on it."""
    if not acts_for_partner(actor):
        return False
    annotated = getattr(case, "identity_visible", None)  # the annotation of cases_visible_to
    if annotated is not None:
        return annotated
    return Involvement.objects.filter(case=case, organisation_id=actor.organisation.pk, ended_at__isnull=True).exists()


def identity_visible(actor: Actor, case: Case) -> bool:
    """True only while the actor's organisation is involved in the case, and the actor may read.

    Never for coordinators; never for an API key without ``referrals:read``, not even in
    the answer to its own write.
    """
    return may_read(actor) and involved_in(actor, case)


def subjects_shown_to(actor: Actor, cases: Iterable[Case]) -> dict[Any, Subject]:
    """The subjects of ``cases`` that ``actor`` is shown, keyed by case id; each one shown is audited.

    The one way identity leaves for display, whatever the front end or route: one
    ``subject.read`` entry per case whose subject is returned, all in one insert, written
    before the caller can show anything. If the entries cannot be written this raises and
    nothing is shown. A case without a subject (purged, erased) or not visible gives none.
    """
    shown: dict[Any, Subject] = {}
    for case in cases:
        if not identity_visible(actor, case):
            continue
        subject = getattr(case, "subject", None)  # none once purged or erased
        if subject is not None:
            shown[case.pk] = subject
    if shown:
        ids = list(shown)
        record_many(action="subject.read", actor=actor, object_type="subject", object_ids=ids, cases=ids)
    return shown


def referrals_visible_to(actor: Actor) -> QuerySet[Referral]:
    """Referrals the actor may read: plain rows, cheap to page through.

    Whether the actor's organisation is involved in each referral's case (which
    decides free text) is not joined in here: a page marks it in one query
    (``mark_actor_involvement``), a single referral with ``with_actor_involvement``.
    """
    # A referral reaches anyone but its sender only once sent: a draft withdrawn (or
    # withdrawn by closing the case) before sending stays the sender's alone.
    if is_coordinator(actor):
        return Referral.objects.filter(sent_at__isnull=False)
    if not acts_for_partner(actor):
        return Referral.objects.none()
    org_id = actor.organisation.pk
    visible = Referral.objects.filter(Q(sender_id=org_id) | Q(recipient_id=org_id, sent_at__isnull=False))
    if reads_open_cases_only(actor):
        # Suspended: only the referrals about the open cases it is involved in now.
        involved = Involvement.objects.filter(case=OuterRef("case_id"), organisation_id=org_id, ended_at__isnull=True)
        visible = visible.filter(Exists(involved), case__status=CaseStatus.OPEN)
    return visible


def with_actor_involvement(actor: Actor, queryset: QuerySet[Referral]) -> QuerySet[Referral]:
    """Annotate ``actor_involved``: one index probe per row, for single-referral reads and writes."""
    if not acts_for_partner(actor):
        return queryset
    involved = Involvement.objects.filter(case=OuterRef("case_id"), organisation_id=actor.organisation.pk,
                                          ended_at__isnull=True)
    return queryset.annotate(actor_involved=Exists(involved))


def mark_actor_involvement(actor: Actor, referrals: list[Referral]) -> None:
    """Set ``actor_involved`` where free text depends on it, with one query on the page's cases.

    An ``EXISTS`` per row in the list query would be planned as a hash of all the
    organisation's open involvements, which grows with the organisation's history.
    """
    if not acts_for_partner(actor):
        return
    org_id = actor.organisation.pk
    unknown = [r for r in referrals if _involvement_decides(org_id, r) and not hasattr(r, "actor_involved")]
    if not unknown:
        return
    involved = set(
        Involvement.objects.filter(
            organisation_id=org_id, ended_at__isnull=True, case_id__in={r.case_id for r in unknown}
        ).values_list("case_id", flat=True)
    )
    for referral in unknown:
        # The attribute with_actor_involvement's annotation sets on a queryset's rows.
        referral.actor_involved = referral.case_id in involved  # type: ignore[attr-defined]


def with_case_state(actor: Actor, queryset: QuerySet[Referral]) -> QuerySet[Referral]:
    """Single-referral reads that show ``allowed_actions``: what ``case_state_of`` needs, in the row's own query.

    The actor's involvement (``with_actor_involvement``), the sender's, and the case's
    row; for an actor who may take no action at all, only the first.
    """
    queryset = with_actor_involvement(actor, queryset)
    if not may_act(actor):
        return queryset
    sender_involved = Involvement.objects.filter(
        case=OuterRef("case_id"), organisation_id=OuterRef("sender_id"), ended_at__isnull=True
    )
    return queryset.select_related("case").annotate(sender_involved=Exists(sender_involved))


def case_state_of(actor: Actor, referral: Referral) -> CaseState:
    """The state of the referral's case that its action rules read (``referrals.actions``).

    Set on a page's rows by ``mark_referral_page``; built from the annotations of
    ``with_case_state``, which know the two organisations the rules ask about (the
    actor's and the sender's); else read in one query.
    """
    state = getattr(referral, "case_state", None)
    if state is not None:
        return state
    sender_involved = getattr(referral, "sender_involved", None)
    actor_involved = getattr(referral, "actor_involved", None)
    if sender_involved is not None and actor_involved is not None and Referral.case.is_cached(referral):
        involved = {org for org, yes in ((actor.organisation.pk, actor_involved), (referral.sender_id, sender_involved)) if yes}
        case = referral.case
        return CaseState(
            status=case.status,
            lead_organisation_id=case.lead_organisation_id,
            erased=case.purged_at is not None,
            involved=frozenset(involved),
        )
    return read_case_states([referral.case_id])[referral.case_id]


def referral_allowed_actions(actor: Actor, referral: Referral) -> list[str]:
    """The actions open to ``actor`` on ``referral`` now (``referrals.actions``), for any front end.

    No query on a page marked by ``mark_referral_page`` or a row read through
    ``with_case_state``; one otherwise; none for an actor who may take no action.
    """
    if not may_act(actor):
        return []
    return allowed_referral_actions(actor, referral, case_state_of(actor, referral))


def case_allowed_actions(actor: Actor, case: Case) -> list[str]:
    """The actions open to ``actor`` on ``case`` now; no query on a case read through ``cases_visible_to``."""
    if not may_act(actor):
        return []
    return allowed_case_actions(actor, case, involved=involved_in(actor, case))


def consent_allowed_actions(actor: Actor, consent: Consent, case: Case) -> list[str]:
    """The actions open to ``actor`` on ``consent`` of ``case`` now; no query on a case read through ``cases_visible_to``."""
    if not may_act(actor):
        return []
    return allowed_consent_actions(actor, consent, involved=involved_in(actor, case))


def mark_referral_page(actor: Actor, referrals: list[Referral]) -> None:
    """What a page of referrals shows beyond its rows, in at most one query.

    For an actor who may act on referrals: the state of every case on the page
    (``case_state``, for ``allowed_actions``), from which the actor's involvement
    (``actor_involved``, for free text) is taken too. For the others, involvement only,
    where it decides (``mark_actor_involvement``).
    """
    if not may_act(actor) or not referrals:
        mark_actor_involvement(actor, referrals)
        return
    states = read_case_states({r.case_id for r in referrals})
    org_id = actor.organisation.pk
    for referral in referrals:
        state = states[referral.case_id]
        referral.case_state = state  # type: ignore[attr-defined]
        if not hasattr(referral, "actor_involved"):
            referral.actor_involved = org_id in state.involved  # type: ignore[attr-defined]


def _involvement_decides(org_id, referral: Referral) -> bool:
    """A party to a referral that is no longer a draft or pending reads its free text only while involved."""
    return org_id in (referral.sender_id, referral.recipient_id) and referral.status not in OPEN_REFERRAL_STATUSES


def triage_details_visible(actor: Actor, referral: Referral) -> bool:
    """Exact age, gender and language of a referral: for the partners that see it, never for coordinators.

    Combined, they can single out a child in a small region; a coordinator monitoring
    handovers needs an age band at most (api_docs/concepts.md, "Minimum data").
    """
    return acts_for_partner(actor)


def free_text_visible(actor: Actor, referral: Referral) -> bool:
    """Reason and the other free text: for the two parties while it matters to them, if the actor may read."""
    return may_read(actor) and may_converse(actor, referral)


def may_converse(actor: Actor, referral: Referral) -> bool:
    """The organisations' rule of free text without the read scope: who may post a message on the referral."""
    if not acts_for_partner(actor):
        return False
    org_id = actor.organisation.pk
    if org_id not in (referral.sender_id, referral.recipient_id):
        return False
    if not _involvement_decides(org_id, referral):
        return True
    involved = getattr(referral, "actor_involved", None)
    if involved is None:
        involved = Involvement.objects.filter(case_id=referral.case_id, organisation_id=org_id, ended_at__isnull=True).exists()
    return involved


def referral_filter_overdue(queryset: ReferralQuerySet, overdue: bool, now=None) -> ReferralQuerySet:
    """The overdue referrals of ``queryset`` (or, with ``overdue=False``, the others) at ``now``."""
    now = now or timezone.now()
    return queryset.overdue_at(now) if overdue else queryset.not_overdue_at(now)


def consents_visible_to(actor: Actor, case: Case) -> QuerySet[Consent]:
    """Consents of a case the actor can see (coordinators: all cases, as metadata)."""
    return Consent.objects.filter(case=case)


def involvements_of(case: Case) -> QuerySet[Involvement]:
    return Involvement.objects.filter(case=case).select_related("organisation", "referral").order_by("started_at")


def messages_visible_to(actor: Actor, referral: Referral) -> QuerySet[ReferralMessage]:
    if not free_text_visible(actor, referral):
        return ReferralMessage.objects.none()
    return ReferralMessage.objects.filter(referral=referral).select_related("organisation")


def exceptions_for_review(actor: Actor) -> QuerySet[LegalBasisException]:
    if not is_coordinator(actor):
        return LegalBasisException.objects.none()
    return LegalBasisException.objects.select_related("organisation", "referral")


def cases_for_auditor(actor) -> QuerySet[Case]:
    """Every case, for legal holds and subject rights; nothing for anyone else.

    The auditor reaches identity only through the subject-access export (api_docs/concepts.md, "Minimum data").
    """
    return Case.objects.all() if is_auditor(actor) else Case.objects.none()
