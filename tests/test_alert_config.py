"""[alerts] and channel settings that cannot work are refused when the config is loaded, each
named in one line: a zero or tiny retry delay (a retry storm), a zero timeout (every send
fails at once), a lease shorter than a send."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import ConfigError, load_settings

EMAIL = '[channels.email]\nhost = "h"\nsender = "a@b"\nrecipients = ["c@d"]\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[alerts]\nretry_base = "0s"', "alerts.retry_base: must be at least 1s, got '0s'"),
        ('[alerts]\nretry_base = "200ms"', "alerts.retry_base: must be at least 1s, got '200ms'"),
        ('[alerts]\nlease = "0s"', "alerts.lease: must be at least 1s, got '0s'"),
        (EMAIL + 'timeout = "0s"', "channels.email.timeout: must be at least 0.1s, got '0s'"),
        (
            EMAIL + "connect_timeout = 0",
            "channels.email.connect_timeout: must be at least 0.1s, got 0",
        ),
        (
            '[channels.slack]\nwebhook_url_env = "CFG_TEST_HOOK"\ntimeout = "0s"',
            "channels.slack.timeout: must be at least 0.1s, got '0s'",
        ),
        (
            '[channels.webhook]\nurl_env = "CFG_TEST_HOOK"\ntimeout = "0ms"',
            "channels.webhook.timeout: must be at least 0.1s, got '0ms'",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    monkeypatch.setenv("CFG_TEST_HOOK", "http://127.0.0.1:9/hook")
    path = tmp_path / "monitor.toml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_sane_settings_load(tmp_path: Path) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text(
        EMAIL + 'timeout = "2s"\nconnect_timeout = "1s"\n[alerts]\nretry_base = "1s"\n'
        'lease = "7s"\n[digest]\nchannels = ["email"]\n',
        encoding="utf-8",
    )
    settings = load_settings(path)
    assert settings.alerts.retry_base == 1.0 and settings.digest.channels == ("email",)
