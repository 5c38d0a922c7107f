"""The notifications of the demo coalition (README, "Try it"), after the demo cases (``referrals.demo``).

The demo's cases were made through the services, so their notifications exist already;
this seeder gives shelter-be an on-call address, drops the notifications (and unsent
mails) of the back-dated history (nobody is to be told today of last spring's cases),
and dates the rest as their back-dated referrals are.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from coalition.mail.models import MailStatus, OutboundMail
from partners.models import Organisation
from referrals.models import Referral

from .choices import NotificationKind
from .models import Notification

ON_CALL = {"shelter-be": "on-call@shelter-be.example.org"}


def seed_demo() -> str:
    for slug, address in ON_CALL.items():
        Organisation.objects.filter(slug=slug, on_call_email="").update(on_call_email=address)
    history = Referral.objects.filter(sent_at__lt=timezone.now() - timedelta(days=13)).values("pk")
    old = Notification.objects.filter(referral__in=history)
    mails = list(old.exclude(mail=None).values_list("mail_id", flat=True))
    dropped, _by_model = old.delete()
    OutboundMail.objects.filter(pk__in=mails, status=MailStatus.PENDING).delete()
    for referral in Referral.objects.filter(sent_at__isnull=False, pk__in=Notification.objects.filter(
            kind=NotificationKind.REFERRAL_SENT).values("referral")).only("pk", "sent_at", "acknowledge_due"):
        Notification.objects.filter(referral=referral.pk, kind=NotificationKind.REFERRAL_SENT).update(
            created_at=referral.sent_at, due_at=referral.acknowledge_due)
    return f"Gave shelter-be an on-call address; left out {dropped} notifications of the history." if dropped else ""
