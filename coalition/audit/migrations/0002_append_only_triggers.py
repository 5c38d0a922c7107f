"""The database itself refuses UPDATE and DELETE on audit entries.

PostgreSQL: a row trigger raising an exception. SQLite: two triggers calling
RAISE(ABORT). Lifting the guard needs DDL (ALTER TABLE … DISABLE TRIGGER, or
DROP TRIGGER), which the application's database role should not hold in
production; the hash chain shows any change made with the guard lifted.
"""

from django.db import migrations

TABLE = "audit_auditentry"


def create_guard(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            """
            CREATE OR REPLACE FUNCTION audit_entry_refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
            END;
            $$ LANGUAGE plpgsql;
            """
        )
        schema_editor.execute(
            f"CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION audit_entry_refuse_change();"
        )
    elif vendor == "sqlite":
        for operation in ("UPDATE", "DELETE"):
            schema_editor.execute(
                f"CREATE TRIGGER audit_entry_no_{operation.lower()} BEFORE {operation} ON {TABLE} "
                "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;"
            )
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported
        raise RuntimeError(f"No append-only guard for the {vendor} database.")


def drop_guard(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS audit_entry_append_only ON {TABLE};")
        schema_editor.execute("DROP FUNCTION IF EXISTS audit_entry_refuse_change();")
    elif vendor == "sqlite":
        for operation in ("update", "delete"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS audit_entry_no_{operation};")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(create_guard, drop_guard)]
