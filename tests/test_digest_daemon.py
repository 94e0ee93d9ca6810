"""The scheduled digest in the real daemon (a subprocess), with its clock shifted by
MONITOR_NOW: sent exactly once per ISO week and channel, including after a restart that
straddles the scheduled time, and not again later in the week."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import digest_week as week
from conftest import monitor_env
from sqlite_utils import Database

from monitor.config import DigestSettings
from monitor.digest.schedule import due_period, scheduled_moment

TITLE_W47 = "news-monitor digest: week 2026-W47"
TITLE_W48 = "news-monitor digest: week 2026-W48"


class DaemonRun:
    """`monitor run` with the digest clock starting at ``now``; output captured in files."""

    def __init__(self, config: Path, now: str, tag: str) -> None:
        self.out = config.parent / f"{tag}.out"
        self.err = config.parent / f"{tag}.err"
        env = {**monitor_env(), "MONITOR_NOW": now}
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(config), "run"],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=env,
            )

    def wait_for(self, what: Callable[[], bool], timeout: float = 40) -> None:
        deadline = time.monotonic() + timeout
        while not what():
            assert self.proc.poll() is None, self.err.read_text()
            assert time.monotonic() < deadline, self.err.read_text()
            time.sleep(0.2)

    def started(self) -> bool:
        return "daemon started" in self.err.read_text()

    def stop(self) -> tuple[str, str]:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(timeout=15) == 0, self.err.read_text()
        return self.out.read_text(), self.err.read_text()


def digest_rows(db_path: Path) -> list[dict[str, object]]:
    db = Database(db_path)
    try:
        return list(
            db.query("SELECT dedup_key, status, attempts FROM outbox WHERE kind = 'digest'")
        )
    finally:
        db.close()


def sent(db_path: Path, key: str) -> Callable[[], bool]:
    return lambda: any(
        r["dedup_key"] == key and r["status"] == "sent" for r in digest_rows(db_path)
    )


def run_quietly(config: Path, now: str, tag: str, seconds: float = 3.5) -> tuple[str, str]:
    """Start, let the digest job check a few times (every second), stop."""
    daemon = DaemonRun(config, now, tag)
    daemon.wait_for(daemon.started)
    time.sleep(seconds)
    return daemon.stop()


def test_digest_is_sent_once_per_week_across_restarts_and_downtime(tmp_path: Path) -> None:
    config = week.write_config(
        tmp_path, digest='schedule = "mon 07:00"\ntimezone = "Europe/Berlin"'
    )
    db_path = tmp_path / "digest.db"
    db = week.fill(db_path)
    with db.conn:  # the outlets stay unpolled: this test is about the digest alone
        db.execute("UPDATE feeds SET next_check_at = '2999-01-01T00:00:00Z'")
    db.close()

    # 1. Monday of W48 before 07:00: nothing is due yet.
    out, err = run_quietly(config, "2026-11-23T06:30:00+01:00", "before")
    assert digest_rows(db_path) == []
    assert "news-monitor digest" not in out
    assert "weekly digest mon 07:00" in err

    # 2. Down over 07:00, restarted at 09:00: last week's digest goes out at start-up, once.
    daemon = DaemonRun(config, "2026-11-23T09:00:00+01:00", "after")
    daemon.wait_for(sent(db_path, "digest:2026-W47:console"))
    time.sleep(2.5)  # more checks happen; none queues or sends it again
    out, err = daemon.stop()
    assert out.count(TITLE_W47) == 1
    assert week.RAID in out
    assert digest_rows(db_path) == [
        {"dedup_key": "digest:2026-W47:console", "status": "sent", "attempts": 1}
    ]

    # 3. Restarted again later that week: already sent, not sent again.
    out, _ = run_quietly(config, "2026-11-25T12:00:00+01:00", "midweek")
    assert "news-monitor digest" not in out
    assert len(digest_rows(db_path)) == 1

    # 4. Running through the next Monday 07:00: W48's digest goes out as the time passes.
    daemon = DaemonRun(config, "2026-11-30T06:59:57+01:00", "crossing")
    daemon.wait_for(daemon.started)
    assert not sent(db_path, "digest:2026-W48:console")(), "sent before its time"
    daemon.wait_for(sent(db_path, "digest:2026-W48:console"))
    time.sleep(2.5)
    out, _ = daemon.stop()
    assert out.count(TITLE_W48) == 1
    assert TITLE_W47 not in out
    rows = sorted(digest_rows(db_path), key=lambda r: str(r["dedup_key"]))
    assert [(r["dedup_key"], r["status"]) for r in rows] == [
        ("digest:2026-W47:console", "sent"),
        ("digest:2026-W48:console", "sent"),
    ]


def test_bad_monitor_now_is_refused_in_one_line(tmp_path: Path) -> None:
    config = week.write_config(tmp_path)
    env = {**monitor_env(), "MONITOR_NOW": "next monday"}
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "MONITOR_NOW: expected an ISO 8601 time with an offset" in result.stderr
    assert "Traceback" not in result.stderr


# -- the schedule across DST changes (pure functions) ----------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")


def test_the_scheduled_moment_follows_the_wall_clock_across_dst() -> None:
    monday_7 = DigestSettings(day=0, hour=7, minute=0)
    # winter (CET, UTC+1) and summer (CEST, UTC+2): always 07:00 on the wall
    assert scheduled_moment(datetime(2026, 3, 25, tzinfo=UTC), monday_7, BERLIN) == datetime(
        2026, 3, 23, 6, 0, tzinfo=UTC
    )
    assert scheduled_moment(datetime(2026, 4, 1, tzinfo=UTC), monday_7, BERLIN) == datetime(
        2026, 3, 30, 5, 0, tzinfo=UTC
    )
    # the Monday after the clocks went forward: due at 07:00 CEST, not at 08:00
    assert due_period(datetime(2026, 3, 30, 4, 59, tzinfo=UTC), monday_7, BERLIN) is None
    period = due_period(datetime(2026, 3, 30, 5, 0, tzinfo=UTC), monday_7, BERLIN)
    assert period is not None and period.week == "2026-W13"


def test_a_wall_time_the_clocks_skip_or_repeat_is_due_once() -> None:
    sunday_0230 = DigestSettings(day=6, hour=2, minute=30)
    # 29 March 2026: 02:00 CET jumps to 03:00 CEST; 02:30 never shows, and is read with the
    # offset before the jump: due at 03:30 CEST (01:30 UTC)
    skipped = scheduled_moment(datetime(2026, 3, 29, 12, tzinfo=UTC), sunday_0230, BERLIN)
    assert skipped == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert due_period(datetime(2026, 3, 29, 1, 29, tzinfo=UTC), sunday_0230, BERLIN) is None
    # 25 October 2026: 02:30 happens twice; the first one counts
    repeated = scheduled_moment(datetime(2026, 10, 25, 12, tzinfo=UTC), sunday_0230, BERLIN)
    assert repeated == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    period = due_period(datetime(2026, 10, 25, 1, 45, tzinfo=UTC), sunday_0230, BERLIN)
    assert period is not None and period.week == "2026-W42"


def test_a_new_installation_waits_for_the_next_scheduled_time(tmp_path: Path) -> None:
    from monitor.app import open_app
    from monitor.config import load_settings
    from monitor.digest.job import queue_due
    from monitor.digest.schedule import Clock

    def at(moment: datetime) -> Clock:
        return Clock(moment - datetime.now(UTC))

    app = open_app(load_settings(week.write_config(tmp_path)))
    try:
        # first start on a Wednesday: Monday's digest time passed before it existed
        assert queue_due(app, at(datetime(2026, 11, 25, 12, tzinfo=UTC))) == []
        assert queue_due(app, at(datetime(2026, 11, 27, 12, tzinfo=UTC))) == []
        # the next Monday 07:00 (UTC here) it is due, once
        assert queue_due(app, at(datetime(2026, 11, 30, 7, 0, 1, tzinfo=UTC))) == [
            "digest:2026-W48:console"
        ]
        assert queue_due(app, at(datetime(2026, 11, 30, 9, tzinfo=UTC))) == []
    finally:
        app.close()
