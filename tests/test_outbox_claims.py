"""Who owns a claimed outbox row: a sender marks only the rows it still holds (its claim
token), `alerts retry --pending` leaves rows being sent alone, and the lease is long enough
for any channel's send (checked when the config is loaded)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import monitor, queue_alerts

import storage
from monitor.config import load_settings
from monitor.errors import ConfigError
from storage import clock, outbox


def test_a_sender_whose_lease_ran_out_cannot_mark_the_next_senders_claim(
    tmp_path: Path,
) -> None:
    db = storage.open_database(tmp_path / "m.db")
    other = storage.open_database(tmp_path / "m.db")
    queue_alerts(db, [("k", "console")], {})
    [row] = outbox.due_rows(db)
    slow = outbox.claim(db, row.id, lease_seconds=1)
    assert slow is not None
    time.sleep(2.1)  # the slow sender's lease ends (stored times are whole seconds)
    fast = outbox.claim(other, row.id, lease_seconds=300)
    assert fast is not None and fast != slow
    # The slow sender fails for good: it no longer owns the row, nothing changes.
    assert not outbox.mark_failed(db, row.id, token=slow, error="late", retry_in=None)
    assert not outbox.mark_sent(db, row.id, token=slow)
    [still] = outbox.list_rows(db)
    assert still.status == "pending" and still.last_error is None
    assert outbox.mark_sent(other, row.id, token=fast)
    assert not outbox.mark_sent(other, row.id, token=fast)  # once
    [done] = outbox.list_rows(db)
    assert done.status == "sent" and done.attempts == 1


def test_claim_many_claims_a_batch_at_once_with_one_token(tmp_path: Path) -> None:
    db = storage.open_database(tmp_path / "m.db")
    queue_alerts(db, [("a", "console"), ("b", "console"), ("c", "console")], {})
    ids = [r.id for r in outbox.due_rows(db)]
    first = outbox.claim_many(db, ids[:2], lease_seconds=60)
    assert first.ids == ids[:2]
    second = outbox.claim_many(db, ids, lease_seconds=60)
    assert second.ids == ids[2:] and second.token != first.token
    rows = {r.id: r for r in outbox.list_rows(db)}
    assert rows[ids[0]].next_attempt_at == rows[ids[1]].next_attempt_at  # due again together
    assert outbox.mark_sent_many(db, ids, token=first.token) == 2


def config_with_console(tmp_path: Path, alerts: str = "") -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(f'database = "m.db"\n[channels.console]\n[alerts]\n{alerts}\n', "utf-8")
    return path


def test_retry_pending_leaves_a_row_being_sent_alone(tmp_path: Path) -> None:
    path = config_with_console(tmp_path)
    db = storage.open_database(tmp_path / "m.db")
    queue_alerts(db, [("in-flight", "console"), ("waiting", "console")], {"title": "T"})
    in_flight, waiting = outbox.due_rows(db)
    assert outbox.claim(db, in_flight.id, lease_seconds=300)  # another sender is on it
    outbox.mark_failed(
        db, waiting.id, token=outbox.claim(db, waiting.id, lease_seconds=300) or "", error="x",
        retry_in=600,
    )  # fmt: skip
    db.close()
    result = monitor("alerts", "retry", "--pending", config=path)
    assert result.returncode == 0, result.stderr
    assert "requeued 1; sent 1" in result.stdout
    rows = {r.dedup_key: r for r in outbox.list_rows(storage.open_database(tmp_path / "m.db"))}
    assert rows["in-flight"].status == "pending" and rows["waiting"].status == "sent"


@pytest.mark.parametrize(
    ("alerts", "channels", "message"),
    [
        ('lease = "0.5s"', "", "alerts.lease: must be at least 1s, got '0.5s'"),
        (
            'lease = "40s"',
            '[channels.email]\nhost = "h"\nsender = "a@b"\nrecipients = ["c@d"]\n'
            'timeout = "30s"\nconnect_timeout = "10s"',
            "alerts.lease: must be longer than twice the longest channel send (email: 40s), got '40s'",
        ),
    ],
)
def test_a_lease_shorter_than_a_send_is_refused(
    tmp_path: Path, alerts: str, channels: str, message: str
) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text(f"[alerts]\n{alerts}\n{channels}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_group_wait_holds_a_channels_new_alerts_until_the_first_has_waited(
    tmp_path: Path,
) -> None:
    db = storage.open_database(tmp_path / "m.db")
    queue_alerts(db, [("old", "email"), ("retried", "slack")], {})
    db.execute("UPDATE outbox SET attempts = 1 WHERE dedup_key = 'retried'")
    now = clock.iso_now()
    with db.atomic():
        for key, channel in [("young", "email"), ("young", "slack"), ("young", "webhook")]:
            db.execute(
                "INSERT INTO outbox (dedup_key, channel, kind, payload, created_at, "
                "next_attempt_at) VALUES (?, ?, 'alert', '{}', ?, ?)",
                [f"{key}:{channel}", channel, now, now],
            )
    # Old rows that are not pending alerts hold nothing open: a sent alert, a digest.
    queue_alerts(db, [("sent-long-ago", "webhook"), ("weekly", "webhook")], {})
    db.execute("UPDATE outbox SET status = 'sent' WHERE dedup_key = 'sent-long-ago'")
    db.execute("UPDATE outbox SET kind = 'digest' WHERE dedup_key = 'weekly'")
    cutoff = clock.iso_now(-60)
    due = {(r.dedup_key, r.channel) for r in outbox.due_rows(db, created_before=cutoff)}
    # email: its first alert has waited, the young one goes with it; slack: only a retry is
    # due, the young alert keeps waiting; webhook: nothing has waited yet.
    assert due == {("old", "email"), ("young:email", "email"), ("retried", "slack")}
    everything = {r.dedup_key for r in outbox.due_rows(db)}
    assert everything == {"old", "retried", "young:email", "young:slack", "young:webhook"}
