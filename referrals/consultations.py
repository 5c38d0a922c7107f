"""Consultations: "can you take this?" before any identity is shared (README, "Ask before you share").

A caseworker asks one or more members at once with triage data only; each asked member
answers ``yes``, ``no`` or ``waitlist`` with a short note by the urgency's acknowledge
deadline (late answers are noticed once, like referrals); the asker may withdraw; a
``yes`` becomes a referral in one step, linked to its request. No case, consent or
identity is needed or accepted: ``consultation_create`` refuses every other field.

The state machine, in one place: a request is ``pending`` until it is ``answered`` or
``withdrawn`` (with its consultation); a consultation is ``open`` while a request is
pending, then ``answered``, or ``withdrawn`` by its asker while open. Each write runs in
one transaction, locks the consultation before its requests, is audited (codes only) and
evented (ids and codes only, each asked member told only of its own request).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.audit.services import record
from coalition.core.actors import Actor, person_and_system
from coalition.core.errors import Conflict, Forbidden, InvalidField, PreconditionFailed
from coalition.events.services import emit
from partners.choices import MembershipStatus, OrganisationKind
from partners.models import Organisation

from . import services
from .actions import may_act
from .choices import ConsultationAnswer, ConsultationRequestStatus, ConsultationStatus, ReferralKind
from .deadlines import deadlines_for
from .models import Case, Consultation, ConsultationRequest, Referral
from .policy import require_membership_allows

# The only fields a consultation takes: triage codes and a short question. Nothing that names anyone.
TRIAGE_FIELDS = ("phenomenon", "urgency", "requested_service", "age", "gender", "region", "language")
CONSULTATION_FIELDS = (*TRIAGE_FIELDS, "question")
MAX_ASKED = 10


def _require_actor(actor: Actor, action: str) -> None:
    if not may_act(actor):
        raise Forbidden(_("Only caseworkers (or a partner system with referrals:write) take part in consultations."))
    require_membership_allows(actor, action)


def _checked_fields(data: dict[str, Any]) -> dict[str, Any]:
    extra = sorted(set(data) - set(CONSULTATION_FIELDS))
    if extra:
        raise InvalidField(extra[0], _("A consultation carries triage data only: no case, consent or identity."))
    question = (data.get("question") or "").strip()
    if len(question) > settings.CONSULTATION_QUESTION_MAX_LENGTH:
        raise InvalidField("question", _("At most %(max)s characters.") % {"max": settings.CONSULTATION_QUESTION_MAX_LENGTH})
    return {**{name: data[name] for name in TRIAGE_FIELDS if name in data}, "question": question}


def _asked_members(actor: Actor, organisations: Iterable[Organisation]) -> list[Organisation]:
    asked = {organisation.pk: organisation for organisation in organisations}
    if not asked:
        raise InvalidField("organisations", _("Ask at least one member."))
    if len(asked) > MAX_ASKED:
        raise InvalidField("organisations", _("Ask at most %(max)s members at once.") % {"max": MAX_ASKED})
    for organisation in asked.values():
        if organisation.pk == actor.organisation.pk:
            raise InvalidField("organisations", _("Your organisation cannot consult itself."))
        if organisation.kind == OrganisationKind.COORDINATOR:
            raise InvalidField("organisations", _("The coordination does not take cases."))
        if organisation.membership_status != MembershipStatus.ACTIVE or not organisation.accepting_referrals:
            raise InvalidField("organisations", _("%(name)s is not an active member accepting referrals.")
                               % {"name": organisation.name})
    return sorted(asked.values(), key=lambda organisation: organisation.name)


@transaction.atomic
def consultation_create(*, actor: Actor, data: dict[str, Any], organisations: Iterable[Organisation]) -> Consultation:
    """Ask ``organisations`` whether they can take a young person described by triage data only."""
    _require_actor(actor, "consultation.create")
    fields = _checked_fields(data)
    asked = _asked_members(actor, organisations)
    now = timezone.now()
    consultation = Consultation.objects.create(asker=actor.organisation, created_at=now, **fields, **Consultation.by(actor))
    requests = ConsultationRequest.objects.bulk_create([
        ConsultationRequest(consultation=consultation, organisation=organisation,
                            answer_due=deadlines_for(consultation.urgency, now, country=organisation.country)[0])
        for organisation in asked
    ])
    record(action="consultation.create", actor=actor, obj=consultation, detail={"asked": len(requests)})
    for request in requests:  # each asked member learns of its own request only
        emit(type="consultation.asked", organisations=[request.organisation_id], data=_event_data(request))
    return consultation


def _event_data(request: ConsultationRequest, **extra: str) -> dict[str, str]:
    return {"consultation": str(request.consultation_id), "request": str(request.pk),
            "urgency": request.consultation.urgency, **extra}


def _locked(consultation_id) -> Consultation:
    return Consultation.objects.select_for_update().select_related("asker").get(pk=consultation_id)


def _check_version(consultation: Consultation, expected_version: int | None) -> None:
    if expected_version is not None and consultation.version != expected_version:
        raise PreconditionFailed(_("The consultation changed since you read it; read it again."))


def _settle(consultation: Consultation) -> None:
    """The consultation's status after one of its requests moved on; the caller saves it."""
    if consultation.status == ConsultationStatus.OPEN and not consultation.requests.filter(
        status=ConsultationRequestStatus.PENDING
    ).exists():
        consultation.status = ConsultationStatus.ANSWERED


