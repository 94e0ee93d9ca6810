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

from storage import StorageError, articles, clock, feeds, outbox
from watchlists import (
    Document,
    Match,
    Matcher,
    Watchlist,
    WatchlistError,
    load_dir,
    load_file,
)
from watchlists.build import build as build_watchlist
from watchlists.build import render as render_draft
from watchlists.build import slug
from watchlists.replay import CaseReport, ReplayReport, load_cases, replay, run_cases

from . import config as config_module
from .app import App, open_app
from .channels.render import one_line
from .config import Settings, load_settings, parse_duration
from .cycle import CycleReport, run_cycle
from .daemon import run_daemon
from .digest import FORMATS
from .digest.command import DigestRequest, run_digest
from .discover import Discovered, discover_feed
from .errors import DeliveryError, ExtractError, InputError, MonitorError
from .extract import Extraction, extract_page, read_text
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
        # The cycle is over: alerts held by alerts.group_wait have nothing more to wait for.
        report.delivery.add(asyncio.run(app.relay.deliver_due(flush=True)))
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

    With --json: title, author, published, site, language, text, summary (a standfirst
    taken out of the text and kept apart), and every block the cleaning stage dropped with
    its rule, category and reason."""
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
@click.option("--site", default="", help="Domain or URL the text comes from (for site: rules).")
@click.option("--lang", default="", help="Language of the text, e.g. ru (for lang: rules).")
@click.option("--json", "as_json", is_flag=True, help="Print the matches as JSON.")
@click.pass_context
def match(
    ctx: click.Context,
    source: str,
    folder: Path | None,
    title: str,
    site: str,
    lang: str,
    as_json: bool,
) -> None:
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
        document = Document(
            title=title or page.title or "",
            text=page.read_text,
            site=site or url or "",
            lang=lang or page.language or "",
        )
    else:
        text = body.decode("utf-8", "replace")
        document = Document(title=title, text=text, site=site or url or "", lang=lang)
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
        click.echo(_describe(m))


def _describe(m: Match) -> str:
    """A match as a person reads it: rule, score, each term hit with field and positions."""
    lines = [f"{m.watchlist}  score {m.score:g}  rule: {m.query}"]
    places: dict[str, list[str]] = {}
    for hit in m.hits:
        places.setdefault(hit.term, []).append(f"{hit.field}@{hit.position}")
    lines.append("  terms: " + "; ".join(f"{t} ({', '.join(p)})" for t, p in places.items()))
    lines += [f"  {snippet}" for snippet in m.snippets]
    return "\n".join(lines)


# -- watchlists ------------------------------------------------------------------------------


@cli.group("watchlists")
def watchlists_group() -> None:
    """List, check, build and test the watchlist files."""


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


@watchlists_group.command("build")
@click.argument("corpus", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the draft watchlist (TOML).",
)
@click.option("--name", help="Watchlist name (default: from the output file name).")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def watchlists_build(corpus: Path, output: Path, name: str | None, force: bool) -> None:
    """Draft a watchlist from a folder of articles (.txt, .html) as commented TOML."""
    if output.exists() and not force:
        raise InputError(f"{output} already exists", hint="use --force to overwrite it")
    draft = build_watchlist(corpus, name=name or slug(output.stem))
    output.write_text(render_draft(draft), encoding="utf-8")
    load_file(output)  # a draft that does not load would be no draft at all
    click.echo(
        f"wrote {output}: {len(draft.groups)} term groups; query {draft.query!r} matches "
        f"{draft.covered} of {len(draft.articles)} articles. Edit it, then "
        f"`monitor watchlists test` it."
    )


@watchlists_group.command("test")
@click.argument("name")
@click.option("--since", default="30d", show_default=True, help="Replay articles this recent.")
@click.option(
    "--cases",
    "cases_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Labelled cases (TOML [[cases]] or JSON Lines) instead of stored articles.",
)
@click.option(
    "--watchlists",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of watchlists (default: the configured ones).",
)
@click.pass_context
def watchlists_test(
    ctx: click.Context, name: str, since: str, cases_path: Path | None, folder: Path | None
) -> None:
    """Try watchlist NAME (or a .toml file) on stored articles or on labelled cases."""
    watchlist = _find_watchlist(ctx, name, folder)
    if cases_path is not None:
        _print_cases(run_cases(watchlist, load_cases(cases_path)))
        return
    seconds = parse_duration(since, where="--since")
    with _app(ctx) as app:
        stored = articles.articles_since(app.db, clock.iso_now(-seconds))
        documents = (
            (
                f"[{row['id']}] {row['title'] or row['url'] or '(untitled)'}",
                Document(
                    title=row["title"] or "",
                    text=read_text(row["summary"], row["text"] or ""),
                    site=row["canonical_url"] or row["url"] or "",
                    lang=row["language"] or "",
                ),
            )
            for row in stored
        )
        report = replay(watchlist, documents)
    _print_replay(report, since)


def _find_watchlist(ctx: click.Context, name: str, folder: Path | None) -> Watchlist:
    if name.endswith(".toml") or Path(name).is_file():
        return load_file(name)
    loaded = load_dir(folder or _settings(ctx).watchlists)
    for watchlist in loaded.watchlists:
        if watchlist.name == name:
            return watchlist
    known = ", ".join(w.name for w in loaded.watchlists) or "none loaded"
    raise InputError(f"no watchlist named {name!r} (watchlists: {known})")


def _print_replay(report: ReplayReport, since: str) -> None:
    click.echo(
        f"{report.watchlist}: {report.matched} of {report.articles} articles stored in the "
        f"last {since} would have matched"
    )
    if report.terms:
        ranked = sorted(report.terms.items(), key=lambda item: (-item[1], item[0]))
        click.echo("terms (matched articles): " + ", ".join(f"{t} ({n})" for t, n in ranked))
    for label, m in report.samples:
        click.echo(f"{label}  score {m.score:g}")
        for snippet in m.snippets:
            click.echo(f"    {snippet}")


def _print_cases(report: CaseReport) -> None:
    click.echo(
        f"{report.watchlist}: {report.cases} cases; precision {report.precision:.2f}, "
        f"recall {report.recall:.2f} ({report.true_positives} matched as expected, "
        f"{report.false_positives} false alarms, {report.false_negatives} missed, "
        f"{report.true_negatives} rightly ignored)"
    )
    for case, m in report.wrong:
        if m is None:
            click.echo(f"missed: {case.label}")
        else:
            click.echo(f"false alarm: {case.label}: {', '.join(m.terms)}")


# -- alerts ----------------------------------------------------------------------------------


@cli.group("alerts")
def alerts_group() -> None:
    """Inspect and retry the alert outbox."""


@alerts_group.command("list")
@click.option("--status", type=click.Choice(outbox.STATUSES), help="Only rows in this state.")
@click.option("--limit", default=50, show_default=True)
@click.pass_context
def alerts_list(ctx: click.Context, status: str | None, limit: int) -> None:
    """List alerts: pending, sent and dead, with attempts and the reason of the last failure."""
    with _app(ctx) as app:
        rows = outbox.list_rows(app.db, status=status, limit=limit)
        counts = outbox.counts(app.db)
    click.echo(", ".join(f"{n} {s}" for s, n in counts.items()))
    for row in rows:
        # Titles, watchlists, keys and errors may carry a feed's control characters (terminal
        # escapes, CR/LF): each line is made safe, so a feed cannot forge or hide rows.
        title = one_line(row.payload.get("title", row.kind))
        click.echo(f"[{row.id}] {row.status:<7} {one_line(row.channel):<8} {title}")
        click.echo(f"    {one_line(_row_state(row))}")


def _row_state(row: outbox.OutboxRow) -> str:
    """One plain line: where the row stands, and why."""
    where = f"{row.payload.get('watchlist', row.kind)} · key {row.dedup_key}"
    tries = f"{row.attempts} attempt{'s' if row.attempts != 1 else ''}"
    if row.status == "sent":
        state = f"sent at {row.sent_at} ({tries})"
    elif row.status == "dead":
        state = f"dead after {tries}: {row.last_error}"
    elif row.last_error:
        state = f"retry at {row.next_attempt_at} ({tries}; last error: {row.last_error})"
    else:
        state = f"due at {row.next_attempt_at}"
    if row.recipients and row.status != "sent":
        state += f"; still owed to {', '.join(row.recipients)}"
    return f"{where} · {state}"


@alerts_group.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option(
    "--pending", "include_pending", is_flag=True, help="Also send now alerts waiting for a retry."
)
@click.pass_context
def alerts_retry(ctx: click.Context, ids: tuple[int, ...], include_pending: bool) -> None:
    """Requeue dead alerts (all, or those IDS) and deliver every due alert now."""
    with _app(ctx) as app:
        requeued = outbox.requeue(app.db, ids=list(ids))
        if include_pending:
            requeued += outbox.requeue(app.db, status="pending", ids=list(ids))
        report = asyncio.run(app.relay.deliver_due(flush=True))
    click.echo(
        f"requeued {requeued}; sent {report.sent}, to retry {report.retrying}, dead {report.dead}"
    )


TEST_PAYLOAD: dict[str, Any] = {
    "watchlist": "test",
    "severity": "test",
    "title": "news-monitor test alert",
    "site": "news-monitor",
    "terms": ["test"],
    "snippets": ["If you can read this, the **test** alert reached the channel."],
}


@alerts_group.command("test")
@click.argument("channel")
@click.pass_context
def alerts_test(ctx: click.Context, channel: str) -> None:
    """Send a test alert to CHANNEL and report the result plainly."""
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
            payload=dict(TEST_PAYLOAD),
            status="pending",
            attempts=0,
            created_at="",
            next_attempt_at="",
            sent_at=None,
            last_error=None,
        )
        try:
            asyncio.run(target.send(row))
        except DeliveryError as exc:
            exc.hint = (
                "retrying cannot help: check the channel's settings (address, URL, credentials)"
                if exc.permanent
                else "the far end failed for now (down, busy or slow); real alerts are retried"
            )
            raise
    click.echo(f"test alert sent to {channel}: accepted")


# -- digest ----------------------------------------------------------------------------------


@cli.command()
@click.option("--since", help="The last span of time, e.g. 7d, 24h, 2w (default: 7d).")
@click.option("--week", help="An ISO week, e.g. 2026-W47 (in the digest's time zone).")
@click.option(
    "--watchlist",
    "watchlist_names",
    multiple=True,
    metavar="NAME",
    help="Only this watchlist (repeatable).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="Output format (default: digest.format in the config, else text).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to FILE (HTML embeds its charts; Markdown writes them beside it).",
)
@click.option(
    "--send", multiple=True, metavar="CHANNEL", help="Send to a configured channel (repeatable)."
)
@click.pass_context
def digest(
    ctx: click.Context,
    since: str | None,
    week: str | None,
    watchlist_names: tuple[str, ...],
    fmt: str | None,
    output: Path | None,
    send: tuple[str, ...],
) -> None:
    """Summarise what matched: stories per watchlist, ranked, with trends and feed health."""
    with _app(ctx) as app:
        request = DigestRequest(
            since=since,
            week=week,
            watchlists=watchlist_names,
            format=fmt or app.settings.digest.format,
            output=output,
            send=send,
        )
        result = run_digest(app, request)
    if result.text is not None:
        click.echo(result.text, nl=False)
    for path in result.written:
        click.echo(f"wrote {path}", err=True)
    for name in result.sent:
        click.echo(f"digest sent to {name}", err=True)


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
