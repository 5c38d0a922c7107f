"""Demo seeders: what each app adds to the fictional demo coalition.

``manage.py seed_demo`` creates the organisations and the logins, then runs every
registered seeder in registration order. An app above ``partners`` (``referrals``:
the demo cases) registers its seeder from its ``AppConfig.ready()``, so this app
never imports it. A seeder is safe to run again and returns one line for the
person running the command (empty when it created nothing), never personal data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

DemoSeeder = Callable[[], str]

SEEDERS: list[DemoSeeder] = []


def register_demo_seeder(seed: DemoSeeder) -> None:
    """Add ``seed`` to what ``seed_demo`` runs, once however often it is registered."""
    if seed not in SEEDERS:
        SEEDERS.append(seed)


def run_demo_seeders() -> list[str]:
    """Run every seeder (in the caller's transaction); the lines they report, empty ones left out."""
    return [line for line in (seed() for seed in SEEDERS) if line]


# The demo's published capacity (slug: service, places, waitlist, days since it was confirmed):
# shelter-be has beds tonight, ecpat-be has none and a waitlist, streetwork-be's is stale.
DEMO_CAPACITY = {
    "shelter-be": [("shelter", 2, 0, 0)],
    "ecpat-be": [("counselling", 0, 3, 0), ("legal_support", 0, 3, 0)],
    "streetwork-be": [("outreach", 1, 0, 10)],
}


def seed_capacity() -> str:
    """Each demo member above publishes its capacity through its org admin (audited, evented), once.

    A member that has published capacity already keeps it, so running again changes nothing.
    """
    from django.utils import timezone

    from .models import OrganisationCapacity, User
    from .services import capacity_set

    seeded = []
    for slug, rows in DEMO_CAPACITY.items():
        admin = User.objects.filter(username=f"{slug}-admin", organisation__slug=slug).select_related("organisation").first()
        if admin is None or OrganisationCapacity.objects.filter(organisation=admin.organisation).exists():
            continue
        entries = [{"service": s, "places_available": p, "waitlist_length": w} for s, p, w, _days in rows]
        capacity_set(actor=admin, organisation=admin.organisation, entries=entries)
        for service, _places, _waitlist, days in rows:
            if days:
                OrganisationCapacity.objects.filter(organisation=admin.organisation, service=service).update(
                    updated_at=timezone.now() - timedelta(days=days)
                )
        seeded.append(slug)
    return f"Published the capacity of {', '.join(seeded)}." if seeded else ""
