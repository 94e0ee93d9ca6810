"""Where the costly, pure-Python stages run - parsing a feed, extracting and cleaning a page,
matching an article against the watchlists and computing its story signature: in a thread of
the daemon (``fetch.workers = 0``, the default) or in a pool of worker processes
(``fetch.workers = N``), so they use more than one core while the event loop keeps fetching.
When the workers take every core they also store their articles (``finish_page``).

The pool is made once per process and kept for the next cycles (starting workers costs an
import of trafilatura each); a worker that dies takes only its page with it: the pool is
replaced and the page's entry is retried at the next poll (``WorkerLost``); other pages in
flight on the pool at that moment are retried too.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, cast

from lxml import etree
from sqlite_utils import Database

from storage import SchemaTooNew, boilerplate, open_database, stories
from storage.articles import NewArticle
from storage.transaction import write_transaction
from watchlists import Document, Match, Matcher, load_dir

from .errors import ExtractError, FeedParseError, WorkerLost
from .parse import Entry, ParsedFeed, parse_feed
from .stories import Signature, document_signature
from .urls import canonical_url, site_of

if TYPE_CHECKING:  # imported lazily: a worker that only parses feeds never loads trafilatura
    from .extract import Extraction
    from .store import EntryOutcome

_pools: dict[int, ProcessPoolExecutor] = {}
T = TypeVar("T")
PAGES, FEEDS = "pages", "feeds"  # the lanes of the stage threads (see ``in_lane``)


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
    date_from_text: bool = True,
    function: Extractor | None = None,
) -> Extraction:
    """``extract_page`` on ``workers`` processes (0: a thread of this one); ``function`` must
    be a module-level function when processes are used (it is sent to them by name)."""
    if function is None:
        from .extract import extract_page

        function = extract_page
    call = functools.partial(
        function, body, url=url, site_boilerplate=site_boilerplate, date_from_text=date_from_text
    )
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
    call = functools.partial(function, body, url=url, headers=headers)
    result = await _run(workers, call, lane=FEEDS)
    assert isinstance(result, ParsedFeed)
    return result


@dataclass(frozen=True)
class Analysis:
    """What the stages after extraction need from an article's text: the watchlists it
        matches and its story signature (pure CPU work: on a worker when the workers finish pages,
    else in a thread of the daemon's process)."""

    matches: list[Match]
    signature: Signature | None


async def warm_up(workers: int, folder: str) -> None:
    """Start the worker processes and have each import the extractor and load the
    watchlists in ``folder`` (otherwise the first pages of a cycle pay for it)."""
    if workers <= 0:
        return
    calls = (_run(workers, functools.partial(_warm_here, folder)) for _ in range(workers * 2))
    await asyncio.gather(*calls)


def _warm_here(folder: str) -> None:
    from . import extract  # noqa: F401  (the import is the warming)

    _matcher(folder)


@dataclass(frozen=True)
class PageJob:
    """A new entry and what finishing it needs: extract and clean its fetched page (or, with
    no ``body``, take the feed's own content, ``reason`` saying why), match and sign the text,
    store it (see ``store.py``) - on one worker, in one trip, when the workers finish pages."""

    database: str  # the SQLite file the worker opens (once) to read block counts and store
    channels: tuple[str, ...]
    learn_after: int  # [clean] learn_after
    feed_id: int
    feed_url: str
    entry: Entry
    page_url: str | None
    body: bytes | None  # None: the page was not fetched or yielded no text
    reason: str | None = None  # why the feed's content stands in for the page

    @property
    def date_from_text(self) -> bool:
        """Whether the page's text is searched for a date: only when the entry has none (its
        own date comes first)."""
        return not self.entry.published


async def finish_page(
    workers: int, db: Database, matcher: Matcher, folder: str, job: PageJob
) -> EntryOutcome:
    """Extract, analyse and store ``job``'s page; raise ExtractError when it yields no text
    (the caller falls back to the feed's content).

    With ``workers = 0`` extraction and analysis run in a thread and this process stores.
    With worker processes, the pure-CPU work after extraction goes where a core is free:
    while the workers leave one to the daemon's process, they only extract and the daemon
    analyses and stores (its own work - fetching, storing - leaves most of a core idle); when
    the workers take every core, each one finishes its page whole, store included, so that
    the daemon's process, fetching for all of them, is not the bottleneck."""
    if workers > 0 and workers_finish_pages(workers):
        finish = functools.partial(_finish_page_here, folder, job)
        return cast("EntryOutcome", await _run(workers, finish))
    if job.body is None or job.page_url is None:
        article, document = _from_feed(job)
        analysis = await in_thread(_analyse, matcher, document)
        return _store_article(db, job, article, analysis, None)
    known = boilerplate.known(db, site_of(job.page_url), min_articles=job.learn_after)
    if workers > 0:
        extraction = await extract(
            workers,
            job.body,
            url=job.page_url,
            site_boilerplate=known,
            date_from_text=job.date_from_text,
        )
        analysis = await in_thread(_analyse, matcher, _document(job, extraction))
    else:
        both = await in_thread(_extract_and_analyse, matcher, job, known)
        extraction, analysis = both
    return _store(db, job, extraction, analysis)


async def finish_from_feed(
    workers: int, db: Database, matcher: Matcher, folder: str, jobs: list[PageJob]
) -> list[EntryOutcome | str]:
    """Store the feed's own content for each of ``jobs`` (new entries of one feed whose pages
    are not fetched): matched and signed first, then stored in one transaction, each entry in
    a savepoint of its own so that it fails alone (its item is then the error's text). One
    transaction for the lot: the lock is taken and the pages shared by every article (the
    full-text index, the stories) written once rather than once per article. Runs on a worker
    when the workers take every core (see ``finish_page``)."""
    if workers > 0 and workers_finish_pages(workers):
        finish = functools.partial(_finish_from_feed_here, folder, jobs)
        return cast("list[EntryOutcome | str]", await _run(workers, finish))
    prepared = await in_thread(_prepare_from_feed, matcher, jobs)
    return _store_prepared(db, jobs, prepared)


def _finish_from_feed_here(folder: str, jobs: list[PageJob]) -> list[EntryOutcome | str]:
    prepared = _prepare_from_feed(_matcher(folder), jobs)
    return _store_prepared(_database(jobs[0].database), jobs, prepared)


Prepared = tuple[NewArticle, Analysis] | str


def _prepare_from_feed(matcher: Matcher, jobs: list[PageJob]) -> list[Prepared]:
    prepared: list[Prepared] = []
    for job in jobs:
        try:
            article, document = _from_feed(job)
            prepared.append((article, _analyse(matcher, document)))
        except Exception as exc:
            prepared.append(f"{type(exc).__name__}: {exc}")
    return prepared


def _store_prepared(
    db: Database, jobs: list[PageJob], prepared: list[Prepared]
) -> list[EntryOutcome | str]:
    outcomes: list[EntryOutcome | str] = []
    with write_transaction(db):
        for job, item in zip(jobs, prepared, strict=True):
            if isinstance(item, str):
                outcomes.append(item)
                continue
            article, analysis = item
            try:
                outcomes.append(_store_article(db, job, article, analysis, None))
            except Exception as exc:  # rolled back to its savepoint: the others stay
                if not db.conn.in_transaction:
                    raise  # the error ended the whole transaction: the batch fails as one
                outcomes.append(f"{type(exc).__name__}: {exc}")
    return outcomes


def workers_finish_pages(workers: int) -> bool:
    """Whether ``workers`` worker processes take every core this process may use (see
    ``finish_page``)."""
    return workers >= len(os.sched_getaffinity(0))


_matchers: dict[str, Matcher] = {}


def _extract_and_analyse(
    matcher: Matcher, job: PageJob, known: frozenset[str]
) -> tuple[Extraction, Analysis]:
    from .extract import extract_page

    assert job.body is not None and job.page_url is not None
    extraction = extract_page(
        job.body,
        url=job.page_url,
        site_boilerplate=known,
        date_from_text=job.date_from_text,
    )
    return extraction, _analyse(matcher, _document(job, extraction))


def _document(job: PageJob, extraction: Extraction) -> Document:
    """What the watchlists read: the feed's headline (else the page's), the clean text."""
    return Document(
        title=job.entry.title or extraction.title or "",
        text=extraction.read_text,
        site=canonical_url(job.page_url) if job.page_url else "",
        lang=extraction.language or "",
    )


def _from_feed(job: PageJob) -> tuple[NewArticle, Document]:
    """The article made of the feed's own content, and what the watchlists read of it."""
    from .store import article_from

    article = article_from(job.feed_id, job.feed_url, job.entry, job.page_url, None, job.reason)
    site = article.canonical_url or article.url or ""
    return article, Document(title=article.title, text=article.text, site=site, lang="")


def _finish_page_here(folder: str, job: PageJob) -> EntryOutcome:
    db = _database(job.database)
    if job.body is None or job.page_url is None:
        article, document = _from_feed(job)
        return _store_article(db, job, article, _analyse(_matcher(folder), document), None)
    known = boilerplate.known(db, site_of(job.page_url), min_articles=job.learn_after)
    extraction, analysis = _extract_and_analyse(_matcher(folder), job, known)
    return _store(db, job, extraction, analysis)


def _store(db: Database, job: PageJob, extraction: Extraction, analysis: Analysis) -> EntryOutcome:
    from .store import article_from

    article = article_from(job.feed_id, job.feed_url, job.entry, job.page_url, extraction, None)
    return _store_article(db, job, article, analysis, extraction)


def _store_article(
    db: Database,
    job: PageJob,
    article: NewArticle,
    analysis: Analysis,
    extraction: Extraction | None,
) -> EntryOutcome:
    from .store import store_article

    return store_article(
        db, job.channels, article, analysis.matches, analysis.signature, extraction
    )


_databases: dict[str, Database] = {}


def _database(path: str) -> Database:
    """This worker's connection to ``path``, opened on first use; only the latest file is
    kept open (a worker serves one daemon, but a test run opens many databases). A
    transaction a failed job left open is rolled back, so it cannot hold the write lock."""
    if path not in _databases:
        for old in _databases.values():
            old.close()
        _databases.clear()
        _databases[path] = db = open_database(path)
        stories.load_band_index(db)  # a worker opens the database to store: load it now
    db = _databases[path]
    if db.conn.in_transaction:
        db.conn.rollback()
    return db


def _matcher(folder: str) -> Matcher:
    if folder not in _matchers:
        _matchers[folder] = Matcher(load_dir(folder).watchlists)
    return _matchers[folder]


def _analyse(matcher: Matcher, document: Document) -> Analysis:
    return Analysis(matcher.match(document), document_signature(document))


async def _run(workers: int, call: Callable[[], object], *, lane: str = PAGES) -> object:
    if workers <= 0:
        return await in_lane(lane, call)
    try:
        outcome = await asyncio.get_running_loop().run_in_executor(pool(workers), _in_worker, call)
    except BrokenProcessPool as exc:
        _pools.pop(workers, None)
        raise WorkerLost("the worker process stopped unexpectedly") from exc
    kind, value = outcome
    if kind == "parse_error":
        url, reason = cast(tuple[str, str], value)
        raise FeedParseError(url, reason)
    if kind == "extract_error":
        raise ExtractError(str(value))
    if kind == "schema_too_new":
        raise SchemaTooNew(str(value))
    if kind == "error":
        raise RuntimeError(f"in a worker process: {value}")
    return value


# One thread per lane for the stages: they are mostly Python work under one interpreter
# lock, so more threads only take turns, and the turns cost. Measured on the pipeline
# benchmark (892 pages, no worker processes, 2 cores): 6 threads 40-45 s and 56-66 ms of CPU
# per article, 2 threads 32-41 s and 45-56 ms, 1 thread 29-38 s and 36-47 ms. Feeds have a
# lane of their own, so that pages queued for extraction (a slow one among them) hold up no
# feed's parsing; the event loop keeps its own thread.
_lanes: dict[str, ThreadPoolExecutor] = {}


async def in_thread(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` in the pages lane (see ``in_lane``)."""
    return await in_lane(PAGES, functools.partial(function, *args))


async def in_lane(lane: str, call: Callable[[], T]) -> T:
    """``call()`` in the one thread of ``lane`` in this process, whose lxml state is its own
    (the stages parse HTML and XML with lxml; see ``_own_lxml_dictionary``). Calls wait their
    turn there, in the order they came."""
    if lane not in _lanes:
        _lanes[lane] = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix=f"monitor-{lane}",
            initializer=_own_lxml_dictionary,
        )
    return await asyncio.get_running_loop().run_in_executor(_lanes[lane], call)


def _own_lxml_dictionary() -> None:
    """Give this thread lxml's per-thread name dictionary before it touches a shared parser:
    a thread without one borrows the dictionary of the parser it first uses, i.e. of another
    thread, and two threads then write one libxml2 dictionary at once, which has no lock
    (heap corruption: "double free or corruption"). Parsing once with the thread's own
    default parser makes the dictionary."""
    etree.fromstring(b"<warm/>")


def _ignore_interrupts() -> None:
    """Ctrl-C reaches the whole process group: the daemon stops its workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _in_worker(call: Callable[[], object]) -> tuple[str, object]:
    """Run in a worker: errors come back as data - an exception whose constructor does not
    survive pickling would otherwise break the whole pool (every worker killed, some maybe
    storing) when the daemon's process unpickles it."""
    try:
        return "ok", call()
    except FeedParseError as exc:
        return "parse_error", (exc.url, exc.reason)
    except ExtractError as exc:
        return "extract_error", str(exc)
    except SchemaTooNew as exc:
        return "schema_too_new", str(exc)
    except Exception as exc:
        return "error", f"{type(exc).__name__}: {exc}"


def shutdown() -> None:
    """Stop the worker processes now (tests and benchmarks; a process that exits stops its
    pool through ``concurrent.futures``' own exit handler)."""
    for executor in _pools.values():
        executor.shutdown(wait=True, cancel_futures=True)
    _pools.clear()
