"""Shared helpers for the authentication tests: logins, TOTP codes, forged JWTs (problem checks: tests/support/problems.py)."""

from __future__ import annotations

import base64
import json
import time

import jwt
from django.conf import settings
from django_otp.oath import hotp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.support.schema import SchemaCheckedClient

TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"
LOGOUT_URL = "/api/v1/auth/logout/"
ME_URL = "/api/v1/me/"


def bearer_client(access: str) -> SchemaCheckedClient:
    client = SchemaCheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def api_key_client(raw_key: str) -> SchemaCheckedClient:
    client = SchemaCheckedClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


def login(username: str, password: str, otp: str | None = None, client=None, **headers):
    """POST the real login endpoint with a JSON body."""
    client = client or SchemaCheckedClient()
    body = {"username": username, "password": password}
    if otp is not None:
        body["otp"] = otp
    return client.post(TOKEN_URL, body, format="json", **headers)


def refresh(raw_refresh: str, client=None):
    client = client or SchemaCheckedClient()
    return client.post(REFRESH_URL, {"refresh": raw_refresh}, format="json")


# --- TOTP -----------------------------------------------------------------------------


def give_confirmed_totp_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="default", confirmed=True)


def totp_code(key: bytes, *, steps_ahead: int = 0, step: int = 30, digits: int = 6) -> str:
    """The code an authenticator app shows now (or ``steps_ahead`` periods later)."""
    counter = int(time.time()) // step + steps_ahead
    return f"{hotp(key, counter, digits=digits):0{digits}d}"


def device_code(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    return totp_code(device.bin_key, steps_ahead=steps_ahead, step=device.step, digits=device.digits)


def key_from_base32(secret: str) -> bytes:
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


# --- JWT forging ------------------------------------------------------------------------


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def sign(claims: dict, *, key: str | None = None, algorithm: str = "HS256") -> str:
    """Sign ``claims`` (by default with the app's own JWT key, as a real token would be)."""
    return jwt.encode(claims, key or settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=algorithm)


def unsigned(claims: dict) -> str:
    """A token with ``alg: none`` and an empty signature."""

    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


# Any authenticated person or key may GET this; used to ask "does this credential work?".
PROBE_URL = "/api/v1/vocabularies/"


def get_me(client):
    """GET /me/ (schema-checked like every other response)."""
    return client.get(ME_URL)
