"""Where the costly, pure-Python stages run - parsing a feed, extracting and cleaning a page,
matching an article against the watchlists and computing its story signature: in a thread of
the daemon (``fetch.workers = 0``, the default) or in a pool of worker processes
(``fetch.workers = N``), so they use more than one core while the event loop keeps fetching
and storing.

The pool is made once per process and kept for the next cycles (starting workers costs an
import of trafilatura each); a worker that dies takes only its page with it: the pool is
replaced and the page's entry falls back like any page that yields no text.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from watchlists import Document, Match, Matcher, load_dir

from .errors import ExtractError, FeedParseError
from .parse import ParsedFeed, parse_feed
from .stories import Signature, signature

if TYPE_CHECKING:  # imported lazily: a worker that only parses feeds never loads trafilatura
    from .extract import Extraction

_pools: dict[int, ProcessPoolExecutor] = {}


def pool(workers: int) -> ProcessPoolExecutor:
    if workers not in _pools:
        # "spawn": forking a process that runs an event loop, threads and SQLite is unsafe.
        context = multiprocessing.get_context("spawn")
        _pools[workers] = ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_ignore_interrupts
        )
    return _pools[workers]


Extractor = Callable[..., "Extraction"]


async def extract(
    workers: int,
    body: bytes,
    *,
    url: str | None,
    site_boilerplate: frozenset[str],
    function: Extractor | None = None,
) -> Extraction:
    """``extract_page`` on ``workers`` processes (0: a thread of this one); ``function`` must
    be a module-level function when processes are used (it is sent to them by name)."""
    if function is None:
        from .extract import extract_page

        function = extract_page
    call = functools.partial(function, body, url=url, site_boilerplate=site_boilerplate)
    return cast("Extraction", await _run(workers, call))


async def parse(
    workers: int,
    body: bytes,
    *,
    url: str,
    headers: dict[str, str],
    function: Callable[..., ParsedFeed] = parse_feed,
) -> ParsedFeed:
    """``parse_feed`` on ``workers`` processes (0: a thread of this one)."""
    result = await _run(workers, functools.partial(function, body, url=url, headers=headers))
    assert isinstance(result, ParsedFeed)
    return result


@dataclass(frozen=True)
class Analysis:
    """What the stages after extraction need from an article's text: the watchlists it
    matches and its story signature (both pure CPU work, so both run on a worker)."""

    matches: list[Match]
    signature: Signature | None


async def analyse(
    workers: int,
    matcher: Matcher,
    folder: str,
    *,
    title: str,
    text: str,
    site: str = "",
    lang: str = "",
) -> Analysis:
    """Match an article against the watchlists and compute its story signature: with
    ``matcher`` in a thread of this process, or on a worker, which loads the same watchlist
    folder once (tokenising long texts is the costliest step of a cycle that only reads
    feeds, and shingling them for the signature the next one)."""
    if workers <= 0:
        document = Document(title=title, text=text, site=site, lang=lang)
        return await asyncio.to_thread(_analyse, matcher, document)
    found = await _run(workers, functools.partial(_analyse_here, folder, title, text, site, lang))
    return cast(Analysis, found)


async def extract_and_analyse(
    workers: int,
    matcher: Matcher,
    folder: str,
    body: bytes,
    *,
    url: str | None,
    site_boilerplate: frozenset[str],
    title: str,
    site: str,
) -> tuple[Extraction, Analysis]:
    """``extract_page`` then ``analyse`` of its text in one trip to a worker (one pickling of
    the page and one of the result, instead of a round trip per stage). ``title`` is the feed
    entry's headline; the page's own stands in when it is empty."""
    if workers <= 0:
        call = functools.partial(
            _extract_and_analyse, matcher, body, url, site_boilerplate, title, site
        )
        return cast("tuple[Extraction, Analysis]", await asyncio.to_thread(call))
    call = functools.partial(
        _extract_and_analyse_here, folder, body, url, site_boilerplate, title, site
    )
    return cast("tuple[Extraction, Analysis]", await _run(workers, call))


_matchers: dict[str, Matcher] = {}


def _extract_and_analyse(
    matcher: Matcher,
    body: bytes,
    url: str | None,
    site_boilerplate: frozenset[str],
    title: str,
    site: str,
) -> tuple[Extraction, Analysis]:
    from .extract import extract_page

    extraction = extract_page(body, url=url, site_boilerplate=site_boilerplate)
    document = Document(
        title=title or extraction.title or "",
        text=extraction.text,
        site=site,
        lang=extraction.language or "",
    )
    return extraction, _analyse(matcher, document)


def _extract_and_analyse_here(
    folder: str,
    body: bytes,
    url: str | None,
    site_boilerplate: frozenset[str],
    title: str,
    site: str,
) -> tuple[Extraction, Analysis]:
    return _extract_and_analyse(_matcher(folder), body, url, site_boilerplate, title, site)


def _matcher(folder: str) -> Matcher:
    if folder not in _matchers:
        _matchers[folder] = Matcher(load_dir(folder).watchlists)
    return _matchers[folder]


def _analyse(matcher: Matcher, document: Document) -> Analysis:
    return Analysis(matcher.match(document), signature(document.text))


def _analyse_here(folder: str, title: str, text: str, site: str, lang: str) -> Analysis:
    document = Document(title=title, text=text, site=site, lang=lang)
    return _analyse(_matcher(folder), document)


async def _run(workers: int, call: Callable[[], object]) -> object:
    if workers <= 0:
        return await asyncio.to_thread(call)
    try:
        outcome = await asyncio.get_running_loop().run_in_executor(pool(workers), _in_worker, call)
    except BrokenProcessPool as exc:
        _pools.pop(workers, None)
        raise ExtractError("the extraction worker stopped unexpectedly") from exc
    kind, value = outcome
    if kind == "parse_error":
        url, reason = cast(tuple[str, str], value)
        raise FeedParseError(url, reason)
    if kind == "extract_error":
        raise ExtractError(str(value))
    return value


def _ignore_interrupts() -> None:
    """Ctrl-C reaches the whole process group: the daemon stops its workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _in_worker(call: Callable[[], object]) -> tuple[str, object]:
    """Run in a worker: the project's errors come back as data (their constructors do not
    survive pickling), anything else as itself."""
    try:
        return "ok", call()
    except FeedParseError as exc:
        return "parse_error", (exc.url, exc.reason)
    except ExtractError as exc:
        return "extract_error", str(exc)


def shutdown() -> None:
    """Stop the worker processes (the daemon calls this when it stops)."""
    for executor in _pools.values():
        executor.shutdown(wait=True, cancel_futures=True)
    _pools.clear()
