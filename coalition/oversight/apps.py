from django.apps import AppConfig


class OversightConfig(AppConfig):
    """The coordinators' oversight and the figures. No models: it reads the other apps' through selectors."""

    name = "coalition.oversight"
    label = "oversight"
    verbose_name = "Oversight"

    def ready(self) -> None:
        from .api import replay

        replay.register()  # Idempotency-Key replays of reviewed legal-basis exceptions
