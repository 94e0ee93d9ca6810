"""Fault tests with the daemon as a subprocess and a real SMTP server (aiosmtpd): the server
down for a while then up, every alert arrives once; the daemon killed (SIGKILL) between a
send and its marking, nothing lost after a restart and at most that one message sent twice,
with the same Message-ID and dedup keys."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from aiosmtpd.controller import Controller
from conftest import SEED_IDS, FeedSite, free_port, monitor_env
from sqlite_utils import Database
from test_channels import Recorder

from monitor.relay import FAULT_ENV
from storage import clock


def email_config(config_for: Callable[..., Path], site: FeedSite, port: int, alerts: str) -> Path:
    extra = "\n".join(
        [
            "[channels.email]",
            'host = "127.0.0.1"',
            f"port = {port}",
            'security = "none"',
            'sender = "alerts@monitor.test"',
            'recipients = ["desk@monitor.test"]',
            'timeout = "2s"',
            'connect_timeout = "1s"',
            "[alerts]",
            alerts,
        ]
    )
    return config_for([site.feed_url], extra=extra)


def start(config: Path, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**monitor_env(), **env},
    )


def stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    assert proc.stderr is not None
    return proc.stderr.read()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def keys_of(recorder: Recorder) -> list[str]:
    return [k for m in recorder.messages for k in str(m["X-News-Monitor-Key"]).split()]


def email_rows(db_path: Path) -> list[dict[str, object]]:
    db = Database(db_path)
    try:
        return [r for r in db["outbox"].rows if r["channel"] == "email"]
    finally:
        db.close()


def test_smtp_down_for_a_while_then_up_every_alert_arrives_once(
    site: FeedSite, config_for: Callable[..., Path], tmp_path: Path
) -> None:
    site.serve_seeds()
    port = free_port()
    config = email_config(config_for, site, port, 'retry_base = "1s"\nrollup_max = 2')
    proc = start(config)
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    try:
        # Down: the alerts are stored and their sends fail and are scheduled again.
        wait_until(
            lambda: (
                len(rows := email_rows(tmp_path / "monitor.db")) == len(SEED_IDS)
                and all(int(str(r["attempts"])) >= 1 for r in rows)
            ),
            60,
            "failed attempts while the SMTP server is down",
        )
        assert recorder.messages == []
        controller.start()  # up again
        wait_until(lambda: len(keys_of(recorder)) >= len(SEED_IDS), 60, "every alert by email")
        time.sleep(1.5)  # anything sent twice would show now
    finally:
        stderr = stop(proc)
        controller.stop()
    keys = keys_of(recorder)
    assert sorted(keys) == sorted(set(keys)) and len(keys) == len(SEED_IDS), keys
    assert len(recorder.messages) == 3  # rolled up two by two
    rows = email_rows(tmp_path / "monitor.db")
    assert {r["status"] for r in rows} == {"sent"}
    assert "cannot deliver via 127.0.0.1" in stderr


def add_due_rows(db_path: Path, count: int) -> list[str]:
    """Alerts that came due while the daemon was down (another process queued them)."""
    db = Database(db_path)
    try:
        payload = next(iter(db["outbox"].rows))["payload"]
        keys = [f"alert:meanwhile:{i}:email" for i in range(count)]
        with db.conn:
            for key in keys:
                db.execute(
                    "INSERT INTO outbox (dedup_key, channel, kind, payload, created_at, "
                    "next_attempt_at) VALUES (?, 'email', 'alert', ?, ?, ?)",
                    [key, payload, "2000-01-01T00:00:00Z", "2000-01-01T00:00:00Z"],
                )
        return keys
    finally:
        db.close()


def test_sigkill_between_send_and_mark_loses_nothing_repeats_one_message(
    site: FeedSite, config_for: Callable[..., Path], tmp_path: Path
) -> None:
    site.serve_seeds()
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    # The cycle's alerts are held until the first has waited 10 s (the group wait, long
    # enough for a slow cycle on a loaded machine to store all), so one roll-up carries all.
    config = email_config(config_for, site, port, 'group_wait = "10s"\nlease = "7s"')
    db_path = tmp_path / "monitor.db"
    try:
        proc = start(config, **{FAULT_ENV: "kill-after-send:email"})
        code = proc.wait(timeout=60)
        assert code == -signal.SIGKILL, stop(proc)
        assert len(recorder.messages) == 1  # accepted by the server, never marked sent
        rows = email_rows(db_path)
        assert len(rows) == len(SEED_IDS) and {r["status"] for r in rows} == {"pending"}
        # The lease ends; by then other alerts are due too. The repeat must still be the
        # very message the server got, not a new roll-up of everything due.
        lease_end = max(str(r["next_attempt_at"]) for r in rows)
        wait_until(lambda: clock.iso_now() > lease_end, 15, "the end of the lease")
        meanwhile = add_due_rows(db_path, 2)

        again = start(config)
        try:
            wait_until(lambda: len(recorder.messages) >= 3, 60, "the repeat and the others")
            wait_until(
                lambda: {r["status"] for r in email_rows(db_path)} == {"sent"},
                30,
                "the rows marked sent",
            )
            time.sleep(1.5)
        finally:
            stop(again)
    finally:
        controller.stop()
    first, *later = recorder.messages
    [repeat] = [m for m in later if m["Message-ID"] == first["Message-ID"]]
    assert repeat["X-News-Monitor-Key"] == first["X-News-Monitor-Key"]
    [other] = [m for m in later if m is not repeat]
    assert sorted(str(other["X-News-Monitor-Key"]).split()) == sorted(meanwhile)
    keys = [str(r["dedup_key"]) for r in rows]
    assert sorted(keys_of(recorder)) == sorted([*keys, *keys, *meanwhile])
