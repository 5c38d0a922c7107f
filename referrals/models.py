"""Cases, subjects, consents, referrals, involvements and messages.

Identity lives only on ``Subject``; free text that may describe the young person
(reasons, justifications, messages) is encrypted too. Which organisation holds a
case is ``Case.lead_organisation`` (never null) together with at most one open
lead ``Involvement`` per case (a partial unique index): exactly one lead, by
the database, not only by code.
"""

import uuid
from datetime import datetime, timedelta
from typing import NamedTuple, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value, When
from django.utils import timezone

from coalition.core.authorship import CreatedBy
from coalition.core.crypto import EncryptedTextField
from partners.models import Organisation

from .choices import (
    OPEN_REFERRAL_STATUSES,
    PENDING_REFERRAL_STATUSES,
    CaseOutcome,
    CaseStatus,
    ConsultationAnswer,
    ConsultationRequestStatus,
    ConsultationStatus,
    Deadline,
    DeclineReason,
    ExceptionReview,
    InvolvementRole,
    LegalBasis,
    LegalHoldReason,
    MatchAction,
    MatchKeyKind,
    MatchStatus,
    ReferralKind,
    ReferralOutcome,
    ReferralStatus,
    RequestedService,
    Urgency,
)

_Row = TypeVar("_Row", bound=models.Model)


class VersionedQuerySet(models.QuerySet[_Row, _Row]):
    """Rows whose ``version`` is their ETag."""

    def bump_version(self, **changes) -> int:
        """Write ``changes`` to every row and bump its version, in one UPDATE (no row lock needed)."""
        return self.update(version=F("version") + 1, **changes)


class Versioned:
    """A model whose ``version`` grows with every change and is the ETag clients send in If-Match.

    ``bump_version()`` (one row, saved with its next ``save()``) and
    ``VersionedQuerySet.bump_version()`` (many rows, at once) are the only ways it grows.
    """

    version: int

    def bump_version(self) -> None:
        """The next version. The caller holds the row lock (read FOR UPDATE), so no other writer can interleave."""
        self.version += 1


class Case(Versioned, models.Model):
    """One young person as known to the network, held by exactly one lead organisation.

    ``version`` grows with every change and is the ETag clients send in If-Match.
    A ``legal_hold`` (set and released by the auditor) keeps the case's identity and
    free text from the retention purge and from erasure; ``purged_at`` says when they
    were removed (by the purge or an erasure), after which only metadata remains.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=10, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    lead_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="led_cases")
    phenomena = models.JSONField(default=list)
    region = models.CharField(max_length=6, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=40, choices=CaseOutcome.choices, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    legal_hold = models.BooleanField(default=False)
    legal_hold_since = models.DateTimeField(null=True, blank=True)
    legal_hold_reason = models.CharField(max_length=30, choices=LegalHoldReason.choices, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)
    # Set on a page of cases by the serializer: the subject this actor may see, if any.
    shown_subject: "Subject | None"

    objects = VersionedQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at"]
        indexes = [
            models.Index(fields=["lead_organisation", "status"]),
            models.Index(fields=["-opened_at"]),
            # The retention purge's question: closed cases not yet purged, by closing time.
            models.Index(fields=["closed_at"], condition=Q(purged_at__isnull=True), name="case_awaiting_purge"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status=CaseStatus.OPEN, closed_at__isnull=True, outcome="")
                | Q(status=CaseStatus.CLOSED, closed_at__isnull=False) & ~Q(outcome=""),
                name="case_closed_has_outcome_and_time",
            ),
            models.CheckConstraint(
                condition=Q(legal_hold=False, legal_hold_since__isnull=True, legal_hold_reason="")
                | Q(legal_hold=True, legal_hold_since__isnull=False) & ~Q(legal_hold_reason=""),
                name="case_legal_hold_has_time_and_reason",
            ),
        ]


class Subject(models.Model):
    """The young person's identity: the only place that holds identifying data, all encrypted."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, primary_key=True, related_name="subject")
    given_name = EncryptedTextField()
    family_name = EncryptedTextField(blank=True)
    date_of_birth = EncryptedTextField(blank=True)  # ISO date
    birth_year = EncryptedTextField(blank=True)
    gender = EncryptedTextField(blank=True)
    language = EncryptedTextField(blank=True)
    municipality = EncryptedTextField(blank=True)
    safe_contact = EncryptedTextField(blank=True)
    guardian_contact = EncryptedTextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The fingerprint of the MATCH_KEY this subject's match keys were computed under (none,
    # when the identity gave none); empty: never keyed, or matching was off. ``match_rekey``
    # recomputes every subject whose fingerprint is not the current key's.
    match_keyed_with = models.CharField(max_length=16, blank=True, default="")

    IDENTITY_FIELDS = (
        "given_name", "family_name", "date_of_birth", "birth_year", "gender", "language",
        "municipality", "safe_contact", "guardian_contact",
    )


