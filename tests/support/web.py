"""Signing personas in to the web app, for page tests."""

from __future__ import annotations

from django.test import Client

from partners.models import User


def web_client_for(user: User) -> Client:
    """A browser-like client with ``user`` signed in to the web app (CSRF checked, as in a browser)."""
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client
