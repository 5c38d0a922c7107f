from django.apps import AppConfig


class WebConfig(AppConfig):
    """The web app for people: pages over the same selectors and services as the API."""

    name = "web"
    verbose_name = "Web app"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from datetime import timedelta

        from coalition.events.jobs import register_job
        from referrals.retention import register_erasure_hook

        from . import drafts

        # Drafts of forms are kept a day after their last change (web.drafts).
        register_job("purge_form_drafts", every=lambda: timedelta(hours=1), run=drafts.purge_drafts)
        # A case's identity erased or purged takes every draft about it along (web.drafts.forget_case).
        register_erasure_hook(drafts.forget_case)
