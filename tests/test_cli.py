"""The command line: every command documented and working, errors as one line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import SEED_TITLES, FeedSite, monitor, seed_body

from monitor.cli import cli

README = Path(__file__).parents[1] / "README.md"
SEED_PAGE = Path(__file__).parent / "fixtures" / "seeds" / "001.html"


def commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in group.commands.items():
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from commands(command, path)
        else:
            yield path


ALL = sorted(commands(cli))


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for path in ALL:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        command = cli
        for part in path:
            command = command.commands[part]  # type: ignore[attr-defined]
        assert command.help, f"{' '.join(path)} has no help text"


def test_readme_mentions_every_command() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [" ".join(path) for path in ALL if f"monitor {' '.join(path)}" not in text]
    assert missing == []


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text('database = "m.db"\n[fetch]\nallow_private_networks = true\n')
    return path


def run(config: Path, *args: str) -> click.testing.Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def test_init_writes_example_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "monitor.toml"
    result = CliRunner().invoke(cli, ["init", str(target)])
    assert result.exit_code == 0 and target.read_text().startswith("# news-monitor configuration")
    again = CliRunner().invoke(cli, ["init", str(target)])
    assert again.exit_code == 2
    assert f"error: {target} already exists" in again.output


def test_feeds_add_list_status_remove(config: Path) -> None:
    assert (
        "added: [1] https://example.org/feed.xml"
        in run(config, "feeds", "add", "--no-discover", "https://example.org/feed.xml").output
    )
    assert (
        "already present"
        in run(config, "feeds", "add", "--no-discover", "https://example.org/feed.xml").output
    )
    assert "https://example.org/feed.xml  never polled" in run(config, "feeds", "list").output
    assert "example.org/feed.xml" in run(config, "feeds", "status").output
    bad = run(config, "feeds", "add", "example.org/feed")
    assert bad.exit_code == 2 and "is not an http(s) URL" in bad.output
    assert "removed: [1]" in run(config, "feeds", "remove", "1").output
    missing = run(config, "feeds", "remove", "https://nowhere.example/feed")
    assert missing.exit_code == 1 and "error: no feed" in missing.output


def test_defaults_seed_the_default_feeds_once(tmp_path: Path) -> None:
    first = monitor("feeds", "list", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "data" / "monitor.db").exists()
    assert "themoscowtimes.com" in first.stdout
    removed = monitor("feeds", "remove", "1", cwd=tmp_path)
    assert removed.returncode == 0
    after = monitor("feeds", "list", cwd=tmp_path)
    assert after.stdout.count("\n") == first.stdout.count("\n") - 1  # not re-seeded


def test_extract_json(config: Path) -> None:
    result = run(config, "extract", str(SEED_PAGE), "--json")
    data = json.loads(result.output)
    assert data["title"] == SEED_TITLES["001"]
    assert data["language"] == "en"
    assert seed_body("001")[0] in data["text"]
    assert set(data) >= {"title", "author", "published", "site", "language", "text"}


def test_extract_of_a_missing_file_is_one_line(config: Path) -> None:
    result = run(config, "extract", "/no/such/page.html")
    assert result.exit_code == 2
    assert (
        result.output.strip().splitlines()[0]
        == "error: /no/such/page.html: cannot read: No such file or directory"
    )


def test_match_text_from_stdin_and_html_as_json(config: Path) -> None:
    plain = CliRunner().invoke(
        cli,
        ["--config", str(config), "match", "-"],
        input="Baku and Moscow traded blame after two Azerbaijanis died in custody in Yekaterinburg.",
    )
    assert plain.exit_code == 0
    assert plain.output.startswith("russia-azerbaijan-rift  score")
    assert "**Yekaterinburg**" in plain.output
    none = CliRunner().invoke(
        cli, ["--config", str(config), "match", "-"], input="Weather is fine."
    )
    assert none.output.startswith("no match")
    result = run(config, "match", str(SEED_PAGE), "--json")
    by_name = {m["watchlist"]: m for m in json.loads(result.output)}
    found = by_name["russia-azerbaijan-rift"]
    assert {"rule", "score", "terms", "hits", "snippets"} <= set(found)
    assert all({"term", "field", "position", "span"} <= set(hit) for hit in found["hits"])


def test_search_alerts_and_channel_test(site: FeedSite, tmp_path: Path) -> None:
    site.serve_seeds(("003",))
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'database = "m.db"\n[fetch]\nallow_private_networks = true\n[[feeds]]\nurl = "{site.feed_url}"\n'
    )
    assert run(config, "fetch").exit_code == 0
    found = run(config, "search", "Yekaterinburg")
    assert SEED_TITLES["003"] in found.output and "[Yekaterinburg]" in found.output
    assert "no articles found" in run(config, "search", "Vladivostok").output
    bad = run(config, "search", '"unclosed')
    assert bad.exit_code == 1 and bad.output.startswith("error: search query")
    listing = run(config, "alerts", "list")
    assert listing.output.startswith("0 pending, 1 sent, 0 dead")
    assert "sent    console" in listing.output
    tested = run(config, "alerts", "test", "console")
    assert (
        "news-monitor test alert" in tested.output and "test alert sent to console" in tested.output
    )
    unknown = run(config, "alerts", "test", "pager")
    assert unknown.exit_code == 2 and "channel 'pager' is not configured" in unknown.output
    assert "requeued 0; sent 0" in run(config, "alerts", "retry").output


def test_watchlists_list_and_check(config: Path) -> None:
    assert "russia-azerbaijan-rift  [immediate" in run(config, "watchlists", "list").output
    check = run(config, "watchlists", "check")
    assert check.exit_code == 0 and check.output.startswith("4 ok, 0 with errors")
