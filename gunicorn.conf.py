"""Gunicorn settings for production: `gunicorn -c gunicorn.conf.py coalition.wsgi`.

Every value comes from the environment with a default fit for a small (2-core)
node; see api_docs/deployment.md. Threads let a worker overlap database waits;
each thread holds at most one pooled connection, so keep
GUNICORN_THREADS <= DATABASE_POOL_MAX.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise SystemExit(f"{name} must be a whole number.")
    return int(value)


# Loopback or a unix socket (`unix:/run/coalition/gunicorn.sock`), never a public
# address: gthread holds a thread for each connection until its request is complete,
# so slow or idle clients must meet nginx (api_docs/nginx/coalition.conf), which
# buffers whole requests and answers before gunicorn sees them.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# A unix socket is created rw for its owner and group only (nginx's group, see
# api_docs/deployment.md), so no other local user can bypass the proxy.
umask = 0o007
# Two cores: cores + 1 processes of 4 threads each answer 12 requests at once.
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1)
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread"
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle a worker after this many requests (± jitter, so they do not all restart
# at once): bounds the damage of a slow memory leak. 0 turns it off.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# Load the app in each worker after the fork: every worker opens its own pool.
preload_app = False
# Requests and headers are small here; refuse anything else early.
limit_request_line = 4094
limit_request_fields = 50

# One JSON line per request on stdout, without the query string (filters may name
# things a log reader has no business seeing); the request id joins it to app logs.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
logger_class = "coalition.gunicorn_logging.JsonAccessLogger"
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "coalition-api"
# Gunicorn's control socket (worker count, reload, shutdown through `gunicornc`) is off
# unless a path is given: it is a management interface nobody here needs, and its
# default path in $HOME would be shared by every gunicorn of that user.
_control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()
control_socket_disable = not _control_socket
if _control_socket:
    control_socket = _control_socket
