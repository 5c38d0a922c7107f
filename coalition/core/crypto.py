"""Field-level encryption of identity data (authenticated, with rotatable keys).

Values are Fernet tokens (AES-128-CBC with HMAC-SHA256, from the ``cryptography``
package) under ``MultiFernet``: the first key of ``FIELD_ENCRYPTION_KEYS``
encrypts, every listed key decrypts, so rows written under an older key still read
while ``manage.py rotate_field_keys`` re-encrypts them.
"""

from __future__ import annotations

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "enc1:"


@functools.lru_cache(maxsize=8)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError):
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must be url-safe base64 32-byte keys.") from None


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return PREFIX + cipher().encrypt(plaintext.encode()).decode()


def decrypt(stored: str) -> str:
    if not stored.startswith(PREFIX):
        raise ValueError("Not an encrypted value.")
    try:
        return cipher().decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken:
        raise ValueError("Encrypted value cannot be read with the configured keys.") from None


def rotate(stored: str) -> str:
    """The same plaintext under the newest key."""
    return PREFIX + cipher().rotate(stored[len(PREFIX):].encode()).decode()


class EncryptedTextField(models.TextField):
    """Text stored encrypted; ``None`` and ``""`` are stored as they are (nothing to hide).

    Not searchable or orderable in the database, by design.
    """

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def to_python(self, value):
        if isinstance(value, str) and value.startswith(PREFIX):
            return decrypt(value)
        return value
