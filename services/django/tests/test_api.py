"""The /api/items JSON API through Django's test client and the real database."""

import json

import pytest

from catalog.models import Item
from catalog.views import MAX_LISTED_ITEMS

pytestmark = pytest.mark.django_db

URL = "/api/items"


def post_json(client, payload):
    """POST payload (serialised unless it already is a string) as JSON."""
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post(URL, data=body, content_type="application/json")


def test_get_lists_nothing_on_an_empty_catalog(client):
    response = client.get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"items": []}


def test_get_lists_items_newest_first(client):
    first = Item.objects.create(name="first")
    second = Item.objects.create(name="second")

    response = client.get(URL)

    assert response.status_code == 200
    assert response.json() == {"items": [second.as_dict(), first.as_dict()]}


def test_get_caps_the_list(client):
    Item.objects.bulk_create(Item(name=f"item {n}") for n in range(MAX_LISTED_ITEMS + 5))

    response = client.get(URL)

    assert len(response.json()["items"]) == MAX_LISTED_ITEMS


def test_post_creates_an_item_and_returns_it(client):
    response = post_json(client, {"name": "  lantern  "})

    assert response.status_code == 201
    body = response.json()
    stored = Item.objects.get()
    assert body == stored.as_dict()
    assert stored.name == "lantern"
    assert client.get(URL).json() == {"items": [body]}


@pytest.mark.parametrize(
    "payload, status, message",
    [
        ("{not json", 400, "not valid JSON"),
        ([1, 2], 400, '"name" is missing'),
        ({}, 400, '"name" is missing'),
        ({"name": 7}, 400, '"name" is missing or not a string'),
        ({"name": "   "}, 400, "This field cannot be blank"),
        ({"name": "x" * 201}, 400, "at most 200 characters"),
    ],
)
def test_post_rejects_bad_items(client, payload, status, message):
    response = post_json(client, payload)

    assert response.status_code == status
    assert message in response.json()["error"]
    assert Item.objects.count() == 0


def test_post_rejects_form_encoded_bodies(client):
    response = client.post(URL, data={"name": "form"})

    assert response.status_code == 415
    assert "application/json" in response.json()["error"]
    assert Item.objects.count() == 0


def test_post_works_without_a_csrf_token(client):
    # The API has no cookie-based login, so it is exempt from CSRF checks: a strict client
    # proves it.
    from django.test import Client  # pylint: disable=import-outside-toplevel

    strict = Client(enforce_csrf_checks=True)

    assert post_json(strict, {"name": "no token"}).status_code == 201
    assert client.get(URL).json()["items"][0]["name"] == "no token"


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_other_methods_are_not_allowed(client, method):
    response = getattr(client, method)(URL)

    assert response.status_code == 405
    assert sorted(response["Allow"].split(", ")) == ["GET", "POST"]
