"""The web app's one translation of domain errors: beside its field on a form, else at the form's top.

The services raise ``coalition.core.errors`` exceptions in the person's language; the API maps
them to problem details (``coalition.api.problems``), the pages map them here.
"""

from __future__ import annotations

from django import forms
from django.http import Http404
from django.utils.translation import gettext as _

from coalition.core.errors import DomainError, InvalidInput, NotFound, PreconditionFailed


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Put ``error`` on ``form``: a field's message beside the field, anything else as a form error.

    A ``NotFound`` is the 404 page, exactly as for an object outside the person's scope.
    """
    if isinstance(error, NotFound):
        raise Http404() from error
    if isinstance(error, InvalidInput):
        for field, messages in error.errors.items():
            form.add_error(field if field in form.fields else None, [str(m) for m in messages])
        return
    if isinstance(error, PreconditionFailed):
        form.add_error(None, _("Someone changed this meanwhile. Look at it again before you go on."))
        return
    form.add_error(None, str(error.message))


def add_serializer_errors(form: forms.Form, errors: dict) -> None:
    """Put an input serializer's errors on ``form``, each beside its field when the form has it.

    A field that already carries an error from the form's own parsing keeps that one only.
    """
    for field, messages in _flatten(errors):
        target = field if field in form.fields else None
        if target is not None and target in form.errors:
            continue
        form.add_error(target, messages)


def _flatten(errors, prefix: str = ""):
    for field, value in errors.items():
        name = f"{prefix}{field}" if field != "non_field_errors" else prefix.rstrip("_")
        if isinstance(value, dict):
            yield from _flatten(value, f"{name}_")
        else:
            yield (name or None), [str(message) for message in value]
