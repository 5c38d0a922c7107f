"""The web app's own data: what a person was typing into a form, kept for them alone."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from coalition.core.crypto import EncryptedTextField


class FormDraft(models.Model):
    """What ``owner`` had typed into the form ``key`` when they last changed it, for nobody else.

    A half-written case or referral survives a session timeout: the page saves the
    form's fields here while the person types and offers them back after sign-in.
    ``data`` may hold a young person's identity, so it is encrypted like every other
    identity field (``coalition.core.crypto``, rotated by ``rotate_field_keys``). Only
    ``web.drafts`` reads and writes drafts, always filtered by their owner; a draft is
    deleted when its form is submitted, when its owner discards it, and a day after its
    last change by the daily purge.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=80)  # e.g. "case-open", "referral-new:<case id>": never personal data
    data = EncryptedTextField()  # the form's fields as JSON: {"name": ["value", ...]}
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="one_draft_per_owner_and_form")]
        indexes = [models.Index(fields=["updated_at"], name="form_draft_updated")]
