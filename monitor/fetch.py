"""Fetching feeds and pages over HTTP: one shared client, bounded concurrency (global and per
host), conditional GET, a total deadline per request, a cap on the decoded body, every redirect
hop re-checked (scheme here, address at connect time in ``guard.py``).

Every failure leaves as a FetchError whose ``kind`` sorts it (timeout, connect, tls, http_4xx,
http_429, http_5xx, too_large, redirects, unsafe, protocol).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import zlib
from collections.abc import AsyncIterator, Iterator
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
    except (TypeError, ValueError, IndexError):
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
        host = (urlsplit(url).hostname or "").lower()
        if host not in self.host_slots:
            self.host_slots[host] = asyncio.Semaphore(self.settings.per_host)
        async with self.host_slots[host], self.slots:
            yield

    async def _send(self, url: str, headers: dict[str, str]) -> httpx.Response:
        request = self.client.build_request("GET", url, headers=headers)
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
                status = response.status_code
                if status in REDIRECTS or status == 304:
                    return status, response_headers, b""
                if status != 200:
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
        size = 0
        try:
            async for raw in response.aiter_raw():
                for data in inflater.feed(raw) if inflater else (raw,):
                    size += len(data)
                    if size > cap:
                        chunks.clear()  # freed now, not when the traceback goes
                        raise FetchError(url, "too_large", f"body is over the {cap}-byte cap")
                    chunks.append(data)
        except zlib.error as exc:
            raise FetchError(url, "protocol", f"corrupt {encoding} body: {exc}") from exc
        return b"".join(chunks)


class _Inflater:
    """gzip/deflate decoding in pieces of at most ``STEP`` bytes, so memory stays near the
    cap whatever the compression ratio (a 1 GB bomb is a megabyte on the wire)."""

    STEP = 64 * 1024

    def __init__(self, encoding: str) -> None:
        wbits = 16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
        self.inflater = zlib.decompressobj(wbits)
        self.raw_deflate = encoding == "deflate"

    def feed(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while pending:
            out = self._decompress(pending)
            pending = self.inflater.unconsumed_tail
            if out:
                yield out

    def _decompress(self, data: bytes) -> bytes:
        try:
            return self.inflater.decompress(data, self.STEP)
        except zlib.error:
            if not self.raw_deflate:
                raise
            # Some servers send raw deflate without the zlib header.
            self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            self.raw_deflate = False
            return self.inflater.decompress(data, self.STEP)


def _status_error(url: str, status: int, headers: dict[str, str]) -> FetchError:
    if status == 429:
        kind = "http_429"
    elif status >= 500:
        kind = "http_5xx"
    else:
        kind = "http_4xx"
    return FetchError(
        url,
        kind,
        f"HTTP {status}",
        status=status,
        retry_after=retry_after_seconds(headers.get("retry-after")),
    )
