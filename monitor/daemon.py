"""The daemon: a thin loop around the poll cycle.

APScheduler 3 (AsyncIOScheduler, in-memory job store) wakes every ``daemon.check_every``;
which feeds are due is decided by their ``next_check_at`` in SQLite, so a restart neither
re-polls early nor forgets. ``coalesce=True`` and ``max_instances=1``: a slow cycle is never
run twice at once, and missed wake-ups collapse into one. SIGTERM/SIGINT stop it: no new
feed is started, the cycle in flight gets ``daemon.shutdown_grace`` seconds to finish, then is
cancelled; every article is stored with its matches and outbox rows in one transaction, so
what was not stored is simply seen again as new on the next start.

The weekly digest is a third job: every minute (and at start-up) it asks whether this ISO
week's digest is due and queues it once per week and channel (see ``digest/schedule.py``).

Each job first checks the database's schema version: when a newer news-monitor has upgraded
the file while this daemon runs (an upgrade, then any command), this daemon's code no longer
matches the tables, and every store would fail until its entries were given up. It stops
instead, with an error and exit status 1, so that its supervisor starts the new version. A
job already running when the upgrade lands writes nothing more: every write transaction
checks the version once it holds the lock (``storage.transaction``), and the refusal stops
the daemon the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from storage import SchemaTooNew
from storage.migrations import check_not_newer

from .app import App
from .cycle import run_cycle
from .digest.job import deliver_due as deliver_digests
from .digest.job import queue_due as queue_digests
from .digest.schedule import Clock

log = logging.getLogger(__name__)


class Daemon:
    def __init__(self, app: App) -> None:
        self.app = app
        self.stop = asyncio.Event()
        self.running: set[asyncio.Task[None]] = set()
        self.clock = Clock.from_env()
        self.failure: SchemaTooNew | None = None

    def _schema_current(self) -> bool:
        """Whether the database still has the schema this daemon knows; if not, stop."""
        try:
            check_not_newer(self.app.db, path=str(self.app.settings.database))
        except sqlite3.Error:
            return True  # unreadable just now: the job itself meets it and says so
        except SchemaTooNew as exc:
            if self.failure is None:
                log.error("%s: a newer news-monitor upgraded it; stopping", exc)
                self.failure = SchemaTooNew(
                    f"{exc}: a newer news-monitor upgraded it while the daemon ran",
                    hint="start the daemon again with the version that upgraded the database",
                )
            self.stop.set()
            return False
        return True

    async def poll(self) -> None:
        if self.stop.is_set() or not self._schema_current():
            return
        with self._job("poll cycle failed; the next one runs as scheduled"):
            report = await run_cycle(self.app, stop=self.stop)
            if report.feeds or report.delivery.sent:
                log.info(
                    "cycle: %d feeds fetched, %d unchanged, %d failed; %d new articles, "
                    "%d matches; %d alerts sent",
                    report.count("new"),
                    report.count("unchanged"),
                    report.count("failed"),
                    report.new_articles,
                    report.matches,
                    report.delivery.sent,
                )

    async def deliver(self) -> None:
        if self.stop.is_set() or not self._schema_current():
            return
        with self._job("alert delivery failed; the next pass runs as scheduled"):
            await self.app.relay.deliver_due()

    async def digest(self) -> None:
        if self.stop.is_set() or not self._schema_current():
            return
        with self._job("digest job failed; the next check runs as scheduled"):
            queue_digests(self.app, self.clock)
            await deliver_digests(self.app)

    @contextlib.contextmanager
    def _job(self, failed: str) -> Iterator[None]:
        """A job's run: tracked (a stop gives it its grace), and outlived by the daemon
        whatever it raises (``failed`` is logged), but for a cancellation, which passes, and
        a database upgraded while it ran, whose refused writes stop the daemon."""
        task = asyncio.current_task()
        assert task is not None
        self.running.add(task)
        try:
            yield
        except SchemaTooNew:
            self._schema_current()
        except Exception:
            log.exception(failed)
        finally:
            self.running.discard(task)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self._request_stop, signum)
        every = self.app.settings.daemon.check_every
        scheduler = AsyncIOScheduler(
            event_loop=loop,
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": max(60, int(every * 2)),
            },
        )
        now = datetime.now().astimezone()
        relay_every = max(5.0, every / 2)
        scheduler.add_job(self.poll, "interval", seconds=every, id="poll", next_run_time=now)
        scheduler.add_job(
            self.deliver,
            "interval",
            seconds=relay_every,
            id="deliver",
            next_run_time=now + timedelta(seconds=relay_every),
        )
        scheduler.add_job(
            self.digest, "interval", seconds=min(60.0, every), id="digest", next_run_time=now
        )
        scheduler.start()
        log.info(
            "daemon started: %d watchlists, channels: %s; checking feeds every %gs; "
            "weekly digest %s",
            len(self.app.matcher.watchlists),
            ", ".join(self.app.channels) or "none",
            every,
            self.app.settings.digest.schedule,
        )
        try:
            await self.stop.wait()
        finally:
            # Pause first: shutting APScheduler's executor down cancels running jobs at once,
            # which would leave no grace to the work in flight.
            scheduler.pause()
            await self._finish_in_flight()
            scheduler.shutdown(wait=False)
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
        log.info("daemon stopped")
        if self.failure is not None:
            raise self.failure

    def _request_stop(self, signum: int) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        self.stop.set()

    async def _finish_in_flight(self) -> None:
        tasks = {task for task in self.running if not task.done()}
        if not tasks:
            return
        grace = self.app.settings.daemon.shutdown_grace
        _, pending = await asyncio.wait(tasks, timeout=grace)
        if pending:
            log.info("work still running after %gs; leaving the rest for the next start", grace)
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=2)


def run_daemon(app: App) -> None:
    asyncio.run(Daemon(app).run())
