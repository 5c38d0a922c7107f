from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(use_regex_path=False)
router.register("webhooks", views.WebhookEndpointViewSet, basename="webhook")

urlpatterns = [
    path("events/", views.EventFeedView.as_view(), name="event-feed"),
    *router.urls,
]
