"""URL routes of the shipyard reference app."""

from django.urls import include, path

from catalog import views

urlpatterns = [
    path("", views.index, name="index"),
    path("healthz", views.healthz, name="healthz"),
    path("api/", include("catalog.urls")),
]
