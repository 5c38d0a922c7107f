from django.utils.translation import gettext_lazy as _
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError


class CursorPagination(pagination.CursorPagination):
    """Cursor pagination: stable under inserts, cost independent of table size."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = "-created_at"
    invalid_cursor_message = _("Invalid cursor.")

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound as exc:
            # A tampered cursor is bad input, not a missing resource.
            raise ValidationError({"cursor": [self.invalid_cursor_message]}, code="invalid") from exc

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        # PostgreSQL refuses NUL in text parameters: a forged position is bad input, not a 500.
        if cursor is not None and cursor.position is not None and "\x00" in cursor.position:
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def get_ordering(self, request, queryset, view):
        # The view names its own stable ordering (a unique or time field).
        ordering = getattr(view, "ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        # ASCII digits, few enough for int(): str.isdigit() also takes "²", which int() refuses (a 500).
        if raw is not None and not (raw.isascii() and raw.isdigit() and len(raw) <= 9 and int(raw) >= 1):
            raise ValidationError({"page_size": [_("Must be a whole number of at least 1.")]})
        return super().get_page_size(request)

    def get_paginated_response_schema(self, schema):
        # OpenAPI 3.1 form: null is a type, and next/previous are always present.
        link = {"type": ["string", "null"], "format": "uri"}
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "next": link | {"description": "The next page; null on the last."},
                "previous": link | {"description": "The previous page; null on the first."},
                "results": schema,
            },
        }
