"""Network addresses, shared by everything that decides whether a bind or a key is exposed."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """`localhost` or a loopback IP (127.0.0.0/8, ::1); a name that is not an IP is not."""
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_of(uri: str) -> str:
    """The host part of `host:port` (IPv6 in brackets allowed)."""
    return uri.rsplit(":", 1)[0].strip("[]") if ":" in uri else uri
