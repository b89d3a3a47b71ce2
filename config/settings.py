"""Settings for the clinic site, read from the environment (12-factor).

Unset variables give a safe local default: SQLite file, local-memory cache, console email.
With DEBUG off the site refuses to start without a real SECRET_KEY.
"""

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_int(name, default):
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def env_float(name, default):
    value = os.environ.get(name, "")
    return float(value) if value.strip() else default


# --- Site, secrets and hosts -----------------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random value "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=1 for local development."
        )
    SECRET_KEY = "insecure-development-key-only-used-when-DEBUG-is-on"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
ADMIN_URL = os.environ.get("ADMIN_URL", "admin/").strip("/") + "/"

# --- Applications, middleware, URLs and templates --------------------------------------------------------------------
INSTALLED_APPS = [
    "clinic.apps.ClinicAdminConfig",  # django.contrib.admin with the clinic's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.postgres",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "clinic",
    "articles",
    "booking",
    "booking.waitlist",
    "booking.intake",
]

MIDDLEWARE = [
    # First: X-Forwarded-* headers count only when they come from one of TRUSTED_PROXIES.
    "clinic.client_address.ForwardedHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Security headers before whitenoise, so static files get Permissions-Policy, CORP and CSP too.
    "clinic.middleware.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A strong ETag and 304s for every response that may be stored (not for private, no-store ones).
    "django.middleware.http.ConditionalGetMiddleware",
    # gzip for shareable pages only, never one with a form token or a cookie (BREACH): see clinic/middleware.py.
    "clinic.middleware.SharedPageGZipMiddleware",
    # Public or private, no-store, for every response from here in (errors too); above the session, CSRF and
    # messages middleware, so it sees the cookies they set.
    "clinic.cache_headers.CacheHeadersMiddleware",
    # Database down: answer 503 with the branded page instead of a 500.
    "clinic.middleware.DatabaseUnavailableMiddleware",
    # NUL characters in a URL or form: 400 (PostgreSQL would refuse them with a 500).
    "clinic.middleware.RejectNullBytesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as the axes docs require
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "clinic.context_processors.clinic",
            ],
        },
    },
]

# --- Database and shared cache ---------------------------------------------------------------------------------------
# SQLite file unless DATABASE_URL says otherwise; persistent connections in production.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 0 if DEBUG else 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE makes a write transaction take the lock when it starts, so competing bookings
    # queue (up to the timeout) instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}
    )
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The planner's cost of a random read, as PostgreSQL's docs advise for SSDs and cached data (default 4.0,
    # tuned for spinning disks): with it a search word matching a few hundred patients reads the trigram
    # index instead of scanning every record. DB_RANDOM_PAGE_COST="" leaves the server's own setting.
    random_page_cost = os.environ.get("DB_RANDOM_PAGE_COST", "1.1")
    if random_page_cost:
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", f"-c random_page_cost={random_page_cost}")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", os.environ.get("CACHE_URL", ""))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "clinic"),
            "OPTIONS": {
                # A cache outage degrades to "no cache" instead of taking the site down.
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "clinic"}}
# Parts of pages ({% cache %}) in each process's memory, keyed on the shared content version (clinic/caching.py).
FRAGMENT_CACHE_SECONDS = env_int("FRAGMENT_CACHE_SECONDS", 600)
CACHES["template_fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fragments",
    "TIMEOUT": FRAGMENT_CACHE_SECONDS,
    "OPTIONS": {"MAX_ENTRIES": 2000},
}

# --- Staff accounts and sign-in --------------------------------------------------------------------------------------
# Where staff land after signing in when the requested next= page is refused (another host, a bad URL).
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Admin login lockout with django-axes. Attempts are stored in the database (AxesDatabaseHandler), so
# every server instance sees the same count. Lockout is keyed on the username *and* the client address,
# so an attacker cannot lock a staff member out from everywhere by guessing at their username.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out logins before checking passwords
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "axes/lockout.html"
# The same client address the booking rate limit uses (X-Forwarded-For only from TRUSTED_PROXIES).
AXES_CLIENT_IP_CALLABLE = "clinic.client_address.client_address"

