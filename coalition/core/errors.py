"""Domain errors: what a rule says when it refuses, without any HTTP or DRF.

Services, selectors and policies raise only these. Each front end maps them once: the
API's exception handler (``coalition.api.problems``) to RFC 9457 problem details with a
stable ``type``, the web app to a form error or an error page. ``code`` is that stable,
language-independent slug; ``message`` is for people, in their language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Message = str | Promise


class DomainError(Exception):
    """Base of every refusal a rule can give. Never carries personal data in its message."""

    default_message: Message = _("The request could not be processed.")
    default_code = "error"

    def __init__(self, message: Message | None = None, *, code: str | None = None, retry_after: int | None = None) -> None:
        self.message: Message = message if message is not None else self.default_message
        self.code: str = code or self.default_code
        # Seconds after which the same request may succeed (a lock held by a running request).
        self.retry_after = retry_after
        super().__init__(str(self.message))

    def __str__(self) -> str:
        return str(self.message)


class Conflict(DomainError):
    """The request conflicts with the current state (an illegal transition, a race lost)."""

    default_message = _("The request conflicts with the current state of the resource.")
    default_code = "conflict"


class BusinessRuleViolation(DomainError):
    """Well-formed input that a rule of the coalition does not allow."""

    default_message = _("The request breaks a rule of the coalition.")
    default_code = "business-rule"


class PreconditionFailed(DomainError):
    """The caller's copy is stale: the object changed since it was read (a version mismatch)."""

    default_message = _("The resource has changed since you last read it.")
    default_code = "precondition-failed"


class Forbidden(DomainError):
    """The actor's role (or its API key's scopes) does not allow the action at all, whatever the object."""

    default_message = _("Your role or your API key's scopes do not allow this action.")
    default_code = "forbidden"


class NotFound(DomainError):
    """The object does not exist *or is outside the actor's scope*: the two are never told apart."""

    default_message = _("Not found.")
    default_code = "not-found"


class InvalidInput(DomainError):
    """One or more fields of the input are invalid; ``errors`` maps each field name to its messages.

    The field name ``""`` means the input as a whole (no single field is to blame).
    """

    default_message = _("The request has invalid fields.")
    default_code = "validation-error"

    def __init__(self, errors: Mapping[str, Sequence[Message]], *, code: str = "invalid") -> None:
        super().__init__()
        self.errors: dict[str, list[Message]] = {field: list(messages) for field, messages in errors.items()}
        self.field_code = code


class InvalidField(InvalidInput):
    """One field of the input is invalid: its name and why."""

    def __init__(self, field: str, message: Message, *, code: str = "invalid") -> None:
        super().__init__({field: [message]}, code=code)
        self.field = field


class InvalidCredentials(DomainError):
    """Sign-in failed. The same for an unknown user, a wrong password or a wrong code."""

    default_message = _("Invalid username, password or one-time code.")
    default_code = "invalid-credentials"


class LockedOut(DomainError):
    """Too many failed sign-ins for this username: wait, then try again."""

    default_message = _("Too many failed logins. Try again later.")
    default_code = "locked-out"
