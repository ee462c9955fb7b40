"""Kontosjef settings, read from the environment with safe development defaults.

Environment variables:
    DATABASE_URL   database (default: SQLite at var/kontosjef.sqlite3, WAL mode)
    SECRET_KEY     signing key (default: generated once into var/secret_key)
    DEBUG          "1"/"true" to enable debug pages (default: off)
    ALLOWED_HOSTS  comma-separated host names (default: localhost,127.0.0.1,[::1])
    TIME_ZONE      display time zone for the UI (default: Europe/Oslo); storage is always UTC
    EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD,
    EMAIL_USE_TLS, DEFAULT_FROM_EMAIL  (outgoing mail, as Django's MAILERS["default"])
    KONTOSJEF_VAR_DIR  where SQLite and the generated secret live (default: ./var)
    KONTOSJEF_WEBHOOK_SECRET  shared secret of inbound webhooks (HMAC-SHA256); unset switches
                   the webhook endpoint off (it answers 503)
    KONTOSJEF_BASE_URL  the site's address for links in e-mails and webhooks
                   (default: http://127.0.0.1:8000)
    KONTOSJEF_NOTIFY_WEBHOOK_URL, KONTOSJEF_NOTIFY_WEBHOOK_SECRET  outgoing webhook for new
                   attention items (http/https; signed with HMAC-SHA256); unset URL switches it off
    KONTOSJEF_DIGEST_HOUR  local hour (TIME_ZONE) from which daily digests go out (default: 7)
    KONTOSJEF_IMPORT_MAX_BYTES, KONTOSJEF_IMPORT_MAX_ROWS  the largest import file, uncompressed,
                   and the most rows or records it may hold (default: 1 GiB, 2,000,000)
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("KONTOSJEF_VAR_DIR", Path.cwd() / "var")).resolve()


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    # A self-hosted install must not ship a shared default key: generate one on first use and
    # keep it beside the database so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DEBUG")
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "kontosjef.people",
    "kontosjef.accounts",
    "kontosjef.cases",
    "kontosjef.attention",
    "kontosjef.audit",
    "kontosjef.integrations",
    # django-ninja as an app only for its templates and static files: the API docs page then
    # serves Swagger UI from this site instead of a CDN the Content-Security-Policy forbids.
    "ninja",
    "kontosjef.api",
    "kontosjef.demo",
    "kontosjef.ops",
    "kontosjef.configuration",
    "kontosjef.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "kontosjef.urls"
WSGI_APPLICATION = "kontosjef.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kontosjef.web.context_processors.navigation",
            ],
        },
    },
]

_SQLITE_PATH = VAR_DIR / "kontosjef.sqlite3"
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(_SQLITE_PATH),
            "OPTIONS": {
                # WAL lets readers run while a writer commits; IMMEDIATE takes the write lock at
                # BEGIN so two writers queue instead of failing with "database is locked" midway.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                    # 64 MB page cache: bulk imports update several indexes per row.
                    "PRAGMA cache_size=-65536;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

# Background work runs from the database queue: `kontosjef worker` takes tasks; no broker.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

# Periodic jobs that `kontosjef scheduler` enqueues: a task's dotted path, run "every" N seconds
# or "daily_at" HH:MM in TIME_ZONE. A job whose path does not import is reported on /status/ and
# the others still run. See docs/operations.md.
KONTOSJEF_SCHEDULE: list[dict[str, str | int]] = [
    {"name": "sla_sweep", "task": "kontosjef.cases.tasks.sweep_slas", "every": 60},
    {"name": "health", "task": "kontosjef.attention.tasks.refresh_health", "every": 3600},
    {
        "name": "notifications",
        "task": "kontosjef.integrations.tasks.deliver_notifications",
        "every": 60,
    },
    {"name": "digests", "task": "kontosjef.integrations.tasks.send_digests", "daily_at": "07:00"},
]
# Workers and the scheduler write a heartbeat this often; three missed ones make them stale.
KONTOSJEF_HEARTBEAT_SECONDS = 10

# Health score tuning (docs/health.md): how much each severity weighs, and the rules' thresholds.
KONTOSJEF_HEALTH_SEVERITY_FACTORS = json.loads(
    os.environ.get(
        "KONTOSJEF_HEALTH_SEVERITY_FACTORS", '{"info": 0.25, "warning": 1, "critical": 2}'
    )
)
KONTOSJEF_HEALTH_DROP_POINTS = float(os.environ.get("KONTOSJEF_HEALTH_DROP_POINTS", "15"))
KONTOSJEF_TOP_TIERS = _env_list("KONTOSJEF_TOP_TIERS", "strategic")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "people.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
FORMAT_MODULE_PATH = ["kontosjef.formats"]
LANGUAGES = [("en", _("English")), ("nb", _("Norwegian Bokmål"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/Oslo")

STATIC_URL = "static/"
# Set STATIC_ROOT only to run collectstatic for a separate web server.
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None
# Serve straight from the apps' static folders: no collectstatic step for a single-machine install.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE")
CSRF_COOKIE_SECURE = _env_bool("CSRF_COOKIE_SECURE")


SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}

KONTOSJEF_WEBHOOK_SECRET = os.environ.get("KONTOSJEF_WEBHOOK_SECRET", "")

# Import limits (docs/import.md): a file that decompresses to more bytes, or holds more rows or
# records, is refused before it can exhaust memory.
KONTOSJEF_IMPORT_MAX_BYTES = int(os.environ.get("KONTOSJEF_IMPORT_MAX_BYTES", str(1024**3)))
KONTOSJEF_IMPORT_MAX_ROWS = int(os.environ.get("KONTOSJEF_IMPORT_MAX_ROWS", "2000000"))

# Notifications of new attention items (docs/notifications.md).
KONTOSJEF_BASE_URL = os.environ.get("KONTOSJEF_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
KONTOSJEF_NOTIFY_WEBHOOK_URL = os.environ.get("KONTOSJEF_NOTIFY_WEBHOOK_URL", "").strip()
KONTOSJEF_NOTIFY_WEBHOOK_SECRET = os.environ.get("KONTOSJEF_NOTIFY_WEBHOOK_SECRET", "")
if KONTOSJEF_NOTIFY_WEBHOOK_URL:
    # Refuse at start-up rather than fail every delivery later: an unsigned webhook, or a
    # file:// or ftp:// "webhook", is a configuration mistake, never a wish.
    if urlsplit(KONTOSJEF_NOTIFY_WEBHOOK_URL).scheme not in {"http", "https"}:
        raise ImproperlyConfigured("KONTOSJEF_NOTIFY_WEBHOOK_URL must be an http or https URL.")
    if not KONTOSJEF_NOTIFY_WEBHOOK_SECRET:
        raise ImproperlyConfigured(
            "KONTOSJEF_NOTIFY_WEBHOOK_SECRET must be set when KONTOSJEF_NOTIFY_WEBHOOK_URL is."
        )
KONTOSJEF_DIGEST_HOUR = int(os.environ.get("KONTOSJEF_DIGEST_HOUR", "7"))

_EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
_EMAIL_OPTIONS: dict[str, object] = {}
if _EMAIL_BACKEND.endswith("smtp.EmailBackend"):
    _EMAIL_OPTIONS = {
        "host": os.environ.get("EMAIL_HOST", "localhost"),
        "port": int(os.environ.get("EMAIL_PORT", "25")),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": _env_bool("EMAIL_USE_TLS"),
        "timeout": 20,
    }
MAILERS = {"default": {"BACKEND": _EMAIL_BACKEND, "OPTIONS": _EMAIL_OPTIONS}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "kontosjef@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
