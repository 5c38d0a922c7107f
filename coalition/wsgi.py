"""The WSGI entry point gunicorn loads.

Management commands run Django's system checks before they start; gunicorn does not.
The checks tagged ``settings`` (a bad ``REFERRAL_DEADLINES`` or ``COALITION_TIME_ZONE``)
run here too, so a worker with a broken configuration refuses to start instead of
failing on the first referral sent.
"""

import os

from django.core import checks
from django.core.management.base import SystemCheckError
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "coalition.settings")
application = get_wsgi_application()

_refusals = [message for message in checks.run_checks(tags=["settings"]) if message.is_serious()]
if _refusals:
    raise SystemCheckError("\n".join(str(message) for message in _refusals))
