"""A young person's rights over their data: access (GDPR art. 15) and erasure (art. 17).

Only the auditor (data protection officer) exercises them, on the young person's
behalf; both leave an entry in the audit trail, in the same transaction as the act.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.audit.models import AuditEntry
from coalition.audit.services import record
from coalition.core.actors import Actor
from coalition.core.errors import Conflict
from coalition.events.services import emit
from partners.models import Organisation

from .choices import CaseStatus
from .models import Case, Consent, Involvement, LegalBasisException, Referral, Subject
from .retention import erase_personal_data, organisations_that_held


@dataclass
class SubjectExport:
    """Everything held about the young person of one case, as read in one transaction."""

    exported_at: datetime
    case: Case
    subject: Subject | None
    organisations: list[Organisation]
    involvements: list[Involvement]
    consents: list[Consent]
    referrals: list[Referral]
    exceptions: list[LegalBasisException]
    audit_entries: list[AuditEntry] = field(default_factory=list)


@transaction.atomic
def subject_export(*, actor: Actor, case: Case) -> SubjectExport:
    """Collect what the network holds about the subject of ``case``, and audit the export.

    The ``subject.export`` entry is written first, so the export lists itself among
    the audit entries about the case.
    """
    record(action="subject.export", actor=actor, obj=case)
    case = Case.objects.select_related("lead_organisation", "opened_by_organisation").get(pk=case.pk)
    subject = Subject.objects.filter(case=case).first()
    involvements = list(Involvement.objects.filter(case=case).order_by("started_at"))
    consents = list(Consent.objects.filter(case=case).order_by("created_at"))
    referrals = list(
        Referral.objects.filter(case=case).prefetch_related("messages").order_by("created_at")
    )
    exceptions = list(LegalBasisException.objects.filter(case=case).order_by("created_at"))
    org_ids = {case.lead_organisation_id, case.opened_by_organisation_id}
    org_ids |= {i.organisation_id for i in involvements} | {c.recorded_by_organisation_id for c in consents}
    org_ids |= {r.sender_id for r in referrals} | {r.recipient_id for r in referrals}
    for consent in consents:
        org_ids |= set(consent.recipients)
    organisations = list(Organisation.objects.filter(pk__in=org_ids).order_by("slug"))
    return SubjectExport(
        exported_at=timezone.now(),
        case=case,
        subject=subject,
        organisations=organisations,
        involvements=involvements,
        consents=consents,
        referrals=referrals,
        exceptions=exceptions,
        audit_entries=list(AuditEntry.objects.filter(case=case.pk).order_by("seq")),
    )


@transaction.atomic
def subject_erase(*, actor: Actor, case: Case) -> Case:
    """The auditor erases a young person's identity and free text (GDPR art. 17).

    Refused (409) while a legal hold applies, while the case is open (its lead is
    still working it and closes it first) and once already erased. Metadata, codes,
    counts and the audit trail stay, as after the retention purge. Every organisation
    that held the case is told by a ``case.erased`` event (ids only), in the same
    transaction, so its systems delete what they copied.
    """
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.legal_hold:
        raise Conflict(_("The case is on legal hold: release the hold before erasing."))
    if case.status != CaseStatus.CLOSED:
        raise Conflict(_("The case is open: its lead organisation closes it before erasure."))
    if case.purged_at is not None:
        raise Conflict(_("The identity and free text of this case are already erased."))
    counts = erase_personal_data(case, timezone.now())
    record(action="subject.erase", actor=actor, obj=case, detail=counts)
    emit(type="case.erased", organisations=organisations_that_held(case), case_id=case.pk)
    return case
