"""Gunicorn's access log as one JSON object per request, without the query string."""

import json

from gunicorn import glogging


class JsonAccessLogger(glogging.Logger):
    """Method, path (never the query string), status, bytes, duration and request id."""

    def access(self, resp, req, environ, request_time):
        if not (self.cfg.accesslog or self.cfg.logconfig or self.cfg.logconfig_dict or self.cfg.syslog):
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        request_id = next((value for name, value in resp.headers if name.lower() == "x-request-id"), "")
        line = {
            "time": self.now(),
            "logger": "gunicorn.access",
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 2),
            "request_id": request_id,
        }
        try:
            self.access_log.info(json.dumps(line))
        except Exception:  # a log line must never break a response
            self.exception("Failed to write an access log line.")
