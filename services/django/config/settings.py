"""Settings of the shipyard reference app, read from the environment.

Variables:
    DJANGO_DEBUG            "1"/"true"/"yes" turns debug mode on (default off).
    DJANGO_SECRET_KEY       required unless DJANGO_DEBUG is on (then a dev-only key is used).
    DJANGO_ALLOWED_HOSTS    comma-separated host names (default: localhost, 127.0.0.1, [::1];
                            "*" in debug mode).
    DATABASE_HOST/PORT/NAME/USER/PASSWORD   the PostgreSQL server (defaults: localhost, 5432,
                            shipyard, shipyard, empty).
    DJANGO_STATIC_ROOT      where collectstatic writes (default: <app>/staticfiles).
    DJANGO_FRONTEND_DIST    the built Vue app (default: <app>/frontend/dist).
    DJANGO_LOG_LEVEL        level of the root logger (default INFO).
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    """Read a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default):
    """Read a comma-separated environment variable into a list without blanks."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return list(default)
    return [part.strip() for part in value.split(",") if part.strip()]


DEBUG = env_bool("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set: set it to a long random string "
            "(or set DJANGO_DEBUG=1 for local development only)"
        )
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS", ["*"] if DEBUG else ["localhost", "127.0.0.1", "[::1]"]
)

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "catalog.apps.CatalogConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]


def _database_port():
    raw = os.environ.get("DATABASE_PORT", "5432")
    try:
        return int(raw)
    except ValueError as err:
        raise ImproperlyConfigured(
            f"DATABASE_PORT={raw!r} is not a port number: set it to the PostgreSQL port, e.g. 5432"
        ) from err


DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ.get("DATABASE_HOST", "localhost"),
        "PORT": _database_port(),
        "NAME": os.environ.get("DATABASE_NAME", "shipyard"),
        "USER": os.environ.get("DATABASE_USER", "shipyard"),
        "PASSWORD": os.environ.get("DATABASE_PASSWORD", ""),
        "CONN_MAX_AGE": 60,
        "OPTIONS": {"connect_timeout": 5},
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
FRONTEND_DIST = Path(os.environ.get("DJANGO_FRONTEND_DIST", BASE_DIR / "frontend" / "dist"))
# The Vite build writes dist/index.html and dist/assets/*; collectstatic copies them under
# STATIC_ROOT and whitenoise serves them. Without a build (tests, API-only runs) there is nothing
# to collect.
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.is_dir() else []
STATICFILES_STORAGE = "whitenoise.storage.CompressedStaticFilesStorage"
# Vite puts a content hash in every name under assets/ (index-DRroyGgP.js), so browsers may cache
# those files for good.
WHITENOISE_IMMUTABLE_FILE_TEST = r"^/static/assets/.+-[0-9A-Za-z_-]{8,}\.[0-9A-Za-z]+$"

SECURE_CONTENT_TYPE_NOSNIFF = True
# Cookies only travel over HTTPS outside debug mode (the app sets none today but CSRF's).
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"
# TLS ends at traefik; it sets X-Forwarded-Proto for the requests it forwards.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}
