"""Errors raised by the monitor package.

    MonitorError                   base: a message for the user and a ``hint`` on what to do
     +-- ConfigError               the config file is missing, unparseable or has a bad value
     +-- FetchError                a feed or page could not be fetched (``kind`` sorts it)
     |    +-- UnsafeURL            a URL refused before any request (scheme, private address)
     +-- FeedParseError            the body fetched is not a usable RSS/Atom feed
     +-- ExtractError              a page yielded no article text
     +-- DeliveryError             an alert channel refused or failed (``permanent`` or not)
     +-- InputError                a file or URL named on the command line cannot be read

The CLI catches MonitorError once and prints ``error: <message>`` (and the hint), exit 2 for
bad input or configuration, 1 for runtime failures.
"""

from __future__ import annotations


class MonitorError(Exception):
    hint = ""
    exit_code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        if hint:
            self.hint = hint


class ConfigError(MonitorError):
    exit_code = 2
    hint = "`monitor init` writes a commented example config"


class InputError(MonitorError):
    exit_code = 2


class FetchError(MonitorError):
    """``kind`` is one of: timeout, connect, tls, http_4xx, http_5xx, http_429, too_large,
    redirects, unsafe, protocol."""

    def __init__(
        self,
        url: str,
        kind: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url
        self.kind = kind
        self.reason = message
        self.status = status
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Worth trying again later (as opposed to a 404, an unsafe URL, a body too large)."""
        return self.kind in ("timeout", "connect", "tls", "http_429", "http_5xx", "protocol")


class UnsafeURL(FetchError):
    def __init__(self, url: str, message: str) -> None:
        super().__init__(url, "unsafe", message)
        self.hint = "set allow_private_networks = true under [fetch] to reach private addresses"


class FeedParseError(MonitorError):
    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{url}: {message}")
        self.url = url
        self.reason = message


class ExtractError(MonitorError):
    pass


class WorkerLost(ExtractError):
    """The worker process running a page stopped (killed, crashed, the pool broke): the page
    itself may be fine, so its entry is retried rather than stored from the feed's text."""


class DeliveryError(MonitorError):
    def __init__(
        self,
        channel: str,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        recipients: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(f"channel {channel}: {message}")
        self.channel = channel
        self.permanent = permanent
        self.retry_after = retry_after
        self.recipients = recipients  # email: only these still need the alert
