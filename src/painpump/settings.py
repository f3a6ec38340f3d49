"""Django settings of the clinic service. They fail closed: no secret key, no start; DEBUG is off
unless asked for; time is UTC. Everything a deployment sets comes from the environment:

PAINPUMP_SECRET_KEY (or PAINPUMP_SECRET_KEY_FILE)  required
PAINPUMP_AUDIT_KEY (or PAINPUMP_AUDIT_KEY_FILE)  required to serve: the key of the audit chain
                        and its checkpoints (docs/security.md), never in the database
PAINPUMP_AUDIT_RETIRED_KEYS_FILE  the keys rotated out, one a line (verifying older entries)
PAINPUMP_AUDIT_CHECKPOINTS  the append-only file of signed checkpoints, default
                        PAINPUMP_DATA_DIR/audit-checkpoints.log
PAINPUMP_AUDIT_SYSLOG   also send each checkpoint to syslog: /dev/log or host:port (UDP)
DATABASE_URL            default: SQLite in PAINPUMP_DATA_DIR (default ./var)
PAINPUMP_ALLOWED_HOSTS  comma-separated, default localhost,127.0.0.1
PAINPUMP_DEBUG=1        development only
PAINPUMP_SECURE=1       behind TLS: secure cookies and HSTS
PAINPUMP_SESSION_IDLE_MINUTES  default 30: a session without a request for this long is signed
                        out (a tablet left signed in locks); 8 hours after sign-in it ends anyway
PAINPUMP_REQUIRE_2FA    default 1: physicians, nurses, pharmacists and admins sign in with a
                        second factor (TOTP); 0 only for demos and tests
PAINPUMP_TRUSTED_PROXIES  comma-separated addresses or networks of the reverse proxies in front;
                        only a request from one of them has its X-Forwarded-For read (default:
                        none, the client is the connection's address)
PAINPUMP_LOGIN_CEILING  default 100: failed logins across all addresses within 15 minutes past
                        which addresses nobody signed in from lately share a trickle of tries
PAINPUMP_LOGIN_TRICKLE  default 30: password checks a minute that addresses not known share
                        while the clinic is past its ceiling (each about 0.2 s of a core)
PAINPUMP_LOGIN_KNOWN_DAYS  default 30: how long an address stays known after a sign-in from it
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from painpump import key_strength

MIN_DISTINCT_RETIRED_KEY_CHARACTERS = 16
"""The rule a retired audit key was configured under before key_strength: it stays, because a
retired key only verifies the entries before its rotation and cannot be changed."""


def _secret_key() -> str:
    key = os.environ.get("PAINPUMP_SECRET_KEY", "")
    path = os.environ.get("PAINPUMP_SECRET_KEY_FILE", "")
    if not key and path:
        key = Path(path).read_text(encoding="utf-8").strip()
    if not key_strength.strong_enough(key):
        raise ImproperlyConfigured(
            "PAINPUMP_SECRET_KEY (or PAINPUMP_SECRET_KEY_FILE) must hold a random secret of "
            f"{key_strength.RULE} (e.g. {key_strength.GENERATE}); this one has "
            f"{_strength(key)}; painpump has no default secret"
        )
    return key


def _strength(key: str) -> str:
    bits = key_strength.estimated_bits(key.strip())
    return f"{len(key.strip())} characters, about {bits:.0f} bits"


def _audit_key() -> str:
    """The audit key from the environment or its file; "" when none is set (the service and
    every command refuse to start without one: painpump.clinic.audit_keys.require_key)."""
    key, source = os.environ.get("PAINPUMP_AUDIT_KEY", ""), "PAINPUMP_AUDIT_KEY"
    path = os.environ.get("PAINPUMP_AUDIT_KEY_FILE", "")
    if not key and path:
        key, source = Path(path).read_text(encoding="utf-8").strip(), f"{source}_FILE {path}"
    if key and not key_strength.strong_enough(key):
        raise ImproperlyConfigured(
            f"{source} must hold a random key of {key_strength.RULE} (e.g. "
            f"{key_strength.GENERATE}); this one has {_strength(key)}"
        )
    return key


def _retired_audit_keys() -> list[str]:
    path = os.environ.get("PAINPUMP_AUDIT_RETIRED_KEYS_FILE", "")
    if not path:
        return []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    keys = [line.strip() for line in lines if line.strip()]
    for number, key in enumerate(keys, 1):
        if (
            len(key) < key_strength.MIN_LENGTH
            or len(set(key)) < MIN_DISTINCT_RETIRED_KEY_CHARACTERS
        ):
            raise ImproperlyConfigured(
                f"PAINPUMP_AUDIT_RETIRED_KEYS_FILE {path}: key {number} is not a random key of "
                f"at least {key_strength.MIN_LENGTH} characters with at least "
                f"{MIN_DISTINCT_RETIRED_KEY_CHARACTERS} different ones"
            )
    return keys


def _flag(name: str, default: bool) -> bool:
    text = os.environ.get(name, "1" if default else "0").strip()
    if text not in {"0", "1"}:
        raise ImproperlyConfigured(f"{name} must be 1 (on) or 0 (off): {text!r}")
    return text == "1"


def _networks(name: str) -> list[str]:
    """The addresses and networks listed in `name`, each checked (a typo must not trust nobody
    or everybody silently)."""
    found = []
    for item in os.environ.get(name, "").split(","):
        if not item.strip():
            continue
        try:
            found.append(str(ipaddress.ip_network(item.strip(), strict=False)))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item.strip()!r} is not an IP address or network (e.g. 10.0.0.5, "
                "10.0.0.0/24, fd00::/64)"
            ) from None
    return found


def _positive_minutes(name: str, default: int) -> int:
    return _positive(name, default, "minutes")


def _positive(name: str, default: int, unit: str) -> int:
    text = os.environ.get(name, str(default))
    if not text.isdigit() or int(text) < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number of {unit}, 1 or more: {text!r}")
    return int(text)


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("PAINPUMP_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("PAINPUMP_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")
# (Django's test environment adds its own "testserver"; a running service never answers to it.)

DATA_DIR = Path(os.environ.get("PAINPUMP_DATA_DIR", "var")).resolve()
PAINPUMP_AUDIT_KEY = _audit_key()
PAINPUMP_AUDIT_RETIRED_KEYS = _retired_audit_keys()
PAINPUMP_AUDIT_CHECKPOINTS = os.environ.get(
    "PAINPUMP_AUDIT_CHECKPOINTS", str(DATA_DIR / "audit-checkpoints.log")
)
PAINPUMP_AUDIT_SYSLOG = os.environ.get("PAINPUMP_AUDIT_SYSLOG", "")
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'painpump.sqlite3'}"),
        conn_max_age=60,
        # A kept connection is checked before each request reuses it, so a database restart
        # costs no request once it is back (painpump.plumbing.unavailable answers 503 meanwhile).
        conn_health_checks=True,
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Writers queue for each other instead of failing at once; readers read beside them.
    DATABASES["default"]["ENGINE"] = "painpump.db.sqlite3"
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL",
    }
    # In memory, as Django's own SQLite backend's test database is (pytest-django knows only it).
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "painpump.clinic",
    "painpump.plumbing",
    "painpump.api",
    "painpump.web",
]
MIDDLEWARE = [
    "painpump.plumbing.unavailable.DatabaseUnavailableMiddleware",
    # Outside the request's transaction: a refused attempt's audit entry outlasts its rollback.
    "painpump.plumbing.kept_apart.KeptApartMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so the static files carry them too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "painpump.plumbing.security_headers.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "painpump.plumbing.api_not_found.ApiNotFoundMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "painpump.plumbing.throttle.AddressBudgetMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "painpump.plumbing.second_factor.SecondFactorMiddleware",
    "painpump.plumbing.no_store.NoStoreWhenSignedInMiddleware",
    "painpump.web.session_limits.SessionLimitsMiddleware",
    "painpump.web.clinic_zone.ClinicTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Last: only the view runs inside a reading request's read-only scope.
    "painpump.plumbing.read_only_requests.ReadOnlyRequestsMiddleware",
]
ROOT_URLCONF = "painpump.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "painpump.web.navigation.navigation",
            ]
        },
    }
]
WSGI_APPLICATION = "painpump.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TIME_ZONE = "UTC"  # the database's; pages switch to the clinic's zone (ClinicSettings.time_zone)
USE_TZ = True
PAINPUMP_TIME_ZONE = os.environ.get("PAINPUMP_TIME_ZONE", "UTC")
"""The time zone a new clinic starts with, until the admin sets its own in Settings."""
USE_I18N = False
LANGUAGE_CODE = "en"

STATIC_URL = "static/"
# The app serves its own scripts and styles (clinics run offline): WhiteNoise from the installed
# packages' static folders, no collectstatic step and no CDN.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
LOGIN_URL = "web:sign-in"
LOGIN_REDIRECT_URL = "web:dashboard"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PAINPUMP_REQUIRE_2FA = _flag("PAINPUMP_REQUIRE_2FA", default=True)
"""Clinical roles and admins must sign in with a second factor (painpump.clinic.two_factor)."""
PAINPUMP_TRUSTED_PROXIES = _networks("PAINPUMP_TRUSTED_PROXIES")
"""Reverse proxies whose X-Forwarded-For names the client (painpump.plumbing.client_address)."""
PAINPUMP_LOGIN_CEILING = _positive("PAINPUMP_LOGIN_CEILING", 100, "failed logins")
"""Failed logins across all addresses within the throttle's window past which addresses not
known share PAINPUMP_LOGIN_TRICKLE (painpump.plumbing.throttle): a flood from many addresses gets
this many password hashes a window (about 20 s of a core), then the trickle, not 20 per address."""
PAINPUMP_LOGIN_TRICKLE = _positive("PAINPUMP_LOGIN_TRICKLE", 30, "password checks a minute")
"""Password checks a minute that addresses not known share past the ceiling: at most 30 hashes
of about 0.2 s, 6 s of a core a minute (10 % of one core), however many addresses flood; a
clinician at a new computer waits at most a minute (usually seconds) instead of the window."""
PAINPUMP_LOGIN_KNOWN_DAYS = _positive("PAINPUMP_LOGIN_KNOWN_DAYS", 30, "days")
"""Days an address stays known after a sign-in from it."""
OTP_TOTP_ISSUER = "painpump"
SESSION_ENGINE = "painpump.plumbing.hashed_sessions"
"""Sessions in the database under a keyed hash of their cookie, never the cookie itself."""
SESSION_COOKIE_HTTPONLY = True
SESSION_MAX_SECONDS = 8 * 3600
SESSION_COOKIE_AGE = SESSION_MAX_SECONDS
SESSION_IDLE_SECONDS = _positive_minutes("PAINPUMP_SESSION_IDLE_MINUTES", 30) * 60
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if os.environ.get("PAINPUMP_SECURE") == "1":
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_SSL_REDIRECT = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"one_line": {"()": "painpump.plumbing.bad_request.OneLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["one_line"]}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