@transaction.atomic
def consultation_answer(*, actor: Actor, request: ConsultationRequest, answer: str, note: str = "",
                        expected_version: int | None = None) -> ConsultationRequest:
    """The asked member answers its request: yes, no or waitlist, with a short note; once."""
    _require_actor(actor, "consultation.answer")
    consultation = _locked(request.consultation_id)
    _check_version(consultation, expected_version)
    request = ConsultationRequest.objects.select_for_update().get(pk=request.pk)
    if request.organisation_id != actor.organisation.pk:
        raise Forbidden(_("Only the member asked answers its request."))
    if answer not in ConsultationAnswer.values:
        raise InvalidField("answer", _("Answer yes, no or waitlist."))
    note = (note or "").strip()
    if len(note) > settings.CONSULTATION_NOTE_MAX_LENGTH:
        raise InvalidField("note", _("At most %(max)s characters.") % {"max": settings.CONSULTATION_NOTE_MAX_LENGTH})
    if request.status == ConsultationRequestStatus.WITHDRAWN:
        raise Conflict(_("The asker withdrew this consultation."))
    if request.status != ConsultationRequestStatus.PENDING:
        raise Conflict(_("Your organisation has already answered this consultation."))
    person, api_key = person_and_system(actor)
    request.status = ConsultationRequestStatus.ANSWERED
    request.answer, request.note, request.answered_at = answer, note, timezone.now()
    request.answered_by, request.answered_by_api_key = person, api_key
    request.save()
    _settle(consultation)
    consultation.bump_version()
    consultation.save()
    record(action="consultation.answer", actor=actor, obj=consultation, detail={"answer": answer})
    emit(type="consultation.answered", organisations=[consultation.asker_id, request.organisation_id],
         data=_event_data(request, answer=answer))
    return request


