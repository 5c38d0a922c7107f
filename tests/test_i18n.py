"""Accept-Language picks Dutch, French or English for messages and choice labels (api_docs/guide.md, "Languages").

The catalogues under locale/ are checked too: complete, placeholders intact, and the
committed .mo files compiled from the current .po files (``make messages``).
"""

from __future__ import annotations

import importlib
import re
import uuid
from pathlib import Path

import polib
import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.db import models
from django.utils import translation
from rest_framework.fields import Field

from tests.support.problems import assert_problem

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
PO_FILES = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/django.po"))

# Written out by hand on purpose: a test that read the expected text from the
# catalogue would pass with any catalogue.
TITLES = {
    "en": {400: "Bad request", 401: "Not authenticated", 404: "Not found", 413: "Request body too large"},
    "nl": {400: "Ongeldig verzoek", 401: "Niet aangemeld", 404: "Niet gevonden", 413: "Inhoud van het verzoek te groot"},
    "fr": {400: "Requête incorrecte", 401: "Non authentifié", 404: "Introuvable", 413: "Corps de la requête trop volumineux"},
}
INVALID_FIELDS = {
    "en": "The request has invalid fields.",
    "nl": "Het verzoek bevat ongeldige velden.",
    "fr": "La requête contient des champs invalides.",
}
PHENOMENON_LABELS = {
    "en": {"teen_pimp": "Teen pimps (loverboys)", "trafficking": "Trafficking"},
    "nl": {"teen_pimp": "Loverboys (tienerpooiers)", "trafficking": "Mensenhandel"},
    "fr": {"teen_pimp": "Proxénètes adolescents (loverboys)", "trafficking": "Traite des êtres humains"},
}


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """Django keeps the last request's language on the thread: do not leak Dutch into other tests."""
    yield
    translation.deactivate()


def _in(language: str | None) -> dict[str, str]:
    return {"HTTP_ACCEPT_LANGUAGE": language} if language else {}


def _django_text(message, language: str) -> str:
    with translation.override(language):
        return str(message)


# --- (a) validation errors ---------------------------------------------------


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_validation_error_comes_back_in_the_language_asked_for(personas, language):
    response = personas["caseworker"].client.get("/api/v1/organisations/?age=x", **_in(language))

    body = assert_problem(response, 400, language=language, title=TITLES[language][400])
    assert body["type"] == "urn:coalition:problem:validation-error"
    assert body["detail"] == INVALID_FIELDS[language]
    [error] = body["errors"]
    assert error["pointer"] == "#/age"
    # The field message itself is Django's, from Django's own catalogue.
    invalid_integer = forms.IntegerField.default_error_messages["invalid"]
    assert error["detail"] == _django_text(invalid_integer, language)
    assert error["detail"] != _django_text(invalid_integer, "en")


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_serializer_field_errors_use_rest_frameworks_translations(anonymous_client, language):
    response = anonymous_client.post("/api/v1/auth/token/", {}, format="json", **_in(language))

    body = assert_problem(response, 400, language=language, title=TITLES[language][400])
    assert body["detail"] == INVALID_FIELDS[language]
    required = Field.default_error_messages["required"]
    details = {error["pointer"]: error["detail"] for error in body["errors"]}
    assert details["#/username"] == _django_text(required, language) != _django_text(required, "en")


def test_validation_error_is_in_english_without_accept_language(personas):
    response = personas["caseworker"].client.get("/api/v1/organisations/?age=x")

    body = assert_problem(response, 400, language="en", title=TITLES["en"][400])
    assert body["detail"] == INVALID_FIELDS["en"]
    assert body["errors"][0]["detail"] == "Enter a whole number."


# --- (b) 401 and 404 -----------------------------------------------------------

