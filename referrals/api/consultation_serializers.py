"""Input and output shapes of consultations (api_docs/guide.md, "Consultations"). Nothing here names anyone.

A consultation takes triage codes and a short question only. Its input serializers refuse
every field they do not declare (a 400 naming it), unlike DRF's default of ignoring them:
a ``case``, a ``consent``, a ``subject`` or a name sent along must not be dropped silently
as if it had been taken. The triage fields are the referral input's own (the same codes,
the same checks), taken from ``ReferralWriteSerializer``, not copied.

The output (``ConsultationSerializer``) is shaped by the actor, through
``referrals.consultation_selectors``: the asker sees every request with its answer and
note; an asked member sees its own request only; coordinators see metadata (no question,
no note, no exact age, gender or language: an age band).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from partners.api.serializers import UniqueListField
from partners.choices import Language
from partners.selectors import organisations_visible_to

from .. import consultation_selectors as cs
from ..choices import (
    ConsultationAnswer,
    ConsultationRequestStatus,
    ConsultationStatus,
    Gender,
    ReferralKind,
    age_band,
)
from ..consultations import MAX_ASKED
from ..models import Consultation
from . import serializers as s

# What ``allowed_actions`` may hold (``referrals.consultation_selectors``), labelled: a consent's
# actions are also just "withdraw", and the schema tells the two enums apart by their labels.
CONSULTATION_ACTIONS = [("withdraw", _("Withdraw the consultation"))]
CONSULTATION_REQUEST_ACTIONS = [("answer", _("Answer the request")), ("refer", _("Turn the yes into a referral"))]
_DATETIME = serializers.DateTimeField()


def _triage_field(name: str) -> serializers.Field:
    """The referral input's field ``name`` (its codes, its checks), for a serializer of its own."""
    return copy.deepcopy(s.ReferralWriteSerializer._declared_fields[name])


class StrictInputSerializer(serializers.Serializer):
    """Refuses any field it does not declare, naming each (400), instead of ignoring it."""

    unknown_field_message = _("Not a field of this request.")

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: [self.unknown_field_message] for name in unknown})
        return super().to_internal_value(data)


class ConsultationCreateSerializer(StrictInputSerializer):
    """Ask one or more members whether they can take a young person: triage codes and a short question only."""

    unknown_field_message = _("A consultation carries triage data only: no case, consent or identity.")

    phenomenon = _triage_field("phenomenon")
    urgency = _triage_field("urgency")
    requested_service = _triage_field("requested_service")
    age = _triage_field("age")
    gender = _triage_field("gender")
    region = _triage_field("region")
    language = _triage_field("language")
    question = serializers.CharField(
        max_length=settings.CONSULTATION_QUESTION_MAX_LENGTH, required=False, allow_blank=True,
        help_text=_("What you ask, in a sentence or two. Never a name, a date of birth or anything that points to "
                    "the young person."),
    )
    organisations = UniqueListField(
        child=serializers.UUIDField(), min_length=1, max_length=MAX_ASKED,
        help_text=_("The members you ask (active members accepting referrals, not your own organisation)."),
    )

    def validate_organisations(self, value):
        found = {o.pk: o for o in organisations_visible_to(self.context["actor"]).filter(pk__in=value)}
        if len(found) != len(value):
            raise serializers.ValidationError(_("Unknown organisation."))
        return [found[pk] for pk in value]

    def validate(self, attrs):
        for name in ("gender", "region", "language"):
            if attrs.get(name) is None and name in attrs:
                attrs[name] = ""
        return attrs


class ConsultationAnswerSerializer(StrictInputSerializer):
    """Your organisation's answer to the request made of it: once."""

    answer = serializers.ChoiceField(choices=ConsultationAnswer.choices)
    note = serializers.CharField(
        max_length=settings.CONSULTATION_NOTE_MAX_LENGTH, required=False, allow_blank=True,
        help_text=_("A short note for the asker, e.g. when a place frees up. Never a name."),
    )


class ConsultationReferSerializer(StrictInputSerializer, s.ReferralCreateSerializer):
    """Turn a yes into a referral: the case and its legal basis now; the triage comes from the consultation."""

    # The referral input's case, consent, legal basis and reason (their checks too: the consent
    # must be one of the case's); the rest comes from the consultation and the request.
    recipient = phenomenon = urgency = requested_service = signals = None  # type: ignore[assignment]
    age = gender = region = language = rerouted_from = None  # type: ignore[assignment]
    kind = serializers.ChoiceField(choices=ReferralKind.choices, required=False, default=ReferralKind.SERVICE)


