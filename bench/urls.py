"""The benchmark's routes, mounted by ``coalition.urls`` only when ``COALITION_BENCH`` is set (never in production)."""

from django.urls import path

from .instrument import FloorView

urlpatterns = [
    path("api/v1/bench/floor/", FloorView.as_view(), name="bench-floor"),
]
