"""Reads for the double-entry journal: its entries (`reporting.journal_entry`), opening balances and prices.

Entries stream in transaction order, one row each (a server-side cursor: a 1,000,000-entry account is never
held in memory); the books ring expands them into postings. Opening balances as of a period's start come
from `reporting.balances_at` (Kraken's opening of each chain plus the movements before the start); a chain
whose stored history starts inside the exported range with a non-zero `reporting.opening_balance` (a
partial history) opens with it on its first entry's day.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text

__all__ = ["Engine", "accounts_with_entries", "book_fee_rule", "book_runs", "entry_counts", "journal_entries",
           "lot_pools", "opening_balances", "prices", "stored_disposals"]

_TICK = timedelta(microseconds=1)
_FAR_PAST = datetime.fromisoformat("0001-01-02T00:00:00+00:00")
_FAR_FUTURE = datetime.fromisoformat("9999-12-30T00:00:00+00:00")

# psycopg's own parameters: this one query streams through a server-side cursor without SQLAlchemy's per-row work.
# One row per ledger entry (`reporting.journal_entry`), its postings' amounts worked out here so they are the
# database's exact numerics: the asset posting's (amount - fee), the fee posting's (NULL when the entry has
# none), the counter posting's (NULL when it has none), and their values. The order is the view's own (its
# entries come sorted that way, text in byte order): the plan finds them in order and does not sort them again.
_ENTRIES = """
SELECT e.account, e.txn_id, e.txn_time, e.refid, e.ledger_id, e.time, e.type, e.subtype, e.asset, e.wallet,
       e.asset_account, (e.amount - e.fee){t} AS net, (CASE WHEN e.fee_posted THEN e.fee END){t} AS fee,
       (CASE WHEN e.counter_posted THEN -e.amount END){t} AS counter, e.kraken_balance{t}, e.counter_role,
       e.counter_account, {values}
FROM reporting.journal_entry e {price}
WHERE {where}
ORDER BY e.txn_time, e.account COLLATE "C", e.txn_id COLLATE "C", e.time, e.ledger_id COLLATE "C"
"""
_VALUES = ("((e.amount - e.fee) * pr.price){t}, (CASE WHEN e.fee_posted THEN e.fee * pr.price END){t}, "
           "(CASE WHEN e.counter_posted THEN -e.amount * pr.price END){t}")
_NO_VALUES = "NULL::numeric{t}, NULL::numeric{t}, NULL::numeric{t}"
_START, _END, _ACCOUNTS = ("e.txn_time >= %(start)s", "e.txn_time < %(end)s", "e.account = ANY(%(accounts)s::text[])")
_PRICE_JOIN = "LEFT JOIN LATERAL reporting.price_at(e.asset_code, %(currency)s, e.time) pr ON true"


def accounts_with_entries(conn: Connection) -> list[str]:
    """Every account label with stored ledger entries."""
    return list(conn.execute(text("SELECT DISTINCT account FROM kraken.ledger_entry ORDER BY 1")).scalars())


def journal_entries(conn: Connection, *, accounts: Sequence[str] | None, start: datetime | None,
                    end: datetime | None, currency: str | None = None, numbers_as_text: bool = False,
                    batch: int = 20_000) -> Generator[tuple[Any, ...], None, None]:
    """The ledger entries of the transactions dated in [start, end), in journal order, as rows of
    `kraken_etl.books.journal.EntryRow` (expand them with `kraken_etl.books.journal.entry_postings`); the
    values priced in `currency` (`reporting.price_at` at the entry's time; None when no price is stored or
    no currency is asked). With `numbers_as_text`, the amounts, balance and values come as PostgreSQL's text
    of the numeric (exact, its own scale, never in exponent form) instead of Decimals.

    A thread reads the rows ahead (a few batches) while the caller works through the ones before: psycopg
    lets go of the GIL while it waits for the server, so the server's work and the caller's overlap. The
    connection is the reader's until the rows are exhausted or the iterator is closed."""
    cast = "::text" if numbers_as_text else ""
    # only the conditions asked: each is tested on every entry the view gives (after its windows)
    where = [c for c, given in ((_START, start), (_END, end), (_ACCOUNTS, accounts)) if given] or ["true"]
    sql = _ENTRIES.format(values=(_VALUES if currency else _NO_VALUES).format(t=cast),
                          price=_PRICE_JOIN if currency else "", t=cast, where=" AND ".join(where))
    params = {"start": start, "end": end, "accounts": list(accounts) if accounts else None, "currency": currency}
    conn.execute(text("SET LOCAL work_mem = '1GB'"))  # the view's windows and sorts stay in memory
    conn.execute(text("SET LOCAL enable_mergejoin = off"))  # entries to their chain by hash, not two sorts
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor(name="journal_entries") as cursor:
        cursor.execute(sql, params)
        yield from _read_ahead(lambda: cursor.fetchmany(batch))


