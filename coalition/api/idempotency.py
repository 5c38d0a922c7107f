"""``Idempotency-Key`` on every POST: a retried request gets the first answer, re-rendered now.

Keys are remembered per principal, the person or the API key that sent the request
(never the organisation: a colleague or another key of the same organisation using the
same key makes a fresh request), for ``IDEMPOTENCY_KEY_HOURS``. The same key with
another body is 422.

Reserve, act and remember are one transaction (issue #12): a POST with a key runs in
``transaction.atomic()`` from ``dispatch`` to the end of ``finalize_response``; the
reservation row is inserted first, the action's writes follow (services nest as
savepoints), and the record's answer is written before the one commit. So a key is
never left reserved by a request that died (a dead connection, a killed process, an
error after the action): either everything committed, record included, and a retry
replays it, or nothing did and a retry runs the action once. A concurrent request with
the same key waits on the unique index until the first commits (then replays) or rolls
back (then runs); after ``WAIT_FOR_FIRST`` it gets 409 with ``Retry-After``. A 4xx
answer deletes the reservation and keeps the rest of the transaction (a failed login's
counter, say: services raise before they write); a 5xx answer or an exception rolls
everything back.

No answer body is stored, so no record holds identity or a secret. A record keeps the
status, the ``ETag`` and ``Location`` headers, what the answer was about (model label
and id) and its case. A replay renders that resource again for the current actor,
through the renderer its app registered (``register_replay``: the selectors and
serializers of a GET), so identity shows only if still visible to that actor and is
audited as any read, and an erased young person's name is never replayed. An answer
about no resource (204) replays as its status alone. A case's records are deleted
when its identity is erased or purged (``forget_case``).

A view whose answer carries a secret shown once (a TOTP secret, a new API key, a
webhook secret) names the action in ``idempotency_secret_actions``: its record keeps
the status and the created object's id only, and a replay is refused with 409
``not-replayed`` without running the action again. So is the replay of an answer
that cannot be rendered again (no renderer for what it was about).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from coalition.core.errors import BusinessRuleViolation, Conflict
from coalition.models import IdempotencyRecord

if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView

HEADER = "HTTP_IDEMPOTENCY_KEY"
_KEY_FORMAT = re.compile(r"^[\x21-\x7e]{1,255}$")
_KEPT_HEADERS = ("ETag", "Location")
# How long a request waits for a concurrent one with the same key (PostgreSQL's lock_timeout).
WAIT_FOR_FIRST = "5s"
_LOCK_NOT_AVAILABLE = "55P03"


class NotReplayed(Conflict):
    """The request was done once; its answer is not given again (it held a secret, or cannot be rebuilt)."""

    default_code = "not-replayed"


class Replay(Exception):
    def __init__(self, response: Response):
        self.response = response


@dataclass(frozen=True)
class ReplayRenderer:
    """How an app renders one of its resources again for a replay, as a GET by the current actor would.

    ``render(view, pk)`` answers ``(body, headers)``, or None when the current actor no
    longer sees the resource; ``case_of(instance)`` names the case it belongs to, if any.
    """

    render: Callable[[Any, str], tuple[Any, dict[str, str]] | None]
    case_of: Callable[[models.Model], Any]


_RENDERERS: dict[str, ReplayRenderer] = {}


def register_replay(model: type[models.Model], *, render, case_of=None) -> None:
    """Called from an app's ``ready()``: answers about ``model`` are replayed through ``render``."""
    _RENDERERS[model._meta.label_lower] = ReplayRenderer(
        render=render, case_of=case_of or (lambda instance: getattr(instance, "case_id", None))
    )


def principal_of(user) -> str | None:
    """``api_key:<id>`` or ``user:<id>`` for ``request.user``; None for an anonymous caller (no key is remembered)."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return None
    if user.is_partner_system:
        return f"api_key:{user.api_key.pk}"
    return f"user:{user.pk}"


def _digest(request) -> str:
    """A keyed hash of the request: the body may hold a name or a password, which a plain hash would let be guessed."""
    body = json.dumps(request.data, sort_keys=True, default=str) if request.data else ""
    message = f"{request.method} {request.path}\n{body}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _about(response: Response) -> models.Model | None:
    """The model instance a serializer turned into this answer's body, if any."""
    serializer = getattr(response.data, "serializer", None)
    instance = getattr(serializer, "instance", None)
    return instance if isinstance(instance, models.Model) else None


# Type checkers see the mixin as the view it is mixed into; at run time it is a plain mixin.
if TYPE_CHECKING:
    _ViewBase = GenericAPIView
else:
    _ViewBase = object


