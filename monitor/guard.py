"""The connect-time address guard: an httpx transport whose network backend resolves a host
name once, checks every address against the policy, and connects to the checked address
itself. Checking before the request and letting the client resolve again leaves a window for
DNS rebinding; here the address checked is the address connected to, on every redirect hop and
for feeds and article pages alike.

TLS still verifies the certificate against the URL's host name: httpcore starts TLS with the
request's host as ``server_hostname``, whatever address the TCP stream was opened to.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import select
import socket
import ssl
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import certifi
import httpcore
import httpx

from .urls import is_public_address

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedAddress(Exception):
    """The host resolves to an address the policy refuses (raised before any connection)."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"host {host} resolves to non-public address {address}")
        self.host = host
        self.address = address


class HostNotFound(Exception):
    def __init__(self, host: str) -> None:
        super().__init__(f"host {host} not found")
        self.host = host


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses may be connected to: public ones, plus ``allowed`` networks, or any at
    all when ``allow_private`` is set."""

    allow_private: bool = False
    allowed: tuple[IPNetwork, ...] = ()

    def permits(self, address: str) -> bool:
        if self.allow_private:
            return True
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if any(ip in network for network in self.allowed):
            return True
        return is_public_address(address)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve, refuse if any address is not permitted, then connect to a checked address."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._resolve(host, port)
        # A name that resolves to one private address among public ones is refused whole:
        # the client must not be steerable by the order of the answers.
        for address in addresses:
            if not self.policy.permits(address):
                raise RefusedAddress(host, address)
        error: Exception | None = None
        for address in addresses:
            try:
                stream = await self.inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
            else:
                return _Stream(stream, stream.get_extra_info("socket"))
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the fetcher")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)

    async def _resolve(self, host: str, port: int) -> list[str]:
        name = host.strip("[]")
        with contextlib.suppress(ValueError):  # the whole name: "1.2.3.4%x.example" is a name
            return [str(ipaddress.ip_address(name))]  # an address already: no lookup
        lookup = functools.partial(socket.getaddrinfo, name, port, type=socket.SOCK_STREAM)
        try:
            infos = await asyncio.get_running_loop().run_in_executor(_resolver(), lookup)
        except (socket.gaierror, UnicodeError) as exc:
            raise HostNotFound(host) from exc
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        if not addresses:
            raise HostNotFound(host)
        return addresses


_RESOLVER_THREADS = 64
_resolvers: ThreadPoolExecutor | None = None


def _resolver() -> ThreadPoolExecutor:
    """Threads of their own for name lookups: a lookup outlives the request's deadline when
    a name server does not answer (the thread cannot be stopped), and in asyncio's default
    executor (a few threads on a small machine) a handful of those would hold up every
    other lookup - and every other fetch - until the resolver gives up."""
    global _resolvers
    if _resolvers is None:
        _resolvers = ThreadPoolExecutor(_RESOLVER_THREADS, thread_name_prefix="monitor-dns")
    return _resolvers


class _Stream(httpcore.AsyncNetworkStream):
    """The backend's stream, with the raw socket looked up once. The connection pool asks
    every idle connection "is_readable" on every request, and anyio builds its whole
    attribute table to answer: with a hundred idle connections that was most of a cycle."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, sock: socket.socket | None) -> None:
        self.inner = inner
        self.sock = sock

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self.inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self.inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        tls = await self.inner.start_tls(ssl_context, server_hostname, timeout)
        return _Stream(tls, self.sock)  # TLS runs over the same socket

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return self.sock is not None and _readable(self.sock)
        if info == "socket":
            return self.sock
        return self.inner.get_extra_info(info)


def _readable(sock: socket.socket) -> bool:
    """Readable means closed by the peer or data waiting: either way not reusable."""
    if sock.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """The TLS settings every fetch uses (certifi's CA bundle), made once per process:
    loading the bundle costs 20-40 ms, and a client is made for every cycle."""
    return ssl.create_default_context(cafile=certifi.where())


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with its connection pool built on the guarded backend.

    httpx (0.28) takes no network backend argument, so the pool it builds is replaced by an
    identical one that has it; tests/test_guard.py fails if that ever stops working."""

    def __init__(self, policy: AddressPolicy, limits: httpx.Limits) -> None:
        context = ssl_context()
        super().__init__(verify=context, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy),
        )


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """``["127.0.0.1", "10.0.0.0/8"]`` as networks; ValueError names a bad entry."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)