def _read_ahead(fetch: Callable[[], list[Any]], depth: int = 4) -> Iterator[Any]:
    """The rows of `fetch()` batches until an empty one, fetched by a thread up to `depth` batches ahead."""
    batches: queue.Queue[list[Any] | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                rows = fetch()
                if not rows:
                    break
                batches.put(rows)
            batches.put(None)
        except BaseException as exc:  # handed to the consumer, raised there
            batches.put(exc)

    reader = threading.Thread(target=read, name="journal-entries", daemon=True)
    reader.start()
    try:
        while (item := batches.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield from item
    finally:
        stop.set()
        while reader.is_alive():  # the consumer stopped early: let the reader finish its batch and go
            try:
                batches.get(timeout=0.05)
            except queue.Empty:
                pass
        reader.join()


def opening_balances(conn: Connection, *, accounts: Sequence[str] | None, start: datetime | None,
                     end: datetime | None) -> list[tuple[Any, ...]]:
    """(day, account, asset account, asset, amount): what each asset account holds before the exported
    range: as of `start`, plus the opening balance of a partial history whose first entry falls in
    [start, end)."""
    params = {"accounts": list(accounts) if accounts else None, "start": start or _FAR_PAST,
              "end": end or _FAR_FUTURE}
    rows: list[tuple[Any, ...]] = []
    if start is not None:
        rows += [(start.date(), *r) for r in conn.execute(text("""
            SELECT b.account, reporting.journal_asset_account(b.account, b.wallet, b.asset), b.asset, b.balance
            FROM reporting.balances_at(:at) b
            WHERE b.balance <> 0 AND (CAST(:accounts AS text[]) IS NULL OR b.account = ANY(:accounts))
            ORDER BY 1, 2, 3"""), {**params, "at": start - _TICK})]
    rows += [(r[0].date(), *r[1:]) for r in conn.execute(text("""
        SELECT o.first_time AT TIME ZONE 'UTC', o.account,
               reporting.journal_asset_account(o.account, o.wallet, o.asset), o.asset, o.opening_balance
        FROM reporting.opening_balance o
        WHERE o.opening_balance <> 0 AND o.first_time >= :start AND o.first_time < :end
          AND (CAST(:accounts AS text[]) IS NULL OR o.account = ANY(:accounts))
        ORDER BY o.first_time, 2, 3, 4"""), params)]
    return rows


def prices(conn: Connection, *, start: datetime | None, end: datetime | None) -> Iterator[tuple[Any, ...]]:
    """(day, base, quote, close): per UTC day, base and quote, the close of the stored candle that ends
    last that day."""
    result = conn.execute(text("""
        SELECT day, base, quote, close FROM (
            SELECT DISTINCT ON (p.base, p.quote, (p.start AT TIME ZONE 'UTC')::date)
                   (p.start AT TIME ZONE 'UTC')::date AS day, p.base, p.quote, p.close
            FROM kraken.price p
            WHERE p.start >= :start AND p.start < :end
            ORDER BY p.base, p.quote, (p.start AT TIME ZONE 'UTC')::date,
                     p.start + make_interval(mins => p.interval::int) DESC, p.interval
        ) d ORDER BY day, base, quote"""), {"start": start or _FAR_PAST, "end": end or _FAR_FUTURE})
    for row in result:
        yield tuple(row)


def book_runs(conn: Connection, *, method: str, currency: str) -> list[tuple[Any, ...]]:
    """(entity, accounts, entries) of every stored cost-basis run for `method` and `currency`."""
    return [tuple(r) for r in conn.execute(text(
        "SELECT entity, accounts, entries FROM kraken.book_run WHERE method = :m AND currency = :c ORDER BY 1"),
        {"m": method, "c": currency})]


def entry_counts(conn: Connection, accounts: Sequence[str]) -> dict[str, int]:
    """The number of stored ledger entries per account."""
    return {a: n for a, n in conn.execute(text(
        "SELECT account, count(*) FROM kraken.ledger_entry WHERE account = ANY(:a) GROUP BY 1"),
        {"a": list(accounts)})}


def stored_disposals(conn: Connection, *, entities: Sequence[str], method: str,
                     currency: str) -> list[tuple[Any, ...]]:
    """(asset, disposed_at, gain, disposal_entries) of every stored disposal of `entities`' runs, in order."""
    return [tuple(r) for r in conn.execute(text(
        "SELECT asset, disposed_at, gain, disposal_entries FROM reporting.disposals "
        "WHERE entity = ANY(:e) AND method = :m AND currency = :c ORDER BY disposed_at, asset"),
        {"e": list(entities), "m": method, "c": currency})]


def book_fee_rule(conn: Connection, *, entity: str, method: str, currency: str) -> str:
    """The fee rule the stored books of (entity, method, currency) were computed with."""
    return str(conn.execute(text(
        "SELECT fee_rule FROM kraken.book_run WHERE entity = :e AND method = :m AND currency = :c"),
        {"e": entity, "m": method, "c": currency}).scalar_one())


def lot_pools(conn: Connection, accounts: Sequence[str]) -> list[tuple[Any, ...]]:
    """(account, journal asset, the books' asset, its pooled account) of every asset code of `accounts`: the
    books' asset is `kraken.book_asset` (wallet suffix dropped, ETH2 as ETH), the pooled account
    ``Assets:Kraken:<Account>:<books' asset>`` in the journal's naming."""
    return [tuple(r) for r in conn.execute(text("""
        SELECT DISTINCT c.account, reporting.normalize_asset(c.asset), kraken.book_asset(c.asset),
               'Assets:Kraken:' || reporting.journal_component(c.account) || ':'
               || reporting.journal_component(kraken.book_asset(c.asset))
        FROM (SELECT DISTINCT account, asset FROM kraken.ledger_entry WHERE account = ANY(:a)) c
        ORDER BY 1, 2"""), {"a": list(accounts)})]
