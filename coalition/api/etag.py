"""ETag / If-Match for optimistic concurrency on cases and referrals."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError


def etag_for(obj) -> str:
    return f'"{obj.version}"'


def expected_version(request) -> int | None:
    """The version named by If-Match, or None when absent or ``*``. Malformed: 400."""
    header = request.META.get("HTTP_IF_MATCH")
    if header is None or header.strip() == "*":
        return None
    value = header.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    # ASCII digits, few enough for int(): str.isdigit() also takes "²", which int() refuses (a 500).
    if not (value.isascii() and value.isdigit() and len(value) <= 18):
        raise ValidationError({"If-Match": [_("Send the ETag you received, e.g. \"3\".")]})
    return int(value)
