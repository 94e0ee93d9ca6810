"""The daemon as a subprocess: it polls, alerts, and stops cleanly on SIGTERM (or Ctrl-C)
without losing what was in flight."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import SEED_IDS, FeedSite, migrate_as_a_newer_version, monitor_env
from sqlite_utils import Database

ALERT_MARK = "russia-azerbaijan-rift:"


class Daemon:
    """`monitor run` in a subprocess, its stdout read line by line in a thread."""

    def __init__(self, config: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=monitor_env(),
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stdout: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for_alerts(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while sum(ALERT_MARK in line for line in self.stdout) < count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"saw only {self.stdout!r}; stderr: {self.stderr_now()}"
            try:
                self.stdout.append(self.lines.get(timeout=remaining))
            except queue.Empty:
                continue

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10) -> tuple[int, float, str]:
        started = time.monotonic()
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=timeout)
        elapsed = time.monotonic() - started
        time.sleep(0.2)
        while not self.lines.empty():
            self.stdout.append(self.lines.get())
        assert self.proc.stderr is not None
        return code, elapsed, self.proc.stderr.read()

    def stderr_now(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read()

    def alerts(self) -> int:
        return sum(ALERT_MARK in line for line in self.stdout)

    def upgraded_under(self, database: Path, timeout: float) -> tuple[int, int, str]:
        """Migrate ``database`` as a newer version would; the schema version, then the exit
        status and standard error of the daemon, which must stop within ``timeout``."""
        try:
            newer = migrate_as_a_newer_version(database)
            code = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.stop()
        return newer, code, self.stderr_now()


def wait_for_a_page_request(site: FeedSite) -> None:
    deadline = time.monotonic() + 30
    while not any("/news/" in str(entry[0].path) for entry in site.server.log):
        assert time.monotonic() < deadline, "the daemon never fetched a page"
        time.sleep(0.05)


def test_daemon_alerts_then_stops_cleanly_on_sigterm(
    site: FeedSite, config_for, tmp_path: Path
) -> None:
    site.serve_seeds()
    daemon = Daemon(config_for([site.feed_url]))
    try:
        daemon.wait_for_alerts(len(SEED_IDS))
    finally:
        code, elapsed, stderr = daemon.stop()
    assert code == 0, stderr
    assert elapsed < 5
    assert "received SIGTERM, stopping" in stderr
    assert "daemon stopped" in stderr
    assert daemon.alerts() == len(SEED_IDS)
    db = Database(tmp_path / "monitor.db")
    statuses = [row["status"] for row in db["outbox"].rows]
    assert statuses == ["sent"] * len(SEED_IDS)
    assert db["articles"].count == len(SEED_IDS)


def test_sigint_mid_cycle_loses_nothing_and_restart_completes(
    site: FeedSite, config_for, tmp_path: Path
) -> None:
    # Pages answer slowly: the signal lands while the first cycle is fetching them.
    site.page_delay = 4.0
    site.serve_seeds()
    config = config_for([site.feed_url])
    daemon = Daemon(config)
    wait_for_a_page_request(site)
    code, elapsed, stderr = daemon.stop(signal.SIGINT)
    assert code == 0, stderr
    assert elapsed < 2 + 4  # shutdown_grace, then the cycle is cancelled
    first_run_alerts = daemon.alerts()

    db = Database(tmp_path / "monitor.db")
    stored = db["articles"].count
    assert stored < len(SEED_IDS)
    # Whatever was stored was stored with its match and outbox row, never half of it.
    assert db["matches"].count == stored
    assert db["outbox"].count == stored
    feed = next(iter(db["feeds"].rows))
    assert feed["etag"] is None  # interrupted: the whole feed is read again next time
    db.close()

    site.page_delay = 0.0
    again = Daemon(config)
    try:
        again.wait_for_alerts(len(SEED_IDS) - first_run_alerts)
    finally:
        code, _, stderr = again.stop()
    assert code == 0, stderr
    assert first_run_alerts + again.alerts() == len(SEED_IDS)
    db = Database(tmp_path / "monitor.db")
    assert db["articles"].count == len(SEED_IDS)
    assert [row["status"] for row in db["outbox"].rows] == ["sent"] * len(SEED_IDS)


def test_sigterm_gives_the_cycle_in_flight_its_grace(
    site: FeedSite, config_for, tmp_path: Path
) -> None:
    site.page_delay = 0.8  # the test server answers one request at a time: 4 s in all
    site.serve_seeds()
    daemon = Daemon(config_for([site.feed_url], grace="15s"))
    wait_for_a_page_request(site)
    code, elapsed, stderr = daemon.stop()
    assert code == 0, stderr
    assert elapsed < 15
    assert "Traceback" not in stderr
    # The cycle was allowed to finish: everything stored and alerted before the exit.
    db = Database(tmp_path / "monitor.db")
    assert db["articles"].count == len(SEED_IDS)
    assert daemon.alerts() == len(SEED_IDS)


def test_a_database_upgraded_under_the_daemon_stops_it_with_an_error(
    site: FeedSite, config_for, tmp_path: Path
) -> None:
    """A newer version that migrates the file while this daemon runs (an upgrade, then any
    command) leaves it with code that no longer matches the tables: it stops and says why,
    rather than failing every store until the entries are given up."""
    site.serve_seeds()
    daemon = Daemon(config_for([site.feed_url]))
    daemon.wait_for_alerts(len(SEED_IDS))
    newer, code, stderr = daemon.upgraded_under(tmp_path / "monitor.db", timeout=15)
    assert code == 1, stderr
    assert f"schema version {newer} is newer" in stderr
    assert "a newer news-monitor upgraded it; stopping" in stderr
    assert "daemon stopped" in stderr
    assert "start the daemon again with the version that upgraded the database" in stderr
    assert "Traceback" not in stderr
    db = Database(tmp_path / "monitor.db")
    assert db["articles"].count == len(SEED_IDS)
    assert db["entry_attempts"].count == 0


def test_an_upgrade_landing_mid_cycle_stores_nothing_more_and_stops_the_daemon(
    site: FeedSite, config_for, tmp_path: Path
) -> None:
    """The pages answer slowly: the newer version migrates the file while the cycle waits
    for them. What the cycle then tries to store is refused, not stored with the old code
    nor counted against the entries, and the daemon stops."""
    site.page_delay = 2.0
    site.serve_seeds()
    daemon = Daemon(config_for([site.feed_url], grace="15s"))
    wait_for_a_page_request(site)
    _, code, stderr = daemon.upgraded_under(tmp_path / "monitor.db", timeout=30)
    assert code == 1, stderr
    assert "a newer news-monitor upgraded it; stopping" in stderr
    assert "Traceback" not in stderr and "unexpected error" not in stderr
    db = Database(tmp_path / "monitor.db")
    assert db["articles"].count == 0
    assert db["entry_attempts"].count == 0