NOT_AUTHENTICATED = {
    "en": "Authentication credentials were not provided.",
    "nl": "Er zijn geen aanmeldingsgegevens meegegeven.",
    "fr": "Les informations d'authentification n'ont pas été fournies.",
}
NOT_FOUND = {"en": "Not found.", "nl": "Niet gevonden.", "fr": "Introuvable."}


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_missing_credentials_problem_is_translated(anonymous_client, language):
    response = anonymous_client.get("/api/v1/organisations/", **_in(language))

    body = assert_problem(response, 401, language=language, title=TITLES[language][401])
    assert body["detail"] == NOT_AUTHENTICATED[language]


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_invalid_token_problem_is_translated(anonymous_client, language):
    anonymous_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = anonymous_client.get("/api/v1/organisations/", **_in(language))

    body = assert_problem(response, 401, language=language, title=TITLES[language][401])
    english = anonymous_client.get("/api/v1/organisations/", **_in("en")).json()["detail"]
    assert body["detail"] != english


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_object_outside_scope_problem_is_translated(personas, language):
    response = personas["caseworker"].client.get(f"/api/v1/organisations/{uuid.uuid4()}/", **_in(language))

    body = assert_problem(response, 404, language=language, title=TITLES[language][404])
    assert body["detail"] == NOT_FOUND[language]


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_unknown_route_problem_is_translated(anonymous_client, language):
    response = anonymous_client.get("/api/v1/no-such-resource/", **_in(language))

    body = assert_problem(response, 404, language=language, title=TITLES[language][404])
    assert body["detail"] == NOT_FOUND[language]


@pytest.mark.parametrize(("previous", "language"), [("nl", "fr"), ("fr", "en"), ("en", "nl")])
def test_problem_raised_before_any_view_uses_the_language_of_its_own_request(personas, previous, language):
    """The body-size limit answers before routing: it must not inherit the previous request's language."""
    client = personas["caseworker"].client
    client.get("/api/v1/vocabularies/", **_in(previous))
    client.validate = False  # the schema checker itself refuses to read an oversized body

    response = client.post(
        "/api/v1/organisations/",
        data="x" * (settings.MAX_REQUEST_BODY_BYTES + 1),
        content_type="application/json",
        **_in(language),
    )

    assert_problem(response, 413, language=language, title=TITLES[language][413])


# --- (c) choice labels -------------------------------------------------------


@pytest.mark.parametrize("language", ["nl", "fr", "en"])
def test_vocabularies_label_phenomena_in_the_language_asked_for(personas, language):
    response = personas["caseworker"].client.get("/api/v1/vocabularies/", **_in(language))

    assert response.status_code == 200
    assert response["Content-Language"] == language
    labels = {entry["code"]: entry["label"] for entry in response.json()["phenomena"]}
    for code, label in PHENOMENON_LABELS[language].items():
        assert labels[code] == label


def test_vocabulary_codes_are_the_same_in_every_language(personas):
    client = personas["partner_system"].client
    bodies = {language: client.get("/api/v1/vocabularies/", **_in(language)).json() for language in ("en", "nl", "fr")}

    def codes(body):
        return {name: [entry["code"] for entry in entries] for name, entries in body.items()}

    assert codes(bodies["nl"]) == codes(bodies["en"]) == codes(bodies["fr"])
    assert bodies["nl"] != bodies["en"] != bodies["fr"]


# --- (d) negotiation and Content-Language --------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "chosen"),
    [
        ("nl", "nl"),
        ("nl-BE", "nl"),
        ("nl-NL,nl;q=0.9,en;q=0.5", "nl"),
        ("fr", "fr"),
        ("fr-BE,fr;q=0.9", "fr"),
        ("en-GB", "en"),
        ("de-DE, fr;q=0.8, nl;q=0.5", "fr"),
        ("en;q=0.4, nl;q=0.9", "nl"),
        (None, "en"),
    ],
)
def test_content_language_names_the_language_chosen(personas, accept_language, chosen):
    response = personas["caseworker"].client.get("/api/v1/vocabularies/", **_in(accept_language))

    assert response.status_code == 200
    assert response["Content-Language"] == chosen
    assert "accept-language" in response["Vary"].lower()  # caches must key on it
    labels = {entry["code"]: entry["label"] for entry in response.json()["phenomena"]}
    assert labels["teen_pimp"] == PHENOMENON_LABELS[chosen]["teen_pimp"]


