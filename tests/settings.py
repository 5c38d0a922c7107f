"""Test settings: the one settings module, fed the environment a test run needs.

PostgreSQL (the production database) is used whenever it answers on
127.0.0.1:5432 or DATABASE_URL names it; otherwise SQLite in memory.
"""

import os
import socket


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = (
        "postgres://postgres@127.0.0.1:5432/coalition" if _postgres_reachable() else "sqlite:///:memory:"
    )
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "s3cr3t-" * 8)
os.environ.setdefault("JWT_SIGNING_KEY", "test-jwt-signing-key-" + "k3y-" * 12)
os.environ.setdefault("AUDIT_HEAD_KEY", "test-audit-head-key-" + "h3ad-" * 8)
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "dGVzdC1vbmx5LWtleS0zMi1ieXRlcy1sb25nLSEhISE=")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# Matching stays off (the default) unless a test turns it on; its key is there for those that do.
os.environ.setdefault("MATCH_KEY", "test-match-key-" + "m4tch-" * 6)
os.environ.setdefault("EMAIL_URL", "memorymail://")
os.environ.setdefault("DEFAULT_FROM_EMAIL", "coalition@example.org")
os.environ.setdefault("PUBLIC_BASE_URL", "https://referrals.example.org")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# Rates high enough that the suite never trips them; throttling tests lower them.
os.environ.setdefault("THROTTLE_ANON", "100000/min")
os.environ.setdefault("THROTTLE_PRINCIPAL", "100000/min")
os.environ.setdefault("THROTTLE_LOGIN", "100000/min")
# One process: a local-memory cache counts for the whole run (production refuses it).
os.environ.setdefault("CACHE_ALLOW_PER_PROCESS", "true")

from coalition.settings import *  # noqa: E402,F403

# Argon2id still, with cheap parameters so that creating personas stays fast.
PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher"]
