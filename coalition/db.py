"""Database helpers that behave the same on PostgreSQL and SQLite."""

import json

from django.db.models import JSONField, Lookup


@JSONField.register_lookup
class HasItem(Lookup):
    """``field__has_item=value``: the JSON array in ``field`` contains ``value``.

    Django's ``contains`` on JSON is not available on SQLite; this lookup is, and
    uses the jsonb containment operator (index-friendly) on PostgreSQL.
    """

    lookup_name = "has_item"
    prepare_rhs = False

    def get_prep_lookup(self):
        return self.rhs

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} @> %s::jsonb", [*lhs_params, json.dumps([self.rhs])]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return (
            f"EXISTS (SELECT 1 FROM json_each({lhs}) WHERE json_each.value = %s)",
            [*lhs_params, self.rhs],
        )
