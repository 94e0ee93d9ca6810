"""The weekly digest: what happened on each watchlist, ranked by story, with trends.

build.py / model.py   the digest of a period, from the database, as plain data
period.py             ISO weeks and "the last 7 days", in the digest's time zone
charts.py             matches per day as a small PNG (matplotlib, Agg)
render.py, templates  text, Markdown and HTML from the same model
deliver.py            to a file, standard output, email, Slack or the console
schedule.py, job.py   the daemon's once-per-ISO-week job
"""

from __future__ import annotations

from .build import make_digest, zone_of
from .model import Digest, Story, Trend, WatchlistDigest, WatchlistInfo, build_digest
from .period import Period, parse_week, since_period
from .render import FORMATS, render

__all__ = [
    "FORMATS",
    "Digest",
    "Period",
    "Story",
    "Trend",
    "WatchlistDigest",
    "WatchlistInfo",
    "build_digest",
    "make_digest",
    "parse_week",
    "render",
    "since_period",
    "zone_of",
]
