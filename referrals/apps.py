from django.apps import AppConfig
from django.core import checks


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from partners.demo import register_demo_seeder

        from . import demo, jobs, matches, retention
        from .api import replay
        from .checks import check_deadline_settings

        replay.register()  # Idempotency-Key replays of cases, referrals, consents, messages
        jobs.register()  # overdue detection and the retention purge, run by the worker
        retention.register_erasure_hook(matches.keys_forget)  # the match keys go with the identity
        register_demo_seeder(demo.seed_demo)  # the fictional demo cases, after the demo logins
        checks.register(check_deadline_settings, "settings")  # a bad REFERRAL_DEADLINES or COALITION_TIME_ZONE stops the start
