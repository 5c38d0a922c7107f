"""Forms of the web app whose rules are the API's: one input contract, two front ends.

A page's form draws its fields (labels, widgets, choices) for people; what the input must
satisfy is decided once, by the API's input serializer for the same action, and then by
the service. ``ContractForm`` runs that serializer on the submitted values and puts its
errors beside their fields, so a rule of the input is never written twice.
"""

from __future__ import annotations

from typing import Any

from django import forms

from .errors import add_serializer_errors


class ContractForm(forms.Form):
    """A form validated by ``contract`` (an API input serializer class) after its own parsing.

    ``contract_context`` is what the serializer needs (the actor, for ids resolved through
    the actor's scope). After ``is_valid()``, ``validated`` holds the serializer's
    ``validated_data``: exactly what the API view would hand the service.
    """

    contract: Any = None
    required_css_class = "required"

    def __init__(self, *args: Any, contract_context: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.contract_context = contract_context or {}
        self.validated: dict[str, Any] = {}

    def contract_input(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        """The serializer's input from the form's cleaned values (override to reshape nested fields)."""
        return {name: value for name, value in cleaned.items() if value not in (None, "", [])}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        serializer = self.contract(data=self.contract_input(cleaned), context=self.contract_context)
        if serializer.is_valid():
            self.validated = dict(serializer.validated_data)
        else:
            add_serializer_errors(self, serializer.errors)
        return cleaned