# --- Language and time -----------------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-ca"
LANGUAGES = [("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "America/Toronto")
USE_I18N = True
USE_TZ = True

# --- Static and media files ------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_MAX_AGE = 31536000 if not DEBUG else 0

# --- Forms -----------------------------------------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Email -----------------------------------------------------------------------------------------------------------
# Email: SMTP when EMAIL_HOST is set. Without it, the console (development). With DEBUG off the console is
# refused by `check --deploy` (clinic/checks.py) unless EMAIL_BACKEND names it explicitly (a staging server).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", EMAIL_PORT == 587)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_BACKEND_CHOSEN = bool(os.environ.get("EMAIL_BACKEND"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Northgate Clinic <bookings@northgate-clinic.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The address that receives "new request" notices; defaults to the clinic's email in admin.
CLINIC_NOTIFY_EMAIL = os.environ.get("CLINIC_NOTIFY_EMAIL", "")

# --- Booking rules and the email worker ------------------------------------------------------------------------------
# Booking rules (hours/days); see README "Booking".
BOOKING_MIN_NOTICE_HOURS = env_int("BOOKING_MIN_NOTICE_HOURS", 12)
BOOKING_HORIZON_DAYS = env_int("BOOKING_HORIZON_DAYS", 60)
BOOKING_COURSE_HORIZON_DAYS = env_int("BOOKING_COURSE_HORIZON_DAYS", 366)  # the last visit of a course, at most
BOOKING_CANCEL_NOTICE_HOURS = env_int("BOOKING_CANCEL_NOTICE_HOURS", 24)
BOOKING_LINK_DAYS_AFTER = env_int("BOOKING_LINK_DAYS_AFTER", 30)  # the patient's link stops working after this
BOOKING_RATE_LIMIT = env_int("BOOKING_RATE_LIMIT", 5)  # requests per client address per hour
# django-ratelimit counts in the shared cache; a cache outage must not stop patients booking.
RATELIMIT_FAIL_OPEN = True
BOOKING_RETENTION_MONTHS = env_int("BOOKING_RETENTION_MONTHS", 24)  # then purge_bookings anonymises them
BOOKING_MAX_OPEN_PER_EMAIL = env_int("BOOKING_MAX_OPEN_PER_EMAIL", 3)
BOOKING_MIN_SECONDS_TO_SUBMIT = env_int("BOOKING_MIN_SECONDS_TO_SUBMIT", 3)
# Returning patients (/visits/, README "Returning patients"): a sign-in code lives this many minutes and allows
# this many tries; the sign-in ends after this many idle minutes; code requests per client address and per email
# address (django-ratelimit rates, counted in the shared cache; a cache outage fails open).
VISITS_CODE_MINUTES = env_int("VISITS_CODE_MINUTES", 10)
VISITS_CODE_TRIES = env_int("VISITS_CODE_TRIES", 3)
VISITS_IDLE_MINUTES = env_int("VISITS_IDLE_MINUTES", 30)
VISITS_CODE_RATE_PER_CLIENT = os.environ.get("VISITS_CODE_RATE_PER_CLIENT", "10/h")
VISITS_CODE_RATE_PER_ADDRESS = os.environ.get("VISITS_CODE_RATE_PER_ADDRESS", "5/h")
RATELIMIT_FAIL_OPEN = True
# A form sent twice at once (a double tap behind a load balancer): the second request waits up to this long for
# the first one's commit, so both answers lead to the saved booking.
BOOKING_DOUBLE_SUBMIT_WAIT_SECONDS = env_int("BOOKING_DOUBLE_SUBMIT_WAIT_SECONDS", 5)
EMAIL_MAX_ATTEMPTS = env_int("EMAIL_MAX_ATTEMPTS", 5)
# The email worker (manage.py run_worker): first retry after this many seconds, doubling each time (max 1 h);
# a row claimed by a worker that died is claimed again after the lease; the worker polls this often.
EMAIL_RETRY_BASE_SECONDS = env_int("EMAIL_RETRY_BASE_SECONDS", 60)
EMAIL_CLAIM_LEASE_SECONDS = env_float("EMAIL_CLAIM_LEASE_SECONDS", 300)
WORKER_POLL_SECONDS = env_float("WORKER_POLL_SECONDS", 2)  # fractions too, e.g. 0.5
# Reminders: the day before at this hour (clinic time); confirmed later than that, this many hours before
# the visit instead (0 = no late reminder).
BOOKING_REMINDER_HOUR = env_int("BOOKING_REMINDER_HOUR", 18)
BOOKING_LATE_REMINDER_HOURS = env_int("BOOKING_LATE_REMINDER_HOURS", 2)
# The waitlist (README "Waitlist"): an offered time is held for the patient this long; a time freed by a change
# to a practitioner's bookings waits this long before it is offered (a cancel-and-rebook is not offered away);
# at most this many waiting entries per email address; joins per client address per hour.
WAITLIST_HOLD_MINUTES = env_int("WAITLIST_HOLD_MINUTES", 15)
WAITLIST_PAUSE_MINUTES = env_int("WAITLIST_PAUSE_MINUTES", 2)
WAITLIST_MAX_PER_EMAIL = env_int("WAITLIST_MAX_PER_EMAIL", 3)
WAITLIST_RATE_LIMIT = env_int("WAITLIST_RATE_LIMIT", 5)

# --- Proxies and security headers ------------------------------------------------------------------------------------
# Our own reverse proxies / load balancers (addresses or networks, comma-separated). X-Forwarded-For and
# X-Forwarded-Proto count only on connections from these (clinic/client_address.py); nobody else's do.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
for _entry in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_entry, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES: {_entry!r} is not an IP address or network (e.g. 127.0.0.1 or 10.0.0.0/8)."
        ) from None

# Security: strict by default, relaxed only by DEBUG for local HTTP.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", bool(TRUSTED_PROXIES)) else None
)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# "__Host-" cookies must be Secure, so plain-HTTP development keeps the usual names.
SESSION_COOKIE_NAME = "sessionid" if DEBUG else "__Host-sessionid"
CSRF_COOKIE_NAME = "csrftoken" if DEBUG else "__Host-csrftoken"
SESSION_COOKIE_AGE = 60 * 60 * 8
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# --- Content Security Policy and Permissions Policy ------------------------------------------------------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # JSON-LD blocks are data, not scripts: the browser runs no CSP check on them, so no nonce or hash is needed.
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    },
}
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), interest-cohort=()"
)

