"""The /healthz endpoint, with the real database up and with a database that cannot be reached."""

import copy
import socket

import pytest
from django.db import connections
from django.db.backends.postgresql.base import DatabaseWrapper

from catalog import views

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def closed_port():
    """Return a loopback TCP port that nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(name="unreachable_database")
def fixture_unreachable_database(monkeypatch):
    """Point the health check at a real PostgreSQL connection to a port where nothing listens."""
    settings_dict = copy.deepcopy(connections["default"].settings_dict)
    settings_dict.update(HOST="127.0.0.1", PORT=closed_port(), PASSWORD="must-not-be-logged")
    broken = DatabaseWrapper(settings_dict, alias="default")
    monkeypatch.setattr(views, "connections", {"default": broken})
    yield
    broken.close()


@pytest.mark.usefixtures("unreachable_database")
def test_healthz_is_503_when_the_database_is_unreachable(client, caplog):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unreachable"}
    assert "health check failed" in caplog.text
    assert "must-not-be-logged" not in caplog.text


def test_healthz_only_answers_get(client):
    assert client.post("/healthz").status_code == 405
