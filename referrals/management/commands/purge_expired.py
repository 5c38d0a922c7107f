"""Purge identity and free text of cases closed longer than RETENTION_DAYS (not on legal hold).

The worker runs the same purge daily as a periodic job (``referrals.jobs``); this command
runs it by hand. Safe to run again. Prints a count, never personal data.
"""

import uuid

from django.conf import settings
from django.core.management.base import BaseCommand

from coalition.core.context import bound_request_id, current_request_id
from referrals.retention import purge_expired


class Command(BaseCommand):
    help = "Purge identity and free text of cases closed longer than RETENTION_DAYS, except those on legal hold."

    def handle(self, *args, **options):
        # Entries of this run share one id, so the auditor finds them together.
        with bound_request_id(current_request_id() or f"purge-{uuid.uuid4().hex}"):
            purged = purge_expired()
        self.stdout.write(f"Purged {purged} case(s) closed more than {settings.RETENTION_DAYS} days ago.")
