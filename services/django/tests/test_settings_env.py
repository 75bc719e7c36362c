"""Settings read from the environment, checked in a fresh interpreter with a controlled env."""

import os
import subprocess
import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent


def load_settings(**env):
    """Import config.settings in a child Python with only env set; return the finished process."""
    child_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
    return subprocess.run(
        [sys.executable, "-c", "import config.settings as s; print(s.DEBUG, s.ALLOWED_HOSTS)"],
        cwd=APP_DIR,
        env=child_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_production_settings_require_a_secret_key():
    result = load_settings()

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_debug_settings_fall_back_to_a_dev_key_and_any_host():
    result = load_settings(DJANGO_DEBUG="1")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True ['*']"


def test_allowed_hosts_and_secret_come_from_the_environment():
    result = load_settings(DJANGO_SECRET_KEY="k" * 50, DJANGO_ALLOWED_HOSTS="app.test,django")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False ['app.test', 'django']"


def test_a_bad_database_port_is_named():
    result = load_settings(DJANGO_SECRET_KEY="k" * 50, DATABASE_PORT="five")

    assert result.returncode != 0
    assert "DATABASE_PORT='five' is not a port number" in result.stderr
