"""The fixture child's identity as a page could show it, and the check that a page shows none of it."""

from __future__ import annotations

import html as html_lib

from tests.support.flows import CHILD

GUARDIAN = "Aunt Velmora Testcase, 0470 11 22 33"
# The fixture child with a guardian contact too: every identifying field filled in.
SUBJECT = CHILD | {"guardian_contact": GUARDIAN}
# Each field, and the date of birth as pages in English, Dutch and French may write it.
IDENTITY = [
    SUBJECT["given_name"], SUBJECT["family_name"], SUBJECT["date_of_birth"], "03-04-2010", "03/04/2010",
    "3 april 2010", "April 3, 2010", "3 avril 2010", SUBJECT["municipality"], SUBJECT["safe_contact"], GUARDIAN,
]


def assert_no_identity(text: str, where: str = "the page") -> None:
    for value in IDENTITY:
        for form in {value, html_lib.escape(value), html_lib.escape(value, quote=False)}:
            assert form not in text, f"identity on {where}: {value!r}"
