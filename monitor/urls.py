"""URL hygiene: canonical forms for deduplication and the private-network guard."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .errors import UnsafeURL

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "ref_src",
        "cmpid",
        "ocid",
        "at_medium",
        "at_campaign",
        "__twitter_impression",
    }
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, no fragment, no tracking parameters."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    try:
        port = parts.port
    except ValueError:  # out of range: keep the URL's own spelling rather than fail
        return url.strip()
    default = (scheme, port) in (("http", 80), ("https", 443))
    netloc = f"{host}:{port}" if port and not default else host
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith("utm_") and key.lower() not in TRACKING_PARAMS
    ]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def site_of(url: str | None) -> str | None:
    """The domain a URL belongs to, without a leading ``www.``."""
    if not url:
        return None
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.") or None


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return False
    return ip.is_global and not ip.is_multicast


async def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse a URL that is not http(s), or whose host resolves to a non-public address."""
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        raise UnsafeURL(url, f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL(
            url, f"scheme {parts.scheme or '(none)'!r} is not allowed (http/https only)"
        )
    if not host:
        raise UnsafeURL(url, "URL has no host")
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError):
        return  # the request itself fails with a clear "host not found" or "invalid URL"
    for info in infos:
        address = str(info[4][0])
        if not is_public_address(address):
            raise UnsafeURL(url, f"host {host} resolves to non-public address {address}")
