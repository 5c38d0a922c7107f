from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = "Referrals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .api import replay

        replay.register()  # Idempotency-Key replays of cases, referrals, consents, messages
