"""Wallet assignment in SQL: `ledger_entry.wallet_resolved` / `wallet_source` / `wallet_at`.

This module is their only writer: every change stamps `wallet_at` (never `updated_at`, which says when the
row's values from Kraken changed), and the incremental balance chain re-examines rows with either after
its watermark. The listener stores its facts (`ws_balance_update`) and calls `assign_listener_wallets`.

Preference: the row's own export `wallet` (``export``), the listener's `ws_balance_update` with the same
ledger id (``listener``), an earn suffix on the asset (``suffix``), then balance continuity (computed in
`kraken_etl.recon.continuity`, written back here), else ``unknown``. Each UPDATE touches only rows whose
assignment changes, so a rerun writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, text

# Earn suffixes that name a wallet when REST marks earn balances by asset (UNVERIFIED for real Kraken;
# the simulator's `rest_wallet_suffix` knob produces them). `.HOLD` and `.T` stay in spot.
SUFFIX_WALLETS: dict[str, str] = {
    ".F": "earn / flexible", ".B": "earn / bonded", ".M": "earn / liquid", ".S": "earn / staked",
    ".P": "earn / parachain",
}

_SINCE = "(CAST(:since AS timestamptz) IS NULL OR e.updated_at > CAST(:since AS timestamptz))"

_EXPORT = f"""
UPDATE kraken.ledger_entry e SET wallet_resolved = wallet, wallet_source = 'export', wallet_at = now()
WHERE e.account = :account AND e.wallet IS NOT NULL AND {_SINCE}
  AND (e.wallet_source IS DISTINCT FROM 'export' OR e.wallet_resolved IS DISTINCT FROM e.wallet)
"""

_LISTENER = f"""
UPDATE kraken.ledger_entry e
SET wallet_resolved = w.wallet_type || ' / ' || w.wallet_id, wallet_source = 'listener', wallet_at = now()
FROM kraken.ws_balance_update w
WHERE e.account = :account AND w.account = e.account AND w.ledger_id = e.ledger_id AND e.wallet IS NULL
  AND w.wallet_type IS NOT NULL AND w.wallet_id IS NOT NULL
  AND ({_SINCE} OR w.received_at > CAST(:since AS timestamptz))
  AND (e.wallet_source IS DISTINCT FROM 'listener'
       OR e.wallet_resolved IS DISTINCT FROM w.wallet_type || ' / ' || w.wallet_id)
"""

# A suffixed asset is its own chain; its wallet is the one its export rows use when they use exactly one
# (so REST rows continue an exported chain), else the suffix's nominal earn wallet.
_SUFFIX = f"""
WITH suffix(sfx, nominal) AS (SELECT * FROM unnest(CAST(:sfx AS text[]), CAST(:nominal AS text[]))),
exported AS (
    SELECT asset, min(wallet) AS wallet FROM kraken.ledger_entry
    WHERE account = :account AND wallet IS NOT NULL AND asset = ANY(CAST(:assets AS text[]))
    GROUP BY asset HAVING count(DISTINCT wallet) = 1
),
target AS (
    SELECT e.ledger_id, coalesce(x.wallet, s.nominal) AS wallet
    FROM kraken.ledger_entry e
    JOIN suffix s ON upper(e.asset) LIKE '%' || s.sfx
    LEFT JOIN exported x ON x.asset = e.asset
    WHERE e.account = :account AND e.wallet IS NULL AND {_SINCE} AND e.asset = ANY(CAST(:assets AS text[]))
      AND (e.wallet_source IS NULL OR e.wallet_source IN ('suffix', 'continuity', 'unknown'))
)
UPDATE kraken.ledger_entry e SET wallet_resolved = t.wallet, wallet_source = 'suffix', wallet_at = now()
FROM target t
WHERE e.account = :account AND e.ledger_id = t.ledger_id
  AND (e.wallet_source IS DISTINCT FROM 'suffix' OR e.wallet_resolved IS DISTINCT FROM t.wallet)
"""

# The account's distinct assets: a loose index scan over (account, asset, wallet, time), one probe per asset.
_ASSETS = """
WITH RECURSIVE a AS (
    (SELECT asset FROM kraken.ledger_entry WHERE account = :account ORDER BY asset LIMIT 1)
    UNION ALL
    SELECT n.asset FROM a CROSS JOIN LATERAL (
        SELECT x.asset FROM kraken.ledger_entry x WHERE x.account = :account AND x.asset > a.asset
        ORDER BY x.asset LIMIT 1) n
)
SELECT asset FROM a WHERE upper(asset) LIKE ANY(CAST(:patterns AS text[]))
"""

_PENDING_ASSETS = """
SELECT asset, min(time) AS since FROM kraken.ledger_entry
WHERE account = :account AND wallet_resolved IS NULL AND balance IS NOT NULL
GROUP BY asset ORDER BY asset
"""

_STATE = """
SELECT DISTINCT ON (wallet_resolved) wallet_resolved, balance FROM kraken.ledger_entry
WHERE account = :account AND asset = :asset AND wallet_resolved IS NOT NULL AND balance IS NOT NULL
  AND time < date_trunc('second', CAST(:since AS timestamptz))