# --- (e) unsupported languages -------------------------------------------------


@pytest.mark.parametrize("accept_language", ["de", "de-DE,de;q=0.9", "es, it;q=0.5", "*"])
def test_unsupported_language_falls_back_to_english(personas, accept_language):
    client = personas["caseworker"].client

    problem = client.get("/api/v1/organisations/?age=x", **_in(accept_language))
    vocabularies = client.get("/api/v1/vocabularies/", **_in(accept_language))

    body = assert_problem(problem, 400, language="en", title=TITLES["en"][400])
    assert body["detail"] == INVALID_FIELDS["en"]
    assert vocabularies["Content-Language"] == "en"
    labels = {entry["code"]: entry["label"] for entry in vocabularies.json()["phenomena"]}
    assert labels["teen_pimp"] == PHENOMENON_LABELS["en"]["teen_pimp"]


# --- (f) the catalogues themselves -------------------------------------------


def _catalogue_id(path: Path) -> str:
    return path.relative_to(LOCALE_DIR).parts[0]


def test_every_language_but_english_has_a_catalogue():
    languages = {code for code, _name in settings.LANGUAGES} - {settings.LANGUAGE_CODE}
    assert languages == {"nl", "fr"}
    assert {_catalogue_id(path) for path in PO_FILES} == languages


@pytest.mark.parametrize("po_path", PO_FILES, ids=_catalogue_id)
def test_catalogue_has_no_untranslated_or_fuzzy_entries(po_path):
    po = polib.pofile(str(po_path))

    assert not po.metadata_is_fuzzy, "the header is marked fuzzy: msgfmt would drop it"
    assert po.metadata.get("Language") == _catalogue_id(po_path)
    assert "charset=UTF-8" in po.metadata.get("Content-Type", "")
    assert [entry.msgid for entry in po.untranslated_entries()] == []
    assert [entry.msgid for entry in po.fuzzy_entries()] == []
    assert len(po.translated_entries()) > 0


_PLACEHOLDER = re.compile(r"%(?:\([A-Za-z_]\w*\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]|\{[A-Za-z_]\w*\}")


@pytest.mark.parametrize("po_path", PO_FILES, ids=_catalogue_id)
def test_translations_keep_every_placeholder(po_path):
    mismatched = []
    for entry in polib.pofile(str(po_path)).translated_entries():
        translations = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for msgstr in translations:
            if sorted(_PLACEHOLDER.findall(msgstr)) != sorted(_PLACEHOLDER.findall(entry.msgid)):
                mismatched.append((entry.msgid, msgstr))
    assert mismatched == []


def _catalogue(entries) -> dict[tuple, object]:
    return {
        (entry.msgctxt, entry.msgid, entry.msgid_plural): (
            tuple(sorted(entry.msgstr_plural.items())) if entry.msgid_plural else entry.msgstr
        )
        for entry in entries
    }


@pytest.mark.parametrize("po_path", PO_FILES, ids=_catalogue_id)
def test_committed_mo_is_compiled_from_the_current_po(po_path):
    """Fails when a .po was edited without running ``make messages``."""
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} is missing: run `make messages`"
    po = polib.pofile(str(po_path))
    compiled = polib.mofile(str(mo_path))

    in_memory = polib.mofile(po.to_binary())  # what scripts/compile_messages.py would write
    assert _catalogue(compiled) == _catalogue(in_memory) == _catalogue(po.translated_entries())
    assert compiled.metadata.get("Plural-Forms") == po.metadata.get("Plural-Forms")
    assert compiled.metadata.get("Language") == po.metadata.get("Language")


def test_every_mo_has_its_po():
    assert sorted(path.with_suffix(".po") for path in LOCALE_DIR.glob("*/LC_MESSAGES/*.mo")) == PO_FILES


