"""Where extraction runs: in a thread of the daemon (``fetch.workers = 0``, the default) or in
a pool of worker processes (``fetch.workers = N``), so extraction and cleaning - the costly,
pure-Python part of the pipeline - use more than one core while the event loop keeps
fetching, matching and storing.

The pool is made once per process and kept for the next cycles (starting workers costs an
import of trafilatura each); a worker that dies takes only its page with it: the pool is
replaced and the page's entry falls back like any page that yields no text.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from .errors import ExtractError
from .extract import Extraction, extract_page

_pools: dict[int, ProcessPoolExecutor] = {}


def pool(workers: int) -> ProcessPoolExecutor:
    if workers not in _pools:
        # "spawn": forking a process that runs an event loop, threads and SQLite is unsafe.
        context = multiprocessing.get_context("spawn")
        _pools[workers] = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    return _pools[workers]


Extractor = Callable[..., Extraction]


async def extract(
    workers: int,
    body: bytes,
    *,
    url: str | None,
    site_boilerplate: frozenset[str],
    function: Extractor = extract_page,
) -> Extraction:
    """``extract_page`` on ``workers`` processes (0: a thread of this one); ``function`` must
    be a module-level function when processes are used (it is sent to them by name)."""
    call = functools.partial(function, body, url=url, site_boilerplate=site_boilerplate)
    if workers <= 0:
        return await asyncio.to_thread(call)
    try:
        return await asyncio.get_running_loop().run_in_executor(pool(workers), call)
    except BrokenProcessPool as exc:
        _pools.pop(workers, None)
        raise ExtractError("the extraction worker stopped unexpectedly") from exc


def shutdown() -> None:
    """Stop the worker processes (the daemon calls this when it stops)."""
    for executor in _pools.values():
        executor.shutdown(wait=True, cancel_futures=True)
    _pools.clear()
