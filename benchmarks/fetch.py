"""Feed-fetching benchmark: ``monitor fetch`` side by side with rss2email and a naive
sequential feedparser loop, on the same feeds, in one run.

A local server (asyncio, in a thread of this process) serves N feeds (default 1,000; 50 items
each, 1-2 KB of text per item, about 70 KB per feed) spread over H loopback addresses
(127.0.1.1, 127.0.1.2, ... default 50 "hosts", so per-host politeness applies as on the
open web) and their article pages (about 15 KB of HTML each), every response after an added
latency (default 100 ms). ETag and Last-Modified are honoured with 304.

Phases, in this order:

1. ``monitor fetch`` first cycle: every feed new (feed part: ``fetch_pages = false``; all
   entries parsed, matched and stored);
2. ``monitor fetch --all`` again: every feed answers 304;
3. the server publishes 5 new items in every feed; ``monitor fetch --all``: the changed cycle;
4. rss2email 3.14 (``r2e run --no-send``) on the same feeds, first run, all-304 run, changed
   run; installed into its own virtual environment under ``benchmarks/.peers/`` (gitignored)
   on first use, with pip from PyPI;
5. a naive loop, ``for url in urls: feedparser.parse(url)``, first and changed;
6. ``monitor fetch`` with article pages on the first ``--page-feeds`` feeds (default 10, so
   500 pages fetched, extracted, cleaned, matched and stored).

Each phase runs as its own process; wall time and the process's peak RSS (``wait4``) are
printed in one table. Run from the repository root::

    .venv/bin/python benchmarks/fetch.py [--feeds 1000] [--items 50] [--latency-ms 100]
        [--hosts 50] [--concurrency 50] [--page-feeds 10] [--no-peers]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parent.parent
PEERS = REPO / "benchmarks" / ".peers"
RSS2EMAIL = "rss2email==3.14"
NEW_PER_CHANGE = 5
WORDS = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "on",
    "for",
    "with",
    "as",
    "at",
    "by",
    "from",
    "that",
    "this",
    "was",
    "were",
    "will",
    "would",
    "government",
    "minister",
    "council",
    "city",
    "report",
    "official",
    "officials",
    "said",
    "says",
    "new",
    "year",
    "week",
    "talks",
    "meeting",
    "economy",
    "market",
    "trade",
    "energy",
    "water",
    "school",
    "hospital",
    "court",
    "police",
    "election",
    "parliament",
    "budget",
    "plan",
    "project",
    "bridge",
    "road",
    "rail",
    "port",
    "region",
    "district",
    "village",
    "farmers",
    "workers",
    "company",
    "companies",
    "bank",
    "prices",
    "inflation",
    "rates",
    "growth",
    "exports",
    "imports",
    "agreement",
    "visit",
    "delegation",
    "festival",
    "museum",
    "university",
    "students",
    "research",
    "data",
    "study",
    "weather",
    "storm",
    "flood",
    "season",
    "harvest",
    "tourism",
    "airport",
    "flights",
    "team",
    "match",
    "league",
    "cup",
    "final",
    "coach",
    "players",
]


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng, rng.randint(12, 24)) for _ in range(sentences))


@dataclass
class Site:
    feeds: int
    items: int
    hosts: list[str]
    port: int = 0
    version: int = 1

    def host(self, feed: int) -> str:
        return self.hosts[feed % len(self.hosts)]

    def feed_url(self, feed: int) -> str:
        return f"http://{self.host(feed)}:{self.port}/feeds/{feed}.xml"

    def page_url(self, feed: int, item: int) -> str:
        return f"http://{self.host(feed)}:{self.port}/a/{feed}/{item}.html"

    def etag(self, feed: int) -> str:
        return f'"f{feed}-v{self.version}"'

    def modified(self) -> str:
        moment = datetime(2025, 7, 1, tzinfo=UTC) + timedelta(hours=self.version)
        return format_datetime(moment, usegmt=True)

    def feed_body(self, feed: int) -> bytes:
        first = (self.version - 1) * NEW_PER_CHANGE
        base = datetime(2025, 7, 1, tzinfo=UTC)
        parts = [
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>',
            f"<title>Outlet {feed}</title><link>http://{self.host(feed)}/</link>",
            "<description>Local news</description>",
        ]
        for n in reversed(range(first, first + self.items)):
            rng = random.Random(feed * 1_000_003 + n)
            text = "".join(f"<p>{paragraph(rng, 3)}</p>" for _ in range(rng.randint(2, 4)))
            parts.append(
                f"<item><title>{sentence(rng, 9)}</title>"
                f"<link>{self.page_url(feed, n)}</link>"
                f'<guid isPermaLink="false">f{feed}-{n}</guid>'
                f"<pubDate>{format_datetime(base + timedelta(minutes=37 * n), usegmt=True)}"
                f"</pubDate><category>{rng.choice(WORDS)}</category>"
                f"<description>{escape(text)}</description></item>"
            )
        parts.append("</channel></rss>")
        return "".join(parts).encode("utf-8")

    def page_body(self, feed: int, item: int) -> bytes:
        rng = random.Random(feed * 7_000_003 + item)
        nav = "".join(f'<li><a href="/s/{w}">{w.title()}</a></li>' for w in WORDS[20:32])
        body = "".join(f"<p>{paragraph(rng, rng.randint(3, 6))}</p>" for _ in range(10))
        related = "".join(f'<li><a href="/r/{i}">{sentence(rng, 8)}</a></li>' for i in range(6))
        return (
            f"<!doctype html><html lang=en><head><title>{sentence(rng, 8)}</title></head><body>"
            f"<header><nav><ul>{nav}</ul></nav></header><main><article>"
            f"<h1>{sentence(rng, 9)}</h1><p class=byline>By Staff Reporter</p>{body}"
            f"</article><aside><h2>Related Articles</h2><ul>{related}</ul></aside></main>"
            "<footer><p>Copyright 2025 Outlet. All rights reserved.</p></footer></body></html>"
        ).encode()


class Server:
    """HTTP/1.1 (keep-alive) on every host address, one event loop in a thread."""

    def __init__(self, site: Site, latency: float) -> None:
        self.site = site
        self.latency = latency
        self.cache: dict[tuple[int, int], bytes] = {}
        self.requests = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()
        self.ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())
        self.ready.set()
        self.loop.run_forever()

    async def _serve(self) -> None:
        probe = socket.socket()
        probe.bind((self.site.hosts[0], 0))
        self.site.port = probe.getsockname()[1]
        probe.close()
        self.server = await asyncio.start_server(
            self._handle, host=self.site.hosts, port=self.site.port, backlog=1024
        )

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, ValueError):
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
                target = head[0].split(" ")[1]
                headers = {
                    k.strip().lower(): v.strip()
                    for k, v in (line.split(":", 1) for line in head[1:] if ":" in line)
                }
                self.requests += 1
                await asyncio.sleep(self.latency)
                status, extra, body = self._answer(target, headers)
                close = headers.get("connection", "").lower() == "close"
                writer.write(
                    f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}"
                    f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
                if close:
                    break
        writer.close()

    def _answer(self, target: str, headers: dict[str, str]) -> tuple[str, str, bytes]:
        site = self.site
        if m := re.fullmatch(r"/feeds/(\d+)\.xml", target):
            feed = int(m.group(1))
            validators = f"ETag: {site.etag(feed)}\r\nLast-Modified: {site.modified()}\r\n"
            if headers.get("if-none-match") == site.etag(feed):
                return "304 Not Modified", validators, b""
            key = (feed, site.version)
            if key not in self.cache:
                self.cache = {k: v for k, v in self.cache.items() if k[1] == site.version}
                self.cache[key] = site.feed_body(feed)
            ctype = "Content-Type: application/rss+xml; charset=utf-8\r\n"
            return "200 OK", validators + ctype, self.cache[key]
        if m := re.fullmatch(r"/a/(\d+)/(\d+)\.html", target):
            body = site.page_body(int(m.group(1)), int(m.group(2)))
            return "200 OK", "Content-Type: text/html; charset=utf-8\r\n", body
        return "404 Not Found", "", b"not found"


@dataclass
class Run:
    tool: str
    phase: str
    seconds: float
    peak_mb: float
    note: str = ""
    workers_mb: float = field(default_factory=lambda: WORKERS_MB[-1] if WORKERS_MB else 0.0)


class Runs(list[Run]):
    """The table's rows; each is also shown on standard error as soon as it is measured."""

    def append(self, run: Run) -> None:
        print(
            f"{run.tool}: {run.phase}: {run.seconds:.1f} s, {run.peak_mb:.0f} MB", file=sys.stderr
        )
        super().append(run)