def _project_choices() -> list[type[models.Choices]]:
    project_apps = [config for config in apps.get_app_configs() if Path(config.path).parent == Path(settings.BASE_DIR)]
    for config in project_apps:
        try:
            importlib.import_module(f"{config.name}.choices")
        except ModuleNotFoundError as error:
            if error.name != f"{config.name}.choices":
                raise
    prefixes = tuple(config.name + "." for config in project_apps)

    def walk(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from walk(sub)

    return [cls for cls in walk(models.Choices) if cls.__module__.startswith(prefixes)]


@pytest.mark.parametrize("po_path", PO_FILES, ids=_catalogue_id)
def test_every_choice_label_of_the_project_is_in_the_catalogue(po_path):
    """A new choice without a translation fails here, even before makemessages is re-run."""
    translated = {entry.msgid for entry in polib.pofile(str(po_path)).translated_entries()}
    choice_classes = _project_choices()
    assert choice_classes, "no project choices found"
    with translation.override("en"):
        missing = [
            f"{cls.__module__}.{cls.__name__}: {label}"
            for cls in choice_classes
            for label in map(str, cls.labels)
            if label not in translated
        ]
    assert missing == []


@pytest.mark.parametrize("language", ["nl", "fr"])
def test_debug_error_pages_turned_into_problems_are_translated(anonymous_client, settings, language):
    """In debug Django answers an unknown route with an HTML page; the API still answers a problem, translated."""
    settings.DEBUG = True

    response = anonymous_client.get("/api/v1/no-such-resource/", **_in(language))

    body = assert_problem(response, 404, language=language, title=TITLES[language][404])
    assert body["detail"] == NOT_FOUND[language]


# --- every string the code and the pages translate is in every catalogue ----------------------

SOURCE_PACKAGES = ("coalition", "partners", "referrals", "web")
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy"}


def _python_msgids() -> set[tuple[str, str | None]]:
    """(msgid, context) of every gettext call with literal text in the project's Python code."""
    import ast

    root = LOCALE_DIR.parent
    found: set[tuple[str, str | None]] = set()
    for package in SOURCE_PACKAGES:
        for path in (root / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            # Descriptions in the OpenAPI schema (help_text=, description=) are published in English.
            described = {
                id(keyword.value) for node in ast.walk(tree) if isinstance(node, ast.Call)
                for keyword in node.keywords if keyword.arg in ("help_text", "description")
            }
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in GETTEXT_NAMES):
                    continue
                if id(node) in described:
                    continue
                args = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                if node.func.id.startswith("pgettext") and len(args) >= 2:
                    found.add((args[1], args[0]))
                elif args:
                    found.add((args[0], None))
    return found


def _template_msgids() -> set[tuple[str, str | None]]:
    """(msgid, context) of every translated string in the project's templates, as makemessages reads them."""
    import ast

    from django.utils.translation.template import templatize

    root = LOCALE_DIR.parent
    literal = r"u?(?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    call = re.compile(rf"\b(p?gettext|n?gettext)\(({literal}(?:\s*,\s*{literal})*)")
    found: set[tuple[str, str | None]] = set()
    for package in SOURCE_PACKAGES:
        for path in (root / package).rglob("templates/**/*.*"):
            if path.suffix not in (".html", ".txt"):
                continue
            source = templatize(path.read_text(encoding="utf-8"), origin=str(path))
            for name, arguments in call.findall(source):
                texts = [ast.literal_eval(text.removeprefix("u")) for text in re.findall(literal, arguments)]
                if name == "pgettext":
                    found.add((texts[1], texts[0]))
                else:
                    found.add((texts[0], None))
    return found


@pytest.mark.parametrize("po_path", PO_FILES, ids=lambda p: p.parent.parent.name)
def test_every_string_the_code_and_the_pages_translate_is_in_the_catalogue(po_path):
    """A new message in a service, a form or a page without its Dutch and French fails here."""
    catalogue = {(entry.msgid, entry.msgctxt) for entry in polib.pofile(str(po_path)) if entry.msgstr or entry.msgstr_plural}
    missing = sorted(msgid for msgid, context in (_python_msgids() | _template_msgids()) - catalogue if msgid.strip())
    assert not missing, f"{len(missing)} strings without a translation in {po_path}: {missing[:40]}"
