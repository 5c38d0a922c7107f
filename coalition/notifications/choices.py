"""What a notification is about, and how a person wants its mail: the codes of the API."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    REFERRAL_SENT = "referral_sent", _("A new referral for your organisation")
    REFERRAL_ANSWERED = "referral_answered", _("An answer to a referral your organisation sent")
    REFERRAL_WITHDRAWN = "referral_withdrawn", _("A referral withdrawn by its sender")
    MESSAGE = "message", _("A message on a referral")
    OVERDUE = "overdue", _("A deadline passed")
    ESCALATION = "escalation", _("A referral still late, or a match still unanswered, escalated to the coordinators")
    EXCEPTION = "exception", _("A referral sent on a legal-basis exception")
    MATCH = "match", _("Another member knows a young person of yours")
    CONSULTATION = "consultation", _("A member asks whether your organisation can take a young person")
    CONSULTATION_ANSWERED = "consultation_answered", _("An answer to a consultation your organisation asked")


class MailDelivery(models.TextChoices):
    IMMEDIATE = "immediate", _("A mail at once")
    DIGEST = "digest", _("In the daily digest")


# Always mailed at once, whatever the person chose (and so not offered as a choice).
ALWAYS_IMMEDIATE = frozenset({NotificationKind.ESCALATION})
# The kinds a person may choose for, in the order the preferences show them.
CHOOSABLE_KINDS = tuple(kind for kind in NotificationKind if kind not in ALWAYS_IMMEDIATE)
