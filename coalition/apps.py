from django.apps import AppConfig


class CoalitionConfig(AppConfig):
    name = "coalition"
    verbose_name = "Coalition"

    def ready(self) -> None:
        from .core import db  # noqa: F401  (registers the has_item lookup)

        _errors_never_echo_input()

        from django.core.signals import request_finished

        from .logging import clear_request_id

        request_finished.connect(clear_request_id, dispatch_uid="coalition.clear_request_id")


def _errors_never_echo_input() -> None:
    """Error messages must not repeat what was typed: it may be a young person's name.

    DRF's and Django's choice fields say '"<input>" is not a valid choice'; a
    caseworker who puts a name in the wrong field would see it in the problem body
    and in any log of it. Replace those messages with ones that name no value.
    """
    from django import forms
    from django.utils.translation import gettext_lazy as _
    from rest_framework import fields

    message = _("Not one of the allowed values.")
    fields.ChoiceField.default_error_messages = {**fields.ChoiceField.default_error_messages, "invalid_choice": message}
    forms.ChoiceField.default_error_messages = {**forms.ChoiceField.default_error_messages, "invalid_choice": message}
    forms.MultipleChoiceField.default_error_messages = {
        **forms.MultipleChoiceField.default_error_messages,
        "invalid_choice": message,
    }
