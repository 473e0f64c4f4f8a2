"""Prefect flows: thin composition over kraken_etl (scheduling, retries, logging; no business logic)."""
