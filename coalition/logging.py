"""Log records carry the request (or worker job) id, and never a query string.

Django's own loggers write the request path of 4xx/5xx answers; paths here hold
only UUIDs, and query strings (which could hold filters) are not logged.
"""

import logging

from coalition.context import current_request_id


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (empty outside a request or job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True