def timed(
    command: list[str], *, cwd: Path, env: dict[str, str] | None = None
) -> tuple[float, float, str]:
    """Wall time, peak memory (MB: the process's VmHWM; its worker processes' apart) and
    standard output of one process. /proc is read while it runs: ``wait4``'s ru_maxrss would
    count the memory of this process it was forked from."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, text=True
        )
        peaks: dict[int, float] = {}
        while proc.poll() is None:
            for pid in (proc.pid, *children(proc.pid)):
                peaks[pid] = max(peaks.get(pid, 0.0), high_water_mb(pid))
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        output, errors = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"{command[:3]} failed ({proc.returncode}): {errors[-800:]}")
    failed = [line for line in errors.splitlines() if line.startswith("failed:")]
    if failed:
        print(f"{len(failed)} failed, e.g. {failed[0]}", file=sys.stderr)
    main = peaks.pop(proc.pid, 0.0)
    if peaks:
        print(f"  worker processes' peak: {sum(peaks.values()):.0f} MB", file=sys.stderr)
    WORKERS_MB.append(sum(peaks.values()))
    return elapsed, main, output


WORKERS_MB: list[float] = []  # worker processes' peak memory, per timed run


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def high_water_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    m = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(m.group(1)) / 1024 if m else 0.0


def opml(urls: list[str]) -> str:
    outlines = "".join(
        f'<outline type="rss" text="f{i}" xmlUrl="{u}"/>' for i, u in enumerate(urls)
    )
    return f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>'


def monitor_setup(
    work: Path, urls: list[str], *, concurrency: int, pages: bool, workers: int
) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    config = work / "monitor.toml"
    config.write_text(
        'database = "monitor.db"\n[fetch]\nallowed_networks = ["127.0.0.0/8"]\n'
        f"concurrency = {concurrency}\nfetch_pages = {'true' if pages else 'false'}\n"
        f'workers = {workers}\ntimeout = "60s"\n[channels.console]\n',
        encoding="utf-8",
    )
    (work / "feeds.opml").write_text(opml(urls), encoding="utf-8")
    monitor_cli(config, "feeds", "import", str(work / "feeds.opml"))
    return config


def monitor_cli(config: Path, *args: str) -> tuple[float, float, str]:
    command = [sys.executable, "-m", "monitor", "--config", str(config), *args]
    return timed(command, cwd=config.parent)


def rss2email_bin() -> Path:
    venv = PEERS / "rss2email-3.14"
    r2e = venv / "bin" / "r2e"
    if not r2e.exists():
        print(f"installing {RSS2EMAIL} into {venv.relative_to(REPO)} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", RSS2EMAIL], check=True)
    return r2e


def rss2email_setup(work: Path, urls: list[str]) -> list[str]:
    work.mkdir(parents=True, exist_ok=True)
    r2e = str(rss2email_bin())
    config, data = work / "r2e.cfg", work / "r2e.json"
    base = [r2e, "-c", str(config), "-d", str(data)]
    subprocess.run([*base, "new", "bench@example.org"], check=True, capture_output=True)
    with config.open("a", encoding="utf-8") as out:
        for i, url in enumerate(urls):
            out.write(f"\n[feed.f{i}]\nurl = {url}\n")
    feeds = [
        {"name": f"f{i}", "etag": None, "modified": None, "seen": {}} for i in range(len(urls))
    ]
    data.write_text(json.dumps({"version": 2, "feeds": feeds}), encoding="utf-8")
    return [*base, "run", "--no-send"]


NAIVE = """
import sys, feedparser
entries = 0
for url in open(sys.argv[1]).read().split():
    entries += len(feedparser.parse(url).entries)
