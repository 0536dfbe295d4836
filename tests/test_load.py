"""A small bench.load run against the session's demo: no errors, bounded memory growth.

200 requests to /predict from 8 concurrent gradio_client clients, once with a different file per
request and once with all clients sending the very same new file at the same moment. Every
answer must be the digit drawn in the file. Each run is also bounded in time (the machine is
shared): if the limit cuts a run short, the requests made must still all be right.
"""

from __future__ import annotations

import os

import pytest

from bench.load import load, report

pytestmark = pytest.mark.slow

REQUESTS = int(os.environ.get("LOAD_REQUESTS", "200"))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "8"))
MAX_SECONDS = float(os.environ.get("LOAD_MAX_SECONDS", "150"))
MAX_RSS_GROWTH_MB = 100.0  # per run; a leak of ~0.5 MB a request would show


def test_concurrent_clients(demo_server) -> None:
    runs = load(demo_server.url, requests=REQUESTS, clients=CLIENTS, max_seconds=MAX_SECONDS,
                pid=demo_server.process.pid)
    print("\n" + report(runs))
    assert demo_server.process.poll() is None, "the server died under load"
    for run in runs:
        assert not run.errors, f"{run.name}: {len(run.errors)} errors, e.g. {run.errors[:3]}"
        assert run.done >= min(run.planned, 2 * CLIENTS), f"{run.name}: only {run.done} requests in time"
        assert run.rss_before_mb is not None and run.rss_after_mb is not None
        growth = run.rss_after_mb - run.rss_before_mb
        assert growth < MAX_RSS_GROWTH_MB, f"{run.name}: server RSS grew {growth:.0f} MB"
