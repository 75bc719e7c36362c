"""The Item model against the real database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Item

pytestmark = pytest.mark.django_db


def test_create_stores_name_and_stamps_created_time():
    before = timezone.now()
    item = Item.objects.create(name="anchor")
    after = timezone.now()

    stored = Item.objects.get(pk=item.pk)
    assert stored.name == "anchor"
    assert before <= stored.created <= after
    assert str(stored) == "anchor"


def test_default_ordering_lists_newest_first():
    old = Item.objects.create(name="old")
    new = Item.objects.create(name="new")
    Item.objects.filter(pk=old.pk).update(created=timezone.now() - timedelta(hours=1))

    assert [item.name for item in Item.objects.all()] == ["new", "old"]
    assert Item.objects.first().pk == new.pk


def test_as_dict_is_what_the_api_shows():
    item = Item.objects.create(name="rope")

    assert item.as_dict() == {
        "id": item.pk,
        "name": "rope",
        "created": item.created.isoformat(),
    }
