"""Code lists of the coalition: the stable codes partner systems integrate against.

Labels are translated (en, nl, fr); codes never are.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


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


class Role(models.TextChoices):
    CASEWORKER = "caseworker", _("Caseworker")
    ORG_ADMIN = "org_admin", _("Organisation administrator")
    COORDINATOR = "coordinator", _("Coalition coordinator")
    AUDITOR = "auditor", _("Auditor / data protection officer")


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


class Country(models.TextChoices):
    BE = "BE", _("Belgium")
    NL = "NL", _("Netherlands")
    LU = "LU", _("Luxembourg")


class ApiKeyScope(models.TextChoices):
    ORGANISATIONS_READ = "organisations:read", _("Read the coalition directory")
    REFERRALS_READ = "referrals:read", _("Read cases and referrals of the organisation")
    REFERRALS_WRITE = "referrals:write", _("Create and act on referrals of the organisation")
    EVENTS_READ = "events:read", _("Read the organisation's event feed")
