"""The root of every error the project raises on purpose.

Kraken's error tree (`kraken_etl.kraken.errors`), settings errors, database set-up errors, backfill and
export errors and bad input files all derive from `KrakenEtlError`, so an entry point (the CLI, a flow)
catches one type and turns it into one line without a list of "expected" errors. Anything else that
escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


class KrakenEtlError(Exception):
    """An expected failure with a message fit for one line of output (never holds a secret)."""

    exit_code: int = 1  # what the CLI exits with; configuration problems say 2
