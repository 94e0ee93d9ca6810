"""Shared fixtures: the seed pages, a real local HTTP server serving a feed of them, a config
file pointing at it, and helpers to run the real `monitor` command."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer
from sqlite_utils import Database
from werkzeug import Request, Response

from watchlists import shipped_dir

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = FIXTURES / "seeds"
SEED_IDS = ("000", "001", "002", "003", "004")
SEED_TITLES = {
    "000": "Two sworn enemies unite against Putin",
    "001": "Yerevan and Baku Now Have a Shared Enemy in Moscow",
    "002": "Why are tensions rising between Russia and Azerbaijan?",
    "003": "The Fraying of Russia's Caucasian Curtain",
    "004": "Will the Russian army invade Azerbaijan?",
}


def seed_html(seed: str) -> bytes:
    return (SEEDS / f"{seed}.html").read_bytes()


def seed_body(seed: str) -> list[str]:
    return (SEEDS / f"{seed}.body.txt").read_text(encoding="utf-8").splitlines()


def rss(items: list[dict[str, str]], *, title: str = "Test outlet") -> bytes:
    """An RSS 2.0 document; each item has title, link, guid and optionally description."""
    base = datetime(2025, 7, 10, 8, 0, tzinfo=UTC)
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{escape(title)}</title><link>http://127.0.0.1/</link>",
        "<description>test feed</description>",
    ]
    for i, item in enumerate(items):
        parts.append(
            "<item>"
            f"<title>{escape(item['title'])}</title>"
            f"<link>{escape(item['link'])}</link>"
            f'<guid isPermaLink="false">{escape(item.get("guid", item["link"]))}</guid>'
            f"<pubDate>{format_datetime(base + timedelta(hours=i))}</pubDate>"
            f"<description>{escape(item.get('description', ''))}</description>"
            "</item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


@dataclass
class FeedSite:
    """A news site on the local server: a feed at /feed.xml (ETag-aware) and article pages."""

    server: HTTPServer
    path: str = "/feed.xml"
    etag: str = '"v1"'
    feed_requests: list[dict[str, str]] = field(default_factory=list)
    page_delay: float = 0.0

    @property
    def feed_url(self) -> str:
        return self.server.url_for(self.path)

    def serve_seeds(self, seeds: tuple[str, ...] = SEED_IDS) -> None:
        items = []
        for seed in seeds:
            link = self.server.url_for(f"/news/{seed}.html")
            items.append({"title": SEED_TITLES[seed], "link": link, "guid": f"seed-{seed}"})
            self.server.expect_request(f"/news/{seed}.html").respond_with_handler(
                self._page(seed_html(seed))
            )
        self.serve_feed(rss(items))

    def serve_feed(self, body: bytes) -> None:
        def handler(request: Request) -> Response:
            self.feed_requests.append(dict(request.headers))
            if request.headers.get("If-None-Match") == self.etag:
                return Response(status=304, headers={"ETag": self.etag})
            return Response(
                body, content_type="application/rss+xml; charset=utf-8", headers={"ETag": self.etag}
            )

        self.server.expect_request(self.path).respond_with_handler(handler)

    def _page(self, body: bytes) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            if self.page_delay:
                import time

                time.sleep(self.page_delay)
            return Response(body, content_type="text/html; charset=utf-8")

        return handler


@pytest.fixture
def site(httpserver: HTTPServer) -> FeedSite:
    return FeedSite(httpserver)


def write_config(
    tmp_path: Path,
    feeds: list[str],
    *,
    extra: str = "",
    watchlists: Path | None = None,
    grace: str = "2s",
) -> Path:
    if watchlists is None:
        watchlists = rift_only(tmp_path)
    lines = [
        'database = "monitor.db"',
        f'watchlists = "{watchlists}"',
        "[fetch]",
        "allow_private_networks = true",
        'timeout = "5s"',
        "[daemon]",
        'check_every = "1s"',
        f'shutdown_grace = "{grace}"',
        "[channels.console]",
        extra,
    ]
    for url in feeds:
        lines += ["[[feeds]]", f'url = "{url}"']
    path = tmp_path / "monitor.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rift_only(tmp_path: Path) -> Path:
    """A watchlists folder holding the shipped russia-azerbaijan-rift alone: the pipeline
    tests count matches and alerts against that one watchlist, whatever else ships."""
    folder = tmp_path / "rift-watchlist"
    folder.mkdir(exist_ok=True)
    name = "russia-azerbaijan-rift.toml"
    (folder / name).write_bytes((shipped_dir() / name).read_bytes())
    return folder


@pytest.fixture
def config_for(tmp_path: Path) -> Callable[..., Path]:
    def make(feeds: list[str], **kwargs: object) -> Path:
        return write_config(tmp_path, feeds, **kwargs)  # type: ignore[arg-type]

    return make


def monitor_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MONITOR_CONFIG"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def monitor(
    *args: str, config: Path | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real `monitor` command (python -m monitor) and capture its output."""
    command = [sys.executable, "-m", "monitor"]
    if config is not None:
        command += ["--config", str(config)]
    return subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=monitor_env(),
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    # Tests talk to 127.0.0.1 only (not "localhost", which may resolve to ::1 first).
    return ("127.0.0.1", 0)


def queue_alerts(db: Any, rows: list[tuple[str, str]], payload: dict[str, Any]) -> None:
    """Put due outbox rows (dedup key, channel) straight into a database, for relay tests."""
    with db.atomic():
        for key, channel in rows:
            db.execute(
                "INSERT INTO outbox (dedup_key, channel, kind, payload, created_at, next_attempt_at)"
                " VALUES (?, ?, 'alert', ?, '2000-01-01T00:00:00Z', '2000-01-01T00:00:00Z')",
                [key, channel, json.dumps(payload)],
            )


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(handler: object, port: int | None = None) -> Iterator[int]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 answering with ``handler``; yields its port."""
    port = port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


class InFlight:
    """A server handler that holds each request for ``hold`` seconds and records the most
    requests it ever had in flight at once (to prove a concurrency limit)."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.peak = 0
        self._now = 0
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        with self._lock:
            self._now += 1
            self.peak = max(self.peak, self._now)
        time.sleep(self.hold)
        with self._lock:
            self._now -= 1
        return Response(b"ok")


def migrate_as_a_newer_version(database: Path) -> int:
    """What a newer news-monitor's migration leaves in the file: a higher schema version.
    Returns it."""
    db = Database(database)
    try:
        newer = int(db.execute("PRAGMA user_version").fetchone()[0]) + 1
        db.execute(f"PRAGMA user_version = {newer}")
    finally:
        db.close()
    return newer
