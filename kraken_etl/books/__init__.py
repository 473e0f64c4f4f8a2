"""Closing the books: the lot engine (pure: events in, lots, disposals and income out) and the treatments
that turn ledger entries into those events. Storage goes through `kraken_etl.db`; nothing here speaks SQL or
HTTP or reads the clock."""
