"""Loopback ports for servers a test starts (gunicorn, nginx, an SMTP server) or leaves closed.

A port the kernel hands out for ``bind(0)`` comes from the ephemeral range, the same range
every outgoing connection (to PostgreSQL, to Redis) takes its local port from: between our
probe releasing it and the child process binding it, a connection may take it, and the child
fails with "Address already in use" (seen in CI). So ports are drawn below that range, where
no outgoing connection is ever given one, and probed before they are returned.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST = 20000


def _ephemeral_start() -> int:
    try:
        return int(RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now and that no outgoing connection will take."""
    high = max(_ephemeral_start() - 1, LOWEST + 1000)
    for _ in range(200):
        port = random.randint(LOWEST, high)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")
