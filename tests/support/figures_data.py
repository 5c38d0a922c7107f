"""Referrals made straight in the database, many at a time, for figures and oversight lists.

The lifecycle itself is tested through the API in tests/referrals; here what matters is
what the data says, at chosen times, in numbers a test can pick (4, 5, ...). Used by
tests/oversight/ (its ``data`` fixture) and by the figures pages' tests.
"""

from datetime import timedelta

from django.utils import timezone

from referrals.choices import InvolvementRole, ReferralKind, ReferralStatus, RequestedService
from referrals.models import Case, Involvement, Referral
from tests.support.personas import make_organisation


class Data:
    def __init__(self, orgs):
        self.orgs = orgs

    def case(self, lead="hotline-be", **fields):
        organisation = self.orgs[lead] if isinstance(lead, str) else lead
        case = Case.objects.create(
            lead_organisation=organisation, opened_by_organisation=organisation, phenomena=["teen_pimp"], **fields
        )
        Involvement.objects.create(case=case, organisation=organisation, role=InvolvementRole.LEAD)
        return case

    def referrals(self, count=1, *, sender="hotline-be", recipient="shelter-be", case=None, sent_at=None, **fields):
        sender = self.orgs[sender] if isinstance(sender, str) else sender
        recipient = self.orgs[recipient] if isinstance(recipient, str) else recipient
        sent_at = sent_at or timezone.now() - timedelta(days=1)
        values = {
            "kind": ReferralKind.SERVICE,
            "status": ReferralStatus.SENT,
            "phenomenon": "teen_pimp",
            "urgency": "normal",
            "requested_service": RequestedService.SHELTER,
            "age": 15,
            "gender": "female",
            "sent_at": sent_at,
            "created_at": sent_at,
            "acknowledge_due": sent_at + timedelta(days=30),
            "decide_due": sent_at + timedelta(days=60),
        } | fields
        return [
            Referral.objects.create(case=case or self.case(sender), sender=sender, recipient=recipient, **values)
            for _ in range(count)
        ]

    def unrelated(self):
        """Two members none of the personas belongs to."""
        return make_organisation("unrelated-lu", country="LU"), make_organisation("unrelated-lu-2", country="LU")
