"""``Idempotency-Key`` on every POST: a retried request gets the first answer, re-rendered now.

Keys are remembered per principal, the person or the API key that sent the request
(never the organisation: a colleague or another key of the same organisation using the
same key makes a fresh request), for ``IDEMPOTENCY_KEY_HOURS``. The first request with
a key reserves it; a concurrent one with the same key gets 409 while the first runs;
the same key with another body is 422. A failed first attempt (4xx/5xx) frees the key
so the client can retry after fixing the request.

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
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from coalition.models import IdempotencyRecord

from .problems import BusinessRuleViolation, Conflict

HEADER = "HTTP_IDEMPOTENCY_KEY"
_KEY_FORMAT = re.compile(r"^[\x21-\x7e]{1,255}$")
_KEPT_HEADERS = ("ETag", "Location")


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


def principal_of(actor) -> str | None:
    """``api_key:<id>`` or ``user:<id>``; None for an anonymous caller (no key is remembered)."""
    api_key = getattr(actor, "api_key", None)
    if api_key is not None:
        return f"api_key:{api_key.pk}"
    if getattr(actor, "is_authenticated", False) and getattr(actor, "pk", None) is not None:
        return f"user:{actor.pk}"
    return None


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


class IdempotencyMixin:
    """For DRF views: checks the key after authentication, remembers what the first 2xx answer was about."""

    # Actions (or, for plain views, lower-case methods) whose answer holds a secret shown once.
    idempotency_secret_actions: frozenset[str] = frozenset()

    def _idempotency_action(self, request) -> str:
        return getattr(self, "action", None) or request.method.lower()

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
        expiry = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
        try:
            with transaction.atomic():  # one transaction: forget an expired use of the key, reserve it
                IdempotencyRecord.objects.filter(principal=principal, key=key, created_at__lt=expiry).delete()
                record = IdempotencyRecord.objects.create(principal=principal, key=key, request_digest=digest)
        except IntegrityError:
            record = IdempotencyRecord.objects.get(principal=principal, key=key)
            if not hmac.compare_digest(record.request_digest, digest):
                raise BusinessRuleViolation(_("This Idempotency-Key was used with another request.")) from None
            if record.status_code is None:
                raise Conflict(_("A request with this Idempotency-Key is still being processed.")) from None
            raise Replay(self._replay(record)) from None
        request.idempotency_record = record

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
        return self.serializer_class(obj, context=self.get_serializer_context()).data, {}

    def handle_exception(self, exc):
        if isinstance(exc, Replay):
            return exc.response
        try:
            return super().handle_exception(exc)
        except Exception:
            # An unhandled error (500) never reaches finalize_response: free the key here.
            record = getattr(self.request, "idempotency_record", None)
            if record is not None:
                record.delete()
                self.request.idempotency_record = None
            raise

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record = getattr(request, "idempotency_record", None)
        if record is None:
            return response
        if not 200 <= response.status_code < 300:
            record.delete()
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


def forget_case(case_id) -> int:
    """Delete the records about ``case_id`` (its erasure or purge): a replay is a fresh request afterwards."""
    deleted, _ = IdempotencyRecord.objects.filter(case_id=case_id).delete()
    return deleted


def expire_idempotency_records(now=None) -> int:
    """Forget keys older than ``IDEMPOTENCY_KEY_HOURS``."""
    now = now or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=now - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)).delete()
    return deleted
