"""``Idempotency-Key`` on every POST: a retried request gets the first answer.

The key is remembered per organisation for ``IDEMPOTENCY_KEY_HOURS``. The first
request with a key reserves it; a concurrent one with the same key gets 409
while the first runs; once the first succeeds (2xx) its response is stored and
replayed to every retry with the same body, while the same key with another
body is 422. A failed first attempt (4xx/5xx) frees the key so the client can
retry after fixing the request. The stored answer may hold a subject's identity
or a new API key, so it is kept encrypted like identity fields.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from coalition.crypto import decrypt, encrypt
from coalition.models import IdempotencyRecord

from .problems import BusinessRuleViolation, Conflict

HEADER = "HTTP_IDEMPOTENCY_KEY"
_KEY_FORMAT = re.compile(r"^[\x21-\x7e]{1,255}$")


class Replay(Exception):
    def __init__(self, response: Response):
        self.response = response


def _digest(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str) if request.data else ""
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


class IdempotencyMixin:
    """For DRF views: checks the key after authentication, stores the first 2xx answer."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        request.idempotency_record = None
        key = request.META.get(HEADER)
        organisation = getattr(request.user, "organisation", None)
        if request.method != "POST" or key is None or organisation is None:
            return
        if not _KEY_FORMAT.match(key):
            raise ValidationError({"Idempotency-Key": [_("Use 1 to 255 visible ASCII characters.")]})
        digest = _digest(request)
        expiry = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
        try:
            with transaction.atomic():  # one transaction: forget an expired use of the key, reserve it
                IdempotencyRecord.objects.filter(organisation=organisation, key=key, created_at__lt=expiry).delete()
                record = IdempotencyRecord.objects.create(organisation=organisation, key=key, request_digest=digest)
        except IntegrityError:
            record = IdempotencyRecord.objects.get(organisation=organisation, key=key)
            if record.request_digest != digest:
                raise BusinessRuleViolation(_("This Idempotency-Key was used with another request.")) from None
            if record.status_code is None:
                raise Conflict(_("A request with this Idempotency-Key is still being processed.")) from None
            headers = dict(record.response_headers) | {"Idempotent-Replayed": "true"}
            body = json.loads(decrypt(record.response_body))
            raise Replay(Response(body, status=record.status_code, headers=headers)) from None
        request.idempotency_record = record

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
        if record is not None:
            if 200 <= response.status_code < 300:
                record.status_code = response.status_code
                record.response_body = encrypt(json.dumps(response.data, cls=DjangoJSONEncoder))
                record.response_headers = {k: v for k, v in response.items() if k in ("ETag", "Location")}
                record.save(update_fields=["status_code", "response_body", "response_headers"])
            else:
                record.delete()
        return response


def expire_idempotency_records(now=None) -> int:
    """Forget keys (and their stored responses, which may repeat identity) older than ``IDEMPOTENCY_KEY_HOURS``."""
    now = now or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=now - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)).delete()
    return deleted
