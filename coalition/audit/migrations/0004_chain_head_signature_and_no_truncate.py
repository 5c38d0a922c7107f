"""The chain head is signed under AUDIT_HEAD_KEY; the database refuses TRUNCATE on audit entries.

Signature: the existing head is signed as found when this migration runs (trust on
first use: run ``audit_verify`` before migrating to know the chain was whole then).

TRUNCATE (PostgreSQL; SQLite has none): a statement trigger refuses it, like the row
trigger refuses UPDATE and DELETE. It lets through a session that set
``coalition.allow_audit_truncate = on`` (``SET LOCAL``): the test suite's flush and the
bench seeder, which empty the tables on purpose. That is no weaker than what the
table's owner can do anyway (disable or drop the triggers); the protection against
someone who holds the application's credentials is that the application's role is not
the owner and has no TRUNCATE privilege (api_docs/deployment.md).
"""

from django.db import migrations, models

TABLE = "audit_auditentry"


def sign_head(apps, schema_editor):
    from coalition.audit.services import head_signature

    AuditChainHead = apps.get_model("audit", "AuditChainHead")
    for head in AuditChainHead.objects.all():
        head.signature = head_signature(head.last_seq, head.last_hash)
        head.save(update_fields=["signature"])


def create_truncate_guard(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        """
        CREATE OR REPLACE FUNCTION audit_entry_refuse_truncate() RETURNS trigger AS $$
        BEGIN
            IF coalesce(current_setting('coalition.allow_audit_truncate', true), '') = 'on' THEN
                RETURN NULL;
            END IF;
            RAISE EXCEPTION 'audit entries are append-only' USING ERRCODE = 'insufficient_privilege';
        END;
        $$ LANGUAGE plpgsql;
        """
    )
    schema_editor.execute(
        f"CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON {TABLE} "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_refuse_truncate();"
    )


def drop_truncate_guard(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS audit_entry_no_truncate ON {TABLE};")
    schema_editor.execute("DROP FUNCTION IF EXISTS audit_entry_refuse_truncate();")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_audit_search_by_object_id"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditchainhead",
            name="signature",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.RunPython(sign_head, migrations.RunPython.noop),
        migrations.RunPython(create_truncate_guard, drop_truncate_guard),
    ]