@transaction.atomic
def consultation_withdraw(*, actor: Actor, consultation: Consultation, expected_version: int | None = None) -> Consultation:
    """The asker withdraws its open consultation; the members yet to answer need not."""
    _require_actor(actor, "consultation.withdraw")
    consultation = _locked(consultation.pk)
    _check_version(consultation, expected_version)
    if consultation.asker_id != actor.organisation.pk:
        raise Forbidden(_("Only the member that asked withdraws a consultation."))
    if consultation.status != ConsultationStatus.OPEN:
        raise Conflict(_("Only an open consultation can be withdrawn."))
    pending = list(consultation.requests.select_for_update().filter(status=ConsultationRequestStatus.PENDING))
    ConsultationRequest.objects.filter(pk__in=[r.pk for r in pending]).update(status=ConsultationRequestStatus.WITHDRAWN)
    consultation.status, consultation.withdrawn_at = ConsultationStatus.WITHDRAWN, timezone.now()
    consultation.bump_version()
    consultation.save()
    record(action="consultation.withdraw", actor=actor, obj=consultation, detail={"pending_withdrawn": len(pending)})
    for request in pending:
        emit(type="consultation.withdrawn", organisations=[request.organisation_id], data=_event_data(request))
    return consultation


@transaction.atomic
def consultation_refer(*, actor: Actor, request: ConsultationRequest, case: Case, kind: str = ReferralKind.SERVICE,
                       consent=None, legal_basis: str = "", legal_basis_justification: str = "",
                       reason: str = "") -> Referral:
    """Turn a ``yes`` into a referral in one step: drafted from the consultation's triage and sent, linked to it.

    The asker now chooses the case and the legal basis (a consent, or a justified
    exception); the referral is made and sent by the referrals' own services, with every
    rule of theirs. One referral per answer.
    """
    _require_actor(actor, "referral.create")
    consultation = _locked(request.consultation_id)
    request = ConsultationRequest.objects.select_for_update().select_related("organisation").get(pk=request.pk)
    if consultation.asker_id != actor.organisation.pk:
        raise Forbidden(_("Only the member that asked turns an answer into a referral."))
    if request.answer != ConsultationAnswer.YES:
        raise Conflict(_("Only a yes can become a referral."))
    if request.referral_id is not None:
        raise Conflict(_("This answer has already become a referral."))
    data: dict[str, Any] = {name: getattr(consultation, name) for name in TRIAGE_FIELDS}
    data |= {"recipient": request.organisation, "kind": kind, "consent": consent, "legal_basis": legal_basis,
             "legal_basis_justification": legal_basis_justification, "reason": reason}
    if data["age"] is None:
        data.pop("age")
    referral = services.referral_create(actor=actor, case=case, data=data)
    referral = services.referral_send(actor=actor, referral=referral)
    request.referral = referral
    request.save(update_fields=["referral"])
    consultation.bump_version()  # its representation changed: the request names its referral, refer is no more
    consultation.save(update_fields=["version", "updated_at"])
    record(action="consultation.refer", actor=actor, obj=consultation, case_id=case.pk,
           detail={"referral_kind": kind})
    return referral


def detect_overdue(now: datetime | None = None, *, limit: int = 500) -> int:
    """Notice, once each, the requests still unanswered past their deadline (``consultation.overdue``)."""
    now = now or timezone.now()
    due = list(
        ConsultationRequest.objects.filter(status=ConsultationRequestStatus.PENDING, overdue_noticed_at__isnull=True,
                                           answer_due__lt=now)
        .order_by("answer_due").values_list("pk", flat=True)[:limit]
    )
    noticed = 0
    for pk in due:
        with transaction.atomic():
            request = (
                ConsultationRequest.objects.select_for_update(of=("self",)).select_related("consultation")
                .filter(pk=pk, status=ConsultationRequestStatus.PENDING, overdue_noticed_at__isnull=True).first()
            )
            if request is None:  # answered meanwhile, or noticed by another worker
                continue
            request.overdue_noticed_at = now
            request.save(update_fields=["overdue_noticed_at"])
            record(action="consultation.overdue", actor=None, obj=request.consultation,
                   organisation_id=request.organisation_id, detail={"deadline": "acknowledge"})
            emit(type="consultation.overdue", organisations=[request.consultation.asker_id, request.organisation_id],
                 data=_event_data(request, due=request.answer_due.isoformat()))
            noticed += 1
    return noticed