# --- Logging ---------------------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_tokens": {"()": "clinic.log_redaction.RedactTokensFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_tokens"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- The clinic's locale ---------------------------------------------------------------------------------------------
# The region assumed for phone numbers typed without a country code.
PHONE_REGION = os.environ.get("PHONE_REGION", "CA")
# Statutory holidays loaded as closures by load_content: country, then province or state ("" for none).
CLINIC_HOLIDAYS = os.environ.get("CLINIC_HOLIDAYS", "CA-ON")
# How the clinic's time zone is named on pages and in emails; empty = derived from TIME_ZONE.
CLINIC_TIME_ZONE_LABEL = os.environ.get("CLINIC_TIME_ZONE_LABEL", "")

# --- Caching of public pages (clinic/cache_headers.py) ---------------------------------------------------------------
# Browsers revalidate every time (max-age 0, a 304 when unchanged); nginx or a CDN keeps a public page for
# PAGE_SHARED_MAX_AGE seconds (at most 60) and may serve it PAGE_STALE_SECONDS longer while it fetches a fresh one.
PAGE_MAX_AGE = env_int("PAGE_MAX_AGE", 0)
PAGE_SHARED_MAX_AGE = min(env_int("PAGE_SHARED_MAX_AGE", 30), 60)
PAGE_STALE_SECONDS = env_int("PAGE_STALE_SECONDS", 30)

# --- Health information (booking/intake, see README "Health information") ---------------------------------
# Fernet keys that encrypt intake answers at rest, newest first, comma-separated. The first encrypts; every key
# decrypts (so a key can be rotated: put the new one first, run `manage.py rotate_health_key`, then drop the old).
# Production has no default: `check --deploy` fails without it, and nothing can be saved or read.
HEALTH_DATA_KEYS = env_list("HEALTH_DATA_KEYS")
# A fixed, public, non-secret key for development (DEBUG) and the tests only (settings_test.py sets the flag).
HEALTH_DATA_DEV_KEY_ALLOWED = DEBUG
# Health records are kept this many years after the patient's last visit (and, for a minor, after their 18th
# birthday), then listed for the privacy officer (`manage.py health_records_past_retention`).
HEALTH_RECORD_RETENTION_YEARS = env_int("HEALTH_RECORD_RETENTION_YEARS", 10)
# Wrong dates of birth before a form link locks (the count is in the database, shared by every instance).
INTAKE_DOB_ATTEMPTS = env_int("INTAKE_DOB_ATTEMPTS", 3)
