"""Serializer fields of the coalition's API shared by every app."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from rest_framework import serializers


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id in a request body, resolved to its object through the actor's scope.

    ``scope`` is a selector taking the actor (the serializer context's ``actor``): an id
    outside it reads exactly like one that does not exist, with one ``unknown`` message
    (code ``invalid``), so an answer never tells another organisation's object from a
    missing one. A malformed id is the UUID field's own error.
    """

    def __init__(self, *, scope, unknown, **kwargs):
        self.scope = scope
        self.unknown = unknown
        self.id_field = kwargs.setdefault("pk_field", serializers.UUIDField())
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.scope(self.context["actor"])

    def to_internal_value(self, data):
        data = self.id_field.to_internal_value(data)
        try:
            return self.get_queryset().get(pk=data)
        except ObjectDoesNotExist:
            raise serializers.ValidationError(self.unknown, code="invalid") from None
