"""The balance chain in SQL: per (account, asset, wallet), balance = previous balance + amount - fee.

Rows are grouped by moment (whole seconds: export times carry none, and inside one moment Kraken's
order is unknown). A one-row group is checked against the previous group's end balance in SQL; groups
of several rows come back with their rows so the caller can ask whether *some* order chains (an
Eulerian-path test on before → after balances). Each group's end is its sink row: the row whose balance
is no other row's starting point; a group without one is a cycle whose rows cancel out (a deposit spent
whole within the second: Buy Crypto), and it ends where it started, at the end of the last group before it
that is not one. The first group of a chain is taken as given (partial history).

An incremental scope limits the work to chains with rows changed after a moment (their values:
`updated_at`; their wallet: `wallet_at`, stamped by wallet assignment), from the group before the first
changed row on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, text

_SCOPE = """
changed AS (  -- one index range each: rows whose values, or whose wallet, changed after `since`
    SELECT asset, wallet_resolved, time FROM kraken.ledger_entry
    WHERE account = :account AND updated_at > :since AND wallet_resolved IS NOT NULL AND time <= :as_of
    UNION ALL
    SELECT asset, wallet_resolved, time FROM kraken.ledger_entry
    WHERE account = :account AND wallet_at > :since AND wallet_resolved IS NOT NULL AND time <= :as_of
),
touched AS (
    SELECT asset, wallet_resolved AS wallet, min(date_trunc('second', time)) AS first
    FROM changed GROUP BY asset, wallet_resolved
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
    SELECT r.*, count(*) OVER (PARTITION BY part, asset, wallet, moment) AS n FROM r
),
multi AS MATERIALIZED (SELECT * FROM sized WHERE n > 1),
sink AS (
    SELECT a.part, a.asset, a.wallet, a.moment, max(a.balance) AS e,
           (array_agg(a.ledger_id ORDER BY a.balance DESC, a.ledger_id DESC))[1] AS sink_id
    FROM multi a
    WHERE NOT EXISTS (
        SELECT 1 FROM multi b
        WHERE b.part = a.part AND b.asset = a.asset AND b.wallet = a.wallet AND b.moment = a.moment
          AND b.ledger_id <> a.ledger_id AND b.balance - b.net = a.balance)
    GROUP BY a.part, a.asset, a.wallet, a.moment
),
g AS (
    SELECT part, asset, wallet, moment, count(*) AS n, sum(net) AS s, max(balance) AS top, max(ledger_id) AS top_id,
           bool_and(from_start) AS from_start,
           array_agg(ledger_id ORDER BY ledger_id) FILTER (WHERE n > 1) AS ids,
           array_agg(net ORDER BY ledger_id) FILTER (WHERE n > 1) AS nets,
           array_agg(balance ORDER BY ledger_id) FILTER (WHERE n > 1) AS bals
    FROM sized GROUP BY part, asset, wallet, moment
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
first_ends AS (
    SELECT g.*, coalesce(k.e, g.top) AS e0, coalesce(k.sink_id, g.top_id) AS end0, k.e IS NULL AND g.n > 1 AS cycle,
           coalesce(c.complete, false) AS complete
    FROM g LEFT JOIN sink k USING (part, asset, wallet, moment) LEFT JOIN complete c USING (asset)
),
-- A group without a sink is a cycle (every row's balance is another's start: its rows cancel out, as a
-- deposit spent whole within the second does): it ends where it started, at the end of the last group
-- before it that is not a cycle (`run` counts those).
runs AS (
    SELECT f.*,
           count(*) FILTER (WHERE NOT f.cycle) OVER (PARTITION BY f.part, f.asset, f.wallet ORDER BY f.moment) AS run
    FROM first_ends f
),
based AS (
    SELECT r.*, first_value(r.e0) OVER (PARTITION BY r.part, r.asset, r.wallet, r.run ORDER BY r.moment) AS base
    FROM runs r
),
ends AS (
    SELECT b.*, CASE WHEN b.cycle AND b.run > 0 THEN b.base ELSE b.e0 END AS e,
           CASE WHEN b.cycle AND b.run > 0
                THEN coalesce((SELECT u.i FROM unnest(b.ids, b.bals) AS u(i, x) WHERE u.x = b.base
                               ORDER BY u.i LIMIT 1), b.end0)
                ELSE b.end0 END AS end_id
    FROM based b
),
lagged AS (
    SELECT ends.*, lag(e) OVER w AS p0, lag(end_id) OVER w AS prev_id, lag(moment) OVER w AS prev_moment
    FROM ends WINDOW w AS (PARTITION BY part, asset, wallet ORDER BY moment)
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


# The fast pass: one window over the chain in (time, ledger id) order; only rows that do not follow their
# predecessor come back (and each chain's first row), to be judged by moment groups in `chain_groups`.
_SUSPECTS = """
SELECT x.asset, x.wallet, date_trunc('second', x.time) AS moment, date_trunc('second', x.prev_time) AS prev_moment,
       x.prev_time IS NULL AS first, x.chain_start FROM (
    SELECT {chain_start} AS chain_start, e.asset, e.wallet_resolved AS wallet, e.time, e.balance,
           e.amount - e.fee AS net, lag(e.balance) OVER w AS prev_balance, lag(e.time) OVER w AS prev_time
    FROM {source}
    WHERE e.account = :account AND e.wallet_resolved IS NOT NULL AND e.balance IS NOT NULL AND e.time <= :as_of
    WINDOW w AS (PARTITION BY e.asset, e.wallet_resolved ORDER BY e.time, e.ledger_id
                 ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
) x
WHERE x.prev_time IS NULL
   OR (x.balance <> x.prev_balance + x.net  -- exact first: the tolerance below only for rows that differ
       AND abs(x.balance - (x.prev_balance + x.net)) * 2 >= power(10::numeric, -scale(x.balance)))
"""

_COUNT = """
SELECT count(*) FROM {source}
WHERE e.account = :account AND e.wallet_resolved IS NOT NULL AND e.balance IS NOT NULL AND e.time <= :as_of
"""

_SOURCE_FULL = "kraken.ledger_entry e"
_SOURCE_SCOPED = """scope s CROSS JOIN LATERAL (
    SELECT * FROM kraken.ledger_entry x WHERE x.account = :account AND x.asset = s.asset
      AND x.wallet_resolved = s.wallet AND x.time >= coalesce(s.start, '-infinity')
    OFFSET 0) e"""  # OFFSET 0: one index range per chain, not a hash join over the whole ledger

# Slices of chains to judge by moment groups: from the group before `lo` (taken as given) to `hi`.
_SLICES = """
slices AS (SELECT * FROM unnest(CAST(:assets AS text[]), CAST(:wallets AS text[]), CAST(:los AS timestamptz[]),
                                CAST(:his AS timestamptz[]), CAST(:opens AS boolean[]))
           WITH ORDINALITY AS x(asset, wallet, lo, hi, opens, sid)),
-- A slice starts at the last moment before `lo` holding a single row (taken as given: a moment whose rows
-- cancel out cannot be, see `ends`), and also takes the moment after `hi`: the fast pass compares a row with
-- its predecessor by id, which is not where such a moment ends, so the row after one is judged here.
scope AS MATERIALIZED (
    SELECT t.sid, t.asset, t.wallet, t.opens, (
        SELECT date_trunc('second', p.time) FROM kraken.ledger_entry p
        WHERE p.account = :account AND p.asset = t.asset AND p.wallet_resolved = t.wallet AND p.time < t.lo
          AND p.balance IS NOT NULL
          AND NOT EXISTS (
            SELECT 1 FROM kraken.ledger_entry q
            WHERE q.account = :account AND q.asset = t.asset AND q.wallet_resolved = t.wallet
              AND q.time >= date_trunc('second', p.time) AND q.time < date_trunc('second', p.time) + interval '1 second'
              AND q.ledger_id <> p.ledger_id AND q.balance IS NOT NULL)
        ORDER BY p.time DESC LIMIT 1
    ) AS start, coalesce((
        SELECT date_trunc('second', min(p.time)) FROM kraken.ledger_entry p
        WHERE p.account = :account AND p.asset = t.asset AND p.wallet_resolved = t.wallet
          AND p.time >= t.hi + interval '1 second' AND p.time <= :as_of
    ), t.hi) AS hi
    FROM slices t
),
"""

# One index range per slice (LATERAL, OFFSET 0), never a join over the whole ledger.
_ROWS_SLICED = """
SELECT e.ledger_id, e.asset, e.wallet_resolved AS wallet, date_trunc('second', e.time) AS moment,
       e.amount - e.fee AS net, e.balance, s.start IS NULL AND s.opens AS from_start, s.sid AS part
FROM scope s CROSS JOIN LATERAL (
    SELECT * FROM kraken.ledger_entry x
    WHERE x.account = :account AND x.asset = s.asset AND x.wallet_resolved = s.wallet
      AND x.time >= coalesce(s.start, '-infinity') AND x.time < s.hi + interval '1 second'
      AND x.balance IS NOT NULL AND x.time <= :as_of
    OFFSET 0) e
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


def _groups(conn: Connection, sql: str, params: dict[str, object]) -> tuple[int, list[Group]]:
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


def chain_groups(conn: Connection, account: str, as_of: datetime,
                 since: datetime | None = None) -> tuple[int, list[Group]]:
    """Rows examined and the groups to judge (single rows that break; every multi-row group near a
    suspect row).

    A fast pass finds the rows that do not follow their predecessor in (time, id) order, and each chain's
    first row; only the slices of chains around them are then grouped by moment and judged.
    `since`: only chains with rows changed after it (incremental), from the group before the change.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    params: dict[str, object] = {"account": account, "as_of": as_of, "since": since}
    if since is None:
        sql = _SUSPECTS.format(source=_SOURCE_FULL, chain_start="true")
    else:
        sql = "WITH " + _SCOPE.rstrip().rstrip(",") + "\n" + _SUSPECTS.format(source=_SOURCE_SCOPED,
                                                                              chain_start="s.start IS NULL")
    examined = 0
    slices: dict[tuple[str, str], list[tuple[datetime, datetime, bool]]] = {}
    count_sql = _COUNT.format(source=_SOURCE_FULL if since is None else _SOURCE_SCOPED)
    if since is not None:
        count_sql = "WITH " + _SCOPE.rstrip().rstrip(",") + "\n" + count_sql
    examined = int(conn.execute(text(count_sql), params).scalar_one())
    for row in conn.execute(text(sql), params):
        if row.first:
            if row.chain_start:  # a chain's opening is judged (from zero) only when read from its start
                slices.setdefault((row.asset, row.wallet), []).append((row.moment, row.moment, True))
            continue
        slices.setdefault((row.asset, row.wallet), []).append((row.prev_moment, row.moment, False))
    if not slices:
        return examined, []
    assets, wallets, los, his, opens = [], [], [], [], []
    for (asset, wallet), spans in slices.items():
        for lo, hi, is_open in _merge(spans):
            assets.append(asset)
            wallets.append(wallet)
            los.append(lo)
            his.append(hi)
            opens.append(is_open)
    params.update(assets=assets, wallets=wallets, los=los, his=his, opens=opens)
    _, groups = _groups(conn, "WITH " + _SLICES + _CHAIN.format(rows=_ROWS_SLICED), params)
    seen: set[tuple[str, str, datetime]] = set()
    out = []
    for g in groups:
        if (g.asset, g.wallet, g.moment) not in seen:
            seen.add((g.asset, g.wallet, g.moment))
            out.append(g)
    return examined, out


def _merge(spans: list[tuple[datetime, datetime, bool]]) -> list[tuple[datetime, datetime, bool]]:
    """Overlapping or touching slices of one chain, merged."""
    out: list[tuple[datetime, datetime, bool]] = []
    for lo, hi, is_open in sorted(spans):
        if out and lo <= out[-1][1]:
            last = out[-1]
            out[-1] = (last[0], max(last[1], hi), last[2] or is_open)
        else:
            out.append((lo, hi, is_open))
    return out


def chain_scopes(conn: Connection, account: str, as_of: datetime, since: datetime) -> dict[str, datetime | None]:
    """The chains an incremental run re-examines (``asset|wallet``) and from which moment."""
    rows = conn.execute(text("WITH " + _SCOPE + " x AS (SELECT 1) SELECT asset, wallet, start FROM scope"),
                        {"account": account, "as_of": as_of, "since": since})
    return {f"{r.asset}|{r.wallet}": r.start for r in rows}
