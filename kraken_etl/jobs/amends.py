"""Order amends: the OrderAmends trail of every amended order not stored yet (or changed since).

Trails are stored with the order's `amends_synced_at` marker, 50 orders per transaction, so an interrupted
run resumes where it stopped. The run's `sync_run` row is written by the first of those transactions and
brought up to date by each later one, so whatever a crash leaves committed is logged (rows never exist
without their run).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kraken_etl.core.records import Rejected
from kraken_etl.core.results import JobResult, RunKind
from kraken_etl.db.load import upsert_records
from kraken_etl.db.quarantine import quarantine
from kraken_etl.db.runs import Engine, insert_run, update_run
from kraken_etl.db.state import mark_amends_synced, orders_needing_amends
from kraken_etl.jobs.events import Event, Progress, quiet_progress
from kraken_etl.jobs.runlog import RunTimer, log_failure
from kraken_etl.jobs.streams import ORDER_AMENDS
from kraken_etl.jobs.validation import validate_batch
from kraken_etl.jobs.window import parse_all
from kraken_etl.kraken.client import KrakenClient
from kraken_etl.kraken.errors import MalformedResponse

AMENDS_PER_TRANSACTION = 50


def sync_order_amends(
    *, client: KrakenClient, engine: Engine, account: str, progress: Progress = quiet_progress,
    kind: RunKind = "incremental",
) -> JobResult:
    """Fetch and store the trails of amended orders whose trail is missing or stale.

    Raises:
        KrakenError: from the client; MalformedResponse when an answer lacks the `amends` list.
    """
    spec = ORDER_AMENDS
    timer = RunTimer.start(client.clock, client)
    result = JobResult(account, spec.name, kind, name=f"{spec.name} REST")
    with engine.connect() as conn:
        orders = orders_needing_amends(conn, account)
    try:
        for offset in range(0, len(orders), AMENDS_PER_TRANSACTION):
            chunk = orders[offset: offset + AMENDS_PER_TRANSACTION]
            records: list[Any] = []
            rejected: list[Rejected] = []
            for txid in chunk:
                answer = client.private(spec.call, {"order_id": txid})
                trail = answer.get(spec.result_key) if isinstance(answer, Mapping) else None
                if not isinstance(trail, list):
                    raise MalformedResponse("EClient:Malformed response", "amends is not a list",
                                            method=spec.method)
                parsed, bad = parse_all(spec, {str(i): item for i, item in enumerate(trail)}, parent=txid)
                records += parsed
                rejected += bad
                result.fetched += len(trail)
            batch = validate_batch(spec, records)
            rejected += batch.rejected
            with engine.begin() as conn:
                run_id = result.run_id if result.run_id is not None else insert_run(conn, timer.finish(result))
                counts = upsert_records(conn, account, spec.target, batch.valid, "rest")
                quarantine(conn, account, spec.name, "rest", rejected, run_id)
                mark_amends_synced(conn, account, chunk)
                # the counts as they stand once this chunk commits (kept only if it does)
                after = replace(result, run_id=run_id, pages=result.pages + len(chunk),
                                inserted=result.inserted + counts.inserted, updated=result.updated + counts.updated,
                                loaded=result.loaded + len(batch.valid),
                                quarantined=result.quarantined + len(rejected))
                update_run(conn, run_id, timer.finish(after))
            result = after
            progress(Event("fetch", f"{spec.name}: {offset + len(chunk)} of {len(orders)} orders", spec.name,
                           done=offset + len(chunk), total=len(orders)))
        if result.run_id is None:  # nothing to fetch: still log that the stream ran
            with engine.begin() as conn:
                result.run_id = insert_run(conn, timer.finish(result))
    except Exception as exc:
        log_failure(engine, timer, result, exc)
        raise
    return result
