"""The app on a SQLite file, served by the threaded WSGI server ``runserver`` uses.

For tests/test_sqlite_concurrency.py, run as ``python -m tests.sqlite_server`` with
DATABASE_URL=sqlite:///<a file>: it migrates the file, seeds the demo coalition and
the objects the races need (through the services), prints one JSON line (the port,
the ids and access tokens), then serves until it is killed. Not a test module.
"""

from __future__ import annotations

import json
import os
import sys


def _seed() -> dict:
    from datetime import date

    from django_otp.plugins.otp_totp.models import TOTPDevice

    from partners.models import Organisation, User
    from partners.services import totp_enrol
    from partners.tokens import issue_tokens_for_tests
    from referrals import services
    from referrals.demo import CHILDREN, _triage

    hotline = User.objects.get(username="hotline-be-caseworker")
    shelter = User.objects.get(username="shelter-be-caseworker")
    enrolling = User.objects.get(username="ecpat-be-admin")

    def sent_referral():
        case = services.case_open(actor=hotline, subject=CHILDREN[0], phenomena=["teen_pimp"], region="BE-VLG")
        consent = services.consent_record(
            actor=hotline, case=case,
            data={"given_by": "young_person", "method": "written", "purposes": ["care_referral"], "valid_from": date.today()},
        )
        referral = services.referral_create(
            actor=hotline, case=case, data=_triage(Organisation.objects.get(slug="shelter-be"), consent=consent)
        )
        return services.referral_send(actor=hotline, referral=referral)

    referral = sent_referral()
    closing = sent_referral().case  # open, with a pending referral that closing withdraws
    TOTPDevice.objects.filter(user=enrolling).delete()
    enrolment = totp_enrol(user=enrolling)
    return {
        "referral": str(referral.pk),
        "case": str(closing.pk),
        "totp_secret": enrolment.secret,
        "tokens": {
            "hotline": issue_tokens_for_tests(hotline).access,
            "shelter": issue_tokens_for_tests(shelter).access,
            "enrolling": issue_tokens_for_tests(enrolling, mfa_verified=False).access,
        },
    }


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application
    from django.db import connections

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        sys.exit("tests.sqlite_server serves a SQLite file only")
    call_command("migrate", verbosity=0, interactive=False)
    call_command("seed_demo", password="demo-password-2026", totp_secret=None, stdout=open(os.devnull, "w"))
    scenario = _seed()
    connections.close_all()

    server = ThreadedWSGIServer(("127.0.0.1", 0), WSGIRequestHandler)
    server.set_app(get_wsgi_application())
    print(json.dumps(scenario | {"port": server.server_port}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
