"""Field-level encryption at rest (GDPR art. 32, ASVS 11.3.2): api_docs/security.md, control "field-level encryption".

The database is read with raw SQL, under the ORM, to see what an attacker with a copy of
it (or of a backup) would see. Keys are changed with ``override_settings``:
``coalition.core.crypto`` caches one MultiFernet per tuple of keys, so each setting takes
effect at once.
"""

from __future__ import annotations

import uuid
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from coalition.core import crypto
from coalition.core.crypto import EncryptedTextField
from referrals.models import Case, LegalBasisException, Referral, ReferralMessage, Subject
from tests.support.flows import CHILD

JUSTIFICATION = "Imminent danger tonight, the pimp has located her."


def _db_id(value) -> object:
    """A UUID as this database stores it (SQLite: 32 hex characters), for raw SQL parameters."""
    return Case._meta.pk.get_db_prep_value(uuid.UUID(str(value)), connection)


def raw_row(table: str, columns: list[str], key_column: str, key) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(columns)} FROM {table} WHERE {key_column} = %s",  # noqa: S608 - names are literals
            [_db_id(key)],
        )
        row = cursor.fetchone()
    assert row is not None
    return dict(zip(columns, row, strict=True))


def encrypted_columns() -> list[tuple[type, str]]:
    """Every (model, field name) stored through EncryptedTextField, in every installed app."""
    return [
        (model, field.name)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def raw_values(model, field_name: str) -> list[str]:
    column = model._meta.get_field(field_name).column
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table}")  # noqa: S608 - names from the model
        return [value for (value,) in cursor.fetchall() if value not in (None, "")]


@pytest.fixture
def stored(flow, personas):
    """A case with its subject, a consented referral with a reason and a message, and a legal-basis referral."""
    case, referral = flow.sent_referral()
    posted = personas["caseworker"].client.post(
        f"/api/v1/referrals/{referral['id']}/messages/", {"body": "She answers only on the school phone."},
        format="json",
    )
    assert posted.status_code == 201
    exception_referral = flow.draft(
        case["id"], recipient="care-nl", legal_basis={"basis": "vital_interest", "justification": JUSTIFICATION}
    )
    assert flow.act(exception_referral["id"], "send", "caseworker").status_code == 200
    return {"case": case["id"], "referral": referral["id"], "reason": referral["reason"]}


def plaintexts(stored) -> dict[tuple[type, str], str]:
    """What each encrypted column of the fixture rows reads as, through the ORM."""
    subject = Subject.objects.get(case_id=stored["case"])
    referral = Referral.objects.get(pk=stored["referral"])
    return {
        (Subject, "given_name"): subject.given_name,
        (Subject, "date_of_birth"): subject.date_of_birth,
        (Subject, "safe_contact"): subject.safe_contact,
        (Referral, "reason"): referral.reason,
        (ReferralMessage, "body"): ReferralMessage.objects.get(referral=referral).body,
        (LegalBasisException, "justification"): LegalBasisException.objects.get().justification,
    }


# --- what the database holds -----------------------------------------------------------------------------


def test_identity_and_reason_columns_hold_ciphertext_not_the_plaintext(stored):
    columns = ["given_name", "family_name", "date_of_birth", "municipality", "safe_contact"]
    subject = raw_row("referrals_subject", columns, "case_id", stored["case"])
    referral = raw_row("referrals_referral", ["reason"], "id", stored["referral"])
    expected = {
        "given_name": CHILD["given_name"],
        "family_name": CHILD["family_name"],
        "date_of_birth": CHILD["date_of_birth"],
        "municipality": CHILD["municipality"],
        "safe_contact": CHILD["safe_contact"],
    }
    for column, plaintext in expected.items():
        assert subject[column].startswith("enc1:"), column
        assert plaintext not in subject[column], column
    assert referral["reason"].startswith("enc1:")
    assert stored["reason"] not in referral["reason"]
    # The ORM reads the same rows back as the plaintext: the raw values are these, encrypted.
    row = Subject.objects.get(case_id=stored["case"])
    assert {column: getattr(row, column) for column in expected} == expected
    assert Referral.objects.get(pk=stored["referral"]).reason == stored["reason"]


def test_every_encrypted_column_of_every_model_holds_only_ciphertext(stored):
    columns = encrypted_columns()
    assert {(Subject, "given_name"), (Referral, "reason"), (Referral, "legal_basis_justification"),
            (ReferralMessage, "body"), (LegalBasisException, "justification")} <= set(columns)
    seen = 0
    for model, field_name in columns:
        for value in raw_values(model, field_name):
            assert value.startswith("enc1:"), (model, field_name)
            seen += 1
    assert seen >= 10


