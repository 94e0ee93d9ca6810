"""URL hygiene: canonical forms for deduplication, and what counts as a public address
(for the connect-time guard, ``guard.py``)."""

from __future__ import annotations

import ipaddress
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
# Not globally reachable, whatever the running Python's ``is_global`` says of them (its
# tables have changed between releases): shared address space (CGNAT), IETF protocol
# assignments, benchmarking, the old 6to4 relay anycast.
_NOT_PUBLIC_V4 = tuple(
    ipaddress.ip_network(n)
    for n in ("100.64.0.0/10", "192.0.0.0/24", "192.88.99.0/24", "198.18.0.0/15", "240.0.0.0/4")
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known prefix: the IPv4 address is inside
_GLOBAL_UNICAST_V6 = ipaddress.ip_network("2000::/3")  # every public IPv6 address is in it


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
    """Globally reachable unicast. IPv6 forms that carry an IPv4 address (mapped, NAT64's
    well-known prefix, 6to4, Teredo) are judged by that IPv4 address; any other IPv6 address
    must be global unicast (2000::/3), which leaves out the IPv4-compatible and translated
    forms, site-local and unique-local addresses and the local-use NAT64 prefix."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return is_public_address(str(embedded))
        if ip not in _GLOBAL_UNICAST_V6:
            return False
    elif any(ip in network for network in _NOT_PUBLIC_V4):
        return False
    return ip.is_global and not ip.is_multicast


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def require_http(url: str) -> None:
    """Refuse a URL that is not http(s) or has no host (checked on every redirect hop)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise UnsafeURL(url, f"not a valid URL: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL(
            url, f"scheme {parts.scheme or '(none)'!r} is not allowed (http/https only)"
        )
    if not parts.hostname:
        raise UnsafeURL(url, "URL has no host")
