from datetime import timedelta

from django.apps import AppConfig
from django.conf import settings


class MailConfig(AppConfig):
    name = "coalition.mail"
    label = "mail"
    verbose_name = "Outbound mail"

    def ready(self) -> None:
        from coalition.events.jobs import register_job

        from .services import sweep_due_mails

        # Re-enqueue outbound mails whose task was lost, as often as the webhook sweep.
        register_job("sweep_mails", every=lambda: timedelta(seconds=settings.WEBHOOK_SWEEP_SECONDS), run=sweep_due_mails)
