"""CSV for the statistics, chosen with ``?format=csv`` or ``Accept: text/csv``.

Problem responses stay JSON: ``coalition.api.problems`` switches any non-JSON
renderer back to JSON for errors, so this renderer only ever sees statistics.
"""

import csv
import io

from rest_framework.renderers import BaseRenderer


class CSVRenderer(BaseRenderer):
    """Writes the rows the view's ``csv_rows(data)`` gives: a header, then one line per figure."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        view = (renderer_context or {}).get("view")
        if view is None:  # only the figures views offer CSV, and DRF always passes the view
            raise TypeError("CSV needs the view that lists its rows.")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        for row in view.csv_rows(data):
            writer.writerow(["" if value is None else _safe(value) for value in row])
        return buffer.getvalue().encode(self.charset)


def _safe(value):
    """Booleans as true/false; text that a spreadsheet would run as a formula is quoted with '."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