def test_no_table_holds_the_childs_identity_in_plaintext(flow, personas):
    """Beyond the encrypted columns: no other table (idempotency records, logs…) keeps a plaintext copy."""
    client = personas["caseworker"].client
    opened = client.post("/api/v1/cases/", {"subject": CHILD, "phenomena": ["teen_pimp"]}, format="json",
                         HTTP_IDEMPOTENCY_KEY="open-the-case-once")
    assert opened.status_code == 201
    case_id = opened.json()["id"]
    # A partial update of the subject alone (the municipality) is written encrypted too.
    updated = client.patch(f"/api/v1/cases/{case_id}/", {"subject": {"municipality": "Elsewhereville"}}, format="json")
    assert updated.status_code == 200
    assert updated.json()["subject"]["municipality"] == "Elsewhereville"
    assert updated.json()["subject"]["given_name"] == CHILD["given_name"]  # the other fields are kept
    flow.consent(case_id)
    flow.draft(case_id)

    needles = [CHILD[name] for name in ("given_name", "family_name", "date_of_birth", "municipality", "safe_contact")]
    needles.append("Elsewhereville")
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from the database
            for row in cursor.fetchall():
                text = " ".join(str(value) for value in row)
                found += [(table, needle) for needle in needles if needle in text]
    assert found == []


def test_the_same_plaintext_encrypts_differently_each_time(flow):
    first = crypto.encrypt(CHILD["given_name"])
    second = crypto.encrypt(CHILD["given_name"])
    assert first != second
    assert crypto.decrypt(first) == crypto.decrypt(second) == CHILD["given_name"]

    # Two cases of young people with the same name cannot be matched by their ciphertext.
    one, other = flow.open_case(), flow.open_case()
    raw_one = raw_row("referrals_subject", ["given_name", "date_of_birth"], "case_id", one["id"])
    raw_other = raw_row("referrals_subject", ["given_name", "date_of_birth"], "case_id", other["id"])
    assert raw_one["given_name"] != raw_other["given_name"]
    assert raw_one["date_of_birth"] != raw_other["date_of_birth"]


# --- keys --------------------------------------------------------------------------------------------------


def test_key_rotation_re_encrypts_every_row_so_the_new_key_alone_reads_them(stored, personas):
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    new = Fernet.generate_key().decode()
    expected = plaintexts(stored)
    before = {column: raw_values(*column) for column in encrypted_columns()}

    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        # During rotation, rows written under the old key still read.
        assert plaintexts(stored) == expected
        out = StringIO()
        call_command("rotate_field_keys", stdout=out)
    assert "referrals.Subject" in out.getvalue()

    for column in encrypted_columns():
        after = raw_values(*column)
        assert len(after) == len(before[column]), column
        assert not set(after) & set(before[column]), f"{column} was not re-encrypted"
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
        assert plaintexts(stored) == expected
        for model, field_name in encrypted_columns():
            for value in raw_values(model, field_name):
                crypto.decrypt(value)  # every row of every encrypted column, not only the fixture's
        case = personas["caseworker"].client.get(f"/api/v1/cases/{stored['case']}/")
        assert case.json()["subject"]["given_name"] == CHILD["given_name"]
    with override_settings(FIELD_ENCRYPTION_KEYS=[old]):
        with pytest.raises(ValueError):
            Subject.objects.get(case_id=stored["case"])


def test_a_stored_idempotent_answer_is_rotated_too_and_replays_under_the_new_key_alone(personas):
    """The first answer kept for an Idempotency-Key holds the subject: it is encrypted and rotated like identity."""
    client = personas["caseworker"].client
    body = {"subject": CHILD, "phenomena": ["grooming"]}
    first = client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="rotate-me")
    assert first.status_code == 201
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    new = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[new, old]):
        call_command("rotate_field_keys", stdout=StringIO())
    with override_settings(FIELD_ENCRYPTION_KEYS=[new]):
        replay = client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="rotate-me")
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Case.objects.count() == 1


def test_reading_with_only_a_wrong_key_fails_instead_of_returning_garbage(stored):
    wrong = Fernet.generate_key().decode()
    under_the_right_key = crypto.encrypt("some plaintext")
    with override_settings(FIELD_ENCRYPTION_KEYS=[wrong]):
        with pytest.raises(ValueError):
            Subject.objects.get(case_id=stored["case"])
        with pytest.raises(ValueError):
            Referral.objects.get(pk=stored["referral"])
        with pytest.raises(ValueError):
            crypto.decrypt(under_the_right_key)
    # The right key still reads: the failure was the key's, not the data's.
    assert Subject.objects.get(case_id=stored["case"]).given_name == CHILD["given_name"]


def test_a_tampered_or_unencrypted_stored_value_is_refused(stored):
    table, key = "referrals_subject", _db_id(stored["case"])
    original = raw_row(table, ["given_name"], "case_id", stored["case"])["given_name"]
    # Flip one character of the ciphertext: the authentication tag no longer matches.
    position = len(original) // 2
    flipped = original[:position] + ("A" if original[position] != "A" else "B") + original[position + 1:]
    for forged in (flipped, CHILD["given_name"]):
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET given_name = %s WHERE case_id = %s", [forged, key])  # noqa: S608
        with pytest.raises(ValueError):
            Subject.objects.get(case_id=stored["case"])
