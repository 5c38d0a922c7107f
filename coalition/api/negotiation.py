"""Content negotiation for the few views that offer a ``?format=`` query parameter.

DRF's URL format override (``?format=``) is off for the whole API
(``URL_FORMAT_OVERRIDE: None``): on every other endpoint it used to answer an
undocumented 404 for an unknown format. The statistics endpoints document
``?format=json|csv`` beside ``Accept: text/csv`` and opt in with this class.
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

FORMAT_PARAMETER = "format"


class FormatParameterNegotiation(DefaultContentNegotiation):
    """``Accept`` negotiation, narrowed first by a ``?format=`` parameter when one is given.

    An unknown format is DRF's ``Http404`` from ``filter_renderers``; the view that opts in
    answers it as a field error (``StatisticsView.perform_content_negotiation``).
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        chosen = format_suffix or request.query_params.get(FORMAT_PARAMETER)
        return super().select_renderer(request, renderers, chosen)
