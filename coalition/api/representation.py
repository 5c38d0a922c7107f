"""A faster ``to_representation`` for read-heavy serializers, with DRF's exact output.

DRF's generic ``Serializer.to_representation`` walks every field's source, catches
exceptions and dispatches on the field for each row: a page of 50 referrals with 34
fields spends most of its serialisation time there. ``CompiledRepresentation``
compiles, once per serializer instance and model (a list's child serializer
serves every row), one getter per readable field:

- a field reading one concrete model column, of a type whose representation is a
  plain conversion (UUID, char, choice, integer, ISO 8601 date-time, a list of
  those, a dictionary of any values), reads the
  attribute and converts; a date-time field's time zone (the current one, as DRF
  reads it) is read when the plan is compiled, that is once per request;
- a primary-key relation reads the foreign-key column (DRF's own shortcut, without
  building the ``PKOnlyObject``); a ``SerializerMethodField`` calls its bound method;
- every other field (dates, lists, nested serializers, dotted sources) goes through
  DRF's own ``get_attribute`` and ``to_representation``.

The output is the same dictionary DRF builds; ``tests/test_representation.py``
compares both over every referral state and viewer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from rest_framework import ISO_8601
from rest_framework import fields as f
from rest_framework.fields import SkipField
from rest_framework.relations import PKOnlyObject, PrimaryKeyRelatedField
from rest_framework.settings import api_settings

if TYPE_CHECKING:
    from rest_framework import serializers


def _choice(field: f.ChoiceField):
    choices = field.choice_strings_to_values

    def convert(value):
        return value if value == "" else choices.get(str(value), value)

    return convert


def _uuid(field: f.UUIDField):
    return str if field.uuid_format == "hex_verbose" else None


def _datetime(field: f.DateTimeField):
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
    if output_format is None or output_format.lower() != ISO_8601 or zone is None:
        return None

    def convert(value):
        if isinstance(value, str) or value.tzinfo is None:  # DRF's own path for the unusual cases
            return field.to_representation(value)
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return convert


def _converter(field):
    factory = CONVERTERS.get(type(field))
    return factory(field) if factory is not None else None


def _list(field: f.ListField):
    child = _converter(field.child)
    if child is None:
        return None
    return lambda value: [None if item is None else child(item) for item in value]


def _dict(field: f.DictField):
    if type(field.child) is not f._UnvalidatedField:  # noqa: SLF001 - DRF's "any value" child
        return None
    return lambda value: {str(key): item for key, item in value.items()}


# Exact field classes only: a subclass may represent its values differently.
CONVERTERS = {
    f.CharField: lambda field: str,
    f.ChoiceField: _choice,
    f.UUIDField: _uuid,
    f.IntegerField: lambda field: int,
    f.DateTimeField: _datetime,
    f.ListField: _list,
    f.DictField: _dict,
}


def _generic(field):
    def get(instance):
        attribute = field.get_attribute(instance)  # SkipField propagates: the caller falls back
        check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
        return None if check is None else field.to_representation(attribute)

    return get


def _column(attname: str, convert):
    def get(instance):
        value = getattr(instance, attname)
        return None if value is None else convert(value)

    return get


# Type checkers see the mixin as the serializer it is mixed into; at run time it is a plain mixin.
if TYPE_CHECKING:
    _SerializerBase = serializers.Serializer
else:
    _SerializerBase = object


class CompiledRepresentation(_SerializerBase):
    """Mixin for a serializer of model instances: DRF's ``to_representation`` output, compiled."""

    compiled_representation = True  # tests turn it off to compare with DRF's generic path

    def to_representation(self, instance):
        if not self.compiled_representation or not isinstance(instance, models.Model):
            return super().to_representation(instance)
        plans = self.__dict__.setdefault("_representation_plans", {})
        plan = plans.get(type(instance))
        if plan is None:
            plan = plans[type(instance)] = self._compile_representation(type(instance))
        try:
            return {name: get(instance) for name, get in plan}
        except SkipField:
            return super().to_representation(instance)

    def _compile_representation(self, model) -> list:
        columns, foreign_keys = {}, {}
        for model_field in model._meta.concrete_fields:
            columns[model_field.attname] = model_field.attname
            if model_field.is_relation:
                foreign_keys[model_field.name] = model_field.attname
            else:
                columns[model_field.name] = model_field.attname
        return [(field.field_name, self._getter(field, columns, foreign_keys)) for field in self._readable_fields]

    def _getter(self, field, columns: dict, foreign_keys: dict):
        if isinstance(field, f.SerializerMethodField):
            return getattr(self, field.method_name)
        if (type(field) is PrimaryKeyRelatedField and field.pk_field is None and field.use_pk_only_optimization()
                and len(field.source_attrs) == 1 and field.source_attrs[0] in foreign_keys):
            # DRF answers the related object's pk as it is (a UUID): the column holds it.
            return _column(foreign_keys[field.source_attrs[0]], lambda value: value)
        attrs = field.source_attrs
        if len(attrs) == 1 and attrs[0] in columns:
            convert = _converter(field)
            if convert is not None:
                return _column(columns[attrs[0]], convert)
        return _generic(field)
