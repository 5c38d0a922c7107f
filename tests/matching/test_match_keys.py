"""Match keys: one normalisation, keyed hashes, stable under one secret and changed by another (issue #17 item 1)."""

from __future__ import annotations

import pytest

from referrals.match_keys import birth_year_of, fold, key_id, key_material, match_keys

SECRET = "first-test-secret-" + "s" * 20
ROTATED = "second-test-secret-" + "r" * 20
GIRL = {"given_name": "Anne-Marie", "family_name": "Van den Berg", "date_of_birth": "2010-04-03"}


@pytest.mark.parametrize(("one", "other"), [
    ("Van den Berg", "van den berg"),
    ("Van den Berg", "Vandenberg"),
    ("Van den Berg", "VAN DEN BERG"),
    ("Zoë", "Zoe"),
    ("Zoë", "ZOË"),
    ("Anne-Marie", "Anne Marie"),
    ("Anne-Marie", "anne–marie"),  # an en dash, as a phone keyboard writes it
    ("Anne-Marie", "AnneMarie"),
    ("D'Hondt", "Dhondt"),
    ("D’Hondt", "D'Hondt"),  # a typographic apostrophe
    ("Hélène", "Helene"),
    ("François", "Francois"),
    ("Çelik", "Celik"),
    ("De Smet", "de smet "),
    ("Noël", "noel"),
    ("Straße", "strasse"),
    ("  Lotte ", "lotte"),
])
def test_dutch_and_french_spellings_of_one_name_fold_alike(one, other):
    assert fold(one) == fold(other)


@pytest.mark.parametrize(("one", "other"), [
    ("Anna", "Anne"),
    ("Van den Berg", "Van der Berg"),
    ("Lea", "Leah"),
    ("Jan", "Jans"),
])
def test_different_names_stay_different(one, other):
    assert fold(one) != fold(other)


def test_given_and_family_name_in_either_order_give_the_full_key():
    swapped = GIRL | {"given_name": "van den berg", "family_name": "anne marie"}
    assert match_keys(GIRL, secret=SECRET)["name_and_birth_date"] == match_keys(swapped, secret=SECRET)["name_and_birth_date"]
    # The fallback is the given name's: swapped names do not share it.
    assert match_keys(GIRL, secret=SECRET)["given_name_and_birth_year"] != (
        match_keys(swapped, secret=SECRET)["given_name_and_birth_year"])


def test_the_fallback_key_needs_only_the_given_name_and_the_birth_year():
    known_little = {"given_name": "Anne Marie", "family_name": "", "date_of_birth": "", "birth_year": "2010"}
    assert set(match_keys(known_little, secret=SECRET)) == {"given_name_and_birth_year"}
    assert match_keys(known_little, secret=SECRET)["given_name_and_birth_year"] == (
        match_keys(GIRL, secret=SECRET)["given_name_and_birth_year"])


@pytest.mark.parametrize("identity", [
    {"given_name": "", "family_name": "Van den Berg", "date_of_birth": "2010-04-03"},
    {"given_name": "Anne", "family_name": "Van den Berg", "date_of_birth": "", "birth_year": ""},
    {"given_name": "  -  ", "family_name": "", "date_of_birth": "2010-04-03"},
])
def test_an_identity_without_a_given_name_or_a_birth_year_gives_no_key(identity):
    assert match_keys(identity, secret=SECRET) == {}


def test_a_different_date_of_birth_is_a_different_full_key_but_the_same_year_keeps_the_fallback():
    other_day = GIRL | {"date_of_birth": "2010-05-03"}
    mine, theirs = match_keys(GIRL, secret=SECRET), match_keys(other_day, secret=SECRET)
    assert mine["name_and_birth_date"] != theirs["name_and_birth_date"]
    assert mine["given_name_and_birth_year"] == theirs["given_name_and_birth_year"]


def test_the_birth_year_comes_from_the_date_of_birth_first():
    assert birth_year_of("2010-04-03", "2011") == "2010"
    assert birth_year_of("", "2011") == "2011"
    assert birth_year_of("", "about eleven") == ""


def test_keys_are_stable_under_one_secret_and_change_entirely_with_another():
    first, again = match_keys(GIRL, secret=SECRET), match_keys(dict(GIRL), secret=SECRET)
    rotated = match_keys(GIRL, secret=ROTATED)
    assert first == again
    assert set(first) == set(rotated) and not set(first.values()) & set(rotated.values())
    assert key_id(secret=SECRET) != key_id(secret=ROTATED)
    assert key_id(secret=SECRET) == key_id(secret=SECRET)


def test_a_key_is_a_keyed_hash_that_holds_no_part_of_the_identity():
    for digest in match_keys(GIRL, secret=SECRET).values():
        assert len(digest) == 64 and int(digest, 16) >= 0
        for part in ("anne", "marie", "berg", "2010", "04-03"):
            assert part not in digest
    # The material hashed is the folded identity, versioned; without the secret it cannot be recomputed.
    assert key_material(GIRL)["name_and_birth_date"] == "v1|names|annemarie\x1fvandenberg|2010-04-03"


def test_a_short_secret_is_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        match_keys(GIRL, secret="too-short")
