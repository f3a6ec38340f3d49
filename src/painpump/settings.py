"""Django settings of the clinic service. They fail closed: no secret key, no start; DEBUG is off
unless asked for; time is UTC. Everything a deployment sets comes from the environment:

PAINPUMP_SECRET_KEY (or PAINPUMP_SECRET_KEY_FILE)  required
DATABASE_URL            default: SQLite in PAINPUMP_DATA_DIR (default ./var)
PAINPUMP_ALLOWED_HOSTS  comma-separated, default localhost,127.0.0.1
PAINPUMP_DEBUG=1        development only
PAINPUMP_SECURE=1       behind TLS: secure cookies and HSTS
PAINPUMP_SESSION_IDLE_MINUTES  default 30: a session without a request for this long is signed
                        out (a tablet left signed in locks); 8 hours after sign-in it ends anyway
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

MIN_DISTINCT_SECRET_CHARACTERS = 16
"""A secret of 32 identical characters or of spaces is no secret (a random one has ~40)."""


def _secret_key() -> str:
    key = os.environ.get("PAINPUMP_SECRET_KEY", "")
    path = os.environ.get("PAINPUMP_SECRET_KEY_FILE", "")
    if not key and path:
        key = Path(path).read_text(encoding="utf-8").strip()
    if len(key.strip()) < 32 or len(set(key)) < MIN_DISTINCT_SECRET_CHARACTERS:
        raise ImproperlyConfigured(
            "PAINPUMP_SECRET_KEY (or PAINPUMP_SECRET_KEY_FILE) must hold a random secret of at "
            f"least 32 characters with at least {MIN_DISTINCT_SECRET_CHARACTERS} different ones "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'); painpump has no "
            "default secret"
        )
    return key


def _positive_minutes(name: str, default: int) -> int:
    text = os.environ.get(name, str(default))
    if not text.isdigit() or int(text) < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number of minutes, 1 or more: {text!r}")
    return int(text)


SECRET_KEY = _secret_key()
DEBUG = os.environ.get("PAINPUMP_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("PAINPUMP_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",")
# (Django's test environment adds its own "testserver"; a running service never answers to it.)

DATA_DIR = Path(os.environ.get("PAINPUMP_DATA_DIR", "var")).resolve()
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
    # Concurrent writers wait for each other instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "painpump.clinic",
    "painpump.plumbing",
    "painpump.api",
    "painpump.web",
]
MIDDLEWARE = [
    "painpump.plumbing.unavailable.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so the static files carry them too.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "painpump.plumbing.security_headers.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "painpump.plumbing.no_store.NoStoreWhenSignedInMiddleware",
    "painpump.web.session_limits.SessionLimitsMiddleware",
    "painpump.web.clinic_zone.ClinicTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
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
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
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
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
