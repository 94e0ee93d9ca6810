"""news-monitor: the pipeline (fetch, extract, match, store, alert) and its command line."""

__version__ = "0.1.0"
