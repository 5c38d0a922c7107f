from django.conf import settings
from rest_framework.permissions import BasePermission


class ApiDocsPermission(BasePermission):
    """Schema and docs are public where PUBLIC_API_DOCS is on (default: debug), else need a login."""

    def has_permission(self, request, view) -> bool:
        return settings.PUBLIC_API_DOCS or bool(request.user and request.user.is_authenticated)

