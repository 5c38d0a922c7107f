"""Match keys: keyed hashes of a young person's normalised identity (README, "Known elsewhere: the match").

Two members who know the same young person write her name a little differently:
``Van den Berg`` and ``van den berg``, ``Zoë`` and ``Zoe``, ``Anne-Marie`` and ``Anne Marie``,
given and family name swapped. ``fold`` makes those the same text; ``match_keys`` turns
the folded identity into HMAC-SHA256 digests under the coalition's ``MATCH_KEY``, a secret
outside the database, so the stored keys say nothing to whoever reads the table, and
cannot be tested against a guessed name without the secret.

Two keys per subject, when its identity has what they need:

- ``name_and_birth_date``: both names (in either order) and the date of birth;
- ``given_name_and_birth_year``: the given name and the year of birth (from the date of
  birth, or the birth year when only that is known), the fallback that finds the same
  girl when one member knows her family name and the other does not.

Nothing here touches the database; ``referrals.matches`` stores and compares the keys.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping

from django.conf import settings

from .choices import MatchKeyKind

# Hyphens, apostrophes, dots, underscores and every kind of space: folded away.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212'\u2019\u02bc`´.,_]+")
_YEAR = re.compile(r"^(\d{4})")
VERSION = "v1"  # the normalisation's version, inside every digest: a new rule is a rekey, not a silent mismatch


def fold(text: str) -> str:
    """``text`` as a match key reads it: no case, no accents, no spaces, hyphens or apostrophes.

    >>> fold("Van den Berg") == fold("vandenberg")
    True
    >>> fold("Zoë"), fold("Anne-Marie"), fold("D'Hondt")
    ('zoe', 'annemarie', 'dhondt')
    """
    decomposed = unicodedata.normalize("NFKD", text or "")
    without_accents = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SEPARATORS.sub("", without_accents.casefold())


def birth_year_of(date_of_birth: str, birth_year: str) -> str:
    """The year of birth: from the ISO date of birth, else the birth year given alone."""
    for value in (date_of_birth, birth_year):
        found = _YEAR.match((value or "").strip())
        if found:
            return found.group(1)
    return ""


def key_material(identity: Mapping[str, str]) -> dict[str, str]:
    """The normalised text each key is made of, by kind; a kind whose parts are missing is left out."""
    given = fold(identity.get("given_name", ""))
    family = fold(identity.get("family_name", ""))
    date_of_birth = (identity.get("date_of_birth") or "").strip()
    year = birth_year_of(date_of_birth, identity.get("birth_year", ""))
    material: dict[str, str] = {}
    if given and family and date_of_birth:
        names = "\x1f".join(sorted((given, family)))  # name order tolerated
        material[MatchKeyKind.NAME_AND_BIRTH_DATE] = f"{VERSION}|names|{names}|{date_of_birth}"
    if given and year:
        material[MatchKeyKind.GIVEN_NAME_AND_BIRTH_YEAR] = f"{VERSION}|given|{given}|{year}"
    return material


def _secret(secret: str | None) -> bytes:
    value = settings.MATCH_KEY if secret is None else secret
    if len(value.encode()) < 32:
        raise ValueError("MATCH_KEY must be at least 32 bytes.")
    return value.encode()


def match_keys(identity: Mapping[str, str], *, secret: str | None = None) -> dict[str, str]:
    """The hex HMAC-SHA256 digest of each key ``identity`` gives, under ``secret`` (default ``MATCH_KEY``)."""
    key = _secret(secret)
    return {
        kind: hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
        for kind, text in key_material(identity).items()
    }


def key_id(*, secret: str | None = None) -> str:
    """A fingerprint of the secret (not the secret): which ``MATCH_KEY`` a stored key was made under."""
    return hmac.new(_secret(secret), b"coalition match key fingerprint", hashlib.sha256).hexdigest()[:16]