class Involvement(models.Model):
    """An organisation's part in a case, lead or supporting, from start to end.

    The lead involvements of a case, in order, are its custody timeline.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="involvements")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="involvements")
    role = models.CharField(max_length=12, choices=InvolvementRole.choices)
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    referral = models.ForeignKey("Referral", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(role=InvolvementRole.LEAD, ended_at__isnull=True), name="one_open_lead_per_case"
            ),
            models.UniqueConstraint(
                fields=["case", "organisation"], condition=Q(ended_at__isnull=True), name="one_open_involvement_per_org"
            ),
        ]
        indexes = [models.Index(fields=["organisation", "ended_at"])]


class Consent(models.Model):
    """Agreement to share: by whom, how, for which purposes, to whom, for how long."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="consents")
    given_by = models.CharField(max_length=30)
    method = models.CharField(max_length=20)
    purposes = models.JSONField(default=list)
    recipients = models.JSONField(default=list)  # organisation ids; empty = any active member
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    recorded_by_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="consent_period_in_order",
            )
        ]

    def covers(self, *, recipient_id, purpose: str, on) -> bool:
        """Whether this consent allows sharing with ``recipient_id`` for ``purpose`` on date ``on``."""
        return (
            self.withdrawn_at is None
            and self.valid_from <= on
            and (self.valid_until is None or on <= self.valid_until)
            and purpose in self.purposes
            and (not self.recipients or str(recipient_id) in self.recipients)
        )


class DeadlineRule(NamedTuple):
    """A deadline is missed once ``field`` has passed while the referral is still in one of ``awaiting``."""

    field: str
    awaiting: tuple[str, ...]


# The overdue rule (api_docs/concepts.md, "Deadlines"), stated once: the queryset methods below and
# ``Referral.is_overdue`` both read it, and so does everything that asks what is overdue.
DEADLINE_RULES: dict[str, DeadlineRule] = {
    Deadline.ACKNOWLEDGE: DeadlineRule("acknowledge_due", (ReferralStatus.SENT,)),
    Deadline.DECIDE: DeadlineRule("decide_due", PENDING_REFERRAL_STATUSES),
}


def missed_deadline(deadline: str, now: datetime) -> Q:
    """The condition of a referral that missed ``deadline`` at ``now``."""
    rule = DEADLINE_RULES[deadline]
    return Q(status__in=rule.awaiting, **{f"{rule.field}__lt": now})


def overdue(now: datetime) -> Q:
    """The condition of a referral past any of its deadlines at ``now``."""
    condition = Q()
    for deadline in DEADLINE_RULES:
        condition |= missed_deadline(deadline, now)
    return condition


def next_due() -> models.Case:
    """The time of a referral's next deadline: the first of ``DEADLINE_RULES`` still awaited in its status.

    Sent: acknowledge by; acknowledged: decide by; answered (or a draft): none.
    """
    return models.Case(*(When(status__in=rule.awaiting, then=F(rule.field)) for rule in DEADLINE_RULES.values()),
                       default=None, output_field=models.DateTimeField())


