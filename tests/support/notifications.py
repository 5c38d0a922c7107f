"""Who was told what: the notifications and their mails, read back by username for the notification tests."""

from __future__ import annotations

from dataclasses import dataclass

from coalition.mail.models import OutboundMail
from coalition.notifications.models import Notification
from partners.choices import Role
from partners.models import Organisation, User
from tests.support.personas import make_user

# Everyone of the suite's cast who could be told something (tests/support/personas.py), plus the colleagues below.
EVERYONE = {
    "hotline-be-caseworker", "hotline-be-caseworker-2", "hotline-be-admin",
    "shelter-be-caseworker", "shelter-be-caseworker-2", "shelter-be-former", "shelter-be-admin",
    "care-nl-caseworker", "care-nl-admin", "coordinator", "coordinator-2", "auditor",
}


@dataclass
class Colleagues:
    """More people than the personas, so that "all the caseworkers" and "only the active ones" mean something."""

    hotline_second: User  # a second caseworker of the sender
    shelter_second: User  # a second caseworker of the recipient
    shelter_former: User  # a caseworker of the recipient who left (inactive)
    shelter_admin: User  # the recipient's org admin, not a caseworker
    coordinator_second: User  # a second coordinator of the coordination


def make_colleagues(orgs: dict[str, Organisation]) -> Colleagues:
    former = make_user("shelter-be-former", orgs["shelter-be"], [Role.CASEWORKER])
    former.is_active = False
    former.save(update_fields=["is_active"])
    return Colleagues(
        hotline_second=make_user("hotline-be-caseworker-2", orgs["hotline-be"], [Role.CASEWORKER]),
        shelter_second=make_user("shelter-be-caseworker-2", orgs["shelter-be"], [Role.CASEWORKER]),
        shelter_former=former,
        shelter_admin=make_user("shelter-be-admin", orgs["shelter-be"], [Role.ORG_ADMIN]),
        coordinator_second=make_user("coordinator-2", orgs["coordination"], [Role.COORDINATOR]),
    )


def told(kind: str, **filters) -> set[str]:
    """The usernames of the people who got a notification of ``kind`` (narrowed by ``filters``)."""
    return set(Notification.objects.filter(kind=kind, **filters).values_list("user__username", flat=True))


def notified(kind: str, **filters) -> list[tuple[str, str]]:
    """(username, kind) of each notification of ``kind``, one per row: a person told twice shows twice."""
    return sorted(Notification.objects.filter(kind=kind, **filters).values_list("user__username", "kind"))


# The mails the notifications send (the outbox also holds the partners' mails: approvals, invitations ...).
NOTIFICATION_TEMPLATES = ("notification", "on_call", "notification_digest")


def notification_mails():
    """The outbox's notification mails, oldest first."""
    return OutboundMail.objects.filter(template__in=NOTIFICATION_TEMPLATES).order_by("created_at", "id")


def mailed_to(template: str = "notification") -> list[str]:
    """The address of every mail of ``template`` in the outbox, one per mail (sorted)."""
    return sorted(OutboundMail.objects.filter(template=template).values_list("to", flat=True))


def address_of(username: str) -> str:
    return f"{username}@example.org"  # tests.support.personas.make_user
