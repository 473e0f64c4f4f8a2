"""Errors of the composition layer (under the project's root, `KrakenEtlError`)."""

from __future__ import annotations

from kraken_etl.core.errors import KrakenEtlError


class BackfillError(KrakenEtlError):
    """A backfill cannot go on (export stuck or failed at Kraken, …); the message says what to do."""


class ExportStuck(BackfillError):
    """An export did not finish within the polling timeout; it was cancelled at Kraken."""
