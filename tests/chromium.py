"""Headless Chromium as a renderer: an HTML file to a PNG screenshot.

Debian's ``chromium`` (``.ci/run`` installs it). ``--no-sandbox`` because CI runs as root;
the page is one the test generated itself."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

INSTALL = "apt-get install -y --no-install-recommends chromium"


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The browser, or: fail under CI (it must be there), skip elsewhere saying how to get it."""
    found = find_chromium()
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"chromium is not installed, and CI must render the digest: {INSTALL}")
    pytest.skip(f"chromium is not installed; to run this test: {INSTALL}")


def screenshot(browser: str, page: Path, png: Path, *, width: int, height: int) -> None:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={png.parent / 'chromium-profile'}",
        f"--window-size={width},{height}",
        f"--screenshot={png}",
        page.resolve().as_uri(),
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert png.is_file(), (
        f"chromium wrote no screenshot (exit {result.returncode}): {result.stderr[-2000:]}"
    )
