"""The balance chain in SQL: per (account, asset, wallet), balance = previous balance + amount − fee.

Rows are grouped by moment (whole seconds: export times carry none, and inside one moment Kraken's
order is unknown). A one-row group is checked against the previous group's end balance in SQL; groups
of several rows come back with their rows so the caller can ask whether *some* order chains (an
Eulerian-path test on before → after balances). Each group's end is its sink row: the row whose balance
is no other row's starting point. The first group of a chain is taken as given (partial history).

An incremental scope limits the work to chains with rows changed after a moment, from the group before
the first changed row on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, text

_ROWS_FULL = """
SELECT e.ledger_id, e.asset, e.wallet_resolved AS wallet, date_trunc('second', e.time) AS moment,
       e.amount - e.fee AS net, e.balance, true AS from_start
FROM kraken.ledger_entry e
WHERE e.account = :account AND e.wallet_resolved IS NOT NULL AND e.balance IS NOT NULL AND e.time <= :as_of
"""

_ROWS_SCOPED = """
SELECT e.ledger_id, e.asset, e.wallet_resolved AS wallet, date_trunc('second', e.time) AS moment,
       e.amount - e.fee AS net, e.balance, s.start IS NULL AS from_start
FROM scope s
JOIN kraken.ledger_entry e ON e.account = :account AND e.asset = s.asset AND e.wallet_resolved = s.wallet
     AND (s.start IS NULL OR e.time >= s.start)
