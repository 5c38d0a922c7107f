"""Dataset sizes (importable before Django is set up)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    organisations: int = 500
    users: int = 5000
    cases: int = 300_000
    referrals: int = 1_000_000


SMALL = Sizes(organisations=50, users=500, cases=9000, referrals=30000)
