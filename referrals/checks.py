"""System checks: a bad deadline configuration stops the process at start, not at the first referral sent.

Run by every management command that starts a process (``migrate``, ``run_worker``,
``runserver``, ``check``) and, through the ``settings`` tag, by the WSGI entry point
(``coalition.wsgi``) that gunicorn loads. The settings module keeps ``REFERRAL_DEADLINES`` and
``COALITION_TIME_ZONE`` as text so that it imports nothing of this app.
"""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .deadlines import DEFAULT_DEADLINES, DEFAULT_TIME_ZONE, parse_deadlines, parse_time_zone


def check_deadline_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """``REFERRAL_DEADLINES`` and ``COALITION_TIME_ZONE`` read as ``referrals.deadlines`` reads them."""
    errors: list[checks.CheckMessage] = []
    try:
        parse_deadlines(settings.REFERRAL_DEADLINES)
    except ImproperlyConfigured as refused:
        errors.append(checks.Error(str(refused), hint=f"For example: {DEFAULT_DEADLINES}", id="referrals.E001"))
    try:
        parse_time_zone(settings.COALITION_TIME_ZONE)
    except ImproperlyConfigured as refused:
        errors.append(checks.Error(str(refused), hint=f"For example: {DEFAULT_TIME_ZONE}", id="referrals.E002"))
    return errors
