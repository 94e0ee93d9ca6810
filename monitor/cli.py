"""The command line: each command parses its arguments and calls one library function.

Library errors (MonitorError, StorageError, WatchlistError) become one ``error:`` line, with a
hint when there is one; exit 2 for bad input or configuration, 1 for runtime failures.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from importlib import resources
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from storage import StorageError, articles, feeds, outbox
from watchlists import Document, Matcher, WatchlistError, load_dir

from . import config as config_module
from .app import App, open_app
from .config import Settings, load_settings, parse_duration
from .cycle import CycleReport, run_cycle
from .daemon import run_daemon
from .discover import Discovered, discover_feed
from .errors import ExtractError, InputError, MonitorError
from .extract import Extraction, extract_page
from .fetch import Fetcher
from .opml import read_opml, write_opml
from .schedule import health

err = Console(stderr=True)


class MonitorGroup(click.Group):
    """Turns library errors into one clean line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (MonitorError, StorageError, WatchlistError) as exc:
            click.echo(f"error: {exc}", err=True)
            if getattr(exc, "hint", ""):
                click.echo(f"hint: {exc.hint}", err=True)
            code = getattr(exc, "exit_code", 2 if isinstance(exc, WatchlistError) else 1)
            ctx.exit(code)


@click.group(cls=MonitorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar=config_module.ENV_VAR,
    help="Config file (TOML). Default: $MONITOR_CONFIG, ./monitor.toml, or built-in defaults.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log more detail to standard error.")
@click.version_option(package_name="news-monitor")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: bool) -> None:
    """Watch news feeds, extract clean text, match watchlists, alert."""
    ctx.obj = {"config": config_path, "verbose": verbose}


def _settings(ctx: click.Context) -> Settings:
    return load_settings(ctx.obj["config"])


@contextmanager
def _app(ctx: click.Context, level: int = logging.WARNING) -> Iterator[App]:
    _logging(logging.DEBUG if ctx.obj["verbose"] else level)
    app = open_app(_settings(ctx))
    try:
        yield app
    finally:
        app.close()


