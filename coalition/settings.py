"""Settings for the coalition referral network, read from the environment.

Every value comes from an environment variable (or ``<NAME>_FILE``, a path whose
contents are the value, for secrets). Defaults are safe for local use: SQLite and
debug off. Secrets have no production default: a missing one raises
``ImproperlyConfigured`` at start, except in debug where throw-away development
values are used so that ``make run`` works on a fresh machine.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.FileAwareEnv()


def _secret(name: str, *, debug: bool, min_length: int = 50) -> str:
    """A required secret: missing or short values stop the process, except in debug."""
    value = env.str(name, default="").strip()  # a *_FILE usually ends in a newline
    if not value:
        if debug:
            return f"insecure-development-only-{name.lower()}-" + "x" * min_length
        raise ImproperlyConfigured(f"{name} must be set (or {name}_FILE).")
    if len(value) < min_length or len(set(value)) < 5:
        raise ImproperlyConfigured(f"{name} must be at least {min_length} random characters.")
    return value


def _positive_int(name: str, default: int) -> int:
    try:
        value = env.int(name, default=default)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number.") from None
    if value < 0:
        raise ImproperlyConfigured(f"{name} must not be negative.")
    return value


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = _secret("SECRET_KEY", debug=DEBUG)
# Signs JWTs. Distinct from SECRET_KEY so that rotating one does not touch the other.
JWT_SIGNING_KEY = _secret("JWT_SIGNING_KEY", debug=DEBUG)
if JWT_SIGNING_KEY == SECRET_KEY:
    raise ImproperlyConfigured("JWT_SIGNING_KEY must differ from SECRET_KEY.")
# Signs the audit chain head (HMAC-SHA256), from outside the database: whoever can write
# the database cannot rewrite the trail together with its head unnoticed.
AUDIT_HEAD_KEY = _secret("AUDIT_HEAD_KEY", debug=DEBUG, min_length=32)
if AUDIT_HEAD_KEY in (SECRET_KEY, JWT_SIGNING_KEY):
    raise ImproperlyConfigured("AUDIT_HEAD_KEY must differ from SECRET_KEY and JWT_SIGNING_KEY.")

# Keys for field-level encryption of identity data, newest first. Each is a
# url-safe base64 32-byte key; older keys stay listed during rotation.
FIELD_ENCRYPTION_KEYS = [k.strip() for k in env.list("FIELD_ENCRYPTION_KEYS", default=[]) if k.strip()]
if not FIELD_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must list at least one key.")
    FIELD_ENCRYPTION_KEYS = ["ZGV2ZWxvcG1lbnQtb25seS1rZXktMzItYnl0ZXMtISE="]
for _key in FIELD_ENCRYPTION_KEYS:
    try:
        Fernet(_key.encode())
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS: each key must be url-safe base64 of 32 bytes "
            "(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
        ) from None

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# How many reverse proxies in front of the app append to X-Forwarded-For. With 0,
# the header is ignored everywhere (throttling, lockout): it cannot be forged.
TRUSTED_PROXY_COUNT = _positive_int("TRUSTED_PROXY_COUNT", 0)

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "coalition",
    "coalition.audit",
    "coalition.events",
    "coalition.mail",
    "partners",
    "referrals",
    "coalition.notifications",  # above referrals: hooks into the events from ready()
    "coalition.oversight",  # above referrals: registers into its lower layers from ready()
    "django.contrib.sessions",  # the web app's sign-in (the API stays token-only)
    "django.contrib.messages",
    "csp",
    "web",  # the web app for people, on top of everything
]

MIDDLEWARE = [
    "coalition.api.middleware.RequestIdMiddleware",
    # Before every middleware that answers with a problem: Django keeps the last
    # request's language on the thread, so an earlier answer would use that one.
    "django.middleware.locale.LocaleMiddleware",
    "coalition.api.middleware.ProblemFallbackMiddleware",
    "coalition.api.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # The web app's forms; DRF views are exempt (the API authenticates by header only).
    # The first reads the Origin that browsers send from no-referrer pages (web/middleware.py).
    "web.middleware.SameOriginNullOriginMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The web app's pages: the login behind a session still stands, the person's language.
    "web.middleware.WebSessionMiddleware",
    "web.middleware.PersonLanguageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "coalition.api.middleware.NoStoreMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "coalition.urls"
WSGI_APPLICATION = "coalition.wsgi.application"
AUTH_USER_MODEL = "partners.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = _positive_int("DATABASE_CONN_MAX_AGE", 0)
# A persistent or pooled connection is checked (SELECT 1) before it is reused, so one that
# a PostgreSQL restart left dead is replaced instead of failing the next request or task.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# SQLite file (the `make run` default): concurrent writers must queue, not fail with
# "database is locked". WAL lets readers go on beside the one writer; every transaction
# takes the write lock at BEGIN (IMMEDIATE), so none can fail when upgrading a read
# to a write, and a writer waits up to the busy timeout for the lock. SQLite ignores
# SELECT ... FOR UPDATE; IMMEDIATE transactions serialise writes instead. An in-memory
# database (the test suite's SQLite) cannot use WAL and has a single connection.
_db_name = str(DATABASES["default"].get("NAME", ""))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and not (
    _db_name in ("", ":memory:") or "mode=memory" in _db_name
):
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,  # seconds a writer waits for the lock
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://coalition")}
# Throttling and the login throttle count in this cache. A cache of one process (local
# memory) or none (dummy) lets every gunicorn process count alone, multiplying each limit
# by the number of processes: refused outside debug, unless a single-process run (the
# test suite) says so with CACHE_ALLOW_PER_PROCESS.
PER_PROCESS_CACHES = ("django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.dummy.DummyCache")
if (
    not DEBUG
    and CACHES["default"]["BACKEND"] in PER_PROCESS_CACHES
    and not env.bool("CACHE_ALLOW_PER_PROCESS", default=False)
):
    raise ImproperlyConfigured(
        "CACHE_URL must name a cache shared by every process (e.g. rediscache://127.0.0.1:6379/0): "
        "with a local-memory or dummy cache each process throttles alone."
    )

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Internationalisation: English, Dutch and French, chosen by Accept-Language.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("nl", _("Dutch")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))

# Requests larger than this are refused with 413 before any view reads them.
MAX_REQUEST_BODY_BYTES = _positive_int("MAX_REQUEST_BODY_BYTES", 256 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

# --- HTTP security -----------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = _positive_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
# No Referer to anyone, not even this site. Browsers then send `Origin: null` with the web
# app's form POSTs; web.middleware.SameOriginNullOriginMiddleware lets Django's CSRF check
# take those as this site's only when the browser says Sec-Fetch-Site: same-origin.
SECURE_REFERRER_POLICY = "no-referrer"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Pages carry the CSRF token in their forms (and htmx's header): no script needs the cookie.
CSRF_COOKIE_HTTPONLY = True
# The language switch's cookie (a signed-out browser's choice; a person's is saved on them).
LANGUAGE_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
# Under /app/ a form without a valid token gets an HTML page; elsewhere Django's.
CSRF_FAILURE_VIEW = "coalition.error_views.csrf_failure"
LOGIN_URL = "web:sign-in"
# The web app's Content-Security-Policy (django-csp): nothing but this origin, no inline
# script or style, never framed.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}
X_FRAME_OPTIONS = "DENY"

# --- REST framework ----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "partners.authentication.CoalitionJWTAuthentication",
        "partners.authentication.ApiKeyAuthentication",
    ],
    # Deny by default: every view must also name a policy (coalition.core.access rules).
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "coalition.api.permissions.ActionPolicy",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PARSER_CLASSES": ["coalition.api.parsers.DepthLimitedJSONParser"],  # JSON at most 32 deep
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "coalition.api.pagination.CursorPagination",
    "DEFAULT_SCHEMA_CLASS": "coalition.api.schema.CoalitionAutoSchema",
    "EXCEPTION_HANDLER": "coalition.api.problems.problem_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "coalition.api.throttling.AnonymousThrottle",
        "coalition.api.throttling.PrincipalThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="60/min"),
        "principal": env.str("THROTTLE_PRINCIPAL", default="1200/min"),
        "login": env.str("THROTTLE_LOGIN", default="20/min"),
    },
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_METADATA_CLASS": None,
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # No ?format= on every endpoint (an undocumented 404 for an unknown value); the statistics
    # views, which document it, opt in (coalition.api.negotiation.FormatParameterNegotiation).
    "URL_FORMAT_OVERRIDE": None,
    "COERCE_DECIMAL_TO_STRING": True,
}

# --- JWT (human users) -------------------------------------------------------
SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "VERIFYING_KEY": None,
    "AUDIENCE": env.str("JWT_AUDIENCE", default="coalition-referral-api"),
    "ISSUER": env.str("JWT_ISSUER", default="coalition-referral-network"),
    "LEEWAY": 0,
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=_positive_int("JWT_ACCESS_SECONDS", 300)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=_positive_int("JWT_REFRESH_SECONDS", 3600)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "AUTH_TOKEN_CLASSES": ("rest_framework_simplejwt.tokens.AccessToken",),
    "TOKEN_TYPE_CLAIM": "token_type",
    "JTI_CLAIM": "jti",
}
if SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] > timedelta(minutes=5):
    raise ImproperlyConfigured("JWT_ACCESS_SECONDS must be at most 300.")
# A login (refresh-token family) ends this long after the password was given,
# however often it is rotated.
LOGIN_ABSOLUTE_LIFETIME = timedelta(seconds=_positive_int("LOGIN_ABSOLUTE_SECONDS", 12 * 3600))

# --- Web sessions (the web app's sign-in) ---------------------------------------
# A web session is a login like a token login (its LoginSession, checked on every
# request: web/middleware.py); it also ends after this many minutes without a request.
WEB_SESSION_IDLE_MINUTES = _positive_int("WEB_SESSION_IDLE_MINUTES", 30)
if not 1 <= WEB_SESSION_IDLE_MINUTES <= LOGIN_ABSOLUTE_LIFETIME.total_seconds() // 60:
    raise ImproperlyConfigured("WEB_SESSION_IDLE_MINUTES must be at least 1 and at most LOGIN_ABSOLUTE_SECONDS / 60.")
# The cookie never outlives the login (each sign-in sets it to end at the login's end).
SESSION_COOKIE_AGE = int(LOGIN_ABSOLUTE_LIFETIME.total_seconds())

# --- Lockout (django-axes) ---------------------------------------------------
AXES_ENABLED = True
AXES_FAILURE_LIMIT = _positive_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(seconds=_positive_int("LOGIN_LOCKOUT_SECONDS", 900))
# Locked by username alone, so a forged X-Forwarded-For (a new "IP") resets nothing.
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
# The attempt that reaches the limit answers the same 429 locked-out problem as later ones.
AXES_LOCKOUT_CALLABLE = "partners.tokens.lockout_response"
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if TRUSTED_PROXY_COUNT else ("REMOTE_ADDR",)
)
AXES_VERBOSE = False
# axes.W006 asks to lock by IP too. Locking a whole office (NAT) after a few typos is
# worse than the threat; per-address guessing is bounded by the login throttle
# (THROTTLE_LOGIN, per client address) instead.
# security.W021 asks for HSTS preload: a hard-to-undo commitment for the whole domain
# that its operator makes deliberately (SECURE_HSTS_PRELOAD=true), not a default.
SILENCED_SYSTEM_CHECKS = ["axes.W006", "security.W021"]
# models.W040 says SQLite has no covering indexes (INCLUDE): on SQLite, Django builds
# referral_figures and referral_pending on their key columns only, which is all a
# development or test database needs; their non-key columns serve PostgreSQL's
# index-only scans. Silenced for SQLite alone, so PostgreSQL keeps the check.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    SILENCED_SYSTEM_CHECKS.append("models.W040")

OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Coalition referral network")

# --- API documentation -------------------------------------------------------
# Schema and docs are public only when asked (default: in debug); otherwise they
# need an authenticated caller like every other route.
PUBLIC_API_DOCS = env.bool("PUBLIC_API_DOCS", default=DEBUG)
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "Coalition referral network API",
    "DESCRIPTION": (
        "Consented, minimal-data referrals between child-protection organisations. "
        "Errors are RFC 9457 problem details; see api_docs/guide.md."
    ),
    "VERSION": "1.0.0",
    # 3.1: nullable objects are oneOf [$ref, null], which validators read unambiguously.
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_PERMISSIONS": ["coalition.api.docs.ApiDocsPermission"],
    "SERVE_AUTHENTICATION": None,
    "ENUM_NAME_OVERRIDES": {
        "PhenomenonEnum": "partners.choices.Phenomenon",
        "OrganisationKindEnum": "partners.choices.OrganisationKind",
        "MembershipStatusEnum": "partners.choices.MembershipStatus",
        "RoleEnum": "partners.choices.Role",
        "ApiKeyScopeEnum": "partners.choices.ApiKeyScope",
        "LanguageEnum": "partners.choices.Language",
        "RequestedServiceEnum": "partners.choices.RequestedService",
        "ReferralKindEnum": "referrals.choices.ReferralKind",
        "DeclineReasonEnum": "referrals.choices.DeclineReason",
        "ReferralOutcomeEnum": "referrals.choices.ReferralOutcome",
        "CaseOutcomeEnum": "referrals.choices.CaseOutcome",
        "GenderEnum": "referrals.choices.Gender",
        "ReferralStatusEnum": "referrals.choices.ReferralStatus",
        "CaseStatusEnum": "referrals.choices.CaseStatus",
        "UrgencyEnum": "referrals.choices.Urgency",
        "InvolvementRoleEnum": "referrals.choices.InvolvementRole",
        "ReviewStatusEnum": "referrals.choices.ExceptionReview",
        "LegalBasisEnum": "referrals.choices.LegalBasis",
        "LegalHoldReasonEnum": "referrals.choices.LegalHoldReason",
        "ReferralActionEnum": "referrals.actions.REFERRAL_ACTIONS",
        "CaseActionEnum": "referrals.actions.CASE_ACTIONS",
        "ConsentActionEnum": "referrals.actions.CONSENT_ACTIONS",
        "MatchStatusEnum": "referrals.choices.MatchStatus",
        "MatchActionEnum": "referrals.choices.MatchAction",
        # A referral's and a consultation's age band: one enum, under the name it was first published with.
        "ReferralAgeBandEnum": "referrals.api.serializers.AGE_BAND_CHOICES",
        "ConsultationStatusEnum": "referrals.choices.ConsultationStatus",
        "ConsultationRequestStatusEnum": "referrals.choices.ConsultationRequestStatus",
        "ConsultationAnswerEnum": "referrals.choices.ConsultationAnswer",
        "ConsultationActionEnum": "referrals.api.consultation_serializers.CONSULTATION_ACTIONS",
        "ConsultationRequestActionEnum": "referrals.api.consultation_serializers.CONSULTATION_REQUEST_ACTIONS",
    },
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums"],
}

# JSON lines on stderr, each with the request (or job) id; LOG_FORMAT=plain for humans.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured("LOG_FORMAT must be json or plain.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "coalition.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # Django's default config gives "django" a console handler of its own in DEBUG (and
        # mail_admins): its records would print twice, once there and once through the root.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

# --- Referrals -------------------------------------------------------------------
# Acknowledge/decide deadlines per urgency: hours (4h) or working days (2wd).
REFERRAL_DEADLINES = env.str("REFERRAL_DEADLINES", default="immediate=1h/4h,urgent=4h/24h,normal=2wd/5wd")
# A legal-basis exception not reviewed within this many hours is overdue.
EXCEPTION_REVIEW_HOURS = _positive_int("EXCEPTION_REVIEW_HOURS", 72)
# Idempotency keys are remembered at least this long per organisation.
IDEMPOTENCY_KEY_HOURS = _positive_int("IDEMPOTENCY_KEY_HOURS", 24)
REFERRAL_REASON_MAX_LENGTH = 1000
# A consultation's question and an answer's note: short, and never meant to name anyone.
CONSULTATION_QUESTION_MAX_LENGTH = 500
CONSULTATION_NOTE_MAX_LENGTH = 300
MESSAGE_MAX_LENGTH = 2000

# Working-day deadlines are counted in this IANA time zone (referrals/deadlines.py).
COALITION_TIME_ZONE = env.str("COALITION_TIME_ZONE", default="Europe/Brussels")
# Both are read by referrals/deadlines.py; a bad value fails its system check
# (referrals.checks) at start: migrate, run_worker and check stop.

# --- Serving: connection pool, read replica for statistics, static files, benchmark -
# PostgreSQL connection pool (psycopg 3, Django 5.2): each server process keeps
# between DATABASE_POOL_MIN and DATABASE_POOL_MAX open connections and lends one to
# each request. A pool replaces persistent connections, so CONN_MAX_AGE must stay 0.
DATABASE_POOL = env.bool("DATABASE_POOL", default=False)
DATABASE_POOL_MIN = _positive_int("DATABASE_POOL_MIN", 2)
DATABASE_POOL_MAX = _positive_int("DATABASE_POOL_MAX", 8)
DATABASE_POOL_TIMEOUT = _positive_int("DATABASE_POOL_TIMEOUT", 10)


def _pool_options() -> dict:
    return {"min_size": DATABASE_POOL_MIN, "max_size": DATABASE_POOL_MAX, "timeout": DATABASE_POOL_TIMEOUT}


if DATABASE_POOL:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_POOL needs PostgreSQL (DATABASE_URL=postgres://...).")
    if DATABASES["default"]["CONN_MAX_AGE"]:
        raise ImproperlyConfigured("DATABASE_POOL and DATABASE_CONN_MAX_AGE exclude each other: set one of them.")
    if not 1 <= DATABASE_POOL_MIN <= DATABASE_POOL_MAX:
        raise ImproperlyConfigured("DATABASE_POOL_MIN must be at least 1 and at most DATABASE_POOL_MAX.")
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = _pool_options()

# An optional read replica for figures (statistics) only: reads made inside
# coalition.oversight.replica.statistics_reads() go there; every write and every other read
# stays on "default". Tests mirror it onto "default".
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"]["ATOMIC_REQUESTS"] = False
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    if DATABASE_POOL:
        DATABASES["replica"].setdefault("OPTIONS", {})["pool"] = _pool_options()
DATABASE_ROUTERS = ["coalition.oversight.replica.StatisticsReplicaRouter"]

# Static files (Swagger UI and ReDoc assets from drf-spectacular-sidecar) are served
# by the app itself with WhiteNoise, compressed, with far-future caching of hashed
# names after `manage.py collectstatic`; without collectstatic WhiteNoise finds them
# in the installed apps. No CDN, no separate static server needed.
SERVE_STATIC = env.bool("SERVE_STATIC", default=True)
if SERVE_STATIC:
    MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                      "whitenoise.middleware.WhiteNoiseMiddleware")
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    }
    WHITENOISE_USE_FINDERS = True
    # Before collectstatic, STATIC_ROOT does not exist: the finders serve the files.
    import warnings

    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")

# Benchmark instrumentation (bench/): never set in production. It mounts the
# framework-floor endpoint /api/v1/bench/floor/ and adds an X-DB-Queries header.
BENCH_MODE = env.bool("COALITION_BENCH", default=False)
if BENCH_MODE:
    MIDDLEWARE.insert(0, "bench.instrument.QueryCountMiddleware")

# --- Oversight and figures ------------------------------------------------------------
# Figures below this count are suppressed (shown as null), and so are the cells needed
# to keep them from being worked out from totals. At least 1 (1 suppresses nothing).
STATISTICS_MIN_CELL = _positive_int("STATISTICS_MIN_CELL", 5)
if STATISTICS_MIN_CELL < 1:
    raise ImproperlyConfigured("STATISTICS_MIN_CELL must be at least 1.")
# An open case with no change to it or its referrals for this many days is listed as idle.
OVERSIGHT_IDLE_DAYS = _positive_int("OVERSIGHT_IDLE_DAYS", 90)
if OVERSIGHT_IDLE_DAYS < 1:
    raise ImproperlyConfigured("OVERSIGHT_IDLE_DAYS must be at least 1.")
# --- Audit, retention and subject rights -----------------------------------------------
# Identity and free text of a case closed longer than this many days are purged by
# `manage.py purge_expired` (unless the case is on legal hold); metadata and audit stay.
RETENTION_DAYS = _positive_int("RETENTION_DAYS", 730)
if RETENTION_DAYS < 1:  # 0 would purge every case the moment it closes
    raise ImproperlyConfigured("RETENTION_DAYS must be at least 1.")
# --- Events, webhooks and the worker ---------------------------------------------------
# Tasks are rows in this database (django-tasks-db), written in the enqueuing
# transaction: the transactional outbox. `python manage.py run_worker` runs them.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Allow webhook targets on loopback, private, link-local and metadata addresses, and
# plain http: for local testing only.
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
# Seconds one webhook attempt may take in all (connect, TLS, send, status line and headers).
WEBHOOK_TIMEOUT_SECONDS = _positive_int("WEBHOOK_TIMEOUT_SECONDS", 5)
if not 1 <= WEBHOOK_TIMEOUT_SECONDS <= 60:
    raise ImproperlyConfigured("WEBHOOK_TIMEOUT_SECONDS must be between 1 and 60.")
# After a secret rotation, the previous secret keeps signing alongside the new one this long.
WEBHOOK_SECRET_OVERLAP_HOURS = _positive_int("WEBHOOK_SECRET_OVERLAP_HOURS", 24)
# How often the worker re-enqueues due deliveries whose task was lost (a killed worker).
WEBHOOK_SWEEP_SECONDS = _positive_int("WEBHOOK_SWEEP_SECONDS", 60)
if WEBHOOK_SWEEP_SECONDS < 1:
    raise ImproperlyConfigured("WEBHOOK_SWEEP_SECONDS must be at least 1.")
# At most this many deliveries to one endpoint are in flight at once (the others wait),
# so one slow receiver cannot hold every worker.
WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT = _positive_int("WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT", 2)
if WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT < 1:
    raise ImproperlyConfigured("WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT must be at least 1.")
# A task row RUNNING longer than this was abandoned by a killed worker: it is marked
# failed and the sweeps send its webhook or mail again. Keep it above the longest task.
WORKER_TASK_LEASE_SECONDS = _positive_int("WORKER_TASK_LEASE_SECONDS", 600)
if WORKER_TASK_LEASE_SECONDS < 1:
    raise ImproperlyConfigured("WORKER_TASK_LEASE_SECONDS must be at least 1.")
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["EventTypeEnum"] = "coalition.events.api.serializers.EVENT_TYPE_CHOICES"
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["DeliveryStatusEnum"] = "coalition.events.models.DeliveryStatus"
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["NotificationKindEnum"] = "coalition.notifications.choices.NotificationKind"
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["MailDeliveryEnum"] = "coalition.notifications.choices.MailDelivery"
# --- Outbound email (coalition/mail) ----------------------------------------------------
# EMAIL_URL: smtp+tls://user:password@host:587 (STARTTLS) or smtps://... in production;
# filemail://var/mail (a folder, relative to the project or absolute as filemail:///path),
# memorymail:// (tests). Without DEBUG it must be set, and it may neither print mails
# (consolemail: the one-time links would land in the logs) nor send them unencrypted
# to another machine (smtp:// is allowed to a relay on this host only). In debug, mails
# are written to var/mail/ unless EMAIL_URL says otherwise.
_email_url = env.str("EMAIL_URL", default="").strip()
if not _email_url:
    if not DEBUG:
        raise ImproperlyConfigured("EMAIL_URL must be set (e.g. smtp+tls://user:password@mail.example.org:587).")
    _email_url = "filemail://var/mail"
try:
    _email = env.email_url_config(_email_url)
except Exception:
    raise ImproperlyConfigured("EMAIL_URL is not a mail URL (smtp+tls://, smtps://, smtp://, filemail://).") from None
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
if EMAIL_BACKEND.endswith("filebased.EmailBackend"):
    from urllib.parse import urlsplit as _urlsplit

    _parts = _urlsplit(_email_url)
    _mail_dir = Path(_parts.netloc + _parts.path)
    EMAIL_FILE_PATH = str(_mail_dir if _mail_dir.is_absolute() else BASE_DIR / _mail_dir)
elif EMAIL_BACKEND.endswith("smtp.EmailBackend"):
    EMAIL_HOST = _email["EMAIL_HOST"] or ""
    EMAIL_PORT = _email["EMAIL_PORT"] or (587 if _email.get("EMAIL_USE_TLS") else 25)
    EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
    EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
    EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
    EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
    if not EMAIL_HOST:
        raise ImproperlyConfigured("EMAIL_URL must name the SMTP host.")
    if not DEBUG and not (EMAIL_USE_TLS or EMAIL_USE_SSL) and EMAIL_HOST not in ("127.0.0.1", "::1", "localhost"):
        raise ImproperlyConfigured("EMAIL_URL: use smtp+tls:// or smtps:// (plain smtp:// only to a relay on this host).")
elif EMAIL_BACKEND.endswith("console.EmailBackend") and not DEBUG:
    raise ImproperlyConfigured("EMAIL_URL: consolemail:// would print one-time links into the logs; not without DEBUG.")
EMAIL_TIMEOUT = _positive_int("EMAIL_TIMEOUT_SECONDS", 10) or 10
EMAIL_SUBJECT_PREFIX = ""

DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="").strip()
if not DEFAULT_FROM_EMAIL:
    if not DEBUG:
        raise ImproperlyConfigured("DEFAULT_FROM_EMAIL must be set (the sender of the coalition's mails).")
    DEFAULT_FROM_EMAIL = "coalition@localhost"
SERVER_EMAIL = DEFAULT_FROM_EMAIL


def _check_from_address(value: str) -> None:
    from email.utils import parseaddr

    from django.core.exceptions import ValidationError as _ValidationError
    from django.core.validators import EmailValidator

    address = parseaddr(value)[1]
    try:
        EmailValidator(allowlist=["localhost"])(address)
    except _ValidationError:
        raise ImproperlyConfigured("DEFAULT_FROM_EMAIL must be an email address.") from None


_check_from_address(DEFAULT_FROM_EMAIL)

# The base of every link in a mail (scheme and host, no path): the web app lives under /app/.
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="").strip().rstrip("/")
if not PUBLIC_BASE_URL:
    if not DEBUG:
        raise ImproperlyConfigured("PUBLIC_BASE_URL must be set (e.g. https://referrals.example.org).")
    PUBLIC_BASE_URL = "http://127.0.0.1:8000"
from urllib.parse import urlsplit as _split_url  # noqa: E402

_base = _split_url(PUBLIC_BASE_URL)
if (
    _base.scheme not in (("https", "http") if DEBUG else ("https",))
    or not _base.netloc
    or _base.path
    or _base.query
    or _base.fragment
):
    raise ImproperlyConfigured("PUBLIC_BASE_URL must be https://host[:port] with no path (http allowed only in debug).")
# How many times the worker tries to send a mail before marking it failed.
MAIL_MAX_ATTEMPTS = _positive_int("MAIL_MAX_ATTEMPTS", 8)
if MAIL_MAX_ATTEMPTS < 1:
    raise ImproperlyConfigured("MAIL_MAX_ATTEMPTS must be at least 1.")
# The domain of the Message-ID each mail carries (its outbox id @ this): the sender's.
MAIL_ID_DOMAIN = DEFAULT_FROM_EMAIL.rpartition("@")[2].strip(" >") or "localhost"

# --- Cross-organisation match (referrals.match_keys; README "Known elsewhere") ---------------
# Off unless the coalition enables it. MATCH_KEY (or MATCH_KEY_FILE) is the coalition's secret
# for the keyed hashes of identity: at least 32 characters, never in the database; rotating it
# means `manage.py match_rekey`. Checked at start whenever matching is on or a key is given.
MATCH_ENABLED = env.bool("MATCH_ENABLED", default=False)
MATCH_KEY = _secret("MATCH_KEY", debug=DEBUG, min_length=32) if MATCH_ENABLED or env.str("MATCH_KEY", "") else ""
# Working days after which a match nobody acted on is listed in oversight and escalated once.
MATCH_ACTION_WORKING_DAYS = _positive_int("MATCH_ACTION_WORKING_DAYS", 2) or 2

# --- Notifications (coalition.notifications) --------------------------------------------
# The hour (0-23, in the person's time zone) of the daily digest for those who chose one;
# each person may pick another on their preferences.
NOTIFICATION_DIGEST_HOUR = _positive_int("NOTIFICATION_DIGEST_HOUR", 8)
if not 0 <= NOTIFICATION_DIGEST_HOUR <= 23:
    raise ImproperlyConfigured("NOTIFICATION_DIGEST_HOUR must be an hour from 0 to 23.")

# --- Invitations and password resets (partners) ---------------------------------------
# An invitation link works this many hours; a password-reset link this many minutes.
INVITATION_HOURS = _positive_int("INVITATION_HOURS", 72)
PASSWORD_RESET_MINUTES = _positive_int("PASSWORD_RESET_MINUTES", 60)
if not 1 <= INVITATION_HOURS <= 24 * 14:
    raise ImproperlyConfigured("INVITATION_HOURS must be between 1 and 336.")
if not 5 <= PASSWORD_RESET_MINUTES <= 24 * 60:
    raise ImproperlyConfigured("PASSWORD_RESET_MINUTES must be between 5 and 1440.")

# --- Capacity in the directory (partners) ------------------------------------------------
# Capacity an organisation has not confirmed for this many days is shown as stale, and no
# longer counts as capacity (the directory's has_capacity filter and capacity order).
CAPACITY_STALE_DAYS = _positive_int("CAPACITY_STALE_DAYS", 7)
if CAPACITY_STALE_DAYS < 1:
    raise ImproperlyConfigured("CAPACITY_STALE_DAYS must be at least 1.")