class ReferralQuerySet(VersionedQuerySet["Referral"]):
    """The named sets of referrals every list, job and figure uses, each rule written once."""

    def open(self) -> "ReferralQuerySet":
        """Not answered for good: draft, sent or acknowledged."""
        return self.filter(status__in=OPEN_REFERRAL_STATUSES)

    def pending(self) -> "ReferralQuerySet":
        """Sent and awaiting the recipient's answer."""
        return self.filter(status__in=PENDING_REFERRAL_STATUSES)

    def past_deadline(self, deadline: str, now: datetime) -> "ReferralQuerySet":
        """Those that missed ``deadline`` (``Deadline``) at ``now``."""
        return self.filter(missed_deadline(deadline, now))

    def overdue_at(self, now: datetime) -> "ReferralQuerySet":
        """Those past a deadline at ``now``: acknowledge missed while sent, or decide missed while pending."""
        return self.filter(overdue(now))

    def not_overdue_at(self, now: datetime) -> "ReferralQuerySet":
        return self.exclude(overdue(now))

    def by_deadline(self, now: datetime) -> "ReferralQuerySet":
        """Those of ``overdue_at(now)`` first, then the others; each by its next deadline, soonest (most late) first.

        The order of a work list: what is late, then what falls due next.
        """
        late_first = models.Case(When(overdue(now), then=Value(0)), default=Value(1))
        return self.alias(late_first=late_first, next_due=next_due()).order_by(
            "late_first", F("next_due").asc(nulls_last=True), "created_at", "id"
        )


class Referral(Versioned, CreatedBy):
    """A request from one organisation to another about a case; its lifecycle is in api_docs/concepts.md.

    Only ``referrals.services`` changes ``status``, through ``referrals.transitions``;
    ``version`` is its ETag. ``created_by`` / ``created_by_api_key``: who drafted it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="referrals")
    sender = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="sent_referrals")
    recipient = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="received_referrals")
    kind = models.CharField(max_length=10, choices=ReferralKind.choices)
    status = models.CharField(max_length=15, choices=ReferralStatus.choices, default=ReferralStatus.DRAFT)
    phenomenon = models.CharField(max_length=40)
    urgency = models.CharField(max_length=10, choices=Urgency.choices)
    requested_service = models.CharField(max_length=30, choices=RequestedService.choices)
    reason = EncryptedTextField(blank=True)
    signals = models.JSONField(default=list)
    consent = models.ForeignKey(Consent, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals")
    legal_basis = models.CharField(max_length=20, choices=LegalBasis.choices, blank=True)
    legal_basis_justification = EncryptedTextField(blank=True)
    age = models.PositiveSmallIntegerField(null=True, blank=True)
    gender = models.CharField(max_length=12, blank=True)
    region = models.CharField(max_length=6, blank=True)
    language = models.CharField(max_length=2, blank=True)
    acknowledge_due = models.DateTimeField(null=True, blank=True)
    decide_due = models.DateTimeField(null=True, blank=True)
    decline_reason_code = models.CharField(max_length=30, choices=DeclineReason.choices, blank=True)
    decline_reason = EncryptedTextField(blank=True)
    outcome_code = models.CharField(max_length=30, choices=ReferralOutcome.choices, blank=True)
    rerouted_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reroutes")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["sender", "-created_at"]),
            models.Index(fields=["recipient", "status", "-created_at"]),
            # The incoming list (every status, newest first) reads the top of this
            # index instead of sorting all the organisation's incoming referrals.
            models.Index(fields=["recipient", "-created_at"], name="referral_recipient_created"),
            models.Index(fields=["case", "status"]),
            models.Index(fields=["status", "decide_due"]),
            # The declined referrals an organisation may re-route (the inbox), newest first: the
            # top of this index, not every referral the organisation ever had declined.
            models.Index(fields=["sender", "-declined_at"], condition=Q(status=ReferralStatus.DECLINED),
                         name="referral_declined_by_sender"),
            # Figures count sent referrals by period and codes: read from this index
            # alone (PostgreSQL), not from the whole table.
            models.Index(
                fields=["sent_at"],
                include=["id", "status", "phenomenon", "age", "gender", "recipient", "sender", "outcome_code"],
                condition=Q(sent_at__isnull=False),
                name="referral_figures",
            ),
            # The overdue list sorts every pending referral by its missed deadline:
            # its columns come from this index alone (PostgreSQL), not the table.
            models.Index(
                fields=["status"],
                include=["acknowledge_due", "decide_due", "sent_at", "id", "case", "sender", "recipient", "kind",
                         "urgency", "phenomenon"],
                # An OR, not IN: PostgreSQL re-creates an IN predicate from its own
                # definition as different text, and bench/seed.py rebuilds from it.
                condition=Q(status=ReferralStatus.SENT) | Q(status=ReferralStatus.ACKNOWLEDGED),
                name="referral_pending",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(sender=models.F("recipient")), name="referral_not_to_self"),
        ]

    def has_missed(self, deadline: str, now: datetime) -> bool:
        """Whether this referral missed ``deadline`` at ``now``: ``missed_deadline`` for one row."""
        rule = DEADLINE_RULES[deadline]
        due = getattr(self, rule.field)
        return self.status in rule.awaiting and due is not None and due < now

    def is_overdue(self, now: datetime | None = None) -> bool:
        """Past any deadline at ``now``: ``Referral.objects.overdue_at(now)`` for one row."""
        now = now or timezone.now()
        return any(self.has_missed(deadline, now) for deadline in DEADLINE_RULES)

    def next_deadline(self) -> str | None:
        """The deadline (``Deadline``) awaited next in this status: ``next_due()`` for one row; None once answered."""
        for deadline, rule in DEADLINE_RULES.items():
            if self.status in rule.awaiting:
                return deadline
        return None


class LegalBasisExceptionQuerySet(models.QuerySet):
    def review_overdue_at(self, now: datetime) -> "LegalBasisExceptionQuerySet":
        """Awaiting review for longer than ``EXCEPTION_REVIEW_HOURS`` at ``now``."""
        return self.filter(review_status=ExceptionReview.PENDING, created_at__lt=review_cutoff(now))

    def review_not_overdue_at(self, now: datetime) -> "LegalBasisExceptionQuerySet":
        return self.exclude(review_status=ExceptionReview.PENDING, created_at__lt=review_cutoff(now))


def review_cutoff(now: datetime) -> datetime:
    """An exception created before this and still pending at ``now`` is overdue for review."""
    return now - timedelta(hours=settings.EXCEPTION_REVIEW_HOURS)


class LegalBasisException(models.Model):
    """Sharing without consent: allowed at once, reviewed by a coordinator afterwards."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.OneToOneField(Referral, on_delete=models.PROTECT, related_name="exception")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    basis = models.CharField(max_length=20, choices=LegalBasis.choices)
    justification = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)
    review_status = models.CharField(max_length=10, choices=ExceptionReview.choices, default=ExceptionReview.PENDING)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = EncryptedTextField(blank=True)

    objects = LegalBasisExceptionQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["review_status", "created_at"])]

    def is_review_overdue(self, now: datetime | None = None) -> bool:
        """``LegalBasisException.objects.review_overdue_at(now)`` for one row."""
        now = now or timezone.now()
        return self.review_status == ExceptionReview.PENDING and self.created_at < review_cutoff(now)


