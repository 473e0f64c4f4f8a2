"""The `lots` check's SQL: the open lots of each stored computation of the books vs Kraken's balances.

For every stored computation (`kraken.book_run`) that includes the account, at each month end of its
history and at the check's moment: the quantity in open lots per asset (`reporting.lots_at`) vs Kraken's own
running balance (the `balance` of each chain's last entry up to the cut-off, summed over the entity's
accounts and wallets, asset without its wallet suffix). The reporting currency and fee credits carry no
lots and are left out. Only the earliest cut-off at which an asset differs is returned per computation and
asset, with the ledger ids of the chains' last entries there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

_DIFFERENCES = """
WITH runs AS (
    SELECT r.entity, r.method, r.currency, r.accounts FROM kraken.book_run r WHERE :account = ANY(r.accounts)
), cutoffs AS (
    SELECT r.*, c.cut FROM runs r CROSS JOIN LATERAL (
        SELECT generate_series(date_trunc('month', min(l.time)) + interval '1 month', CAST(:as_of AS timestamptz),
                               interval '1 month') AS cut
        FROM kraken.ledger_entry l WHERE l.account = ANY(r.accounts)
        UNION SELECT CAST(:as_of AS timestamptz)) c
    WHERE c.cut IS NOT NULL
), kraken_side AS (
    SELECT c.entity, c.method, c.currency, c.cut,
           kraken.book_asset(x.asset) AS asset,
           sum(x.balance) AS balance, array_agg(x.ledger_id ORDER BY x.ledger_id) AS ids
    FROM cutoffs c CROSS JOIN LATERAL (
        SELECT DISTINCT ON (l.account, l.asset, coalesce(l.wallet_resolved, l.wallet, ''))
               l.asset, l.balance, l.ledger_id
        FROM kraken.ledger_entry l
        WHERE l.account = ANY(c.accounts) AND l.time <= c.cut
        ORDER BY l.account, l.asset, coalesce(l.wallet_resolved, l.wallet, ''), l.time DESC, l.ledger_id DESC
    ) x
    GROUP BY 1, 2, 3, 4, 5
), lots_side AS (
    SELECT c.entity, c.method, c.currency, c.cut, h.asset, h.quantity
    FROM cutoffs c CROSS JOIN LATERAL reporting.lots_at(c.cut, c.entity, c.method, c.currency) h
), compared AS (
    SELECT coalesce(k.entity, l.entity) AS entity, coalesce(k.method, l.method) AS method,
           coalesce(k.currency, l.currency) AS currency, coalesce(k.cut, l.cut) AS cut,
           coalesce(k.asset, l.asset) AS asset, coalesce(k.balance, 0) AS expected,
           coalesce(l.quantity, 0) AS actual, coalesce(k.ids, '{}') AS ids
    FROM kraken_side k FULL JOIN lots_side l
      ON l.entity = k.entity AND l.method = k.method AND l.currency = k.currency AND l.cut = k.cut
     AND l.asset = k.asset
)
SELECT DISTINCT ON (entity, method, currency, asset) *
FROM compared
WHERE asset <> currency AND asset <> 'KFEE' AND expected <> actual
ORDER BY entity, method, currency, asset, cut
"""

_EXAMINED = """
SELECT count(*) FROM kraken.book_holding h JOIN kraken.book_run r USING (entity, method, currency)
WHERE :account = ANY(r.accounts)
"""

_SHORTFALLS = """
SELECT f.entity, f.method, f.currency, f.asset, f.at, f.entries, f.detail
FROM kraken.book_finding f JOIN kraken.book_run r USING (entity, method, currency)
WHERE :account = ANY(r.accounts) AND f.kind = 'shortfall' AND f.at <= :as_of
ORDER BY f.entity, f.method, f.currency, f.seq
"""


def lot_differences(conn: Connection, account: str, as_of: datetime) -> list[Any]:
    return list(conn.execute(text(_DIFFERENCES), {"account": account, "as_of": as_of}))


def lot_shortfalls(conn: Connection, account: str, as_of: datetime) -> list[Any]:
    return list(conn.execute(text(_SHORTFALLS), {"account": account, "as_of": as_of}))


def holdings_examined(conn: Connection, account: str) -> int:
    return int(conn.execute(text(_EXAMINED), {"account": account}).scalar_one())
