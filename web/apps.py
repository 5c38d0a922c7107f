from django.apps import AppConfig


class WebConfig(AppConfig):
    """The web app for people: pages over the same selectors and services as the API."""

    name = "web"
    verbose_name = "Web app"
