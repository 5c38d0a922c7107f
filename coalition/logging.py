"""Log records carry the request (or worker job) id, and never a query string.

Django's own loggers write the request path of 4xx/5xx answers; paths here hold
only UUIDs, and query strings (which could hold filters) are not logged.
"""

import logging

from coalition.core.context import current_request_id, request_id
from coalition.core.db import is_outage


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (empty outside a request or job).

    Django attaches the request to records of 4xx/5xx answers; its repr holds the
    full path with the query string. Only the method and path are kept.

    A database outage is logged by its error class only: the driver's message and
    traceback may name hosts, users or the values of a query.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        if record.exc_info and is_outage(record.exc_info[1]):
            record.msg = f"{record.getMessage()} ({type(record.exc_info[1]).__name__})"
            record.args, record.exc_info, record.exc_text = None, None, None
        request = getattr(record, "request", None)
        if request is not None and not isinstance(request, str):
            record.request = f"{getattr(request, 'method', '')} {getattr(request, 'path', '')}"
        return True


def clear_request_id(**kwargs) -> None:
    """``request_finished`` receiver: nothing logged after a request carries its id."""
    request_id.set("")
