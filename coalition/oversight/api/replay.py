"""How an ``Idempotency-Key`` replay renders a reviewed legal-basis exception again, as a GET would.

Registered from ``OversightConfig.ready()``: the review API and its serializer live here,
above ``referrals``, which therefore cannot render an exception itself.
"""

from __future__ import annotations

from coalition.api.idempotency import register_replay
from referrals import selectors
from referrals.models import LegalBasisException

from . import serializers as s


def render_exception(view, pk):
    legal_exception = selectors.exceptions_for_review(view.request.user).filter(pk=pk).first()
    if legal_exception is None:
        return None
    return s.ExceptionSerializer(legal_exception).data, {}


def register() -> None:
    register_replay(LegalBasisException, render=render_exception)
