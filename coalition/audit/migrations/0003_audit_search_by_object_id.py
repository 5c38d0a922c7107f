"""Search by object is by id alone (``?object_id=``), newest first: index (object_id, seq).

The former (object_type, object_id) index could not serve a search by id without
its type, which then read the whole index (seen at 4 million entries in bench/).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_triggers"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="auditentry", name="audit_object"),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["object_id", "seq"], name="audit_object_seq"),
        ),
    ]
