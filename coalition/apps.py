from django.apps import AppConfig


class CoalitionConfig(AppConfig):
    name = "coalition"
    verbose_name = "Coalition"

    def ready(self) -> None:
        from . import db  # noqa: F401  (registers the has_item lookup)
