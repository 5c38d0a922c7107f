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

    def get_ordering(self, request, queryset, view):
        # The view names its own stable ordering (a unique or time field).
        ordering = getattr(view, "ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and (not raw.isdigit() or int(raw) < 1):
            raise ValidationError({"page_size": [_("Must be a whole number of at least 1.")]})
        return super().get_page_size(request)