print(entries)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--page-feeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="monitor's fetch.workers")
    parser.add_argument("--no-peers", action="store_true", help="Only news-monitor.")
    args = parser.parse_args()

    hosts = [f"127.0.1.{i + 1}" for i in range(min(args.hosts, 250))]
    site = Site(args.feeds, args.items, hosts)
    server = Server(site, args.latency_ms / 1000)
    server.start()
    urls = [site.feed_url(f) for f in range(args.feeds)]
    runs = Runs()

    def summary(output: str) -> str:
        m = re.search(r"feeds: .*?; articles: \d+ new", output)
        return m.group(0) if m else output.strip()[-80:]

    with tempfile.TemporaryDirectory(prefix="bench-fetch-") as tmp:
        work = Path(tmp)
        config = monitor_setup(
            work / "monitor", urls, concurrency=args.concurrency, pages=False, workers=args.workers
        )
        s, mb, out = monitor_cli(config, "fetch")
        runs.append(Run("monitor fetch", "first cycle (feeds)", s, mb, summary(out)))
        s, mb, out = monitor_cli(config, "fetch", "--all")
        runs.append(Run("monitor fetch", "all-304 cycle", s, mb, summary(out)))
        if not args.no_peers:
            command = rss2email_setup(work / "r2e", urls)
            s, mb, _ = timed(command, cwd=work)
            runs.append(Run("rss2email 3.14", "first cycle (feeds)", s, mb))
            s, mb, _ = timed(command, cwd=work)
            runs.append(Run("rss2email 3.14", "all-304 cycle", s, mb))
            (work / "urls.txt").write_text("\n".join(urls), encoding="utf-8")
            naive = [sys.executable, "-c", NAIVE, str(work / "urls.txt")]
            s, mb, out = timed(naive, cwd=work)
            runs.append(
                Run("naive feedparser loop", "first cycle (feeds)", s, mb, f"{out.strip()} entries")
            )

        site.version = 2  # five new items in every feed, new validators
        s, mb, out = monitor_cli(config, "fetch", "--all")
        runs.append(Run("monitor fetch", "changed cycle (feeds)", s, mb, summary(out)))
        if not args.no_peers:
            s, mb, _ = timed(command, cwd=work)
            runs.append(Run("rss2email 3.14", "changed cycle (feeds)", s, mb))
            s, mb, out = timed(naive, cwd=work)
            runs.append(
                Run(
                    "naive feedparser loop",
                    "changed cycle (feeds)",
                    s,
                    mb,
                    f"{out.strip()} entries",
                )
            )

        if args.page_feeds:
            page_urls = urls[: args.page_feeds]
            config = monitor_setup(
                work / "pages",
                page_urls,
                concurrency=args.concurrency,
                pages=True,
                workers=args.workers,
            )
            s, mb, out = monitor_cli(config, "fetch")
            pages = len(page_urls) * args.items
            runs.append(
                Run(
                    "monitor fetch",
                    f"first cycle, {pages} pages",
                    s,
                    mb,
                    f"{pages / s:.1f} pages/s; {summary(out)}",
                )
            )

    print_table(args, runs, server.requests)


