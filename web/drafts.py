"""Drafts of forms: what a person typed survives a session timeout, for that person only.

A form page that keeps drafts:

1. marks its ``<form>`` with ``data-draft-url="{% url 'web:draft-save' key %}"``; app.js
   (block ``// drafts``) then posts the form's fields there every 20 seconds and when a
   field changes, but only when something changed since the last save (an idle page sends
   nothing, so autosaving never keeps a session alive by itself);
2. on GET, passes ``draft_for(user, key)`` to the template, which includes
   ``web/drafts/_offer.html`` ("Restore what you typed on …", or discard it);
3. when the offer's button posts ``draft=restore`` back to the page, builds the form with
   ``initial=initial_from(FormClass, take_draft(user, key))`` (the draft is taken: the
   restored form's own autosave keeps it from then on);
4. after a successful submit, calls ``discard_draft(user, key)``.

Keys name the form, never the person: ``case-open``, ``referral-new:<case id>``
(``is_draft_key``). Every function takes the owner and reads or writes that owner's drafts
only; nothing here can reach another person's draft. Drafts are encrypted at rest
(``web.models.FormDraft``) and deleted by ``purge_drafts`` a day after their last change
(a periodic job of the worker, registered in ``web.apps``). Saving and discarding are
audited (``draft.save``, ``draft.discard``: the draft's id and the form's name, never the content).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from coalition.audit.services import record
from partners.models import User
from referrals.models import Case, Referral

from .models import FormDraft

# How long a draft is kept after its last change.
DRAFT_LIFETIME = timedelta(days=1)
# A form name, optionally with the id of the object the form is about.
KEY = re.compile(r"^[a-z][a-z-]{0,39}(?::[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})?$")
# The largest draft kept, in characters of its JSON: a form, not a document.
MAX_DRAFT_CHARS = 32_000
# Fields of a submitted form that are never kept.
NOT_KEPT = frozenset({"csrfmiddlewaretoken", "draft"})


class DraftTooLarge(ValueError):
    """The form's fields are larger than ``MAX_DRAFT_CHARS``: nothing was saved."""


@dataclass(frozen=True)
class Draft:
    """A person's draft of one form: ``data`` maps each field's name to its submitted values."""

    key: str
    data: dict[str, list[str]]
    saved_at: datetime


def is_draft_key(key: str) -> bool:
    return bool(KEY.match(key))


def _require_key(key: str) -> None:
    if not is_draft_key(key):
        raise ValueError("Not a draft key.")


def form_data(submitted: Any) -> dict[str, list[str]]:
    """The fields of a submitted form (a ``QueryDict``) worth keeping, each with all its values."""
    return {name: [str(v) for v in submitted.getlist(name)] for name in submitted if name not in NOT_KEPT}


def _draft(row: FormDraft) -> Draft:
    return Draft(key=row.key, data=json.loads(row.data), saved_at=row.updated_at)


def _form_of(key: str) -> str:
    """The form's name without the id it is about: audit entries hold no id the person typed into a URL."""
    return key.split(":", 1)[0]


@transaction.atomic
def save_draft(user: User, key: str, data: Mapping[str, list[str]]) -> Draft:
    """Keep ``data`` as ``user``'s draft of ``key`` (replacing an older one); audited when it changed.

    Raises ``ValueError`` for a malformed key and ``DraftTooLarge`` above ``MAX_DRAFT_CHARS``.
    """
    _require_key(key)
    values = {str(name): [str(v) for v in vs] for name, vs in data.items() if name not in NOT_KEPT}
    text = json.dumps(values, ensure_ascii=False, sort_keys=True)
    if len(text) > MAX_DRAFT_CHARS:
        raise DraftTooLarge()
    row = FormDraft.objects.select_for_update().filter(owner=user, key=key).first()
    if row is not None and row.data == text:
        return _draft(row)
    if row is None:
        row = FormDraft.objects.create(owner=user, key=key, data=text)
    else:
        row.data = text
        row.save(update_fields=["data", "updated_at"])
    record(action="draft.save", actor=user, obj=row, detail={"form": _form_of(key)})
    return _draft(row)


def draft_for(user: User, key: str) -> Draft | None:
    """``user``'s draft of ``key``, if there is one; it stays kept."""
    if not is_draft_key(key):
        return None
    row = FormDraft.objects.filter(owner=user, key=key).first()
    return None if row is None else _draft(row)


@transaction.atomic
def take_draft(user: User, key: str) -> Draft | None:
    """``user``'s draft of ``key``, removed: for restoring it into the form, whose autosave keeps it again."""
    if not is_draft_key(key):
        return None
    row = FormDraft.objects.select_for_update().filter(owner=user, key=key).first()
    if row is None:
        return None
    draft = _draft(row)
    row.delete()
    return draft


@transaction.atomic
def discard_draft(user: User, key: str) -> bool:
    """Delete ``user``'s draft of ``key`` (after a successful submit, or on request); True if there was one."""
    if not is_draft_key(key):
        return False
    row = FormDraft.objects.select_for_update().filter(owner=user, key=key).first()
    if row is None:
        return False
    record(action="draft.discard", actor=user, obj=row, detail={"form": _form_of(key)})
    row.delete()
    return True


@transaction.atomic
def purge_drafts(now: datetime | None = None) -> int:
    """Delete every draft unchanged for ``DRAFT_LIFETIME``; the worker runs this daily."""
    now = now or timezone.now()
    count, _ = FormDraft.objects.filter(updated_at__lt=now - DRAFT_LIFETIME).delete()
    if count:
        record(action="draft.purge", actor=None, object_type="form_draft", detail={"drafts": count})
    return count


def forget_case(case: Case) -> int:
    """Delete every person's drafts about ``case`` or one of its referrals: its identity is erased or purged.

    Registered with ``referrals.retention`` (``WebConfig.ready``); runs in the erasure's
    transaction, so a draft cannot bring back what the erasure removed.
    """
    ids = [case.pk, *Referral.objects.filter(case=case).values_list("pk", flat=True)]
    query = Q()
    for pk in ids:
        query |= Q(key__endswith=f":{pk}")
    count, _ = FormDraft.objects.filter(query).delete()
    return count


def initial_from(form_class: type[forms.Form], draft: Draft | None) -> dict[str, Any]:
    """``initial`` for ``form_class`` from a draft: one value per field, a list for multiple-choice fields.

    Fields the form does not have are dropped, so an old or tampered draft cannot add any.
    """
    if draft is None:
        return {}
    initial: dict[str, Any] = {}
    for name, field in form_class.base_fields.items():
        values = draft.data.get(name)
        if not values:
            continue
        initial[name] = values if isinstance(field, forms.MultipleChoiceField) else values[-1]
    return initial
