"""Compile every locale/*/LC_MESSAGES/django.po into its .mo, in pure Python (polib).

Django's ``compilemessages`` needs GNU gettext's ``msgfmt``; polib does not, so a
fresh machine can rebuild the committed catalogues with the project's own
dependencies. Like ``msgfmt``, fuzzy and untranslated entries are left out of the
.mo (Django then falls back to English for them); they are reported, and the test
suite (tests/test_i18n.py) refuses a catalogue that has any.

Usage: ``python scripts/compile_messages.py`` (``make messages``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import polib

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def compile_catalogue(po_path: Path) -> list[str]:
    """Write ``po_path``'s .mo beside it; return warnings about entries left out."""
    po = polib.pofile(str(po_path))
    po.save_as_mofile(str(po_path.with_suffix(".mo")))
    warnings = []
    if po.metadata_is_fuzzy:
        warnings.append("the header is marked fuzzy")
    warnings += [f"untranslated: {entry.msgid!r}" for entry in po.untranslated_entries()]
    warnings += [f"fuzzy: {entry.msgid!r}" for entry in po.fuzzy_entries()]
    return warnings


def main() -> int:
    po_paths = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/django.po"))
    if not po_paths:
        print(f"No catalogues found under {LOCALE_DIR}.", file=sys.stderr)
        return 1
    for po_path in po_paths:
        warnings = compile_catalogue(po_path)
        print(f"compiled {po_path.relative_to(LOCALE_DIR.parent)}" + (f" ({len(warnings)} warnings)" if warnings else ""))
        for warning in warnings:
            print(f"  {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
