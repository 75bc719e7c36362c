"""The page that serves the built Vue app."""

from config import settings as app_settings


def test_index_serves_the_built_front_end(client, settings, tmp_path):
    (tmp_path / "index.html").write_text(
        '<!doctype html><div id="app"></div><script src="/static/assets/index-abc.js"></script>',
        encoding="utf-8",
    )
    settings.FRONTEND_DIST = tmp_path

    response = client.get("/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert b'<div id="app"></div>' in response.content


def test_index_explains_a_missing_build(client, settings, tmp_path):
    settings.FRONTEND_DIST = tmp_path / "missing"

    response = client.get("/")

    assert response.status_code == 404
    assert b"npm ci && npm run build" in response.content


def test_env_bool_reads_common_spellings(monkeypatch):
    for raw, want in [
        ("1", True),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("", False),
    ]:
        monkeypatch.setenv("SHIPYARD_TEST_FLAG", raw)
        assert app_settings.env_bool("SHIPYARD_TEST_FLAG") is want, raw
    monkeypatch.delenv("SHIPYARD_TEST_FLAG")
    assert app_settings.env_bool("SHIPYARD_TEST_FLAG", default=True) is True


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("SHIPYARD_TEST_LIST", " app.example.test, ,localhost,")
    assert app_settings.env_list("SHIPYARD_TEST_LIST", ["x"]) == ["app.example.test", "localhost"]
    monkeypatch.delenv("SHIPYARD_TEST_LIST")
    assert app_settings.env_list("SHIPYARD_TEST_LIST", ["x"]) == ["x"]
