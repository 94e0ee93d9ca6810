"""Whole-pipeline throughput: articles per second through fetch, extract, clean, match and
store (one ``run_cycle``), on 0, 1 and 2 extraction worker processes, against bare
trafilatura on the same pages, in one run.

The pages are the public extraction benchmark sets (``html/ID.html.gz``; by default
``<repo>/../shared/bench/extraction``, or ``--bench-dir`` / ``NEWS_MONITOR_BENCH_DIR``). They
are written to a temporary folder with feeds listing them (``--per-feed`` items per feed; each
item has what real feeds give - title, link, GUID and date - so, as in the daemon, a page's
own date is only a fallback and its text is not searched for one) and served over HTTP/1.1
with keep-alive (Python's ``http.server``) on 127.0.0.1 in its own process.

- "bare trafilatura": ``trafilatura.extract(html, url=url, include_comments=False)`` on every
  page, one after the other, in this process (no fetch, no metadata, no cleaning, no storage);
- "bare trafilatura, N processes": the same calls shared by N processes (each has read every
  page from the written site before the clock starts, so no page crosses between processes;
  each is warmed up too): how far this machine lets the peer itself scale, to set the
  workers' ratio against;
- "pipeline, N workers": a fresh database, every feed due, ``run_cycle`` timed from start to
  end, with ``[fetch] workers = N`` (0: extraction in threads of the daemon's own process;
  on a machine with N cores or fewer the workers also match and store, see
  ``monitor.workers.finish_page``); the worker pool is started and warmed up before the clock
  starts, as in a running daemon;
- "pipeline, 1 worker process finishing its pages whole": 1 worker that also matches and
  stores, as each worker does when the workers take every core (here the daemon's process
  would match and store while its one worker extracts, and so use more than one core): the
  same division of labour as 2 workers on 2 cores, to tell how the pool itself scales.

Each run is repeated (``--repeat``, 3 rounds by default, interleaved so that a slow spell of
the machine hits every run alike); the table gives the best and the median time and each
round's, and the ratios compare both the best and the median times.

Run from the repository root::

    .venv/bin/python benchmarks/pipeline.py [--sets ...] [--limit N] [--per-feed 50]
        [--workers 0 1 2] [--bare-processes 2] [--whole 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import trafilatura

from monitor import workers
from monitor.app import open_app
from monitor.config import load_settings
from monitor.cycle import run_cycle
from storage import feeds

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BENCH_DIR = REPO.parent / "shared" / "bench" / "extraction"
BENCH_ENV = "NEWS_MONITOR_BENCH_DIR"
SETS = ("scrapinghub", "wcxb-dev-articles")
PUBLISHED = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


# Static files over HTTP/1.1 with keep-alive, as news sites serve them (``python -m
# http.server`` speaks HTTP/1.0: a new connection for every page), in a process of its own.
SERVER = """
import functools, http.server, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
handler = functools.partial(Handler, directory=sys.argv[2])
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
"""


def load_pages(bench: Path, sets: list[str], limit: int | None) -> list[tuple[str, bytes]]:
    pages = []
    for name in sets:
        files = sorted((bench / name / "html").glob("*.html.gz"))[:limit]
        pages += [
            (f"{name}-{f.name.removesuffix('.html.gz')}", gzip.decompress(f.read_bytes()))
            for f in files
        ]
    return pages


def page_url(port: int, page_id: str) -> str:
    """Where the page server serves a page (``write_site`` writes it there)."""
    return f"http://127.0.0.1:{port}/p/{page_id}.html"


def write_site(root: Path, pages: list[tuple[str, bytes]], port: int, per_feed: int) -> list[str]:
    (root / "p").mkdir(parents=True)
    (root / "f").mkdir()
    for page_id, html in pages:
        (root / "p" / f"{page_id}.html").write_bytes(html)
    urls = []
    for start in range(0, len(pages), per_feed):
        items = "".join(
            f"<item><title>{escape(page_id)}</title>"
            f"<link>{page_url(port, page_id)}</link>"
            f'<guid isPermaLink="false">{escape(page_id)}</guid>'
            f"<pubDate>{format_datetime(PUBLISHED + timedelta(minutes=n), usegmt=True)}</pubDate>"
            "</item>"
            for n, (page_id, _) in enumerate(pages[start : start + per_feed], start)
        )
        name = f"feed{start // per_feed}.xml"
        (root / "f" / name).write_text(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>{items}'
            "</channel></rss>",
            encoding="utf-8",
        )
        urls.append(f"http://127.0.0.1:{port}/f/{name}")
    return urls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bare_trafilatura(pages: list[tuple[str, bytes]], port: int) -> float:
    for page_id, html in pages[:2]:  # warm-up, as the processes below and the workers have
        _bare_one(html, page_url(port, page_id))
    started = time.perf_counter()
    for page_id, html in pages:
        _bare_one(html, page_url(port, page_id))
    return time.perf_counter() - started


def _bare_one(html: bytes, url: str) -> None:
    trafilatura.extract(html, url=url, include_comments=False)


_site_pages: dict[str, bytes] = {}  # in a process of "bare trafilatura, N processes"


def _load_site(site: str) -> None:
    """Each process reads every page once, before the clock starts (as the single process
    has them in memory)."""
    for path in (Path(site) / "p").glob("*.html"):
        _site_pages[path.stem] = path.read_bytes()


def _bare_here(url: str, page_id: str) -> None:
    _bare_one(_site_pages[page_id], url)


def _warm_here(url: str, page_id: str) -> None:
    """A warm-up call that keeps its process busy a while, so that each process of the pool
    gets one (a process that took them all would leave another one cold)."""
    _bare_here(url, page_id)
    time.sleep(1.0)


def bare_processes(pages: list[tuple[str, bytes]], port: int, site: Path, count: int) -> float:
    """``bare_trafilatura`` shared by ``count`` processes, one page per call as it comes."""
    context = multiprocessing.get_context("spawn")
    urls = [page_url(port, page_id) for page_id, _ in pages]
    ids = [page_id for page_id, _ in pages]
    with ProcessPoolExecutor(
        max_workers=count, mp_context=context, initializer=_load_site, initargs=(str(site),)
    ) as executor:
        list(executor.map(_warm_here, urls[:count], ids[:count]))
        started = time.perf_counter()
        list(executor.map(_bare_here, urls, ids))
        return time.perf_counter() - started


def pipeline(work: Path, urls: list[str], count: int, *, whole: bool = False) -> tuple[float, int]:
    """One cycle on ``count`` workers; ``whole``: the workers finish their pages whole (match
    and store too) whatever the number of cores."""
    work.mkdir()
    config = work / "monitor.toml"
    config.write_text(
        f'database = "m.db"\n[fetch]\nallowed_networks = ["127.0.0.1"]\nworkers = {count}\n'
        'timeout = "60s"\n[channels.console]\n',
        encoding="utf-8",
    )
    decide = workers.workers_finish_pages
    if whole:
        workers.workers_finish_pages = lambda _count: True
    try:
        with open(os.devnull, "w") as quiet:
            app = open_app(load_settings(config), stream=quiet)
            try:
                for url in urls:
                    feeds.add_feed(app.db, url)
                if count:
                    asyncio.run(workers.warm_up(count, str(app.settings.watchlists)))
                started = time.perf_counter()
                report = asyncio.run(run_cycle(app))
                elapsed = time.perf_counter() - started
            finally:
                app.close()
                workers.shutdown()
    finally:
        workers.workers_finish_pages = decide
    return elapsed, report.new_articles


BARE = "bare trafilatura (1 process)"


def bare_label(count: int) -> str:
    return f"bare trafilatura, {count} processes"


def label(count: int, *, whole: bool = False) -> str:
    if count == 0:
        return "pipeline, in-process threads"
    name = f"pipeline, {count} worker process{'es' if count > 1 else ''}"
    if whole:
        return f"{name} finishing {'their' if count > 1 else 'its'} pages whole"
    return name


def at_least_one(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of workers of 1 or more")
    return int(value)


def at_least_two(value: str) -> int:
    if not value.isdigit() or int(value) < 2:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of processes of 2 or more")
    return int(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--bench-dir", type=Path, default=Path(os.environ.get(BENCH_ENV, DEFAULT_BENCH_DIR))
    )
    parser.add_argument("--sets", nargs="+", default=list(SETS))
    parser.add_argument("--limit", type=int, help="First N pages of each set.")
    parser.add_argument("--per-feed", type=int, default=50)
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--bare-processes",
        type=at_least_two,
        nargs="*",
        default=[2],
        help="Also run bare trafilatura on these numbers of processes (default 2).",
    )
    parser.add_argument(
        "--whole",
        type=at_least_one,
        nargs="*",
        default=[1],
        help="Also run the pipeline on these numbers of workers finishing their pages whole "
        "(default 1).",
    )
    parser.add_argument("--repeat", type=int, default=3, help="Rounds (default 3).")
    args = parser.parse_args()

    pages = load_pages(args.bench_dir, args.sets, args.limit)
    if not pages:
        raise SystemExit(f"no pages under {args.bench_dir}")
    port = free_port()
    times: dict[str, list[float]] = {}
    stored: dict[str, int] = {BARE: len(pages)}
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        root = Path(tmp)
        urls = write_site(root / "site", pages, port, args.per_feed)
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(port), str(root / "site")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(1.0)
            # Rounds interleave the runs, so a slow spell of the machine hits all of them.
            for round_ in range(args.repeat):
                times.setdefault(BARE, []).append(bare_trafilatura(pages, port))
                for count in args.bare_processes:
                    seconds = bare_processes(pages, port, root / "site", count)
                    times.setdefault(bare_label(count), []).append(seconds)
                    stored[bare_label(count)] = len(pages)
                for count in args.workers:
                    seconds, count_stored = pipeline(root / f"r{round_}w{count}", urls, count)
                    times.setdefault(label(count), []).append(seconds)
                    stored[label(count)] = count_stored
                for count in args.whole:
                    work = root / f"r{round_}w{count}whole"
                    seconds, count_stored = pipeline(work, urls, count, whole=True)
                    times.setdefault(label(count, whole=True), []).append(seconds)
                    stored[label(count, whole=True)] = count_stored
        finally:
            server.terminate()
            server.wait()

    print(
        f"\n{len(pages)} pages ({', '.join(args.sets)}), {len(urls)} feeds, "
        f"{os.cpu_count()} cores, best and median of {args.repeat} rounds\n"
    )
    print("| run | articles | best s | median s | articles/s (best) | each round, s |")
    print("|---|---|---|---|---|---|")
    for name, runs in times.items():
        print(
            f"| {name} | {stored[name]} | {min(runs):.1f} | {statistics.median(runs):.1f} "
            f"| {stored[name] / min(runs):.1f} | {' '.join(f'{run:.1f}' for run in runs)} |"
        )

    def ratio(faster: str, slower: str) -> str:
        """How many times ``faster``'s throughput is ``slower``'s, on the best and the
        median times."""
        best = stored[faster] / min(times[faster]) / (stored[slower] / min(times[slower]))
        median = (
            stored[faster]
            / statistics.median(times[faster])
            / (stored[slower] / statistics.median(times[slower]))
        )
        return f"{best:.2f}x (medians {median:.2f}x)"

    print()
    for count in (1, 2):
        if label(count) in times:
            print(f"pipeline on {count} worker(s) / bare trafilatura: {ratio(label(count), BARE)}")
    if label(1) in times and label(2) in times:
        print(f"pipeline, 2 workers / 1 worker: {ratio(label(2), label(1))}")
    # 2 workers finish their pages whole only where they take every core (2 or fewer)
    if label(1, whole=True) in times and label(2) in times and workers.workers_finish_pages(2):
        print(
            "pipeline, 2 workers / 1 worker finishing its pages whole (the same division of "
            f"labour): {ratio(label(2), label(1, whole=True))}"
        )
    for count in args.bare_processes:
        print(f"bare trafilatura, {count} processes / 1: {ratio(bare_label(count), BARE)}")


if __name__ == "__main__":
    main()
