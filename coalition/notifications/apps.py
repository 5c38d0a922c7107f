from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """People learn of work without polling: in the web app and by mail, never anything about the child."""

    name = "coalition.notifications"
    label = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import jobs

        jobs.register()  # the event hook (notifications in the event's transaction), escalation, digests
