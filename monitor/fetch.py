"""Fetching feeds and pages over HTTP: one shared client, bounded concurrency (global and per
host), conditional GET, a total deadline per request, a cap on the decoded body, every redirect
hop re-checked (scheme here, address at connect time in ``guard.py``).

Every failure leaves as a FetchError whose ``kind`` sorts it (timeout, connect, tls, http_4xx,
http_429, http_5xx, too_large, redirects, unsafe, protocol).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpx

from storage import clock

from .config import FetchSettings
from .errors import FetchError, UnsafeURL
from .guard import AddressPolicy, GuardedTransport, HostNotFound, RefusedAddress, parse_networks
from .urls import require_http

REDIRECTS = {301, 302, 303, 307, 308}
OK = {200, 203}  # 203: a transforming proxy's copy of the 200
MAX_RETRY_AFTER = 7 * 86400.0  # a longer wait is a broken or hostile header


@dataclass(frozen=True)
class Response:
    url: str  # after redirects
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    permanent_redirect: str | None = None  # new URL when every hop was 301/308

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000" or no zone: HTTP dates are GMT
        moment = moment.replace(tzinfo=UTC)
    return min(MAX_RETRY_AFTER, max(0.0, (moment - clock.now()).total_seconds()))


class Fetcher:
    """``async with Fetcher(settings) as fetcher: await fetcher.get(url)``.

    Politeness: at most ``concurrency`` requests in flight, and at most ``per_host`` to one
    host; a request waits for its host's slot before taking a global one, so a queue of pages
    from one site never holds the slots other sites could use."""

    def __init__(self, settings: FetchSettings) -> None:
        self.settings = settings
        self.slots = asyncio.Semaphore(settings.concurrency)
        self.host_slots: dict[str, asyncio.Semaphore] = {}
        policy = AddressPolicy(
            settings.allow_private_networks, parse_networks(settings.allowed_networks)
        )
        # The pool scans its idle connections on every request: keep it no larger than useful.
        limits = httpx.Limits(
            max_connections=settings.concurrency,
            max_keepalive_connections=max(1, settings.concurrency // 2),
        )
        self.client = httpx.AsyncClient(
            transport=GuardedTransport(policy, limits),
            follow_redirects=False,
            timeout=httpx.Timeout(settings.timeout, connect=min(10.0, settings.timeout)),
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.client.aclose()

    async def get(self, url: str, *, headers: dict[str, str] | None = None) -> Response:
        """GET ``url`` following redirects; 200 and 304 return, anything else raises.

        The deadline (``timeout``) covers every hop and the whole body; it starts when the
        first hop has its slots, so time spent queueing behind other requests is not counted.
        """
        current, permanent, deadline = url, True, 0.0
        for _ in range(self.settings.max_redirects + 1):
            require_http(current)
            async with self._slots_for(current):
                deadline = deadline or asyncio.get_running_loop().time() + self.settings.timeout
                try:
                    async with asyncio.timeout_at(deadline):
                        status, response_headers, body = await self._one(current, headers or {})
                except TimeoutError as exc:
                    raise FetchError(
                        url, "timeout", f"no complete answer within {self.settings.timeout:g}s"
                    ) from exc
            if status not in REDIRECTS:
                moved = current if permanent and current != url else None
                return Response(current, status, response_headers, body, moved)
            location = response_headers.get("location")
            if not location:
                raise FetchError(current, "protocol", f"HTTP {status} redirect without Location")
            permanent = permanent and status in (301, 308)
            current = urljoin(current, location)
        raise FetchError(url, "redirects", f"more than {self.settings.max_redirects} redirects")

    @contextlib.asynccontextmanager
    async def _slots_for(self, url: str) -> AsyncIterator[None]:
        host = host_key(url)
        if host not in self.host_slots:
            self.host_slots[host] = asyncio.Semaphore(self.settings.per_host)
        async with self.host_slots[host], self.slots:
            yield

    async def _send(self, url: str, headers: dict[str, str]) -> httpx.Response:
        sent = {name.encode("ascii"): _header_bytes(value) for name, value in headers.items()}
        try:
            request = self.client.build_request("GET", url, headers=sent)
        except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
            raise UnsafeURL(url, f"not a valid URL: {exc}") from exc
        try:
            return await self.client.send(request, stream=True)
        except (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError):
            # Most often a kept-alive connection the server had closed meanwhile; a GET is
            # safe to send once more, on a fresh connection.
            return await self.client.send(request, stream=True)

    async def _one(self, url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        try:
            response = await self._send(url, headers)
            try:
                response_headers = {k.lower(): v for k, v in response.headers.items()}
                # The validators as the bytes the server sent (latin-1 maps each byte to one
                # character), to be echoed byte for byte (see ``_header_bytes``).
                for name, value in response.headers.raw:
                    if name.lower() in (b"etag", b"last-modified"):
                        response_headers[name.decode("latin-1").lower()] = value.decode("latin-1")
                status = response.status_code
                if status in REDIRECTS or status == 304:
                    return status, response_headers, b""
                if status not in OK:
                    raise _status_error(url, status, response_headers)
                body = await self._read_capped(url, response)
                return status, response_headers, body
            finally:
                await response.aclose()
        except FetchError:
            raise
        except RefusedAddress as exc:
            raise UnsafeURL(url, str(exc)) from exc
        except HostNotFound as exc:
            raise FetchError(url, "connect", f"cannot connect: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise FetchError(url, "timeout", f"timed out ({type(exc).__name__})") from exc
        except httpx.ConnectError as exc:
            kind = (
                "tls" if isinstance(exc.__cause__, ssl.SSLError) or "SSL" in str(exc) else "connect"
            )
            raise FetchError(url, kind, f"cannot connect: {exc or type(exc).__name__}") from exc
        except httpx.HTTPError as exc:
            raise FetchError(url, "protocol", f"{type(exc).__name__}: {exc}") from exc
        except (ValueError, OverflowError) as exc:  # a malformed answer the client chokes on
            raise FetchError(url, "protocol", f"{type(exc).__name__}: {exc}") from exc

    async def _read_capped(self, url: str, response: httpx.Response) -> bytes:
        """The body, decompressed here chunk by chunk with a bound on each step, so a
        compression bomb stops at the cap without ever being inflated in memory."""
        cap = self.settings.max_bytes
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
            raise FetchError(url, "protocol", f"unsupported Content-Encoding {encoding!r}")
        declared = response.headers.get("content-length")
        if encoding in ("identity", "") and declared and declared.isdigit() and int(declared) > cap:
            raise FetchError(
                url, "too_large", f"body of {declared} bytes is over the {cap}-byte cap"
            )
        inflater = _Inflater(encoding) if encoding not in ("identity", "") else None
        chunks: list[bytes] = []  # not a growing bytearray: its reallocations copy it whole
        size = received = 0

        def take(pieces: Iterable[bytes]) -> None:
            nonlocal size
            for data in pieces:
                size += len(data)
                if size > cap:
                    chunks.clear()  # freed now, not when the traceback goes
                    raise FetchError(url, "too_large", f"body is over the {cap}-byte cap")
                chunks.append(data)

        try:
            async for raw in response.aiter_raw():
                received += len(raw)  # compressed, trailing data included: capped too
                if received > cap:
                    chunks.clear()
                    raise FetchError(url, "too_large", f"body is over the {cap}-byte cap")
                take(inflater.feed(raw) if inflater else (raw,))
            if inflater:
                take(inflater.finish())
        except zlib.error as exc:
            raise FetchError(url, "protocol", f"corrupt {encoding} body: {exc}") from exc
        return b"".join(chunks)


class _Inflater:
    """gzip/deflate decoding in pieces of at most ``STEP`` bytes, so memory stays near the
    cap whatever the compression ratio (a 1 GB bomb is a megabyte on the wire).

    A gzip body may hold several members, one after the other: each is decoded in turn.
    What follows the end of the compressed data that is not another member is ignored, not
    fed to zlib (which would keep every byte of it, copying the lot at each chunk).
    "deflate" is meant to be zlib's format, but some servers send raw deflate: the first two
    bytes tell which."""

    STEP = 64 * 1024

    def __init__(self, encoding: str) -> None:
        self.gzip = "gzip" in encoding
        self.head = b""  # deflate: the first bytes, until there are two to look at
        self.inflater: zlib._Decompress | None = self._new() if self.gzip else None
        self.ended = False  # the current member (or the zlib stream) is complete
        self.probing = False  # decoding what may be another gzip member, or trailing data
        self.done = False  # what comes now is trailing data, ignored

    def _new(self, wbits: int | None = None) -> zlib._Decompress:
        return zlib.decompressobj(16 + zlib.MAX_WBITS if wbits is None else wbits)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self.inflater is None:
            self.head += data
            if len(self.head) < 2:
                return
            data, self.head = self.head, b""
            if _zlib_header(data):
                self.inflater = self._new(zlib.MAX_WBITS)
                try:
                    first = self.inflater.decompress(data, self.STEP)
                except zlib.error:  # two bytes that only looked like a header
                    self.inflater = self._new(-zlib.MAX_WBITS)
                else:
                    yield from self._after(first)
                    data = self.inflater.unconsumed_tail
            else:
                self.inflater = self._new(-zlib.MAX_WBITS)
        yield from self._run(data)

    def _run(self, pending: bytes) -> Iterator[bytes]:
        assert self.inflater is not None
        while pending and not self.done:
            if self.ended:
                if not self.gzip:
                    self.done = True  # one deflate stream: the rest is trailing data
                    return
                self.inflater, self.ended, self.probing = self._new(), False, True
            try:
                out = self.inflater.decompress(pending, self.STEP)
            except zlib.error:
                if not self.probing:
                    raise
                self.done = True  # no gzip member after the last: trailing data
                return
            yield from self._after(out)
            inflater = self.inflater
            pending = inflater.unused_data if self.ended else inflater.unconsumed_tail

    def _after(self, out: bytes) -> Iterator[bytes]:
        assert self.inflater is not None
        if out:
            self.probing = False
            yield out
        if self.inflater.eof:
            self.ended, self.probing = True, False

    def finish(self) -> Iterator[bytes]:
        """What the decompressor still holds once the whole body is in (the last step may
        have stopped at ``STEP`` bytes with input used up but output still due)."""
        if self.inflater is None:
            if self.head:
                raise zlib.error("a deflate body of one byte")
            return
        while not (self.done or self.ended):
            out = self.inflater.decompress(self.inflater.unconsumed_tail, self.STEP)
            if not out:
                return
            yield from self._after(out)


def _zlib_header(data: bytes) -> bool:
    """Whether two bytes open a zlib stream (RFC 1950: deflate, a window of at most 32 KB,
    a check sum of the pair)."""
    return data[0] & 0x0F == 8 and data[0] >> 4 <= 7 and (data[0] << 8 | data[1]) % 31 == 0


def _status_error(url: str, status: int, headers: dict[str, str]) -> FetchError:
    if status == 429:
        kind = "http_429"
    elif status >= 500:
        kind = "http_5xx"
    elif status < 300:  # 1xx, or a 2xx with no body to read (204, 206 to no range asked)
        kind = "protocol"
    else:
        kind = "http_4xx"
    return FetchError(
        url,
        kind,
        f"HTTP {status}",
        status=status,
        retry_after=retry_after_seconds(headers.get("retry-after")),
    )


def _header_bytes(value: str) -> bytes:
    """A header value to send: each character one byte (a validator is stored as the bytes
    the server sent, read as latin-1); a value stored by an older version, which decoded
    non-ASCII bytes as UTF-8, goes back as UTF-8."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def host_key(url: str) -> str:
    """The host a URL names, in one spelling, for the per-host limit: lower case, no final
    dot, an IPv4 address in dotted decimal however it is written (``2130706433``,
    ``0x7f.1`` and ``127.0.0.1`` are one host), an IPv6 address compressed."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(host).compressed
    if host and all(part.isalnum() for part in host.split(".")):
        with contextlib.suppress(OSError):
            return socket.inet_ntoa(socket.inet_aton(host))  # the forms inet_aton reads
    return host
