"""TEST SEAM (not product code): run one export backfill and SIGKILL this process at a named step.

Usage: ``python -m tests.exports.crashing_backfill <rest_url> <account> <start> <end> <home> [kill_at]``
with DATABASE_URL and SIM_KEY / SIM_SECRET in the environment. `kill_at` is ``poll`` (first ExportStatus
that is not yet Processed), ``download`` (after the first chunk is on disk) or ``load`` (after the first
batch is upserted, before the transaction commits). The kill comes from the progress callback that
`kraken_etl.jobs.backfill` already reports to the CLI, so the product has no test hook in it.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime
from pathlib import Path

from pydantic import SecretStr

from kraken_etl.core.callcounter import TIERS
from kraken_etl.core.clock import SystemClock
from kraken_etl.db.engine import make_engine
from kraken_etl.jobs.backfill import BackfillRequest, backfill
from kraken_etl.jobs.events import Event
from kraken_etl.jobs.exportcycle import ExportPolicy
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.nonce import MemoryNonceSource
from kraken_etl.kraken.ratelimit import SharedCounter


def main() -> None:
    rest_url, account, start, end, home = sys.argv[1:6]
    kill_at = sys.argv[6] if len(sys.argv) > 6 else ""

    def progress(event: Event) -> None:
        if event.kind == kill_at and (kill_at != "download" or event.done > 0):
            os.kill(os.getpid(), signal.SIGKILL)

    clock = SystemClock()
    tier = TIERS["pro"]
    client = KrakenClient(rest_url, api_key=SecretStr(os.environ["SIM_KEY"]),
                          api_secret=SecretStr(os.environ["SIM_SECRET"]), tier=tier, clock=clock,
                          nonce=MemoryNonceSource(clock), counter=SharedCounter(tier))
    engine = make_engine(os.environ["DATABASE_URL"])
    request = BackfillRequest(account, datetime.fromisoformat(start), datetime.fromisoformat(end),
                              ("ledgers",), "export", chunk=None)
    policy = ExportPolicy(poll_initial=0.05, poll_max=0.2, timeout=60.0)
    results = backfill(request, engine=engine, client=client, clock=clock, home=Path(home), policy=policy,
                       progress=progress)
    print(sum(r.loaded for r in results))


if __name__ == "__main__":
    main()
