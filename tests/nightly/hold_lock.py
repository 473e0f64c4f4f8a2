"""A separate process that takes an account's lock and holds it until killed (the lock tests' holder).

    python -m tests.nightly.hold_lock DATABASE_URL LABEL

Prints ``held`` once the lock is taken, then blocks on stdin.
"""

from __future__ import annotations

import sys

from kraken_etl.db.engine import make_engine
from kraken_etl.db.locks import account_lock


def main(url: str, label: str) -> None:
    engine = make_engine(url)
    with account_lock(engine, label, purpose="holder"):
        print("held", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
