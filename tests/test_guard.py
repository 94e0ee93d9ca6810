"""Safety and politeness of the fetcher against real local servers: the connect-time address
guard on every hop (feeds and pages), the per-host limit, the total deadline against a
slow-drip server, a streamed 1 GB gzip bomb, the User-Agent."""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
import threading
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SEED_TITLES, InFlight, rss
from pytest_httpserver import HTTPServer
from sqlite_utils import Database
from werkzeug import Request, Response

from monitor import guard
from monitor.app import open_app
from monitor.config import FetchSettings, load_settings
from monitor.cycle import run_cycle
from monitor.errors import ConfigError, FetchError, UnsafeURL
from monitor.fetch import Fetcher
from monitor.fetch import Response as Fetched

LOOPBACK_ONLY = {"allow_private_networks": False, "allowed_networks": ("127.0.0.1/32",)}


def fetch(url: str, **settings: object) -> Fetched:
    options: dict[str, object] = {**LOOPBACK_ONLY, "timeout": 5.0, **settings}

    async def run() -> Fetched:
        async with Fetcher(FetchSettings(**options)) as fetcher:  # type: ignore[arg-type]
            return await fetcher.get(url)

    return asyncio.run(run())


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    wsgi = server.server
    yield server
    server.clear()
    server.stop()
    assert wsgi is not None
    wsgi.server_close()


# --- the address guard -------------------------------------------------------------------


