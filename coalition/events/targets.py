"""Which webhook targets the coalition may call (OWASP API7, server-side request forgery).

A target must be https (plain http only in debug or with the local-testing setting),
carry no credentials in its URL, and resolve only to public addresses: loopback,
private, link-local (cloud metadata at 169.254.169.254), shared, reserved and
multicast addresses are refused unless ``WEBHOOK_ALLOW_PRIVATE_TARGETS`` is on. The
check runs when an endpoint is registered and again before every delivery, since
a name may resolve elsewhere later.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


class TargetRefused(Exception):
    """The URL may not be called. ``code`` is a stable class, safe to log and show."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (a seam for tests)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_target(url: str) -> None:
    """Raise ``TargetRefused`` unless ``url`` is a target the coalition may call now."""
    allow_private = settings.WEBHOOK_ALLOW_PRIVATE_TARGETS
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("invalid_url", _("Enter a valid URL.")) from None
    if parts.scheme != "https" and not (parts.scheme == "http" and (settings.DEBUG or allow_private)):
        raise TargetRefused("scheme", _("The URL must use https."))
    if parts.username or parts.password:
        raise TargetRefused("credentials", _("The URL must not contain a user name or password."))
    host = parts.hostname
    if not host:
        raise TargetRefused("invalid_url", _("Enter a valid URL."))
    if allow_private:
        return
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        raise TargetRefused("unresolvable", _("The URL's host name cannot be resolved.")) from None
    if not addresses or not all(_is_public(address) for address in addresses):
        raise TargetRefused(
            "private_address",
            _("The URL resolves to a loopback, private, link-local or reserved address, which is not allowed."),
        )
