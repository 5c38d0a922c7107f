"""A message records who wrote it as every authored row does: ``created_by`` / ``created_by_api_key``."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("referrals", "0004_figures_and_pending_indexes")]

    operations = [
        migrations.RenameField(model_name="referralmessage", old_name="author", new_name="created_by"),
        migrations.RenameField(model_name="referralmessage", old_name="api_key", new_name="created_by_api_key"),
    ]
