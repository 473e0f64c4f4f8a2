"""Closing the books: the lot engine (pure: events in, lots, disposals and income out), the treatments that
turn ledger entries into those events, and the double-entry journal's postings and renderers (Beancount,
Ledger/hledger, CSV). Storage goes through `kraken_etl.db`, composition through `kraken_etl.jobs`; nothing
here speaks SQL or HTTP or reads the clock."""