def _logging(level: int) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr, force=True
    )
    for noisy in ("httpx", "httpcore", "apscheduler", "trafilatura", "htmldate"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


# -- setup -----------------------------------------------------------------------------------


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default="monitor.toml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: Path, force: bool) -> None:
    """Write a commented example config to PATH (default: ./monitor.toml)."""
    if path.exists() and not force:
        raise InputError(f"{path} already exists", hint="use --force to overwrite it")
    example = resources.files("monitor").joinpath("example_config.toml").read_text("utf-8")
    path.write_text(example, encoding="utf-8")
    click.echo(f"wrote {path}; edit it, then run `monitor run` in this folder")


# -- the pipeline ----------------------------------------------------------------------------


@cli.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run the daemon: poll due feeds on schedule and deliver alerts until stopped."""
    with _app(ctx, logging.INFO) as app:
        run_daemon(app)


@cli.command()
@click.option("--all", "include_all", is_flag=True, help="Poll every feed, due or not.")
@click.pass_context
def fetch(ctx: click.Context, include_all: bool) -> None:
    """Run one poll cycle over the due feeds, deliver alerts, print a summary."""
    with _app(ctx) as app:
        for error in app.watchlist_errors:
            click.echo(f"error: {error}", err=True)
        report = asyncio.run(_cycle_with_progress(app, include_all))
    click.echo(_summary(report))
    for outcome in report.feeds:
        if outcome.error:
            click.echo(f"failed: {outcome.error}", err=True)
        elif outcome.warning:
            click.echo(f"warning: {outcome.url}: {outcome.warning}", err=True)


async def _cycle_with_progress(app: App, include_all: bool) -> CycleReport:
    if not err.is_terminal:
        return await run_cycle(app, include_all=include_all)
    columns = (TextColumn("feeds"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("feeds", total=None)
        return await run_cycle(
            app,
            include_all=include_all,
            on_start=lambda total: progress.update(task, total=total),
            on_feed=lambda _: progress.advance(task),
        )


def _summary(report: CycleReport) -> str:
    return (
        f"feeds: {report.count('new')} fetched, {report.count('unchanged')} unchanged, "
        f"{report.count('failed')} failed; articles: {report.new_articles} new; "
        f"matches: {report.matches}; alerts: {report.delivery.sent} sent"
        + (f", {report.delivery.retrying} to retry" if report.delivery.retrying else "")
        + (f", {report.delivery.dead} dead" if report.delivery.dead else "")
    )


# -- feeds -----------------------------------------------------------------------------------


@cli.group("feeds")
def feeds_group() -> None:
    """Add, list and remove the feeds to poll."""


@feeds_group.command("add")
@click.argument("url")
@click.option("--interval", help="Poll interval for this feed, e.g. 10m (default: fetch.interval).")
@click.option(
    "--no-discover",
    is_flag=True,
    help="Add URL as it is, without fetching it to find the feed a home page advertises.",
)
@click.pass_context
def feeds_add(ctx: click.Context, url: str, interval: str | None, no_discover: bool) -> None:
    """Add the feed at URL, or the feed a site's home page at URL advertises."""
    if not url.startswith(("http://", "https://")):
        raise InputError(f"{url!r} is not an http(s) URL")
    seconds = int(parse_duration(interval, where="--interval")) if interval else None
    settings = _settings(ctx)
    found = None if no_discover else asyncio.run(_discover(settings, url))
    with _app(ctx) as app:
        feed, added = feeds.add_feed(
            app.db,
            found.url if found else url,
            interval_s=seconds,
            title=found.title if found else None,
        )
    click.echo(f"{'added' if added else 'already present'}: [{feed.id}] {feed.url}")
    if found and found.how != "feed":
        click.echo(f"found via {found.how}")


async def _discover(settings: Settings, url: str) -> Discovered:
    async with Fetcher(settings.fetch) as fetcher:
        return await discover_feed(fetcher, url)


@feeds_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def feeds_import(ctx: click.Context, path: Path) -> None:
    """Add every feed of an OPML file (folders become categories)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    listing = read_opml(data, source=str(path))
    added = 0
    with _app(ctx) as app:
        for item in listing.feeds:
            _, new = feeds.add_feed(
                app.db, item.url, source="opml", title=item.title, category=item.category
            )
            added += new
    for line in listing.skipped:
        click.echo(f"skipped: {line}", err=True)
    click.echo(
        f"imported {added} feeds from {path} ({len(listing.feeds) - added} already present, "
        f"{len(listing.skipped)} skipped)"
    )


@feeds_group.command("export")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@click.pass_context
def feeds_export(ctx: click.Context, output: Path | None) -> None:
    """Write every feed as OPML 2.0 (categories as folders)."""
    with _app(ctx) as app:
        document = write_opml(feeds.list_feeds(app.db))
    if output is None:
        click.echo(document.decode("utf-8"), nl=False)
    else:
        output.write_bytes(document)
        click.echo(f"wrote {output}", err=True)


@feeds_group.command("list")
@click.pass_context
def feeds_list(ctx: click.Context) -> None:
    """List the feeds with their last status."""
    with _app(ctx) as app:
        rows = feeds.list_feeds(app.db)
    for feed in rows:
        status = "disabled" if not feed.enabled else feed.last_status or "never polled"
        click.echo(
            f"[{feed.id}] {feed.url}  {status}" + (f"  ({feed.title})" if feed.title else "")
        )


@feeds_group.command("status")
@click.pass_context
def feeds_status(ctx: click.Context) -> None:
    """Show each feed's schedule, errors and health (failing, silent, disabled)."""
    with _app(ctx) as app:
        rows = feeds.list_feeds(app.db)
        settings = app.settings.fetch
    for f in rows:
        state = health(f, settings)
        click.echo(f"[{f.id}] {f.url}  {f.last_status or 'never polled'}  health: {state.state}")
        if not state.ok:
            click.echo(f"    {state.state}: {state.detail}")
        next_check = f.next_check_at if f.enabled else "never (disabled)"
        click.echo(
            f"    last checked {f.last_checked_at or '-'}; next check {next_check or '-'}; "
            f"errors in a row {f.error_count}"
        )
        if f.last_error and f.last_error != state.detail:
            click.echo(f"    last error: {f.last_error}")
    problems = sum(1 for f in rows if not health(f, settings).ok)
    click.echo(f"{len(rows)} feeds, {problems} needing attention")


@feeds_group.command("enable")
@click.argument("feed")
@click.pass_context
def feeds_enable(ctx: click.Context, feed: str) -> None:
    """Poll a disabled feed again (e.g. after HTTP 410), by URL or id."""
    with _app(ctx) as app:
        enabled = feeds.enable_feed(app.db, int(feed) if feed.isdigit() else feed)
    click.echo(f"enabled: [{enabled.id}] {enabled.url}")


@feeds_group.command("remove")
@click.argument("feed")
@click.pass_context
def feeds_remove(ctx: click.Context, feed: str) -> None:
    """Remove a feed by URL or id (its stored articles stay)."""
    with _app(ctx) as app:
        removed = feeds.remove_feed(app.db, int(feed) if feed.isdigit() else feed)
    click.echo(f"removed: [{removed.id}] {removed.url}")
    if removed.source == "config":
        click.echo("note: it is listed in the config file and will return at the next start")


# -- extraction and matching -----------------------------------------------------------------


def _read_source(settings: Settings, source: str) -> tuple[bytes, str | None]:
    """Bytes of a file, standard input (-) or a URL, with the URL when there is one."""
    if source.startswith(("http://", "https://")):

        async def get() -> tuple[bytes, str]:
            async with Fetcher(settings.fetch) as fetcher:
                response = await fetcher.get(source)
            return response.body, response.url

        return asyncio.run(get())
    if source == "-":
        return sys.stdin.buffer.read(), None
    try:
        return Path(source).read_bytes(), None
    except OSError as exc:
        raise InputError(f"{source}: cannot read: {exc.strerror}") from exc


@cli.command()
@click.argument("source", metavar="PATH_OR_URL")
@click.option(
    "--json", "as_json", is_flag=True, help="Print metadata, text and dropped blocks as JSON."
)
@click.pass_context
def extract(ctx: click.Context, source: str, as_json: bool) -> None:
    """Print the clean text of one page (a file, - for standard input, or a URL).

    With --json: title, author, published, site, language, text, and every block the
    cleaning stage dropped with its rule, category and reason."""
    body, url = _read_source(_settings(ctx), source)
    result = extract_page(body, url=url)
    if as_json:
        data = asdict(result)
        del data["blocks"]  # fingerprints for site learning: internal
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(result.text)


def _looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return (
        head.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<body" in body[:4096].lower()
    )


@cli.command()
@click.argument("source", metavar="PATH_OR_-")
@click.option(
    "--watchlists",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of watchlists (default: the configured ones).",
)
@click.option("--title", default="", help="Headline to match along with a plain-text input.")
@click.option("--json", "as_json", is_flag=True, help="Print the matches as JSON.")
@click.pass_context
def match(ctx: click.Context, source: str, folder: Path | None, title: str, as_json: bool) -> None:
    """Show which watchlists match a text or HTML page, and why."""
    settings = _settings(ctx)
    loaded = load_dir(folder or settings.watchlists)
    for error in loaded.errors:
        click.echo(f"error: {error}", err=True)
    body, url = _read_source(settings, source)
    if _looks_like_html(body):
        try:
            page: Extraction = extract_page(body, url=url)
        except ExtractError as exc:
            raise InputError(f"{source}: {exc}") from exc
        document = Document(title=title or page.title or "", text=page.text)
    else:
        document = Document(title=title, text=body.decode("utf-8", "replace"))
    found = Matcher(loaded.watchlists).match(document)
    if as_json:
        click.echo(
            json.dumps(
                [{"watchlist": m.watchlist, **m.explanation()} for m in found],
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if not found:
        click.echo(f"no match ({len(loaded.watchlists)} watchlists)")
    for m in found:
        click.echo(f"{m.watchlist}  score {m.score:g}  rule: {m.query}")
        click.echo("  terms: " + ", ".join(m.terms))
        for snippet in m.snippets:
            click.echo(f"  {snippet}")


# -- watchlists ------------------------------------------------------------------------------


@cli.group("watchlists")
def watchlists_group() -> None:
    """List and check the watchlist files."""


@watchlists_group.command("list")
@click.pass_context
def watchlists_list(ctx: click.Context) -> None:
    """List the loaded watchlists."""
    loaded = load_dir(_settings(ctx).watchlists)
    for w in loaded.watchlists:
        channels = ", ".join(w.channels) or "all channels"
        click.echo(f"{w.name}  [{w.severity}; {channels}]  {w.description}")
    for error in loaded.errors:
        click.echo(f"error: {error}", err=True)


@watchlists_group.command("check")
@click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def watchlists_check(ctx: click.Context, folder: Path | None) -> None:
    """Validate every watchlist file; exit 2 if any is wrong."""
    target = folder or _settings(ctx).watchlists
    loaded = load_dir(target)
    for error in loaded.errors:
        click.echo(f"error: {error}", err=True)
    click.echo(f"{len(loaded.watchlists)} ok, {len(loaded.errors)} with errors in {target}")
    if loaded.errors:
        ctx.exit(2)


# -- alerts ----------------------------------------------------------------------------------


@cli.group("alerts")
def alerts_group() -> None:
    """Inspect and retry the alert outbox."""


@alerts_group.command("list")
@click.option("--status", type=click.Choice(outbox.STATUSES), help="Only rows in this state.")
@click.option("--limit", default=50, show_default=True)
@click.pass_context
def alerts_list(ctx: click.Context, status: str | None, limit: int) -> None:
    """List alerts: pending, sent and dead, with the last error."""
    with _app(ctx) as app:
        rows = outbox.list_rows(app.db, status=status, limit=limit)
        counts = outbox.counts(app.db)
    click.echo(", ".join(f"{n} {s}" for s, n in counts.items()))
    for row in rows:
        line = f"[{row.id}] {row.status:<7} {row.channel:<8} {row.payload.get('title', row.kind)}"
        if row.last_error:
            line += f"  ({row.attempts} attempts; {row.last_error})"
        click.echo(line)


@alerts_group.command("retry")
@click.pass_context
def alerts_retry(ctx: click.Context) -> None:
    """Requeue dead alerts and deliver every due alert now."""
    with _app(ctx) as app:
        requeued = outbox.requeue(app.db)
        report = asyncio.run(app.relay.deliver_due())
    click.echo(
        f"requeued {requeued}; sent {report.sent}, to retry {report.retrying}, dead {report.dead}"
    )


@alerts_group.command("test")
@click.argument("channel")
@click.pass_context
def alerts_test(ctx: click.Context, channel: str) -> None:
    """Send a test alert to CHANNEL and report the result."""
    with _app(ctx) as app:
        target = app.channels.get(channel)
        if target is None:
            raise InputError(
                f"channel {channel!r} is not configured (configured: {', '.join(app.channels)})"
            )
        row = outbox.OutboxRow(
            id=0,
            dedup_key="test",
            channel=channel,
            kind="test",
            payload={
                "watchlist": "test",
                "severity": "test",
                "title": "news-monitor test alert",
                "snippets": ["If you can read this, the channel works."],
            },
            status="pending",
            attempts=0,
            created_at="",
            next_attempt_at="",
            sent_at=None,
            last_error=None,
        )
        asyncio.run(target.send(row))
    click.echo(f"test alert sent to {channel}")


# -- search ----------------------------------------------------------------------------------


@cli.command()
@click.argument("query")
@click.option("--limit", default=20, show_default=True)
@click.pass_context
def search(ctx: click.Context, query: str, limit: int) -> None:
    """Full-text search over stored articles (SQLite FTS5 syntax)."""
    with _app(ctx) as app:
        rows = articles.search_articles(app.db, query, limit=limit)
    if not rows:
        click.echo("no articles found")
    for row in rows:
        click.echo(
            f"[{row['id']}] {row['title']}  ({row['site'] or '-'}, {row['published'] or '-'})"
        )
        click.echo(f"    {row['snippet']}")
        if row["url"]:
            click.echo(f"    {row['url']}")


def main() -> None:
    cli(prog_name="monitor")


__all__ = ["cli", "main"]
