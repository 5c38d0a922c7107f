"""Reads on consultations, always through the actor (README, "Ask before you share").

- the asker (its caseworkers, or its API key with ``referrals:read``) sees its
  consultations, the question, and every request with its answer and note;
- an asked member sees the consultations it was asked, the question, and its own request
  only: never who else was asked nor what they answered;
- coordinators see every consultation as metadata (codes, organisations, statuses, times),
  never the question or a note;
- nobody else sees any (a member not asked finds nothing: 404).

A consultation holds no identity; the question and notes are the only free text, kept for
the two sides of each request.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from coalition.core.actors import Actor
from coalition.core.errors import NotFound

from .actions import may_act
from .choices import ConsultationAnswer, ConsultationRequestStatus, ConsultationStatus
from .models import Consultation, ConsultationRequest
from .selectors import acts_for_partner, is_coordinator, may_read


def consultations_visible_to(actor: Actor) -> QuerySet[Consultation]:
    """The consultations the actor may read, newest first, with the requests it may see prefetched."""
    consultations = Consultation.objects.select_related("asker")
    if is_coordinator(actor):
        return consultations.prefetch_related(
            Prefetch("requests", queryset=ConsultationRequest.objects.select_related("organisation", "referral")))
    if not (acts_for_partner(actor) and may_read(actor)):
        return consultations.none()
    org_id = actor.organisation.pk
    asked = ConsultationRequest.objects.filter(consultation=OuterRef("pk"), organisation_id=org_id)
    shown = ConsultationRequest.objects.select_related("organisation", "referral").filter(
        Q(consultation__asker_id=org_id) | Q(organisation_id=org_id))
    return consultations.filter(Q(asker_id=org_id) | Exists(asked)).prefetch_related(Prefetch("requests", queryset=shown))


def consultation_of(actor: Actor, pk) -> Consultation:
    try:
        return consultations_visible_to(actor).get(pk=pk)
    except (Consultation.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def outgoing(actor: Actor, queryset: QuerySet[Consultation]) -> QuerySet[Consultation]:
    return queryset.filter(asker_id=actor.organisation.pk) if acts_for_partner(actor) else queryset.none()


def incoming(actor: Actor, queryset: QuerySet[Consultation]) -> QuerySet[Consultation]:
    if not acts_for_partner(actor):
        return queryset.none()
    asked = ConsultationRequest.objects.filter(consultation=OuterRef("pk"), organisation_id=actor.organisation.pk)
    return queryset.filter(Exists(asked))


def is_asker(actor: Actor, consultation: Consultation) -> bool:
    return acts_for_partner(actor) and consultation.asker_id == actor.organisation.pk


def free_text_visible(actor: Actor, consultation: Consultation) -> bool:
    """The question (and the notes of the requests the actor sees): the asker's and the asked members', not coordinators'."""
    return acts_for_partner(actor) and not is_coordinator(actor)


def triage_details_visible(actor: Actor, consultation: Consultation) -> bool:
    """Exact age, gender and language: for the members, not coordinators (an age band), as on a referral."""
    return acts_for_partner(actor) and not is_coordinator(actor)


def own_request(actor: Actor, consultation: Consultation) -> ConsultationRequest | None:
    """The request made of the actor's organisation, if it was asked."""
    if not acts_for_partner(actor):
        return None
    return next((r for r in consultation.requests.all() if r.organisation_id == actor.organisation.pk), None)


@dataclass(frozen=True)
class RequestView:
    """One request as the actor may see it, with what the actor may do with it now."""

    request: ConsultationRequest
    overdue: bool
    allowed_actions: list[str]


def request_views(actor: Actor, consultation: Consultation, now=None) -> list[RequestView]:
    """The requests of ``consultation`` the actor sees: every one for the asker and coordinators, else its own."""
    asker = is_asker(actor, consultation)
    acting = may_act(actor)
    views = []
    for request in consultation.requests.all():
        if not (asker or is_coordinator(actor) or request.organisation_id == getattr(actor.organisation, "pk", None)):
            continue
        actions = []
        if acting and request.status == ConsultationRequestStatus.PENDING and not asker and (
            request.organisation_id == actor.organisation.pk
        ):
            actions.append("answer")
        if acting and asker and request.answer == ConsultationAnswer.YES and request.referral_id is None:
            actions.append("refer")
        views.append(RequestView(request=request, overdue=request.is_overdue(now), allowed_actions=actions))
    return views


def consultation_allowed_actions(actor: Actor, consultation: Consultation) -> list[str]:
    """What the actor may do with the whole consultation now: the asker withdraws it while it is open."""
    if may_act(actor) and is_asker(actor, consultation) and consultation.status == ConsultationStatus.OPEN:
        return ["withdraw"]
    return []
