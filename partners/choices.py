"""Code lists of the coalition: the stable codes partner systems integrate against.

Labels are translated (en, nl, fr); codes never are. The roles and API-key scopes live
in ``coalition.core.access`` (lower layers name them too) and are re-exported here.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from coalition.core.access import ApiKeyScope, Role

__all__ = [
    "COALITION_ROLES", "MFA_REQUIRED_ROLES", "ApiKeyScope", "Country", "InterfaceLanguage", "Language",
    "MembershipStatus", "OrganisationKind", "Phenomenon", "RequestedService", "Role",
]


class OrganisationKind(models.TextChoices):
    HOTLINE = "hotline", _("Hotline")
    NGO = "ngo", _("Non-governmental organisation")
    CARE_PROVIDER = "care_provider", _("Care provider")
    SHELTER = "shelter", _("Shelter")
    POLICE_LIAISON = "police_liaison", _("Police liaison")
    PROSECUTION_LIAISON = "prosecution_liaison", _("Prosecution liaison")
    CHILD_PROTECTION = "child_protection", _("Child protection service")
    COORDINATOR = "coordinator", _("Coalition coordination")


class MembershipStatus(models.TextChoices):
    ACTIVE = "active", _("Active member")
    SUSPENDED = "suspended", _("Suspended")
    LEFT = "left", _("Left the coalition")


# Roles that act for the whole coalition: only users of a coordinator organisation hold them.
COALITION_ROLES = frozenset({Role.COORDINATOR, Role.AUDITOR})
# Roles whose users must pass a second factor (TOTP) to obtain tokens.
MFA_REQUIRED_ROLES = frozenset({Role.COORDINATOR, Role.ORG_ADMIN, Role.AUDITOR})


class Phenomenon(models.TextChoices):
    CHILD_PROSTITUTION = "child_prostitution", _("Child and teen prostitution")
    TEEN_PIMP = "teen_pimp", _("Teen pimps (loverboys)")
    SEXTORTION = "sextortion", _("Sextortion")
    GROOMING = "grooming", _("Grooming")
    SEXTING = "sexting", _("Problematic sexting")
    ABUSE_IMAGES = "abuse_images", _("Child sexual abuse images")
    CHILD_SEX_TOURISM = "child_sex_tourism", _("Child sex tourism")
    BOYS_PROSTITUTION = "boys_prostitution", _("Boys' prostitution")
    TRAFFICKING = "trafficking", _("Trafficking")
    OTHER_ONLINE_EXPLOITATION = "other_online_exploitation", _("Other online exploitation")


class Language(models.TextChoices):
    NL = "nl", _("Dutch")
    FR = "fr", _("French")
    EN = "en", _("English")
    DE = "de", _("German")
    AR = "ar", _("Arabic")
    TR = "tr", _("Turkish")
    RO = "ro", _("Romanian")
    PL = "pl", _("Polish")
    ES = "es", _("Spanish")
    UK = "uk", _("Ukrainian")


class InterfaceLanguage(models.TextChoices):
    """The languages the coalition's pages and mails are written in (settings.LANGUAGES)."""

    EN = "en", _("English")
    NL = "nl", _("Dutch")
    FR = "fr", _("French")


class Country(models.TextChoices):
    BE = "BE", _("Belgium")
    NL = "NL", _("Netherlands")
    LU = "LU", _("Luxembourg")


class RequestedService(models.TextChoices):
    """What a referral asks the recipient for; the directory publishes capacity per requested service."""

    SHELTER = "shelter", _("Shelter or safe housing")
    COUNSELLING = "counselling", _("Counselling and therapy")
    CASE_MANAGEMENT = "case_management", _("Case management")
    LEGAL_SUPPORT = "legal_support", _("Legal support")
    POLICE_REPORT = "police_report", _("Support to report to the police")
    MEDICAL = "medical", _("Medical care")
    ONLINE_REMOVAL = "online_removal", _("Removal of online images")
    OUTREACH = "outreach", _("Outreach and street work")
