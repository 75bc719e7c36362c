"""Tests of the shipyard reference app; they need a PostgreSQL server (see pytest.ini)."""
