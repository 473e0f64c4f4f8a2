"""A simulator on loopback for the third-party client suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kraken_etl.simulator import RunningSimulator, SimConfig, serve_in_thread


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    """A 2,000-entry account on 127.0.0.1; no call counter (these clients do not pace themselves)."""
    config = SimConfig(seed=13, ledger_entries=2_000, rate_limits=False,
                       export_queued_seconds=0.2, export_processing_seconds=0.3)
    with serve_in_thread(config) as running:
        yield running