class IdempotencyMixin(_ViewBase):
    """For DRF views: checks the key after authentication, remembers what the first 2xx answer was about."""

    # Actions (or, for plain views, lower-case methods) whose answer holds a secret shown once.
    idempotency_secret_actions: frozenset[str] = frozenset()

    def _idempotency_action(self, request) -> str:
        return getattr(self, "action", None) or request.method.lower()

    def dispatch(self, request, *args, **kwargs):
        """A POST with a key is one transaction: reservation, action and record commit together or not at all."""
        if request.method != "POST" or HEADER not in request.META:
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            response = super().dispatch(request, *args, **kwargs)
            if response.status_code >= 500:
                transaction.set_rollback(True)  # a server error keeps nothing, the reservation included
        return response

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        request.idempotency_record = None
        key = request.META.get(HEADER)
        principal = principal_of(request.user)
        if request.method != "POST" or key is None or principal is None:
            return
        if not _KEY_FORMAT.match(key):
            raise ValidationError({"Idempotency-Key": [_("Use 1 to 255 visible ASCII characters.")]})
        digest = _digest(request)
        for _attempt in range(2):
            record = self._reserve(principal=principal, key=key, digest=digest)
            if record is not None:
                request.idempotency_record = record
                return
            record = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
            if record is None:
                continue  # expired or forgotten between the insert and this read: reserve again
            if not hmac.compare_digest(record.request_digest, digest):
                raise BusinessRuleViolation(_("This Idempotency-Key was used with another request."))
            if record.status_code is not None:
                raise Replay(self._replay(record))
            # A committed reservation without an answer cannot belong to a running request (those
            # commit with their answer): one left by an earlier version. Take it over.
            IdempotencyRecord.objects.filter(pk=record.pk, status_code__isnull=True).delete()
        raise self._still_running()

    @staticmethod
    def _still_running() -> Conflict:
        return Conflict(_("A request with this Idempotency-Key is still being processed."), retry_after=1)

    def _reserve(self, *, principal: str, key: str, digest: str) -> IdempotencyRecord | None:
        """Insert the reservation in the request's transaction; None when the key is already taken.

        A concurrent, uncommitted reservation of the same key makes the insert wait on the
        unique index (at most ``WAIT_FOR_FIRST`` on PostgreSQL, then 409): when it commits,
        the key is taken; when it rolls back, this request reserves it and runs.
        """
        expiry = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
        postgres = connection.vendor == "postgresql"
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
                               [WAIT_FOR_FIRST])
                previous = cursor.fetchone()[0]
        try:
            with transaction.atomic():  # a savepoint: a lost insert leaves the request's transaction usable
                IdempotencyRecord.objects.filter(principal=principal, key=key, created_at__lt=expiry).delete()
                return IdempotencyRecord.objects.create(principal=principal, key=key, request_digest=digest)
        except IntegrityError:
            return None
        except OperationalError as exc:
            if getattr(getattr(exc, "__cause__", None), "sqlstate", None) == _LOCK_NOT_AVAILABLE:
                raise self._still_running() from None
            raise
        finally:
            if postgres:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])

    def _replay(self, record: IdempotencyRecord) -> Response:
        if record.held_secret:
            detail = _("This request was done once, and its answer held a secret that is shown only once: it is "
                       "not replayed.")
            if record.resource_id:
                detail += " " + _("What it created is %(id)s.") % {"id": record.resource_id}
            raise NotReplayed(detail)
        if not record.replayable:
            raise NotReplayed(_("This request was done once; its answer is not kept. Read the result again."))
        headers = dict(record.response_headers) | {"Idempotent-Replayed": "true"}
        if not record.resource_type:
            return Response(status=record.status_code, headers=headers)
        renderer = _RENDERERS.get(record.resource_type)
        if renderer is not None:
            rendered = renderer.render(self, record.resource_id)
        else:
            rendered = self._render_own(record.resource_id)
        if rendered is None:
            raise NotFound()  # what the first answer showed is no longer the current actor's to see
        body, fresh_headers = rendered
        return Response(body, status=record.status_code, headers=headers | fresh_headers)

    def _renders_own(self, instance, serializer) -> bool:
        """The answer is the view's own model in its own serializer: a GET of the same view renders it."""
        model = getattr(self, "queryset_model", None)
        return model is not None and type(instance) is model and type(serializer) is getattr(self, "serializer_class", None)

    def _render_own(self, pk: str):
        obj = self.get_queryset().filter(pk=pk).first()
        if obj is None:
            return None
        serializer_class = self.serializer_class
        assert serializer_class is not None  # only views whose serializer_class rendered the first answer replay
        return serializer_class(obj, context=self.get_serializer_context()).data, {}

    def handle_exception(self, exc):
        if isinstance(exc, Replay):
            return exc.response
        # An unhandled error (500) propagates out of dispatch's transaction, which rolls
        # back the reservation with everything else.
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record = getattr(request, "idempotency_record", None)
        if record is None:
            return response
        if response.status_code >= 500:
            return response  # dispatch rolls the whole transaction back
        if not 200 <= response.status_code < 300:
            self._release(record)
            return response
        record.status_code = response.status_code
        record.response_headers = {k: v for k, v in response.items() if k in _KEPT_HEADERS}
        instance = _about(response)
        if self._idempotency_action(request) in self.idempotency_secret_actions:
            record.replayable, record.held_secret = False, True
            record.response_headers = {}
            created = response.data.get("id") if isinstance(response.data, dict) else None
            record.resource_id = str(created or "")
        elif instance is not None:
            label = instance._meta.label_lower
            renderer = _RENDERERS.get(label)
            record.resource_type, record.resource_id = label, str(instance.pk)
            record.replayable = renderer is not None or self._renders_own(instance, response.data.serializer)
            if renderer is not None:
                record.case_id = renderer.case_of(instance)
        elif response.data not in (None, ""):
            record.replayable = False  # a body about no single resource: never stored, so never replayed
        record.save(update_fields=[
            "status_code", "response_headers", "resource_type", "resource_id", "case_id", "replayable", "held_secret",
        ])
        return response

    @staticmethod
    def _release(record: IdempotencyRecord) -> None:
        """A refused request (4xx) frees its key; if the transaction cannot go on, it is all rolled back."""
        try:
            with transaction.atomic():
                record.delete()
        except DatabaseError:
            transaction.set_rollback(True)


def forget_case(case_id) -> int:
    """Delete the records about ``case_id`` (its erasure or purge): a replay is a fresh request afterwards."""
    deleted, _ = IdempotencyRecord.objects.filter(case_id=case_id).delete()
    return deleted


def expire_idempotency_records(now=None) -> int:
    """Forget keys older than ``IDEMPOTENCY_KEY_HOURS``."""
    now = now or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=now - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)).delete()
    return deleted