ORDER BY wallet_resolved, time DESC, ledger_id DESC
"""

_ROWS = """
SELECT ledger_id, date_trunc('second', time) AS moment, type, amount - fee AS net, balance, wallet_resolved
FROM kraken.ledger_entry
WHERE account = :account AND asset = :asset AND balance IS NOT NULL
  AND time >= date_trunc('second', CAST(:since AS timestamptz))
ORDER BY time, ledger_id
"""

_KNOWN = """
SELECT DISTINCT wallet FROM kraken.ledger_entry
WHERE account = :account AND wallet IS NOT NULL AND (asset = :asset OR :asset IS NULL) ORDER BY wallet
"""


def assign_known_wallets(conn: Connection, account: str, since: datetime | None = None) -> int:
    """Apply the export, listener and suffix rules (to rows changed after `since`); returns rows changed.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    params = {"account": account, "since": since}
    changed = conn.execute(text(_EXPORT), params).rowcount
    changed += conn.execute(text(_LISTENER), params).rowcount
    patterns = ["%" + sfx for sfx in SUFFIX_WALLETS]
    suffixed = list(conn.execute(text(_ASSETS), {"account": account, "patterns": patterns}).scalars())
    if suffixed:  # the suffix rule reads only the assets it can apply to
        changed += conn.execute(text(_SUFFIX), {**params, "sfx": list(SUFFIX_WALLETS), "assets": suffixed,
                                                "nominal": list(SUFFIX_WALLETS.values())}).rowcount
    return int(changed)


def assign_listener_wallets(conn: Connection, account: str) -> int:
    """The listener rule alone, over every row: the listener's hand-off after a gap fill stored REST rows
    its balance updates name; returns rows changed.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    return int(conn.execute(text(_LISTENER), {"account": account, "since": None}).rowcount)


def pending_assets(conn: Connection, account: str) -> list[tuple[str, datetime]]:
    """Assets with rows no rule has placed yet, and the time of the first such row."""
    return [(r.asset, r.since) for r in conn.execute(text(_PENDING_ASSETS), {"account": account})]


def chain_state(conn: Connection, account: str, asset: str, since: datetime) -> dict[str, Decimal]:
    """Each wallet's last balance of `asset` before the second of `since`."""
    rows = conn.execute(text(_STATE), {"account": account, "asset": asset, "since": since})
    return {r.wallet_resolved: r.balance for r in rows}


def rows_since(conn: Connection, account: str, asset: str,
               since: datetime) -> Iterator[tuple[str, datetime, str, Decimal, Decimal, str | None]]:
    """`asset`'s rows from the second of `since` on, in time order: (id, moment, type, net, balance, wallet)."""
    result = conn.execute(text(_ROWS), {"account": account, "asset": asset, "since": since})
    for r in result:
        yield r.ledger_id, r.moment, r.type, r.net, r.balance, r.wallet_resolved


def export_wallets(conn: Connection, account: str, asset: str) -> list[str]:
    """Wallet names the exports of this account use for `asset` (then for any asset)."""
    own = list(conn.execute(text(_KNOWN), {"account": account, "asset": asset}).scalars())
    rest = [w for w in conn.execute(text(_KNOWN), {"account": account, "asset": None}).scalars() if w not in own]
    return own + rest


def write_assignments(conn: Connection, account: str,
                      assignments: Sequence[tuple[str, str | None, str]]) -> int:
    """Write (ledger_id, wallet, source) triples (COPY into a temp table, one UPDATE); returns rows changed.

    Raises:
        sqlalchemy.exc.DBAPIError: on database failures.
    """
    if not assignments:
        return 0
    conn.execute(text("CREATE TEMP TABLE IF NOT EXISTS stg_wallet "
                      "(ledger_id text, wallet text, source text) ON COMMIT DROP"))
    conn.execute(text("TRUNCATE stg_wallet"))
    dbapi = conn.connection.driver_connection
    with dbapi.cursor() as cursor:  # type: ignore[union-attr]
        with cursor.copy("COPY stg_wallet (ledger_id, wallet, source) FROM STDIN") as copy:
            for ledger_id, wallet, source in assignments:
                copy.write_row((ledger_id, wallet, source))
    return int(conn.execute(text("""
        UPDATE kraken.ledger_entry e SET wallet_resolved = s.wallet, wallet_source = s.source, wallet_at = now()
        FROM stg_wallet s
        WHERE e.account = :account AND e.ledger_id = s.ledger_id
          AND (e.wallet_resolved IS DISTINCT FROM s.wallet OR e.wallet_source IS DISTINCT FROM s.source)
    """), {"account": account}).rowcount)
