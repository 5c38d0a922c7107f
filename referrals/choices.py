"""Code lists of cases, consent and referrals (labels translated, codes stable)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

# The directory's vocabulary (capacity is per requested service): defined in partners, named here too.
from partners.choices import RequestedService  # noqa: F401


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class CaseOutcome(models.TextChoices):
    SAFE_AND_SUPPORTED = "safe_and_supported", _("Safe and supported")
    HANDED_TO_SERVICES_OUTSIDE = "handed_to_services_outside", _("Handed to services outside the coalition")
    REFUSED_HELP = "refused_help", _("Young person refused help")
    LOST_CONTACT = "lost_contact", _("Contact lost")
    MOVED_AWAY = "moved_away", _("Moved out of the region")
    OTHER = "other", _("Other")


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    NON_BINARY = "non_binary", _("Non-binary")
    UNKNOWN = "unknown", _("Unknown or not said")


class InvolvementRole(models.TextChoices):
    LEAD = "lead", _("Lead organisation")
    SUPPORTING = "supporting", _("Supporting organisation")


class ConsentGiver(models.TextChoices):
    YOUNG_PERSON = "young_person", _("The young person")
    PARENT = "parent", _("Parent")
    GUARDIAN = "guardian", _("Guardian")
    LEGAL_REPRESENTATIVE = "legal_representative", _("Legal representative")


class ConsentMethod(models.TextChoices):
    VERBAL = "verbal", _("Verbal")
    WRITTEN = "written", _("Written")
    DIGITAL = "digital", _("Digital")


class ConsentPurpose(models.TextChoices):
    CARE_REFERRAL = "care_referral", _("Referral for care")
    INFORMATION_SHARING = "information_sharing", _("Information sharing")
    POLICE_REPORT = "police_report", _("Report to the police")


class LegalBasis(models.TextChoices):
    VITAL_INTEREST = "vital_interest", _("Vital interest (imminent danger)")
    LEGAL_OBLIGATION = "legal_obligation", _("Legal obligation")
    DUTY_TO_REPORT = "duty_to_report", _("Duty to report")


class ExceptionReview(models.TextChoices):
    PENDING = "pending", _("Awaiting review")
    APPROVED = "approved", _("Approved")
    FLAGGED = "flagged", _("Flagged")


class ReferralKind(models.TextChoices):
    SERVICE = "service", _("Service referral")
    TRANSFER = "transfer", _("Transfer of the lead")


class ReferralStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    COMPLETED = "completed", _("Completed")


class Urgency(models.TextChoices):
    IMMEDIATE = "immediate", _("Immediate")
    URGENT = "urgent", _("Urgent")
    NORMAL = "normal", _("Normal")


class Signal(models.TextChoices):
    APPEARANCE = "appearance", _("Changes in appearance")
    SELF_IMAGE = "self_image", _("Changes in self-image")
    GENERAL_BEHAVIOUR = "general_behaviour", _("Changes in general behaviour")
    SEXUAL_BEHAVIOUR = "sexual_behaviour", _("Changes in sexual behaviour")
    BEHAVIOUR_TOWARDS_OTHERS = "behaviour_towards_others", _("Changes in behaviour towards others")
    PHYSICAL_HEALTH = "physical_health", _("Physical health")




class DeclineReason(models.TextChoices):
    NO_CAPACITY = "no_capacity", _("No capacity")
    OUT_OF_SCOPE = "out_of_scope", _("Outside our scope")
    OUT_OF_REGION = "out_of_region", _("Outside our region")
    AGE_OUT_OF_RANGE = "age_out_of_range", _("Age outside our range")
    ALREADY_SUPPORTED = "already_supported", _("Already supported elsewhere")
    OTHER = "other", _("Other")


class ReferralOutcome(models.TextChoices):
    SERVICE_DELIVERED = "service_delivered", _("Service delivered")
    PARTIALLY_DELIVERED = "partially_delivered", _("Partially delivered")
    YOUNG_PERSON_DISENGAGED = "young_person_disengaged", _("Young person disengaged")
    TRANSFERRED_ONWARD = "transferred_onward", _("Transferred onward")
    OTHER = "other", _("Other")


# Open: not yet answered for good (what closing a case or withdrawing a consent withdraws).
OPEN_REFERRAL_STATUSES = (ReferralStatus.DRAFT, ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED)
# Pending: sent and awaiting the recipient's answer.
PENDING_REFERRAL_STATUSES = (ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED)


class Deadline(models.TextChoices):
    """The two deadlines of a sent referral; see ``Referral.DEADLINES`` for when each is missed."""

    ACKNOWLEDGE = "acknowledge", _("Acknowledge")
    DECIDE = "decide", _("Decide")


class LegalHoldReason(models.TextChoices):
    """Why the auditor (data protection officer) keeps a case from the retention purge."""

    LITIGATION = "litigation", _("Court proceedings")
    CRIMINAL_INVESTIGATION = "criminal_investigation", _("Criminal investigation")
    REGULATOR_REQUEST = "regulator_request", _("Request of a supervisory authority")
    INTERNAL_INQUIRY = "internal_inquiry", _("Internal inquiry or complaint")
    OTHER = "other", _("Other legal duty to keep")


# Age bands of the figures and of a coordinator's view of a referral: (label, lowest, highest or None).
AGE_BANDS = (("0-11", 0, 11), ("12-14", 12, 14), ("15-17", 15, 17), ("18+", 18, None))


def age_band(age: int | None) -> str | None:
    """The band of an age in years; None for an unknown age."""
    if age is None:
        return None
    for label, low, high in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return None


class MatchKeyKind(models.TextChoices):
    """Which identity a match key was made of (``referrals.match_keys``)."""

    NAME_AND_BIRTH_DATE = "name_and_birth_date", _("Full name and date of birth")
    GIVEN_NAME_AND_BIRTH_YEAR = "given_name_and_birth_year", _("Given name and birth year")


class MatchStatus(models.TextChoices):
    """A match is open until one side acts; ``done`` once a side says they talked."""

    OPEN = "open", _("Open: nobody has acted yet")
    DONE = "done", _("Done: the members are in touch")
    NOT_THE_SAME_PERSON = "not_the_same_person", _("Not the same young person")


class MatchAction(models.TextChoices):
    CONTACTED = "contacted", _("We have been in touch")
    NOT_THE_SAME_PERSON = "not_the_same_person", _("Not the same young person")


class ConsultationStatus(models.TextChoices):
    """A consultation is open while an asked member has yet to answer."""

    OPEN = "open", _("Open: waiting for answers")
    ANSWERED = "answered", _("Answered by every member asked")
    WITHDRAWN = "withdrawn", _("Withdrawn by the asker")


class ConsultationRequestStatus(models.TextChoices):
    """One asked member's part: pending until it answers, or until the asker withdraws."""

    PENDING = "pending", _("Waiting for the answer")
    ANSWERED = "answered", _("Answered")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ConsultationAnswer(models.TextChoices):
    YES = "yes", _("Yes, we can take it")
    NO = "no", _("No")
    WAITLIST = "waitlist", _("On our waiting list")
