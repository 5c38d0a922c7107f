import datetime

from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError

# What a forged cursor position raises when turned into its field's type.
_BAD_POSITION = (DjangoValidationError, ValueError, TypeError, OverflowError, ArithmeticError)


class CursorPagination(pagination.CursorPagination):
    """Cursor pagination: stable under inserts, cost independent of table size."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = "-created_at"
    invalid_cursor_message = _("Invalid cursor.")  # type: ignore[assignment]  # lazy, as DRF's own default

    def paginate_queryset(self, queryset, request, view=None):
        """A cursor that is not one this API wrote is a 400 problem; its text is never logged or echoed."""
        self._queryset = queryset  # decode_cursor checks the position against the ordering's field
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            raise self._invalid() from None  # a tampered cursor is bad input, not a missing resource
        except _BAD_POSITION:
            if request.query_params.get(self.cursor_query_param) is None:
                raise
            raise self._invalid() from None

    def _invalid(self) -> ValidationError:
        return ValidationError({"cursor": [self.invalid_cursor_message]}, code="invalid")

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        if cursor is None or cursor.position is None:
            return cursor
        # PostgreSQL refuses NUL in text parameters: a forged position is bad input, not a 500.
        position = str(cursor.position)  # text from the cursor, whatever the stubs say
        if "\x00" in position or not self._position_fits(position):
            raise NotFound(self.invalid_cursor_message)
        return cursor

    def _position_fits(self, position: str) -> bool:
        """Whether the position is a value of the ordering's first field (a forged one may be anything)."""
        field = self._ordering_field()
        if field is None:
            return True  # unknown type: the guard in paginate_queryset still answers 400
        try:
            value = field.to_python(position)
        except _BAD_POSITION:
            return False
        if isinstance(value, datetime.datetime) and timezone.is_naive(value):
            return False  # every position this API writes is aware; a naive one would be read in another zone
        return value is not None

    def _ordering_field(self):
        name = self.ordering[0].lstrip("-")
        queryset = getattr(self, "_queryset", None)
        if queryset is None:
            return None
        annotation = queryset.query.annotations.get(name)
        if annotation is not None:
            return getattr(annotation, "output_field", None)
        try:
            return queryset.model._meta.get_field(name)
        except FieldDoesNotExist:
            return None

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


class NewestFirstPagination(CursorPagination):
    """Newest first, ties broken by id: the order of logs and notification lists."""

    ordering = ("-created_at", "-id")  # type: ignore[assignment]  # DRF takes a tuple too; the stubs say str
