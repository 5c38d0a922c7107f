from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(use_regex_path=False)
router.register("audit/entries", views.AuditEntryViewSet, basename="audit-entry")

urlpatterns = [
    path("audit/verify/", views.AuditVerifyView.as_view(), name="audit-verify"),
    *router.urls,
]
