from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(use_regex_path=False)
router.register("notifications", views.NotificationViewSet, basename="notification")

urlpatterns = [
    path("me/notification-preferences/", views.NotificationPreferencesView.as_view(), name="notification-preferences"),
    *router.urls,
]
