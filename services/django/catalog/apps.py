"""Django app configuration of the catalog."""

from django.apps import AppConfig


class CatalogConfig(AppConfig):
    """Registers the catalog app and its models."""

    name = "catalog"
    verbose_name = "Catalog"
    default_auto_field = "django.db.models.BigAutoField"
