"""The HTML digest rendered by a real browser (headless Chromium) to a PNG: the page shows,
at the width mail clients give it, with its header, its text and its charts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import digest_week as week
from chromium import require_chromium, screenshot
from PIL import Image

from monitor.digest import WatchlistInfo, build_digest, parse_week
from monitor.digest.deliver import write_file

WIDTH, HEIGHT = 800, 1600
BACKGROUND = (0xF3, 0xF4, 0xF6)
HEADER = (0x1E, 0x3A, 0x5F)
BAR = (0x2B, 0x6C, 0xB0)


def test_html_digest_renders_in_chromium(tmp_path: Path) -> None:
    browser = require_chromium()
    db = week.fill(tmp_path / "digest.db")
    known = [WatchlistInfo(n, d) for n, (d, _) in week.WATCHLISTS.items()]
    digest = build_digest(
        db, parse_week(week.WEEK, UTC), known, now=datetime(2026, 11, 23, 7, tzinfo=UTC)
    )
    page = tmp_path / "digest.html"
    write_file(digest, "html", page)
    png = tmp_path / "digest.png"
    screenshot(browser, page, png, width=WIDTH, height=HEIGHT)

    image = Image.open(png).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    colours = image.getcolors(maxcolors=WIDTH * HEIGHT)
    assert colours is not None
    counts = {rgb: n for n, rgb in colours}
    # not blank: text is drawn (anti-aliasing makes many shades) over most of the page
    assert len(counts) > 100
    assert counts.get(BACKGROUND, 0) < WIDTH * HEIGHT * 0.5
    # the 640-pixel column is centred on the grey page, its header band on top
    assert image.getpixel((400, 40)) == HEADER
    assert image.getpixel((40, 40)) == BACKGROUND
    assert image.getpixel((WIDTH - 40, 40)) == BACKGROUND
    # the charts (data: URIs) were decoded and drawn: their bars are on the page
    assert counts.get(BAR, 0) > 2000