class ReferralMessage(CreatedBy):
    """A short note between the sender and recipient organisations of one referral.

    ``organisation`` wrote it; ``created_by`` / ``created_by_api_key`` say who for it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="messages")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    body = EncryptedTextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]


class MatchKey(models.Model):
    """A keyed hash of one subject's normalised identity (``referrals.match_keys``), stored beside it.

    HMAC-SHA256 under ``MATCH_KEY``, a secret that is never in the database: a raw read of
    this table yields no name or date, and nobody holding the table alone can test a guess.
    ``key_id`` is the fingerprint of the secret the digest was made under, so that after a
    rotation only keys under the current secret are compared. Deleted with the subject's
    identity (erasure, purge).
    """

    id = models.BigAutoField(primary_key=True)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="match_keys")
    kind = models.CharField(max_length=30, choices=MatchKeyKind.choices)
    digest = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="one_match_key_per_case_and_kind")]
        indexes = [models.Index(fields=["digest", "key_id"], name="match_key_lookup")]


class Match(Versioned, models.Model):
    """Two open cases of two members that share a match key: "another member knows this young person".

    One per pair of cases however many keys they share (``case_a`` is the lower id, a
    unique pair). Each side (the lead organisation of its case) marks it ``contacted`` or
    ``not_the_same_person`` once; ``status`` follows from the two marks. ``due_at`` is two
    working days after it was found: an open match past it shows in oversight and is
    escalated to the coordinators once (``escalated_at``).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case_a = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    case_b = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    organisation_a = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    organisation_b = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    key_kinds = models.JSONField(default=list)  # the MatchKeyKind codes the two cases shared when found
    status = models.CharField(max_length=20, choices=MatchStatus.choices, default=MatchStatus.OPEN)
    action_a = models.CharField(max_length=20, choices=MatchAction.choices, blank=True)
    acted_a_at = models.DateTimeField(null=True, blank=True)
    acted_a_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    action_b = models.CharField(max_length=20, choices=MatchAction.choices, blank=True)
    acted_b_at = models.DateTimeField(null=True, blank=True)
    acted_b_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    escalated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    objects = VersionedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["case_a", "case_b"], name="one_match_per_pair_of_cases"),
            models.CheckConstraint(condition=~Q(case_a=F("case_b")), name="match_of_two_cases"),
            models.CheckConstraint(condition=~Q(organisation_a=F("organisation_b")), name="match_of_two_members"),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="match_list"),
            models.Index(fields=["due_at"], condition=Q(status=MatchStatus.OPEN, escalated_at__isnull=True),
                         name="match_escalation_due"),
        ]

    def side_of(self, organisation_id) -> str | None:
        """``"a"`` or ``"b"``: the side ``organisation_id`` acts for, by the current lead of each case."""
        if self.case_a.lead_organisation_id == organisation_id:
            return "a"
        if self.case_b.lead_organisation_id == organisation_id:
            return "b"
        return None


