"""Which webhook targets the coalition may call (OWASP API7, server-side request forgery).

A target must be https (plain http only in debug or with the local-testing setting),
carry no credentials in its URL, and resolve only to public addresses: loopback,
private, link-local (cloud metadata at 169.254.169.254), shared, reserved and
multicast addresses are refused unless ``WEBHOOK_ALLOW_PRIVATE_TARGETS`` is on, and so
is every IPv6 form that embeds or translates to an IPv4 address (see
``IPV6_TRANSITION_NETWORKS``). The check runs when an endpoint is registered and again
before every delivery, since a name may resolve elsewhere later; the delivery then
connects to an address that was checked (``CheckedTarget``), never to a fresh lookup,
so DNS rebinding between the check and the connection has no window.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.utils.translation import gettext as _

# IPv6 ranges that carry or reach an IPv4 address. They are refused outright, whatever
# the embedded address: a webhook receiver has a native IPv4 or IPv6 address and never
# needs one; where the IPv4 address sits depends on the form (and, for NAT64 networks,
# on a prefix length chosen by the network), and the translation is done by gateways and
# relays we do not control, which may reach an internal IPv4 network. Python's
# ``is_global`` calls most of them global (a known pitfall of the standard library).
IPV6_TRANSITION_NETWORKS = tuple(
    ipaddress.IPv6Network(network)
    for network in (
        "::/96",  # IPv4-compatible (deprecated), ::a.b.c.d
        "::ffff:0:0/96",  # IPv4-mapped, ::ffff:a.b.c.d
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT), ::ffff:0:a.b.c.d
        "64:ff9b::/96",  # NAT64 well-known prefix
        "64:ff9b:1::/48",  # NAT64 local-use prefix
        "2002::/16",  # 6to4
        "2001::/32",  # Teredo
        "fec0::/10",  # site-local (deprecated, still routed inside some networks)
    )
)


class TargetRefused(Exception):
    """The URL may not be called. ``code`` is a stable class, safe to log and show."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CheckedTarget:
    """A URL with the addresses it resolved to when checked: deliver to these, never to a new lookup."""

    url: str
    addresses: tuple[str, ...]

    def requests(self) -> list[tuple[str, dict[str, str], dict[str, str]]]:
        """(URL to send to, headers, httpx extensions) per checked address, in resolver order.

        The URL's host is the pinned address (IPv6 in brackets); the Host header and, for
        https, the TLS server name (SNI, and the name the certificate is verified against:
        httpcore passes ``sni_hostname`` as ``server_hostname`` to ``ssl.wrap_socket``)
        stay the original host name.
        """
        url = httpx.URL(self.url)
        host = url.raw_host.decode("ascii")
        if _is_ip_literal(host):
            return [(self.url, {}, {})]
        headers = {"Host": url.netloc.decode("ascii")}
        extensions = {"sni_hostname": host} if url.scheme == "https" else {}
        return [(str(url.copy_with(host=address)), headers, extensions) for address in self.addresses]


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order of preference (a seam for tests)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_public(address: str) -> bool:
    """Whether the coalition may connect to ``address``: global unicast, and no IPv6 transition form."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and any(ip in network for network in IPV6_TRANSITION_NETWORKS):
        return False
    return ip.is_global and not ip.is_multicast


def check_target(url: str) -> CheckedTarget:
    """Raise ``TargetRefused`` unless ``url`` is a target the coalition may call now; else its checked addresses."""
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
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        raise TargetRefused("unresolvable", _("The URL's host name cannot be resolved.")) from None
    if not addresses:
        raise TargetRefused("unresolvable", _("The URL's host name cannot be resolved."))
    if not allow_private and not all(is_public(address) for address in addresses):
        raise TargetRefused(
            "private_address",
            _("The URL resolves to a loopback, private, link-local or reserved address, which is not allowed."),
        )
    return CheckedTarget(url=url, addresses=tuple(addresses))
