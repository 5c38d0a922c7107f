"""Re-encrypt every encrypted field under the newest key of FIELD_ENCRYPTION_KEYS.

Rotation: put the new key first in FIELD_ENCRYPTION_KEYS (keep the old ones after
it), deploy, run this command, then drop the old keys. Rows still read during
rotation because every listed key decrypts. Runs in batches, each in its own
transaction, and can be run again safely. Every model of every installed app that
stores an ``EncryptedTextField`` is rotated (identity and free text, webhook secrets,
the one-time tokens of mails not yet sent): a key dropped after rotation must leave
nothing unreadable behind.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from coalition.core.crypto import EncryptedTextField


def encrypted_fields(model) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]


def encrypted_models() -> list:
    """Every installed model with at least one encrypted column, in a stable order."""
    return sorted((model for model in apps.get_models() if encrypted_fields(model)), key=lambda m: m._meta.label)


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field (identity, free text, secrets) under the newest FIELD_ENCRYPTION_KEYS key."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size=500, **options):
        for model in encrypted_models():
            fields = encrypted_fields(model)
            pk_name = model._meta.pk.attname
            done, last_pk = 0, None
            while True:
                with transaction.atomic():
                    rows = model.objects.order_by(pk_name).select_for_update()
                    if last_pk is not None:
                        rows = rows.filter(**{f"{pk_name}__gt": last_pk})
                    batch = list(rows.only(pk_name, *fields)[:batch_size])
                    for row in batch:
                        # Read decrypts with whichever key fits; save encrypts with the newest.
                        row.save(update_fields=fields)
                if not batch:
                    break
                last_pk = getattr(batch[-1], pk_name)
                done += len(batch)
            self.stdout.write(f"{model._meta.label}: {done} rows re-encrypted.")