WHERE e.balance IS NOT NULL AND e.time <= :as_of
"""

_SCOPE = """
touched AS (
    SELECT asset, wallet_resolved AS wallet, min(date_trunc('second', time)) AS first
    FROM kraken.ledger_entry
    WHERE account = :account AND updated_at > :since AND wallet_resolved IS NOT NULL AND time <= :as_of
    GROUP BY asset, wallet_resolved
),
scope AS MATERIALIZED (
    SELECT t.asset, t.wallet, (
        SELECT date_trunc('second', max(p.time)) FROM kraken.ledger_entry p
        WHERE p.account = :account AND p.asset = t.asset AND p.wallet_resolved = t.wallet AND p.time < t.first
    ) AS start
    FROM touched t
),
"""

_CHAIN = """
r AS MATERIALIZED ({rows}),
sized AS (
    SELECT r.*, count(*) OVER (PARTITION BY asset, wallet, moment) AS n FROM r
),
multi AS MATERIALIZED (SELECT * FROM sized WHERE n > 1),
sink AS (
    SELECT a.asset, a.wallet, a.moment, max(a.balance) AS e,
           (array_agg(a.ledger_id ORDER BY a.balance DESC, a.ledger_id DESC))[1] AS sink_id
    FROM multi a
    WHERE NOT EXISTS (
        SELECT 1 FROM multi b
        WHERE b.asset = a.asset AND b.wallet = a.wallet AND b.moment = a.moment
          AND b.ledger_id <> a.ledger_id AND b.balance - b.net = a.balance)
    GROUP BY a.asset, a.wallet, a.moment
),
g AS (
    SELECT asset, wallet, moment, count(*) AS n, sum(net) AS s, max(balance) AS top, max(ledger_id) AS top_id,
           bool_and(from_start) AS from_start,
           array_agg(ledger_id ORDER BY ledger_id) FILTER (WHERE n > 1) AS ids,
           array_agg(net ORDER BY ledger_id) FILTER (WHERE n > 1) AS nets,
           array_agg(balance ORDER BY ledger_id) FILTER (WHERE n > 1) AS bals
    FROM sized GROUP BY asset, wallet, moment
),
chains AS (SELECT DISTINCT asset, wallet FROM g UNION SELECT DISTINCT asset, 'spot / main' FROM g),
firsts AS (
    SELECT c.asset, f.time, f.ledger_id, f.before
    FROM chains c CROSS JOIN LATERAL (
        SELECT x.time, x.ledger_id, x.balance - (x.amount - x.fee) AS before FROM kraken.ledger_entry x
        WHERE x.account = :account AND x.asset = c.asset AND x.wallet_resolved = c.wallet AND x.balance IS NOT NULL
        ORDER BY x.time, x.ledger_id LIMIT 1) f
),
complete AS (SELECT DISTINCT ON (asset) asset, before = 0 AS complete FROM firsts ORDER BY asset, time, ledger_id),
ends AS (
    SELECT g.*, coalesce(k.e, g.top) AS e, coalesce(k.sink_id, g.top_id) AS end_id, coalesce(c.complete, false) AS complete
    FROM g LEFT JOIN sink k USING (asset, wallet, moment) LEFT JOIN complete c USING (asset)
),
lagged AS (
    SELECT ends.*, lag(e) OVER w AS p0, lag(end_id) OVER w AS prev_id, lag(moment) OVER w AS prev_moment
    FROM ends WINDOW w AS (PARTITION BY asset, wallet ORDER BY moment)
),
-- A chain's first group is taken as given (partial history), except when the asset's history is complete
-- (its first row starts from zero): then every wallet's chain of it opens from zero too.
chain AS (
    SELECT lagged.*, CASE WHEN p0 IS NOT NULL THEN p0 WHEN complete AND from_start THEN 0 END AS p FROM lagged
),
tot AS (SELECT count(*) AS examined FROM r)
SELECT tot.examined, c.* FROM tot LEFT JOIN (
    SELECT asset, wallet, moment, n, s, e, end_id, ids, nets, bals, p, prev_id, prev_moment FROM chain
    WHERE p IS NOT NULL AND (n > 1 OR abs(e - (p + s)) * 2 >= power(10::numeric, -scale(e)))
) c ON true
ORDER BY c.asset, c.wallet, c.moment
"""


@dataclass(frozen=True, slots=True)
class Group:
    """A moment of one chain that did not chain in SQL (n == 1) or needs an order test (n > 1)."""

    asset: str
    wallet: str
    moment: datetime
    n: int
    net: Decimal  # sum of amount - fee over the group
    end: Decimal  # the group's end balance (its sink row's)
    end_id: str
    prev_end: Decimal
    prev_id: str | None  # None: the chain's opening (the asset's history starts from zero)
    prev_moment: datetime | None
    ids: tuple[str, ...]
    nets: tuple[Decimal, ...]
    balances: tuple[Decimal, ...]


def chain_groups(conn: Connection, account: str, as_of: datetime,
                 since: datetime | None = None) -> tuple[int, list[Group]]:
    """Rows examined and the groups to judge (single rows that break; every multi-row group).

    `since`: only chains with rows changed after it (incremental), from the group before the change.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    if since is None:
        sql = "WITH " + _CHAIN.format(rows=_ROWS_FULL)
    else:
        sql = "WITH " + _SCOPE + _CHAIN.format(rows=_ROWS_SCOPED)
    params = {"account": account, "as_of": as_of, "since": since}
    examined = 0
    groups: list[Group] = []
    for row in conn.execute(text(sql), params):
        examined = int(row.examined)
        if row.asset is None:
            continue
        groups.append(Group(
            row.asset, row.wallet, row.moment, int(row.n), row.s, row.e, row.end_id, row.p, row.prev_id,
            row.prev_moment, tuple(row.ids or (row.end_id,)), tuple(row.nets or (row.s,)),
            tuple(row.bals or (row.e,)),
        ))
    return examined, groups


def chain_scopes(conn: Connection, account: str, as_of: datetime, since: datetime) -> dict[str, datetime | None]:
    """The chains an incremental run re-examines (``asset|wallet``) and from which moment."""
    rows = conn.execute(text("WITH " + _SCOPE + " x AS (SELECT 1) SELECT asset, wallet, start FROM scope"),
                        {"account": account, "as_of": as_of, "since": since})
    return {f"{r.asset}|{r.wallet}": r.start for r in rows}
