"""The referral state machine: in which statuses each action may be taken, and where it leads.

The action rules (``referrals.actions``) ask this table for every action on a referral,
and ``referrals.services`` sets a new status only through ``Transition.target``;
nothing else compares statuses to decide whether an action is allowed. An action outside its statuses is a conflict
(409): the referral moved on, or was never there.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coalition.core.errors import Conflict, Message

from .choices import OPEN_REFERRAL_STATUSES, PENDING_REFERRAL_STATUSES, ReferralStatus


@dataclass(frozen=True)
class Transition:
    """``action`` is allowed in ``sources``; it leads to ``target`` (None: the status stays).

    ``refusal`` is what the conflict says when the status does not allow it; without one,
    "Cannot <action> a referral that is <status>."
    """

    action: str
    sources: frozenset[str]
    target: str | None = None
    refusal: Message | None = None

    def refusal_in(self, status: str) -> Conflict | None:
        """The ``Conflict`` of taking the action in ``status``, or None where it may be taken."""
        if status in self.sources:
            return None
        if self.refusal is not None:
            return Conflict(self.refusal)
        return Conflict(_("Cannot %(action)s a referral that is %(status)s.") % {"action": self.action, "status": status})

    def require(self, status: str) -> None:
        """Raise ``Conflict`` unless the action may be taken in ``status``."""
        refusal = self.refusal_in(status)
        if refusal is not None:
            raise refusal


def _transition(action: str, sources, target: str | None = None, refusal: Message | None = None) -> Transition:
    return Transition(action=action, sources=frozenset(sources), target=target, refusal=refusal)


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        _transition("send", (ReferralStatus.DRAFT,), ReferralStatus.SENT),
        _transition("acknowledge", (ReferralStatus.SENT,), ReferralStatus.ACKNOWLEDGED),
        _transition("accept", PENDING_REFERRAL_STATUSES, ReferralStatus.ACCEPTED),
        _transition("decline", PENDING_REFERRAL_STATUSES, ReferralStatus.DECLINED),
        # The open referrals: also what closing a case, withdrawing a consent or flagging an
        # exception withdraws (``Referral.objects.open()``).
        _transition("withdraw", OPEN_REFERRAL_STATUSES, ReferralStatus.WITHDRAWN),
        _transition("complete", (ReferralStatus.ACCEPTED,), ReferralStatus.COMPLETED),
        # Actions that keep the status.
        _transition("update", (ReferralStatus.DRAFT,), refusal=gettext_lazy("Only a draft can be changed.")),
        _transition(
            "message",
            set(ReferralStatus.values) - {ReferralStatus.DRAFT},
            refusal=gettext_lazy("A draft has no recipient yet."),
        ),
    )
}


def transition(action: str) -> Transition:
    return TRANSITIONS[action]
