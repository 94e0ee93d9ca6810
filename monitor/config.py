"""Settings: one TOML file, validated once at start-up into a typed object.

Where the file comes from: ``--config PATH``, else ``$MONITOR_CONFIG``, else ``./monitor.toml``
if it exists, else built-in defaults. Relative paths in the file are relative to the file's
folder. Secrets never live in the file: it names environment variables that hold them.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watchlists import shipped_dir

from .errors import ConfigError

ENV_VAR = "MONITOR_CONFIG"
DEFAULT_FILE = "monitor.toml"
DEFAULT_DATABASE = Path("data") / "monitor.db"
USER_AGENT = "news-monitor/0.1 (RSS monitor; polite polling)"

# Real outlets covering the South Caucasus and Russia; edit with `monitor feeds add/remove`
# or list your own under [[feeds]] in the config file.
DEFAULT_FEEDS = (
    "https://www.themoscowtimes.com/rss/news",
    "https://meduza.io/rss/en/all",
    "https://oc-media.org/feed/",
    "https://civil.ge/feed",
    "https://jam-news.net/feed/",
    "https://eurasianet.org/rss.xml",
    "https://www.rferl.org/api/zrqiteuuir",
    "https://feeds.bbci.co.uk/news/world/europe/rss.xml",
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3}
# Floors for delivery settings: below them a setting cannot work (a timeout of zero fails every
# send; a retry delay under a second hammers a failing peer; a lease under a second expires
# while the send is being claimed).
MIN_TIMEOUT = 0.1
MIN_RETRY_BASE = 1.0
MIN_LEASE = 1.0


def parse_duration(value: str | int | float, *, where: str = "duration") -> float:
    """Seconds from ``"15m"``, ``"30s"``, ``"2h"``, ``"7d"`` or a number of seconds."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a duration like '15m', got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ConfigError(
                f"{where}: expected a duration like '30s', '15m', '2h' or '7d', got {value!r}"
            )
        seconds = float(m.group(1)) * _UNITS[m.group(2)]
    if seconds < 0:
        raise ConfigError(f"{where}: must not be negative, got {value!r}")
    return seconds


