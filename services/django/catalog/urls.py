"""API routes of the catalog, mounted under /api/."""

from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("items", views.items, name="items"),
]