def print_table(args: argparse.Namespace, runs: list[Run], requests: int) -> None:
    print(
        f"\n{args.feeds} feeds x {args.items} items on {args.hosts} hosts, "
        f"{args.latency_ms:g} ms latency; monitor: concurrency {args.concurrency}, per host 2, "
        f"{args.workers} worker processes; {requests} requests served; peak memory is the "
        "process's high-water RSS (VmHWM), its worker processes' in the last column\n"
    )
    print("| tool | phase | wall s | peak memory MB | notes | workers' peak MB |")
    print("|---|---|---|---|---|---|")
    for run in runs:
        print(
            f"| {run.tool} | {run.phase} | {run.seconds:.1f} | {run.peak_mb:.0f} | {run.note} "
            f"| {run.workers_mb:.0f} |"
        )
    by = {(r.tool, r.phase): r.seconds for r in runs}
    mine = by.get(("monitor fetch", "changed cycle (feeds)"))
    for peer in ("rss2email 3.14", "naive feedparser loop"):
        theirs = by.get((peer, "changed cycle (feeds)"))
        if mine and theirs:
            print(f"\nchanged cycle: monitor fetch is {theirs / mine:.1f}x faster than {peer}")
    first, theirs = (
        by.get(("monitor fetch", "first cycle (feeds)")),
        by.get(("rss2email 3.14", "first cycle (feeds)")),
    )
    if first and theirs:
        print(f"first cycle: monitor fetch is {theirs / first:.1f}x faster than rss2email 3.14")


if __name__ == "__main__":
    main()
