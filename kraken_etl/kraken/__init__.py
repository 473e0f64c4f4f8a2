"""The only ring that speaks HTTP to Kraken: signing, nonces, the call counter, typed errors, retries."""

from kraken_etl.kraken.client import ClientStats, KrakenClient, RetryPolicy
from kraken_etl.kraken.errors import (
    FatalKrakenError,
    KrakenError,
    PaginationDrift,
    RetryableKrakenError,
    is_retryable,
)

__all__ = [
    "ClientStats",
    "FatalKrakenError",
    "KrakenClient",
    "KrakenError",
    "PaginationDrift",
    "RetryPolicy",
    "RetryableKrakenError",
    "is_retryable",
]
