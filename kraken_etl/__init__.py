"""kraken-etl: a Kraken Spot account's complete financial history in PostgreSQL, kept current and proven right."""

__version__ = "0.1.0"
