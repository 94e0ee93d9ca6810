"""Settings: defaults, the example file, relative paths, durations and sizes."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import (
    DEFAULT_FEEDS,
    EmailSettings,
    SlackSettings,
    load_settings,
    parse_duration,
    parse_size,
)
from monitor.errors import ConfigError
from watchlists import shipped_dir


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    settings = load_settings()
    assert settings.source is None and settings.uses_default_feeds
    assert settings.database == Path("data/monitor.db")
    assert settings.watchlists == shipped_dir()
    assert list(settings.channels) == ["console"]
    assert settings.fetch.allow_private_networks is False
    assert len(DEFAULT_FEEDS) >= 5


def test_env_and_local_file_are_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    (tmp_path / "monitor.toml").write_text('database = "local.db"\n')
    assert load_settings().database == tmp_path / "local.db"
    other = tmp_path / "etc" / "other.toml"
    other.parent.mkdir()
    other.write_text('database = "env.db"\n')
    monkeypatch.setenv("MONITOR_CONFIG", str(other))
    assert load_settings().database == other.parent / "env.db"


def test_example_config_loads_and_is_complete(tmp_path: Path) -> None:
    example = Path(__file__).parents[1] / "monitor" / "example_config.toml"
    target = tmp_path / "monitor.toml"
    target.write_text(example.read_text())
    settings = load_settings(target)
    assert settings.fetch.interval == 900 and settings.fetch.max_bytes == 10_000_000
    assert settings.daemon.shutdown_grace == 5


def test_secrets_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_SMTP_PASSWORD", "s3cret")
    monkeypatch.setenv("T_SLACK", "https://hooks.example/T000/B000/XXXX")
    path = tmp_path / "m.toml"
    path.write_text(
        """
[channels.email]
host = "smtp.example.org"
security = "tls"
username = "u"
password_env = "T_SMTP_PASSWORD"
sender = "a@example.org"
recipients = ["b@example.org"]
[channels.slack]
webhook_url_env = "T_SLACK"
"""
    )
    settings = load_settings(path)
    mail = settings.channels["email"]
    assert isinstance(mail, EmailSettings)
    assert (mail.password, mail.port) == ("s3cret", 465)
    slack = settings.channels["slack"]
    assert isinstance(slack, SlackSettings)
    assert "s3cret" not in repr(settings) and "XXXX" not in repr(settings)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("2h", 7200), ("7d", 604800), (12, 12), ("500ms", 0.5)],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["15 minutes", "m15", "-5s", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_duration(text)


def test_sizes() -> None:
    assert parse_size("10MB", where="x") == 10_000_000
    assert parse_size(2048, where="x") == 2048
    with pytest.raises(ConfigError, match="expected a size"):
        parse_size("lots", where="x")


def test_email_needs_recipients_and_a_known_security(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('[channels.email]\nhost = "h"\nsender = "a@b"\nrecipients = []\n')
    with pytest.raises(ConfigError, match="at least one address"):
        load_settings(path)
    path.write_text(
        '[channels.email]\nhost = "h"\nsender = "a@b"\nrecipients = ["c@d"]\nsecurity = "ssl"\n'
    )
    with pytest.raises(ConfigError, match="'starttls', 'tls' or 'none'"):
        load_settings(path)
