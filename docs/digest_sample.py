"""Regenerate docs/digest-sample.png: the HTML digest of a sample week, as Chromium shows it.

The sample database is the one the tests use (tests/digest_week.py: week 2026-W47, three
watchlists, one of them quiet, a failing and a silent feed, two dead-lettered alerts).
Needs Debian's ``chromium``. Run from the repository root::

    .venv/bin/python docs/digest_sample.py
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, ImageChops

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

import digest_week as week  # noqa: E402
from chromium import find_chromium, screenshot  # noqa: E402

from monitor.digest import WatchlistInfo, build_digest, parse_week  # noqa: E402
from monitor.digest.deliver import write_file  # noqa: E402

OUT = REPO / "docs" / "digest-sample.png"
WIDTH, TALL = 800, 4000


def main() -> None:
    browser = find_chromium()
    if browser is None:
        sys.exit("chromium is not installed: apt-get install -y --no-install-recommends chromium")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        db = week.fill(work / "sample.db")
        known = [WatchlistInfo(n, d) for n, (d, _) in week.WATCHLISTS.items()]
        now = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
        digest = build_digest(db, parse_week(week.WEEK, UTC), known, now=now)
        page = work / "digest.html"
        write_file(digest, "html", page)
        shot = work / "digest.png"
        screenshot(browser, page, shot, width=WIDTH, height=TALL)
        image = Image.open(shot).convert("RGB")
    background = Image.new("RGB", image.size, image.getpixel((0, TALL - 1)))
    box = ImageChops.difference(image, background).getbbox()
    bottom = min(TALL, (box[3] if box else TALL) + 16)
    image.crop((0, 0, WIDTH, bottom)).save(OUT, optimize=True)
    print(f"wrote {OUT.relative_to(REPO)} ({WIDTH}x{bottom})")


if __name__ == "__main__":
    main()
