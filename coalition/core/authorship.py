"""Who created a row: a person or a partner system, recorded the same way by every model.

The vocabulary, in models and serializers alike: ``created_by`` is the person,
``created_by_api_key`` the partner system's API key; exactly one of them is set
(both are empty only on webhook endpoints a partner system created before the key was
recorded). Accounts and keys are never deleted, only deactivated or revoked, so the
foreign keys protect them. The audit trail says
``actor_user`` / ``actor_api_key`` for the same pair (its API names them so).
Models refer upward to ``partners`` by string, so this bottom layer imports none of it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from .actors import Actor, person_and_system


class CreatedBy(models.Model):
    """Abstract: records which person or partner system created the row."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by_api_key = models.ForeignKey(
        "partners.ApiKey", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        abstract = True

    @staticmethod
    def by(actor: Actor | None) -> dict[str, Any]:
        """The field values that record ``actor`` as the creator: ``Model(..., **Model.by(actor))``."""
        person, api_key = person_and_system(actor)
        return {"created_by": person, "created_by_api_key": api_key}
