"""Prove the audit trail whole, or name the first broken entry (exit status 1)."""

from django.core.management.base import BaseCommand, CommandError

from coalition.audit.selectors import verify_chain


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; exits non-zero and names the first broken entry if it is not whole."

    def handle(self, *args, **options):
        verdict = verify_chain()
        if not verdict.intact:
            where = f" at entry {verdict.first_broken_seq}" if verdict.first_broken_seq is not None else ""
            raise CommandError(
                f"Audit chain BROKEN{where}: {verdict.problem} ({verdict.entries} entries verified before it).",
                returncode=1,
            )
        self.stdout.write(f"Audit chain intact: {verdict.entries} entries verified.")
