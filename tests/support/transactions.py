"""Transaction helpers shared by tests."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import transaction


@contextmanager
def rolled_back():
    """Run the block in a savepoint that is always rolled back."""
    with transaction.atomic():
        try:
            yield
        finally:
            transaction.set_rollback(True)
