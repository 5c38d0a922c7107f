"""The repository stands alone: its documentation points only at what a clone holds.

Someone who cloned the repository has nothing beside it. So README.md and
api_docs/**/*.md link only to files that exist here (or to web addresses), a link to a
heading names a heading that exists, a repository path written in the text names a file
or folder that exists, and no file anywhere refers to design notes kept outside
(the rules users and integrators need are in api_docs/concepts.md and api_docs/security.md).
"""

from __future__ import annotations

import os
import re
from glob import escape as glob_escape
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "api_docs").rglob("*.md"))]

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")  # [text](target "title")
AUTOLINK = re.compile(r"<([a-z][a-z0-9+.-]*:[^>\s]+)>")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
# A path into this repository as prose writes it: `referrals/services.py`, `tests/support/`.
REPO_PATH = re.compile(
    r"(?<![\w/.:-])(?:coalition|partners|referrals|web|docs|api_docs|tests|scripts|bench|requirements|locale|\.ci)/[\w./-]*"
)
# Anything that climbs out of the folder it is written in: ../shared/DESIGN.md.
PARENT_PATH = re.compile(r"(?<![\w.$/])\.\./[\w./-]*")
# Design notes that live outside the repository, by the names they were cited by.
OUTSIDE_NOTES = re.compile(r"\b(?:DESIGN|SECURITY|STYLE)(?:\.md\b|\s*§)|\.\./shared/|\bshared/(?:DESIGN|SECURITY|STYLE)")


def _prose(path: Path) -> str:
    """The document without its fenced code blocks (shell sessions, JSON, Python)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def _anchor(heading: str) -> str:
    """GitHub's id for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "")
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    return {_anchor(h) for h in HEADING.findall(_prose(path))}


def _inside_repository(path: Path) -> bool:
    return path.resolve().is_relative_to(ROOT)


def _exists(path: Path) -> bool:
    """The file or folder, or a file it is the start of (`referrals/migrations/0004`)."""
    if path.exists():
        return True
    return path.parent.is_dir() and any(path.parent.glob(glob_escape(path.name) + "*"))


def _doc_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_documentation_is_found():
    names = {_doc_id(path) for path in DOCS}
    assert {"README.md", "api_docs/concepts.md", "api_docs/security.md", "api_docs/guide.md"} <= names


@pytest.mark.parametrize("doc", DOCS, ids=_doc_id)
def test_every_link_names_a_file_of_the_repository_that_exists(doc):
    broken = []
    for target in LINK.findall(_prose(doc)) + AUTOLINK.findall(_prose(doc)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https://, mailto: ... a web address, not a file
            continue
        path_part, _, fragment = target.partition("#")
        path_part = path_part.split("?")[0]
        file = (doc.parent / path_part) if path_part else doc
        if not _inside_repository(file):
            broken.append(f"{target}: outside the repository")
        elif not file.exists():
            broken.append(f"{target}: no such file")
        elif fragment and file.suffix == ".md" and fragment not in _anchors(file):
            broken.append(f"{target}: no heading #{fragment} in {_doc_id(file.resolve())}")
    assert broken == []


IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")  # ![alt](target "title")
IMAGE_MAX_BYTES = 200_000


@pytest.mark.parametrize("doc", DOCS, ids=_doc_id)
def test_every_image_says_what_it_shows_and_is_a_small_file_of_the_repository(doc):
    """An image is a committed PNG or SVG here (none fetched from elsewhere), with alt text, kept small."""
    wrong = []
    for alt, target in IMAGE.findall(_prose(doc)):
        file = doc.parent / target
        if not alt.strip():
            wrong.append(f"{target}: no alt text")
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or not _inside_repository(file) or not file.is_file():
            wrong.append(f"{target}: not a file of the repository")
        elif file.suffix not in (".png", ".svg") or file.stat().st_size > IMAGE_MAX_BYTES:
            wrong.append(f"{target}: not a PNG or SVG under {IMAGE_MAX_BYTES} bytes")
    assert wrong == []


@pytest.mark.parametrize("doc", DOCS, ids=_doc_id)
def test_every_repository_path_in_the_text_exists(doc):
    missing = []
    for span in CODE_SPAN.findall(_prose(doc)):
        for written in REPO_PATH.findall(span):
            if span.startswith(("$", "/")) or "…" in written or "<" in span:
                continue  # a URL path or a placeholder, not a file
            if not _exists(ROOT / written.rstrip(".")) and not _exists(doc.parent / written.rstrip(".")):
                missing.append(written)
    assert missing == []


@pytest.mark.parametrize("doc", DOCS, ids=_doc_id)
def test_nothing_in_the_documentation_points_outside_the_repository(doc):
    text = doc.read_text(encoding="utf-8")
    outside = [p for p in PARENT_PATH.findall(text) if not _inside_repository(doc.parent / p)]
    outside += [m.group(0) for m in OUTSIDE_NOTES.finditer(text)]
    assert outside == []


SKIPPED_DIRS = {".git", ".venv", "venv", "var", "staticfiles", "__pycache__", ".hypothesis", ".pytest_cache", "node_modules"}
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".sh", ".conf", ".txt", ".in", ".html"}


def _repository_text_files():
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        for name in files:
            path = Path(folder) / name
            if path.suffix in TEXT_SUFFIXES or name in ("Makefile", "run"):
                yield path


def test_no_file_refers_to_design_notes_kept_outside_the_repository():
    here = Path(__file__).resolve()
    found = []
    for path in _repository_text_files():
        if path.resolve() == here:
            continue  # this file names what it looks for
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE_NOTES.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert found == [], "Refer to README.md or api_docs/ instead:\n" + "\n".join(found)
