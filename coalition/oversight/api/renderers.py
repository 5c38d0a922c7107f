"""CSV for the statistics, chosen with ``?format=csv`` or ``Accept: text/csv``.

Problem responses stay JSON: ``coalition.api.problems`` switches any non-JSON
renderer back to JSON for errors, so this renderer only ever sees statistics.
"""

from rest_framework.renderers import BaseRenderer

from ..figures import csv_bytes


class CSVRenderer(BaseRenderer):
    """Writes the rows the view's ``csv_rows(data)`` gives: a header, then one line per figure."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        view = (renderer_context or {}).get("view")
        if view is None:  # only the figures views offer CSV, and DRF always passes the view
            raise TypeError("CSV needs the view that lists its rows.")
        return csv_bytes(view.csv_rows(data))
