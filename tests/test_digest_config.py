"""The [digest] section: schedule or day and time, time zone, channels, format; each mistake
named in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, load_settings


def settings_with(tmp_path: Path, digest: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "monitor.toml"
    path.write_text(f"[channels.console]\n[digest]\n{digest}\n", encoding="utf-8")
    return load_settings(path).digest


def test_defaults_are_monday_seven_local_on_every_channel(tmp_path: Path) -> None:
    d = settings_with(tmp_path, "")
    assert (d.schedule, d.timezone, d.channels, d.format) == ("mon 07:00", None, None, "text")


def test_schedule_or_day_and_time(tmp_path: Path) -> None:
    d = settings_with(tmp_path, 'schedule = "fri 17:30"\ntimezone = "Asia/Baku"')
    assert (d.day, d.hour, d.minute, d.timezone) == (4, 17, 30, "Asia/Baku")
    d = settings_with(tmp_path, 'day = "Sunday"\ntime = "9:05"\nchannels = []\nformat = "html"')
    assert (d.schedule, d.channels, d.format) == ("sun 09:05", (), "html")


@pytest.mark.parametrize(
    ("digest", "message"),
    [
        ('schedule = "mon 07:00"\nday = "tue"', "write either schedule or day and time"),
        ('day = "someday"', "digest.day: expected one of mon, tue"),
        ('time = "25:00"', "digest.time: expected a time like '07:00'"),
        ('timezone = "Mars/Olympus"', "digest.timezone: unknown time zone 'Mars/Olympus'"),
        ('format = "pdf"', "digest.format: expected text, markdown or html"),
        ("channels = 'email'", "digest.channels: expected a list of strings"),
        ("when = 'mon'", "unknown key 'digest.when'"),
        (
            'channels = ["console", "emial", "slak"]',
            r"digest.channels: not configured: 'emial', 'slak' \(configured: console\)",
        ),
    ],
)
def test_mistakes_are_named(tmp_path: Path, digest: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_with(tmp_path, digest)