class Consultation(Versioned, CreatedBy):
    """"Can you take this?": triage data only, asked of one or more members before any identity is shared.

    No case, no consent, no identity: the phenomenon, the urgency, the age, gender, region,
    language and requested service, and a short ``question`` (encrypted: whatever a person
    types could name someone). Each asked member has a ``ConsultationRequest``; ``status``
    follows from them (``referrals.consultations``).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    asker = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=ConsultationStatus.choices, default=ConsultationStatus.OPEN)
    phenomenon = models.CharField(max_length=40)
    urgency = models.CharField(max_length=10, choices=Urgency.choices)
    requested_service = models.CharField(max_length=30, choices=RequestedService.choices)
    age = models.PositiveSmallIntegerField(null=True, blank=True)
    gender = models.CharField(max_length=12, blank=True)
    region = models.CharField(max_length=6, blank=True)
    language = models.CharField(max_length=2, blank=True)
    question = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VersionedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["asker", "-created_at", "-id"], name="consultation_outgoing")]


class ConsultationRequest(models.Model):
    """One asked member's part of a consultation: its answer by ``answer_due``, and the referral a yes became."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="requests")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=ConsultationRequestStatus.choices,
                              default=ConsultationRequestStatus.PENDING)
    answer = models.CharField(max_length=10, choices=ConsultationAnswer.choices, blank=True)
    note = EncryptedTextField(blank=True)
    answer_due = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    answered_by_api_key = models.ForeignKey("partners.ApiKey", null=True, blank=True, on_delete=models.SET_NULL,
                                            related_name="+")
    overdue_noticed_at = models.DateTimeField(null=True, blank=True)
    referral = models.OneToOneField(Referral, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="consultation_request")

    class Meta:
        ordering = ["consultation", "organisation__name"]
        constraints = [
            models.UniqueConstraint(fields=["consultation", "organisation"], name="one_request_per_asked_member"),
            models.CheckConstraint(
                condition=Q(status=ConsultationRequestStatus.ANSWERED, answered_at__isnull=False) & ~Q(answer="")
                | ~Q(status=ConsultationRequestStatus.ANSWERED) & Q(answer=""),
                name="consultation_answer_when_answered",
            ),
        ]
        indexes = [
            models.Index(fields=["organisation", "status"], name="consultation_incoming"),
            models.Index(fields=["answer_due"], condition=Q(status=ConsultationRequestStatus.PENDING,
                                                         overdue_noticed_at__isnull=True),
                         name="consultation_overdue_due"),
        ]

    def is_overdue(self, now: datetime | None = None) -> bool:
        return self.status == ConsultationRequestStatus.PENDING and self.answer_due < (now or timezone.now())
