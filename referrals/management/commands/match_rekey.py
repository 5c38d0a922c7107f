"""Compute match keys for every subject not yet keyed under the current MATCH_KEY, and match them.

Run after turning matching on (``MATCH_ENABLED``) or rotating ``MATCH_KEY``. Works in
batches, each committed on its own: stop it at any time and run it again to go on.
"""

from django.core.management.base import BaseCommand, CommandError

from referrals.matches import matching_enabled, rekey_batch, stale_key_count


class Command(BaseCommand):
    help = "Compute match keys under the current MATCH_KEY for the subjects that lack them (resumable)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Subjects per transaction (default 500).")
        parser.add_argument("--max-batches", type=int, default=0, help="Stop after this many batches (0: until done).")

    def handle(self, *args, batch_size: int, max_batches: int, **options):
        if not matching_enabled():
            raise CommandError("Matching is off: set MATCH_ENABLED=true and MATCH_KEY (or MATCH_KEY_FILE) first.")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        left = stale_key_count()
        self.stdout.write(f"{left} subjects to key.")
        done = batches = 0
        while max_batches == 0 or batches < max_batches:
            keyed = rekey_batch(size=batch_size)
            if not keyed:
                break
            done += keyed
            batches += 1
            self.stdout.write(f"{done} of {left} keyed.")
        remaining = stale_key_count()
        self.stdout.write(self.style.SUCCESS(f"Done: {done} keyed, {remaining} left."))
