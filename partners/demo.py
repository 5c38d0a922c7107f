"""Demo seeders: what each app adds to the fictional demo coalition.

``manage.py seed_demo`` creates the organisations and the logins, then runs every
registered seeder in registration order. An app above ``partners`` (``referrals``:
the demo cases) registers its seeder from its ``AppConfig.ready()``, so this app
never imports it. A seeder is safe to run again and returns one line for the
person running the command (empty when it created nothing), never personal data.
"""

from __future__ import annotations

from collections.abc import Callable

DemoSeeder = Callable[[], str]

SEEDERS: list[DemoSeeder] = []


def register_demo_seeder(seed: DemoSeeder) -> None:
    """Add ``seed`` to what ``seed_demo`` runs, once however often it is registered."""
    if seed not in SEEDERS:
        SEEDERS.append(seed)


def run_demo_seeders() -> list[str]:
    """Run every seeder (in the caller's transaction); the lines they report, empty ones left out."""
    return [line for line in (seed() for seed in SEEDERS) if line]
