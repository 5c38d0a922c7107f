"""What the notifications register into the layers below, from ``NotificationsConfig.ready()``.

- the event hook: each event's notifications in the event's own transaction;
- every minute: the escalation of referrals still late after their deadline's span again;
- every five minutes: the daily digests that fell due (one per person and day).
"""

from datetime import timedelta

from coalition.events.jobs import register_job
from coalition.events.models import Event
from coalition.events.services import register_event_hook

from . import services


def notify_for_event(event: Event) -> None:
    """The hook: the notifications ``event`` causes (the events layer wants no answer)."""
    services.notify_for_event(event)


def register() -> None:
    register_event_hook(notify_for_event)
    register_job("escalate_overdue", every=lambda: timedelta(minutes=1), run=services.escalate_due)
    register_job("send_digests", every=services.digest_interval, run=services.send_digests)