def parse_size(value: str | int, *, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _SIZE.match(str(value))
    if not m:
        raise ConfigError(f"{where}: expected a size like '10MB', got {value!r}")
    return int(float(m.group(1)) * _SIZE_UNITS[(m.group(2) or "b").lower()])


@dataclass(frozen=True)
class FetchSettings:
    interval: float = 900.0
    timeout: float = 20.0
    concurrency: int = 10
    max_bytes: int = 10_000_000
    max_redirects: int = 5
    allow_private_networks: bool = False
    allowed_networks: tuple[str, ...] = ()  # reachable even when private networks are not
    user_agent: str = USER_AGENT
    fetch_pages: bool = True
    per_host: int = 2  # requests in flight to one host at once
    max_backoff: float = 6 * 3600.0  # longest wait after repeated failures
    failing_after: int = 5  # consecutive failures before a feed is reported as failing
    silent_factor: float = 4.0  # silent: no new entry for this many times its usual gap
    health_channels: tuple[str, ...] | None = None  # feed-health alerts; None: every channel
    # Worker processes for parsing and extraction (and matching and storing when they take
    # every core); 0 does it all in the daemon's own process, in threads.
    workers: int = 0


@dataclass(frozen=True)
class FeedSettings:
    url: str
    interval: float | None = None


@dataclass(frozen=True)
class ConsoleSettings:
    pass


@dataclass(frozen=True)
class EmailSettings:
    host: str
    sender: str
    recipients: tuple[str, ...]
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0  # each SMTP command
    connect_timeout: float = 10.0


@dataclass(frozen=True)
class SlackSettings:
    webhook_url: str = field(repr=False)
    timeout: float = 15.0
    pace: float = 1.0  # seconds between two messages: Slack allows about one a second


@dataclass(frozen=True)
class WebhookSettings:
    url: str = field(repr=False)
    timeout: float = 15.0
    pace: float = 0.0


ChannelSettings = ConsoleSettings | EmailSettings | SlackSettings | WebhookSettings


@dataclass(frozen=True)
class AlertSettings:
    """How the relay sends: how long a new alert waits for others to join it (group wait),
    how many alerts one message shows and carries, how long a claimed row stays hidden."""

    group_wait: float = 0.0
    rollup_cap: int = 10  # alerts shown in full in one message; the rest as "+N more"
    rollup_max: int = 50  # outbox rows carried by one message
    lease: float = 300.0
    retry_base: float = 30.0  # first retry delay; doubled at each attempt, up to an hour


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DIGEST_FORMATS = ("text", "markdown", "html")


@dataclass(frozen=True)
class DigestSettings:
    """When and where the weekly digest goes.

    ``channels`` None means every configured channel; an empty tuple turns the scheduled
    digest off. ``timezone`` None means the machine's local zone."""

    day: int = 0  # 0 = Monday, as in datetime.weekday()
    hour: int = 7
    minute: int = 0
    timezone: str | None = None
    channels: tuple[str, ...] | None = None
    format: str = "text"

    @property
    def schedule(self) -> str:
        return f"{DAYS[self.day]} {self.hour:02d}:{self.minute:02d}"


@dataclass(frozen=True)
class CleanSettings:
    learn_after: int = 3  # a block on this many articles of a site is that site's furniture


@dataclass(frozen=True)
class DaemonSettings:
    check_every: float = 30.0
    shutdown_grace: float = 5.0


@dataclass(frozen=True)
class Settings:
    database: Path = DEFAULT_DATABASE
    watchlists: Path = field(default_factory=shipped_dir)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    feeds: tuple[FeedSettings, ...] = ()
    channels: dict[str, ChannelSettings] = field(
        default_factory=lambda: {"console": ConsoleSettings()}
    )
    alerts: AlertSettings = field(default_factory=AlertSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    clean: CleanSettings = field(default_factory=CleanSettings)
    source: Path | None = None  # the config file, or None for built-in defaults

    @property
    def uses_default_feeds(self) -> bool:
        return self.source is None


class _Table:
    """A TOML table being read: every key must be taken, or it is reported as unknown."""

    def __init__(self, data: Any, where: str, path: Path) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: {where} must be a table")
        self.data = dict(data)
        self.where = where
        self.path = path

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _fail(self, key: str, expected: str, value: Any) -> ConfigError:
        return ConfigError(f"{self.path}: {self._name(key)}: expected {expected}, got {value!r}")

    def string(self, key: str, default: Any = ...) -> Any:
        value = self._take(key, default)
        if value is not None and value is not default and not isinstance(value, str):
            raise self._fail(key, "a string", value)
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self._take(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false", value)
        return value

    def number(self, key: str, default: int, *, minimum: int = 0) -> int:
        value = self._take(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise self._fail(key, f"a whole number >= {minimum}", value)
        return value

    def duration(self, key: str, default: float, *, minimum: float = 0.0) -> float:
        value = self._take(key, default)
        seconds = parse_duration(value, where=f"{self.path}: {self._name(key)}")
        if seconds < minimum:
            raise ConfigError(
                f"{self.path}: {self._name(key)}: must be at least {minimum:g}s, got {value!r}"
            )
        return seconds

    def size(self, key: str, default: int) -> int:
        return parse_size(self._take(key, default), where=f"{self.path}: {self._name(key)}")

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self._take(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "a list of strings", value)
        return tuple(value)

    def table(self, key: str) -> _Table:
        return _Table(self._take(key, {}), self._name(key), self.path)

    def secret(self, key: str, *, required: bool) -> str | None:
        """Read the value of the environment variable this key names."""
        var = self.string(key, None)
        if var is None:
            if required:
                raise ConfigError(f"{self.path}: {self._name(key)} is required")
            return None
        value = os.environ.get(var)
        if not value:
            raise ConfigError(
                f"{self.path}: {self._name(key)}: environment variable {var} is not set",
                hint=f"export {var}=... before starting news-monitor",
            )
        return value

    def _take(self, key: str, default: Any) -> Any:
        if key not in self.data:
            if default is ...:
                raise ConfigError(f"{self.path}: {self._name(key)} is required")
            return default
        return self.data.pop(key)

    def done(self) -> None:
        if self.data:
            key = sorted(self.data)[0]
            raise ConfigError(f"{self.path}: unknown key {self._name(key)!r}")


def locate(explicit: str | Path | None) -> Path | None:
    """The config file to read, or None for built-in defaults."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    local = Path(DEFAULT_FILE)
    return local if local.is_file() else None


def load_settings(explicit: str | Path | None = None) -> Settings:
    path = locate(explicit)
    if path is None:
        return Settings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: config file is not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return _settings(_Table(raw, "", path), path)


def _settings(top: _Table, path: Path) -> Settings:
    base = path.resolve().parent
    database = base / top.string("database", str(DEFAULT_DATABASE))
    watchlists_dir = top.string("watchlists", None)
    settings = Settings(
        database=database,
        watchlists=base / watchlists_dir if watchlists_dir else shipped_dir(),
        fetch=_fetch(top.table("fetch")),
        feeds=_feeds(top._take("feeds", []), path),
        channels=_channels(top.table("channels")),
        alerts=_alerts(top.table("alerts")),
        digest=_digest(top.table("digest")),
        daemon=_daemon(top.table("daemon")),
        clean=_clean(top.table("clean")),
        source=path,
    )
    top.done()
    _check_lease(settings, path)
    _check_digest_channels(settings, path)
    return settings


def _check_digest_channels(settings: Settings, path: Path) -> None:
    """A scheduled digest for a channel that is not configured could never be sent."""
    wanted = settings.digest.channels or ()
    unknown = [name for name in wanted if name not in settings.channels]
    if unknown:
        raise ConfigError(
            f"{path}: digest.channels: not configured: "
            f"{', '.join(repr(n) for n in unknown)} (configured: {', '.join(settings.channels)})"
        )


def send_time(options: ChannelSettings) -> float:
    """The longest one send may take before the channel gives up on it."""
    if isinstance(options, EmailSettings):
        return options.connect_timeout + options.timeout
    if isinstance(options, SlackSettings | WebhookSettings):
        return options.timeout
    return 0.0


def _check_lease(settings: Settings, path: Path) -> None:
    """A claimed row is hidden from other senders for ``alerts.lease``; a lease shorter than
    a send lets another sender take the row mid-send and send it twice."""
    lease = settings.alerts.lease
    name, longest = max(
        ((n, send_time(o)) for n, o in settings.channels.items()), key=lambda item: item[1]
    )
    if lease <= 2 * longest:
        raise ConfigError(
            f"{path}: alerts.lease: must be longer than twice the longest channel send "
            f"({name}: {longest:g}s), got '{lease:g}s'"
        )


def _fetch(t: _Table) -> FetchSettings:
    d = FetchSettings()
    result = FetchSettings(
        interval=t.duration("interval", d.interval),
        timeout=t.duration("timeout", d.timeout),
        concurrency=t.number("concurrency", d.concurrency, minimum=1),
        max_bytes=t.size("max_bytes", d.max_bytes),
        max_redirects=t.number("max_redirects", d.max_redirects),
        allow_private_networks=t.flag("allow_private_networks", d.allow_private_networks),
        allowed_networks=_networks(t),
        user_agent=t.string("user_agent", d.user_agent),
        fetch_pages=t.flag("fetch_pages", d.fetch_pages),
        per_host=t.number("per_host", d.per_host, minimum=1),
        max_backoff=t.duration("max_backoff", d.max_backoff),
        failing_after=t.number("failing_after", d.failing_after, minimum=1),
        silent_factor=float(t.number("silent_factor", int(d.silent_factor), minimum=1)),
        health_channels=t.strings("health_channels") if "health_channels" in t.data else None,
        workers=t.number("workers", d.workers),
    )
    t.done()
    return result


def _networks(t: _Table) -> tuple[str, ...]:
    values = t.strings("allowed_networks")
    for value in values:
        try:
            ipaddress.ip_network(value.strip(), strict=False)
        except ValueError as exc:
            raise ConfigError(
                f"{t.path}: fetch.allowed_networks: {value!r} is not an address or network"
            ) from exc
    return values


def _feeds(value: Any, path: Path) -> tuple[FeedSettings, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{path}: feeds must be written as [[feeds]] tables")
    feeds = []
    for i, item in enumerate(value):
        t = _Table(item, f"feeds[{i}]", path)
        url = t.string("url")
        if not re.match(r"^https?://", url):
            raise ConfigError(f"{path}: feeds[{i}].url: expected an http(s) URL, got {url!r}")
        interval = t.duration("interval", -1.0) if "interval" in t.data else None
        t.done()
        feeds.append(FeedSettings(url=url, interval=interval))
    return tuple(feeds)


def _channels(t: _Table) -> dict[str, ChannelSettings]:
    channels: dict[str, ChannelSettings] = {}
    if "console" in t.data:
        t.table("console").done()
        channels["console"] = ConsoleSettings()
    if "email" in t.data:
        channels["email"] = _email(t.table("email"))
    if "slack" in t.data:
        s = t.table("slack")
        channels["slack"] = SlackSettings(
            webhook_url=_url_secret(s, "webhook_url_env"),
            timeout=s.duration("timeout", 15.0, minimum=MIN_TIMEOUT),
            pace=s.duration("pace", SlackSettings.pace),
        )
        s.done()
    if "webhook" in t.data:
        w = t.table("webhook")
        channels["webhook"] = WebhookSettings(
            url=_url_secret(w, "url_env"),
            timeout=w.duration("timeout", 15.0, minimum=MIN_TIMEOUT),
            pace=w.duration("pace", WebhookSettings.pace),
        )
        w.done()
    t.done()
    return channels or {"console": ConsoleSettings()}


def _url_secret(t: _Table, key: str) -> str:
    """A webhook URL from the environment variable ``key`` names; never echoed in errors."""
    url = (t.secret(key, required=True) or "").strip()
    if not url.startswith(("https://", "http://")):
        raise ConfigError(f"{t.path}: {t._name(key)}: the variable does not hold an http(s) URL")
    return url


def _alerts(t: _Table) -> AlertSettings:
    d = AlertSettings()
    result = AlertSettings(
        group_wait=t.duration("group_wait", d.group_wait),
        rollup_cap=t.number("rollup_cap", d.rollup_cap, minimum=1),
        rollup_max=t.number("rollup_max", d.rollup_max, minimum=1),
        lease=t.duration("lease", d.lease, minimum=MIN_LEASE),
        retry_base=t.duration("retry_base", d.retry_base, minimum=MIN_RETRY_BASE),
    )
    t.done()
    return result


def _email(t: _Table) -> EmailSettings:
    security = t.string("security", "starttls")
    if security not in ("starttls", "tls", "none"):
        raise ConfigError(
            f"{t.path}: channels.email.security: expected 'starttls', 'tls' or 'none', "
            f"got {security!r}"
        )
    recipients = t.strings("recipients")
    if not recipients:
        raise ConfigError(f"{t.path}: channels.email.recipients: at least one address needed")
    username, password = t.string("username", None), t.secret("password_env", required=False)
    if username and not password:
        raise ConfigError(f"{t.path}: channels.email: username is set but password_env is not")
    result = EmailSettings(
        host=t.string("host"),
        port=t.number("port", 465 if security == "tls" else 587, minimum=1),
        security=security,
        username=username,
        password=password,
        sender=t.string("sender"),
        recipients=recipients,
        timeout=t.duration("timeout", 30.0, minimum=MIN_TIMEOUT),
        connect_timeout=t.duration("connect_timeout", 10.0, minimum=MIN_TIMEOUT),
    )
    t.done()
    return result


_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _digest(t: _Table) -> DigestSettings:
    """``schedule = "mon 07:00"``, or the same as ``day = "mon"`` and ``time = "07:00"``."""
    where = f"{t.path}: digest"
    schedule = t.string("schedule", None)
    day, clock = ([*schedule.split(None, 1), ""])[:2] if schedule else ("mon", "07:00")
    if schedule and ("day" in t.data or "time" in t.data):
        raise ConfigError(f"{where}: write either schedule or day and time, not both")
    day, clock = t.string("day", day).strip().lower()[:3], t.string("time", clock).strip()
    if day not in DAYS:
        raise ConfigError(f"{where}.day: expected one of {', '.join(DAYS)}, got {day!r}")
    m = _CLOCK.match(clock)
    if not m:
        raise ConfigError(f"{where}.time: expected a time like '07:00', got {clock!r}")
    zone = t.string("timezone", None)
    if zone is not None:
        _check_zone(zone, where=f"{where}.timezone")
    fmt = t.string("format", "text")
    if fmt not in DIGEST_FORMATS:
        raise ConfigError(f"{where}.format: expected text, markdown or html, got {fmt!r}")
    channels = t.strings("channels") if "channels" in t.data else None
    result = DigestSettings(
        day=DAYS.index(day),
        hour=int(m.group(1)),
        minute=int(m.group(2)),
        timezone=zone,
        channels=channels,
        format=fmt,
    )
    t.done()
    return result


def _check_zone(name: str, *, where: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"{where}: unknown time zone {name!r}", hint="use an IANA name like 'Europe/Berlin'"
        ) from exc


def _clean(t: _Table) -> CleanSettings:
    result = CleanSettings(learn_after=t.number("learn_after", CleanSettings.learn_after))
    t.done()
    return result


def _daemon(t: _Table) -> DaemonSettings:
    d = DaemonSettings()
    result = DaemonSettings(
        check_every=t.duration("check_every", d.check_every),
        shutdown_grace=t.duration("shutdown_grace", d.shutdown_grace),
    )
    t.done()
    return result
