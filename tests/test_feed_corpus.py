"""Every document of feedparser's own test corpus, served by one local server with the HTTP
headers its comments name, polled as a feed in one cycle into one database: fetch, parse,
store and match must not crash on any of them, and every value stored must be text."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from sqlite_utils import Database
from werkzeug import Request, Response

from monitor.app import open_app
from monitor.config import load_settings
from monitor.cycle import run_cycle
from storage import feeds

CORPUS = Path(__file__).parent / "fixtures" / "feedparser"
FILES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.suffix in (".xml", ".json"))
HEADER = re.compile(r"^Header:\s*([^:\s]+):[ \t]*(.*?)\s*$", re.MULTILINE)
ENCODINGS = ("utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be")

TEXT_COLUMNS = {
    "articles": ("entry_key", "guid", "url", "canonical_url", "title", "author", "published",
                 "fetched_at", "language", "site", "text", "extraction_status",
                 "extraction_reason"),
    "feeds": ("url", "title", "site_url", "etag", "last_modified", "content_hash", "last_status",
              "last_error", "last_error_kind", "last_new_at"),
}  # fmt: skip


def headers_of(data: bytes) -> list[tuple[str, str]]:
    """The ``Header: Name: value`` lines of a test file's comment, in whatever encoding the
    file is written (several are UTF-16 or UTF-32)."""
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "Header:" in text:
            return HEADER.findall(text)
    return HEADER.findall(data.decode("latin-1"))


def serve_corpus(server: HTTPServer) -> dict[str, Path]:
    by_path = {"/fp/" + p.relative_to(CORPUS).as_posix(): p for p in FILES}

    def handler(request: Request) -> Response:
        data = by_path[request.path].read_bytes()
        response = Response(data)
        del response.headers["Content-Type"]  # only what the test file asks for
        for name, value in headers_of(data):
            response.headers[name] = value
        return response

    server.expect_request(re.compile("^/fp/")).respond_with_handler(handler)
    return by_path


def test_headers_are_read_from_the_comments() -> None:
    sample = CORPUS / "encoding" / "http_text_xml_charset.xml"
    assert headers_of(sample.read_bytes()) == [("Content-type", 'text/xml;charset= "us-ascii"')]
    assert sum(1 for p in FILES if headers_of(p.read_bytes())) >= 100


@pytest.mark.filterwarnings("ignore")
def test_every_corpus_feed_is_fetched_parsed_stored_and_matched(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    assert len(FILES) > 2000
    paths = serve_corpus(httpserver)
    (tmp_path / "watchlists").mkdir()
    (tmp_path / "watchlists" / "corpus.toml").write_text(
        'name = "corpus"\nquery = "example OR entry OR feed OR test"\n', encoding="utf-8"
    )
    config = tmp_path / "monitor.toml"
    config.write_text(
        'database = "m.db"\nwatchlists = "watchlists"\n'
        '[fetch]\nallowed_networks = ["127.0.0.1"]\nfetch_pages = false\nconcurrency = 20\n'
        "[channels.console]\n",
        encoding="utf-8",
    )
    app = open_app(load_settings(config), stream=open(tmp_path / "alerts.txt", "w"))  # noqa: SIM115
    try:
        with app.db.atomic():
            for path in paths:
                feeds.add_feed(app.db, httpserver.url_for(path))
        report = asyncio.run(run_cycle(app))
    finally:
        app.close()

    assert len(report.feeds) == len(FILES)
    crashes = [o.error for o in report.feeds if o.error and "internal error" in o.error]
    assert crashes == []
    entry_crashes = [o.warning for o in report.feeds if o.warning and "Error:" in o.warning]
    assert entry_crashes == []
    assert report.count("new") > 1000
    db = Database(tmp_path / "m.db")
    assert db["articles"].count > 1000
    assert db["matches"].count > 100  # the matcher ran over what was stored
    for table, columns in TEXT_COLUMNS.items():
        for column in columns:
            kinds = {row[0] for row in db.execute(f"SELECT DISTINCT typeof({column}) FROM {table}")}
            assert kinds <= {"text", "null"}, (table, column, kinds)
    failed = {o.error.split(": ", 1)[1] for o in report.feeds if o.error}
    assert all(reason.startswith(("not a feed", "HTTP")) for reason in failed), failed