def test_an_allowed_network_is_reached_while_private_networks_are_refused(
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(b"<rss/>")

    assert fetch(httpserver.url_for("/feed.xml")).body == b"<rss/>"
    with pytest.raises(UnsafeURL):
        fetch(httpserver.url_for("/feed.xml"), allowed_networks=())


def test_a_host_name_is_checked_at_connect_time(httpserver: HTTPServer) -> None:
    """No check happens before the request any more: the refusal of a name that resolves to
    loopback comes from the transport's own resolution, the one it connects with."""
    httpserver.expect_request("/").respond_with_data(b"secret")

    with pytest.raises(UnsafeURL) as info:
        fetch(f"http://localhost:{httpserver.port}/", allowed_networks=())

    assert "host localhost resolves to non-public address" in str(info.value)
    assert httpserver.log == []


@pytest.mark.parametrize("host", ["1.2.3.4%25.attacker.test", "evil.attacker.test"])
def test_a_name_that_starts_like_an_address_is_looked_up_and_checked(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    """A host that begins with a public address but is a name (an attacker's DNS answers it
    with loopback) is resolved, and its answer refused, like any name."""
    httpserver.expect_request("/").respond_with_data(b"secret")
    real = socket.getaddrinfo

    def lookup(name: object, port: object, *args: object, **kwargs: object) -> object:
        if "attacker.test" in str(name):
            return real("127.0.0.1", port, *args, **kwargs)  # type: ignore[arg-type]
        return real(name, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    with pytest.raises(UnsafeURL, match=r"non-public address 127\.0\.0\.1"):
        fetch(f"http://{host}:{httpserver.port}/", allowed_networks=())
    assert httpserver.log == []


def test_name_lookups_stuck_on_a_silent_server_hold_up_no_other_fetch(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lookup's thread outlives the request's deadline when the name server does not
    answer; a dozen such lookups must not leave the next fetch waiting for a thread."""
    httpserver.expect_request("/feed.xml").respond_with_data(b"<rss/>")
    real = socket.getaddrinfo

    def lookup(host: object, *args: object, **kwargs: object) -> object:
        if str(host).endswith(".silent.test"):
            time.sleep(3)
            raise socket.gaierror("no answer")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", lookup)

    async def run() -> tuple[list[object], Fetched]:
        settings = FetchSettings(allow_private_networks=True, timeout=1.0, concurrency=20)
        async with Fetcher(settings) as fetcher:
            stuck = [fetcher.get(f"http://h{i}.silent.test/") for i in range(12)]
            failed = await asyncio.gather(*stuck, return_exceptions=True)
            return failed, await fetcher.get(f"http://localhost:{httpserver.port}/feed.xml")

    failed, fetched = asyncio.run(run())
    assert all(isinstance(e, FetchError) and e.kind == "timeout" for e in failed)
    assert fetched.body == b"<rss/>"


@pytest.mark.parametrize(
    "target",
    [
        "169.254.169.254",  # cloud metadata
        "10.0.0.1",
        "192.168.1.1",
        "100.64.0.1",  # CGNAT
        "0.0.0.0",
        "224.0.0.1",
        "[::1]",
        "[::ffff:127.0.0.1]",  # IPv4-mapped loopback
        "[::ffff:169.254.169.254]",
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
        "[2002:a00:1::]",  # 6to4 of 10.0.0.1
        "[fe80::1]",
    ],
)
@pytest.mark.parametrize("status", [301, 302, 307])
def test_a_redirect_to_a_private_address_is_refused(
    httpserver: HTTPServer, target: str, status: int
) -> None:
    httpserver.expect_request("/feed.xml").respond_with_data(
        status=status, headers={"Location": f"http://{target}/latest/meta-data/"}
    )

    with pytest.raises(UnsafeURL) as info:
        fetch(httpserver.url_for("/feed.xml"))

    assert info.value.kind == "unsafe"
    assert "non-public address" in str(info.value)
    assert info.value.url == f"http://{target}/latest/meta-data/"
    assert len(httpserver.log) == 1  # the redirect itself, nothing after it


def test_article_pages_are_guarded_like_feeds(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A feed on an allowed address whose entry links to a private one: the page is refused,
    the entry is stored from the feed's own text with the reason."""
    item = {
        "title": SEED_TITLES["001"],
        "link": "http://10.0.0.1/news/001.html",
        "guid": "g1",
        "description": "Baku accused Moscow.",
    }
    httpserver.expect_request("/feed.xml").respond_with_data(
        rss([item]), content_type="application/rss+xml"
    )
    config = tmp_path / "monitor.toml"
    config.write_text(
        'database = "m.db"\n[fetch]\nallowed_networks = ["127.0.0.1"]\n'
        f'[[feeds]]\nurl = "{httpserver.url_for("/feed.xml")}"\n',
        encoding="utf-8",
    )
    app = open_app(load_settings(config))
    try:
        report = asyncio.run(run_cycle(app))
    finally:
        app.close()

    assert report.new_articles == 1
    row = next(iter(Database(tmp_path / "m.db")["articles"].rows))
    assert row["extraction_status"] == "feed_content"
    assert "non-public address 10.0.0.1" in row["extraction_reason"]


# --- politeness ----------------------------------------------------------------------------


def test_the_per_host_limit_is_never_exceeded(threaded_server: HTTPServer) -> None:
    """Twelve requests to two host names of one server, 10 global slots, 2 per host: the
    server never sees more than 2 at once per host, and both hosts are served in parallel."""
    lock = threading.Lock()
    in_flight: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    peak_total = 0

    def handler(request: Request) -> Response:
        nonlocal peak_total
        host = request.headers["Host"].split(":")[0]
        with lock:
            in_flight[host] += 1
            peak[host] = max(peak[host], in_flight[host])
            peak_total = max(peak_total, sum(in_flight.values()))
        time.sleep(0.2)
        with lock:
            in_flight[host] -= 1
        return Response(b"ok")

    threaded_server.expect_request("/page").respond_with_handler(handler)
    port = threaded_server.port
    urls = [
        f"http://{host}:{port}/page?n={i}" for i in range(6) for host in ("127.0.0.1", "localhost")
    ]

    async def run() -> list[Fetched]:
        settings = FetchSettings(allow_private_networks=True, timeout=10.0, concurrency=10)
        async with Fetcher(settings) as fetcher:
            return await asyncio.gather(*(fetcher.get(url) for url in urls))

    results = asyncio.run(run())

    assert [r.body for r in results] == [b"ok"] * 12
    assert peak == {"127.0.0.1": 2, "localhost": 2}
    assert peak_total == 4


def test_the_per_host_limit_is_configurable(threaded_server: HTTPServer) -> None:
    handler = InFlight(hold=0.2)
    threaded_server.expect_request("/page").respond_with_handler(handler)
    url = threaded_server.url_for("/page")

    async def run() -> None:
        settings = FetchSettings(allow_private_networks=True, concurrency=10, per_host=3)
        async with Fetcher(settings) as fetcher:
            await asyncio.gather(*(fetcher.get(f"{url}?n={i}") for i in range(9)))

    asyncio.run(run())
    assert handler.peak == 3


def test_a_clear_user_agent_is_sent(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(b"ok")
    fetch(httpserver.url_for("/"))
    agent = httpserver.log[0][0].headers["User-Agent"]
    assert agent.startswith("news-monitor/") and "RSS" in agent


# --- deadline and body cap -----------------------------------------------------------------


def test_a_slow_drip_server_hits_the_total_deadline(threaded_server: HTTPServer) -> None:
    """One byte every 0.1 s: no read ever times out, only the total deadline stops it."""

    def drip() -> Iterator[bytes]:
        for _ in range(200):
            yield b" "
            time.sleep(0.1)

    threaded_server.expect_request("/feed.xml").respond_with_handler(
        lambda request: Response(drip(), content_type="application/rss+xml")
    )
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        fetch(threaded_server.url_for("/feed.xml"), timeout=1.0)
    elapsed = time.monotonic() - started

    assert info.value.kind == "timeout"
    assert "no complete answer within 1s" in str(info.value)
    assert elapsed < 3.0


GIB = 1 << 30


def gzip_bomb(total: int = GIB) -> Iterator[bytes]:
    """A gzip stream of ``total`` zero bytes, compressed as it is sent (about 1 MB on the wire
    for 1 GB decoded); the server stops when the client hangs up."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    for _ in range(total // len(block)):
        chunk = compressor.compress(block)
        if chunk:
            yield chunk
    yield compressor.flush()


def test_gzip_bomb_of_1gb_stops_at_the_cap_with_a_small_memory_peak(
    threaded_server: HTTPServer,
) -> None:
    threaded_server.expect_request("/bomb.xml").respond_with_handler(
        lambda request: Response(
            gzip_bomb(), headers={"Content-Encoding": "gzip"}, content_type="application/rss+xml"
        )
    )
    cap = 10_000_000
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(FetchError) as info:
            fetch(threaded_server.url_for("/bomb.xml"), max_bytes=cap)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert info.value.kind == "too_large"
    assert peak < 1.5 * cap  # 1 GB decoded, yet memory stays near the cap
    assert time.monotonic() - started < 10


def test_a_small_gzip_body_under_the_cap_is_decoded(httpserver: HTTPServer) -> None:
    body = b"<rss>" + b"x" * 10_000 + b"</rss>"
    httpserver.expect_request("/f.xml").respond_with_data(
        gzip.compress(body), headers={"Content-Encoding": "gzip"}
    )
    assert fetch(httpserver.url_for("/f.xml"), max_bytes=20_000).body == body


def test_allowed_networks_are_validated_at_start_up(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text('[fetch]\nallowed_networks = ["127.0.0.1", "intranet"]\n', "utf-8")
    with pytest.raises(ConfigError, match=r"fetch.allowed_networks: 'intranet' is not an address"):
        load_settings(config)


def test_a_connection_dropped_before_the_answer_is_tried_once_more() -> None:
    """The first connection is closed without an answer (as a server does with a kept-alive
    connection it has just timed out); the GET is sent again on a fresh one."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    answers = [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"]

    def serve() -> None:
        for answer in answers:
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.sendall(answer)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        assert fetch(f"http://127.0.0.1:{port}/feed.xml").body == b"ok"
    finally:
        thread.join(timeout=5)
        listener.close()


def test_every_client_shares_one_verifying_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the CA bundle costs tens of milliseconds: it is done once per process, not
    twice per cycle (httpx's own context and the guarded pool's), and certificates are still
    checked."""
    made: list[ssl.SSLContext] = []
    create = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(create(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(ssl, "create_default_context", counted)
    guard.ssl_context.cache_clear()

    async def two_clients() -> list[object]:
        async with Fetcher(FetchSettings()) as first, Fetcher(FetchSettings()) as second:
            return [f.client._transport._pool._ssl_context for f in (first, second)]  # type: ignore[attr-defined]

    first, second = asyncio.run(two_clients())
    assert len(made) == 1 and first is second is made[0]
    assert made[0].verify_mode == ssl.CERT_REQUIRED and made[0].check_hostname
    assert made[0].cert_store_stats()["x509_ca"] > 10  # the bundle is loaded
