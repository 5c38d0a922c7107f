"""The referral form: its fields, the directory it picks the recipient from, and its preview.

Input rules are the API's: ``ReferralForm`` is validated by ``ReferralCreateSerializer`` (a
draft's changes by ``ReferralUpdateSerializer``), so ids resolve through the person's scope
and every limit is the contract's. The directory is ``partners.filters.OrganisationFilter``
over ``partners.selectors.organisations_visible_to``, exactly as ``GET /organisations/``.

The preview is the API's representation of the referral as the recipient gets it while it
is pending: ``ReferralSerializer`` for a caseworker of the recipient (``CaseworkerOf``) on an
unsaved copy of the referral, put in the state sending leaves it in (``as_sent``). Nothing
is written; whatever the selectors hide from the recipient is hidden in the preview too,
because the same selectors decide.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework import serializers

from coalition.core.actors import Actor
from partners.choices import Language, OrganisationKind, Phenomenon, Role
from partners.filters import CAPACITY_ORDERINGS, OrganisationFilter
from partners.models import Organisation
from partners.selectors import organisations_visible_to
from referrals.api.serializers import (
    LegalBasisSerializer,
    ReferralCreateSerializer,
    ReferralSerializer,
    ReferralUpdateSerializer,
    ReferralWriteSerializer,
)
from referrals.choices import (
    ConsentGiver,
    ConsentMethod,
    ConsentPurpose,
    Gender,
    LegalBasis,
    ReferralKind,
    ReferralStatus,
    RequestedService,
    Signal,
    Urgency,
)
from referrals.deadlines import deadlines_for
from referrals.models import Case, Consent, Referral, Subject
from referrals.policy import membership_allows
from referrals.transitions import transition

from .forms import ContractForm

# The contract's own fields, for their limits and hints: the form states them, the serializer enforces them.
_REASON = cast(serializers.CharField, ReferralCreateSerializer().fields["reason"])
_JUSTIFICATION = cast(serializers.CharField, LegalBasisSerializer().fields["justification"])

SHARING_CONSENT = "consent"
SHARING_LEGAL_BASIS = "legal_basis"


def _interpolated(message, **values: Any):
    """``message % values`` in the language of the request that shows it (a field's help text is built at import)."""
    return lazy(lambda: str(message) % {name: str(value) for name, value in values.items()}, str)()


def _blank(label) -> list[tuple[str, Any]]:
    return [("", label)]


FIELD_TEMPLATE = "web/referrals/_form_field.html"


def _wrap_fields(form: forms.Form) -> None:
    """Each field rendered in its own block (Django's field group: label or legend, help, errors, widget)."""
    for form_field in form.fields.values():
        form_field.template_name = FIELD_TEMPLATE  # type: ignore[attr-defined]  # Django 5's per-field template


class FreeText(forms.CharField):
    """A text area's value with the browser's CRLF line ends read as one character, as the browser counts them."""

    def to_python(self, value):
        text = super().to_python(value)
        return text.replace("\r\n", "\n") if text else text


# --- the directory ------------------------------------------------------------------


class DirectoryFilterForm(forms.Form):
    """The directory's filters as a person sets them (a GET form); ``partners.filters`` applies them.

    "Accepting" is not offered as a choice: only members that accept referrals now can be picked.
    """

    phenomenon = forms.ChoiceField(
        label=_("Phenomenon"), required=False, choices=_blank(_("Any phenomenon")) + list(Phenomenon.choices)
    )
    age = forms.IntegerField(label=_("Age"), required=False, min_value=0, max_value=25)
    region = forms.CharField(
        label=_("Region"), required=False, max_length=10, help_text=_("An ISO 3166-2 code such as BE-VLG or NL-NH.")
    )
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=_blank(_("Any language")) + list(Language.choices)
    )
    has_capacity = forms.BooleanField(label=_("Only members with places available now"), required=False)
    ordering = forms.ChoiceField(
        label=_("Order"), required=False,
        choices=[("", _("By name")), ("-capacity", _("Most places available first"))],
    )

    # The filters the case fills in; the capacity filter and the order are the person's own choice.
    FIELDS = ("phenomenon", "age", "region", "language")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "filter-%s")  # the referral form beside it has fields of the same names
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["has_capacity"].help_text = ngettext(
            "Capacity not confirmed for %(days)s day is stale and does not count.",
            "Capacity not confirmed for %(days)s days is stale and does not count.",
            settings.CAPACITY_STALE_DAYS,
        ) % {"days": settings.CAPACITY_STALE_DAYS}
        _wrap_fields(self)

    def filters(self) -> dict[str, Any]:
        """The valid filters, for ``OrganisationFilter`` (a filter with an error is left out; an unticked box is none)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        filters = {name: value for name, value in self.cleaned_data.items() if value not in (None, "", False)}
        if filters.get("has_capacity"):
            filters["has_capacity"] = "true"
        return filters


@dataclass
class Directory:
    """The members a person may pick as the recipient of a referral from their organisation.

    The coalition's directory (``organisations_visible_to``) narrowed by the API's own
    ``accepting`` filter (active members accepting referrals now), without the person's
    own organisation, the coordination (neither may receive a referral: the services
    refuse both at sending) and ``excluded`` (a re-route leaves out who declined).
    """

    actor: Actor
    excluded: Collection[Any] = field(default_factory=tuple)

    def eligible(self) -> QuerySet[Organisation]:
        base = (
            organisations_visible_to(self.actor)
            .exclude(pk=self.actor.organisation.pk)
            .exclude(kind=OrganisationKind.COORDINATOR)
            .exclude(pk__in=list(self.excluded))
        )
        return OrganisationFilter({"accepting": "true"}, queryset=base).qs.prefetch_related("capacity")

    def offered(self, filters: dict[str, Any]) -> QuerySet[Organisation]:
        """The eligible members that fit ``filters`` (phenomenon, age, region, language, capacity), in their order.

        By name, or with ``ordering`` by the places available now (the API's ``ordering=capacity``), then by name.
        """
        members = OrganisationFilter(filters, queryset=self.eligible()).qs
        by_places = CAPACITY_ORDERINGS.get(filters.get("ordering", ""))
        return members.order_by(by_places, "name") if by_places else members.order_by("name")

    def listing(self, filters: dict[str, Any], selected: str | None) -> tuple[list[Organisation], str]:
        """The members to list for ``filters``, and where the ``selected`` one stands among them.

        The second value is ``"listed"`` (it fits the filters), ``"kept"`` (eligible but filtered
        out: listed first all the same), ``"unavailable"`` (no longer eligible: not listed) or
        ``""`` (nothing selected). One query, two when the selection is not among the fitting.
        """
        members = list(self.offered(filters))
        if not selected:
            return members, ""
        if any(str(member.pk) == str(selected) for member in members):
            return members, "listed"
        try:
            kept = self.eligible().filter(pk=selected).first()
        except (ValueError, TypeError, ValidationError):
            kept = None
        if kept is None:
            return members, "unavailable"
        return [kept, *members], "kept"


def age_of(subject: Subject | None, today: date | None = None) -> int | None:
    """The young person's age in years from the date of birth, else the age reached this year from the birth year."""
    if subject is None:
        return None
    today = today or timezone.localdate()
    age: int | None = None
    if subject.date_of_birth:
        try:
            born = date.fromisoformat(subject.date_of_birth)
        except ValueError:
            born = None
        if born is not None:
            age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age is None and subject.birth_year:
        try:
            age = today.year - int(subject.birth_year)
        except ValueError:
            age = None
    return age if age is not None and 0 <= age <= 25 else None


def case_triage(case: Case, subject: Subject | None) -> dict[str, Any]:
    """What a referral from ``case`` starts with: the case's first phenomenon and region, the subject's age, gender
    and language (``subject`` as ``referrals.selectors.subjects_shown_to`` gave it, or None)."""
    phenomena = list(case.phenomena or [])
    return {
        "phenomenon": phenomena[0] if phenomena else "",
        "region": case.region or "",
        "age": age_of(subject),
        "gender": (subject.gender if subject is not None else "") or "",
        "language": (subject.language if subject is not None else "") or "",
    }


# --- the referral form ---------------------------------------------------------------


class ReferralForm(ContractForm):
    """A new referral from a case; ``ReferralCreateSerializer`` decides what is valid.

    ``sharing`` says which legal basis the referral relies on: one of the case's consents,
    or a legal-basis exception with its justification (the API's nested ``legal_basis``).
    """

    contract: type[ReferralWriteSerializer] = ReferralCreateSerializer

    recipient = forms.CharField(label=_("Recipient"), error_messages={"required": _("Choose the recipient.")})
    kind = forms.ChoiceField(
        label=_("Kind of referral"), choices=ReferralKind.choices, widget=forms.RadioSelect,
        help_text=_("A service referral asks for help while your organisation keeps the lead; "
                    "a transfer hands the lead of the case to the recipient when it accepts."),
    )
    phenomenon = forms.ChoiceField(label=_("Phenomenon"), choices=_blank("—") + list(Phenomenon.choices))
    urgency = forms.ChoiceField(
        label=_("Urgency"), choices=Urgency.choices, widget=forms.RadioSelect,
        help_text=_("Sets the recipient's deadlines: immediate 1 hour to acknowledge and 4 to decide, "
                    "urgent 4 and 24 hours, normal 2 and 5 working days."),
    )
    requested_service = forms.ChoiceField(
        label=_("Requested service"), choices=_blank("—") + list(RequestedService.choices)
    )
    reason = FreeText(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 5}),
        max_length=_REASON.max_length,
        help_text=_interpolated(
            _("%(hint)s At most %(max)s characters. Never the young person's name or contact details: "
              "the recipient sees them only after accepting."),
            hint=_REASON.help_text, max=_REASON.max_length,
        ),
    )
    signals = forms.MultipleChoiceField(
        label=_("Signals"), required=False, choices=Signal.choices, widget=forms.CheckboxSelectMultiple,
        help_text=_("What was noticed, by category."),
    )
    age = forms.IntegerField(label=_("Age in years"), required=False, min_value=0, max_value=25)
    gender = forms.ChoiceField(label=_("Gender"), required=False, choices=_blank("—") + list(Gender.choices))
    region = forms.CharField(
        label=_("Region"), required=False, max_length=6, help_text=_("An ISO 3166-2 code such as BE-VLG or NL-NH.")
    )
    language = forms.ChoiceField(label=_("Language"), required=False, choices=_blank("—") + list(Language.choices))
    sharing = forms.ChoiceField(
        label=_("Sharing is allowed by"), required=False, widget=forms.RadioSelect,
        choices=[(SHARING_CONSENT, _("A consent recorded in the case")),
                 (SHARING_LEGAL_BASIS, _("A legal basis, without consent"))],
        help_text=_("A draft may be saved without it; sending needs one."),
    )
    consent = forms.CharField(label=_("Consent"), required=False, widget=forms.RadioSelect)
    legal_basis = forms.ChoiceField(label=_("Legal basis"), required=False, choices=_blank("—") + list(LegalBasis.choices))
    legal_basis_justification = FreeText(
        label=_("Justification"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        max_length=_JUSTIFICATION.max_length,
        help_text=_interpolated(
            _("State the legal reason for sharing without consent, never who the child is: a coordinator "
              "reviews it afterwards. At least %(min)s and at most %(max)s characters."),
            min=_JUSTIFICATION.min_length, max=_JUSTIFICATION.max_length,
        ),
    )

    def __init__(
        self,
        *args: Any,
        actor: Actor,
        case: Case,
        consents: Iterable[tuple[str, str]] = (),
        directory: Directory,
        rerouted_from: Referral | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, contract_context={"actor": actor, "case": case}, **kwargs)
        _wrap_fields(self)
        self.actor = actor
        self.case = case
        self.directory = directory
        self.rerouted_from = rerouted_from
        cast(forms.ChoiceField, self.fields["kind"]).choices = kind_choices(actor, case)
        consent_field = self.fields["consent"]
        consent_field.widget.choices = list(consents)
        if not consent_field.widget.choices:
            consent_field.help_text = _("No consent is recorded in this case yet.")

    def contract_input(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        """The API's body: every field given (cleared ones as empty), the consent or the nested legal basis."""
        data: dict[str, Any] = {
            name: cleaned.get(name)
            for name in ("recipient", "kind", "phenomenon", "urgency", "requested_service", "age")
        }
        for name in ("reason", "gender", "region", "language"):
            data[name] = cleaned.get(name) or ""
        data["signals"] = list(cleaned.get("signals") or [])
        data["consent"] = None
        data["legal_basis"] = None
        sharing = cleaned.get("sharing")
        if sharing == SHARING_CONSENT and cleaned.get("consent"):
            data["consent"] = cleaned["consent"]
        elif sharing == SHARING_LEGAL_BASIS and cleaned.get("legal_basis"):
            data["legal_basis"] = {
                "basis": cleaned["legal_basis"],
                "justification": cleaned.get("legal_basis_justification") or "",
            }
        data.update(self.extra_contract_input())
        return data

    def extra_contract_input(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"case": str(self.case.pk)}
        if self.rerouted_from is not None:
            extra["rerouted_from"] = str(self.rerouted_from.pk)
        return extra

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        sharing = cleaned.get("sharing")
        if sharing == SHARING_CONSENT and not cleaned.get("consent") and "consent" not in self.errors:
            self.add_error("consent", _("Choose the consent this referral relies on."))
        if sharing == SHARING_LEGAL_BASIS and not cleaned.get("legal_basis") and "legal_basis" not in self.errors:
            self.add_error("legal_basis", _("Choose the legal basis."))
        recipient = self.validated.get("recipient")
        if recipient is not None and not self.directory.eligible().filter(pk=recipient.pk).exists():
            self.add_error("recipient", _("This member is not offered: it does not accept referrals now."))
        if self.errors:
            self.validated = {}
        return cleaned

    def service_values(self) -> dict[str, Any]:
        """What ``referrals.services.referral_create`` takes as ``data`` (the case apart)."""
        values = dict(self.validated)
        values.pop("case", None)
        return values


class DraftForm(ReferralForm):
    """Changes to a draft; ``ReferralUpdateSerializer`` decides (the consent among the draft's case's)."""

    contract = ReferralUpdateSerializer

    def extra_contract_input(self) -> dict[str, Any]:
        return {}


def kind_choices(actor: Actor, case: Case) -> list[tuple[str, Any]]:
    """Service and transfer, as far as the person's organisation may send them in ``case``.

    A transfer only from the case's lead; a suspended member only transfers (``referrals.policy``).
    """
    leads = case.lead_organisation_id == actor.organisation.pk
    return [
        (value, label)
        for value, label in ReferralKind.choices
        if (value != ReferralKind.TRANSFER or leads)
        and membership_allows(actor.organisation, "referral.create", referral_kind=value)
    ]


def consent_choices(consents: Iterable[Consent], names: dict[str, str]) -> list[tuple[str, str]]:
    """The case's consents still usable, each described by who gave it, how, for what, to whom and how long.

    Withdrawn and expired consents are left out: sending would refuse them. Their end is read
    on the date the services check it on (``now.date()``, see ``referrals.services``).
    """
    today = timezone.now().date()
    choices = []
    for consent in consents:
        if consent.withdrawn_at is not None or (consent.valid_until is not None and consent.valid_until < today):
            continue
        purposes = ", ".join(_label(ConsentPurpose, p).lower() for p in consent.purposes)
        if consent.recipients:
            to = ", ".join(names.get(str(r), "?") for r in consent.recipients)
        else:
            to = str(_("any active member"))
        period = (
            _("valid from %(start)s until %(end)s") % {"start": consent.valid_from, "end": consent.valid_until}
            if consent.valid_until
            else _("valid from %(start)s") % {"start": consent.valid_from}
        )
        giver = _label(ConsentGiver, consent.given_by).lower()
        method = _label(ConsentMethod, consent.method).lower()
        label = _("Given by %(giver)s (%(method)s) for %(purposes)s, to %(to)s, %(period)s") % {
            "giver": giver, "method": method, "purposes": purposes, "to": to, "period": period,
        }
        choices.append((str(consent.pk), str(label)))
    return choices


def _label(choices, code: str) -> str:
    return str(choices(code).label) if code in choices.values else code


def initial_from(representation: dict[str, Any]) -> dict[str, Any]:
    """A form's initial values from a referral's API representation for the person (what they may read)."""
    legal_basis = representation.get("legal_basis") or {}
    sharing = SHARING_CONSENT if representation.get("consent") else SHARING_LEGAL_BASIS if legal_basis else ""
    return {
        "recipient": representation.get("recipient"),
        "kind": representation.get("kind"),
        "phenomenon": representation.get("phenomenon"),
        "urgency": representation.get("urgency"),
        "requested_service": representation.get("requested_service"),
        "reason": representation.get("reason") or "",
        "signals": representation.get("signals") or [],
        "age": representation.get("age"),
        "gender": representation.get("gender") or "",
        "region": representation.get("region") or "",
        "language": representation.get("language") or "",
        "sharing": sharing,
        "consent": representation.get("consent"),
        "legal_basis": legal_basis.get("basis") or "",
        "legal_basis_justification": legal_basis.get("justification") or "",
    }


# --- the preview -------------------------------------------------------------------


@dataclass(frozen=True)
class CaseworkerOf:
    """Stands for a caseworker of ``organisation`` (an ``Actor``): whom the preview is shown as.

    Nobody signs in as it and no service takes it; it only lets the selectors answer what
    such a caseworker would be shown.
    """

    organisation: Organisation
    is_partner_system: bool = False
    pk: None = None
    api_key: None = None
    roles: frozenset[str] = frozenset({Role.CASEWORKER})
    scopes: frozenset[str] = frozenset()

    @property
    def organisation_id(self) -> Any:
        return self.organisation.pk

    def has_role(self, role: str) -> bool:
        return role in self.roles


def unsaved_referral(actor: Actor, case: Case, values: dict[str, Any], draft: Referral | None = None) -> Referral:
    """The referral ``values`` describe, never saved: a new draft of ``case`` from the actor's organisation
    (as ``referral_create`` builds it), or a copy of ``draft`` with ``values`` applied (as ``referral_update``)."""
    if draft is None:
        return Referral(case=case, sender=actor.organisation, status=ReferralStatus.DRAFT, **values)
    referral = copy.copy(draft)
    for name, value in values.items():
        setattr(referral, name, value)
    return referral


def as_sent(referral: Referral, now=None) -> Referral:
    """An unsaved copy of ``referral`` in the state sending would leave it in now: status, time, deadlines, version."""
    now = now or timezone.now()
    sent = copy.copy(referral)
    step = transition("send")
    assert step.target is not None
    sent.status = step.target
    sent.sent_at = now
    sent.acknowledge_due, sent.decide_due = deadlines_for(sent.urgency, now, country=sent.recipient.country)
    sent.bump_version()
    return sent


def recipient_view(referral: Referral, now=None) -> dict[str, Any]:
    """What a caseworker of the recipient is given of ``referral`` once sent and until it accepts: the API's
    representation for them (``ReferralSerializer``), built without writing anything."""
    return dict(ReferralSerializer(as_sent(referral, now), context={"actor": CaseworkerOf(referral.recipient)}).data)