# --- output ----------------------------------------------------------------------------------


class ConsultationOrganisationSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class ConsultationRequestSerializer(serializers.Serializer):
    """One asked member's part: its answer (null until given) by answer_due, and the referral a yes became."""

    id = serializers.UUIDField()
    organisation = ConsultationOrganisationSerializer(help_text=_("The member asked."))
    status = serializers.ChoiceField(choices=ConsultationRequestStatus.choices)
    answer = serializers.ChoiceField(choices=ConsultationAnswer.choices, allow_null=True,
                                     help_text=_("Null until the member answers."))
    note = serializers.CharField(allow_null=True, help_text=_("The member's note; null for coordinators."))
    answer_due = serializers.DateTimeField(help_text=_("By when the member should answer: the urgency's "
                                                       "acknowledge deadline."))
    answered_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField(help_text=_("Still pending past answer_due."))
    referral = serializers.UUIDField(allow_null=True, help_text=_("The referral this yes became; null until then."))
    allowed_actions = serializers.ListField(
        child=serializers.ChoiceField(choices=CONSULTATION_REQUEST_ACTIONS),
        help_text=_("answer: the member asked may answer (once); refer: the asker may turn this yes into a "
                    "referral."),
    )


class ConsultationSerializer(serializers.Serializer):
    """A consultation as the actor may see it: no identity, ever; no question or notes for coordinators."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=ConsultationStatus.choices)
    created_at = serializers.DateTimeField()
    asker = ConsultationOrganisationSerializer(help_text=_("The member that asked."))
    phenomenon = _triage_field("phenomenon")
    urgency = _triage_field("urgency")
    requested_service = _triage_field("requested_service")
    age = serializers.IntegerField(allow_null=True, help_text=_("Null when not given, and for coordinators, "
                                                                "who see age_band."))
    age_band = serializers.ChoiceField(choices=s.AGE_BAND_CHOICES, allow_null=True)
    gender = serializers.ChoiceField(choices=Gender.choices, allow_blank=True, allow_null=True,
                                     help_text=_("Null for coordinators."))
    region = serializers.CharField(allow_blank=True)
    language = serializers.ChoiceField(choices=Language.choices, allow_blank=True, allow_null=True,
                                       help_text=_("Null for coordinators."))
    question = serializers.CharField(allow_null=True, help_text=_("Null for coordinators."))
    requests = ConsultationRequestSerializer(
        many=True, help_text=_("Every request for the asker and coordinators; an asked member's own only."))
    allowed_actions = serializers.ListField(
        child=serializers.ChoiceField(choices=CONSULTATION_ACTIONS),
        help_text=_("withdraw: the asker may withdraw it while it is open."),
    )
    version = serializers.IntegerField(help_text=_("Also the ETag; send it as If-Match on a withdrawal or an answer."))

    def to_representation(self, consultation: Consultation) -> dict:
        actor = self.context["actor"]
        free_text = cs.free_text_visible(actor, consultation)
        details = cs.triage_details_visible(actor, consultation)
        return {
            "id": str(consultation.pk),
            "status": consultation.status,
            "created_at": _DATETIME.to_representation(consultation.created_at),
            "asker": _organisation(consultation.asker),
            **{name: getattr(consultation, name) for name in ("phenomenon", "urgency", "requested_service", "region")},
            "age": consultation.age if details else None,
            "age_band": age_band(consultation.age),
            "gender": consultation.gender if details else None,
            "language": consultation.language if details else None,
            "question": consultation.question if free_text else None,
            "requests": [_request(view, free_text) for view in cs.request_views(actor, consultation)],
            "allowed_actions": cs.consultation_allowed_actions(actor, consultation),
            "version": consultation.version,
        }


def _organisation(organisation) -> dict:
    return {"id": str(organisation.pk), "name": organisation.name}


def _request(view: cs.RequestView, free_text: bool) -> dict:
    request = view.request
    return {
        "id": str(request.pk),
        "organisation": _organisation(request.organisation),
        "status": request.status,
        "answer": request.answer or None,
        "note": request.note if free_text else None,
        "answer_due": _DATETIME.to_representation(request.answer_due),
        "answered_at": _DATETIME.to_representation(request.answered_at) if request.answered_at else None,
        "overdue": view.overdue,
        "referral": str(request.referral_id) if request.referral_id else None,
        "allowed_actions": view.allowed_actions,
    }

