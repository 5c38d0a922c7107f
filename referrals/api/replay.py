"""How an ``Idempotency-Key`` replay renders a referrals resource again: as a GET by the current actor would.

Nothing of the first answer is stored (``coalition.api.idempotency``): the resource is
read again through the actor's selectors and shaped by the same serializers, so
identity shows only while still visible to whoever replays, and is audited as a read.
"""

from __future__ import annotations

from coalition.api.etag import etag_for
from coalition.api.idempotency import register_replay

from .. import consultation_selectors, match_selectors, selectors
from ..models import Case, Consent, Consultation, Match, Referral, ReferralMessage
from . import consultation_serializers, match_serializers
from . import serializers as s


def _context(view) -> dict:
    return {"actor": view.request.user, "request": view.request}


def render_case(view, pk):
    actor = view.request.user
    case = selectors.cases_visible_to(actor).select_related("subject").filter(pk=pk).first()
    if case is None:
        return None
    return s.CaseSerializer(case, context=_context(view)).data, {"ETag": etag_for(case)}


def render_referral(view, pk):
    actor = view.request.user
    visible = selectors.referrals_visible_to(actor).select_related("sender", "recipient")
    referral = selectors.with_case_state(actor, visible).filter(pk=pk).first()
    if referral is None:
        return None
    return s.ReferralSerializer(referral, context=_context(view)).data, {"ETag": etag_for(referral)}


def render_consent(view, pk):
    actor = view.request.user
    consent = Consent.objects.filter(pk=pk).first()
    case = None if consent is None else selectors.cases_visible_to(actor).filter(pk=consent.case_id).first()
    if case is None:
        return None
    context = _context(view) | {"case": case}
    return s.ConsentSerializer(consent, context=context).data, {}


def render_message(view, pk):
    actor = view.request.user
    message = ReferralMessage.objects.filter(pk=pk).select_related("referral").first()
    if message is None or not selectors.referrals_visible_to(actor).filter(pk=message.referral_id).exists():
        return None
    if not selectors.may_converse(actor, message.referral):
        return None
    return s.MessageSerializer(message).data, {}


def render_match(view, pk):
    actor = view.request.user
    match = match_selectors.matches_visible_to(actor).filter(pk=pk).first()
    if match is None:
        return None
    serializer = match_serializers.match_serializer_for(actor)
    return serializer(match, context=_context(view)).data, {"ETag": etag_for(match)}


def render_consultation(view, pk):
    actor = view.request.user
    consultation = consultation_selectors.consultations_visible_to(actor).filter(pk=pk).first()
    if consultation is None:
        return None
    body = consultation_serializers.ConsultationSerializer(consultation, context=_context(view)).data
    return body, {"ETag": etag_for(consultation)}


def register() -> None:
    register_replay(Case, render=render_case, case_of=lambda case: case.pk)
    register_replay(Referral, render=render_referral)
    register_replay(Consent, render=render_consent)
    register_replay(ReferralMessage, render=render_message, case_of=lambda message: message.referral.case_id)
    # A match is about two cases and shows no identity: its answers outlive an erasure of either.
    register_replay(Match, render=render_match, case_of=lambda match: None)
    # A consultation holds no identity and belongs to no case (a yes's referral replays as a referral).
    register_replay(Consultation, render=render_consultation, case_of=lambda consultation: None)
