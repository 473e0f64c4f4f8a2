"""Closing the books: the double-entry journal's postings and its renderers (Beancount, Ledger/hledger, CSV).

Pure: records in, text out; storage through `kraken_etl.db`, composition in `kraken_etl.jobs`.
"""
