"""Every reporting view answers what the simulator's ground truth implies (exact decimals)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text

from kraken_etl.core.assets import normalize_asset
from kraken_etl.core.money import D
from kraken_etl.db.reporting import refresh_reporting
from kraken_etl.simulator import catalog
from tests.report import truth as t
from tests.report.conftest import ACCOUNT, Loaded


def _q(loaded: Loaded, sql: str, **params: object) -> list[tuple[object, ...]]:
    with loaded.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def test_balances_now_equal_krakens_balance(loaded: Loaded) -> None:
    got = {(a, w): b for a, w, b in _q(loaded, "SELECT asset, wallet, balance FROM reporting.balances_at(now())")}
    expected = {(normalize_asset(a), None): D(v) for a, v in loaded.truths["balances"]["balance"].items()}
    assert got == expected
    assert got[("BTC", None)] > 0 and ("DOT.S", None) in got


def test_balances_at_a_past_moment_equal_the_chain(loaded: Loaded) -> None:
    rows = t.entries(loaded.truths)
    middle = rows[len(rows) // 2]
    moment = middle["when"]
    got = {(a, w): b for a, w, b in _q(
        loaded, "SELECT asset, wallet, balance FROM reporting.balances_at(:ts, :acct)", ts=moment, acct=ACCOUNT)}
    expected = t.balances_by_chain(rows, Decimal(int(middle["at"])))
    assert got == expected
    assert _q(loaded, "SELECT count(*) FROM reporting.balances_at(:ts, 'nobody')", ts=moment) == [(0,)]


def test_balance_daily_carries_forward_every_day_to_today(loaded: Loaded) -> None:
    rows = t.entries(loaded.truths)
    daily = _q(loaded, "SELECT asset, day, balance, entries FROM reporting.balance_daily WHERE account = :a "
                       "ORDER BY asset, day", a=ACCOUNT)
    by_asset: dict[str, list[tuple[object, ...]]] = defaultdict(list)
    for asset, day, balance, n in daily:
        by_asset[str(asset)].append((day, balance, n))
    today = datetime.now(UTC).date()
    for asset, series in by_asset.items():
        days = [d for d, _, _ in series]
        assert days[-1] == today, asset
        assert all(b - a == timedelta(days=1) for a, b in itertools.pairwise(days)), asset
    # check the end of every 7th day against Kraken's own balance field
    first = rows[0]["when"].date()
    day = first
    checked = 0
    while day <= rows[-1]["when"].date():
        end = Decimal(int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) + 86_400) - Decimal(
            "0.0000001")
        expected = t.balances_by_chain(rows, end)
        got = {(a, None): b for a, s in by_asset.items() for d, b, _ in s if d == day}
        assert got == {k: v for k, v in expected.items()}, day
        checked += 1
        day += timedelta(days=7)
    assert checked > 50
    assert sum(int(n) for s in by_asset.values() for _, _, n in s) == len(rows)  # type: ignore[call-overload]


def test_wallets_once_assigned_split_the_balances(loaded: Loaded) -> None:
    rows = t.entries(loaded.truths)
    with loaded.engine.connect() as conn:
        tx = conn.begin()
        try:
            conn.execute(text("CREATE TEMP TABLE w (ledger_id text, wallet text) ON COMMIT DROP"))
            conn.execute(text("INSERT INTO w VALUES (:i, :w)"), [{"i": r["id"], "w": r["wallet"]} for r in rows])
            conn.execute(text("UPDATE kraken.ledger_entry l SET wallet_resolved = w.wallet, wallet_source = 'export' "
                              "FROM w WHERE w.ledger_id = l.ledger_id"))
            conn.execute(text("REFRESH MATERIALIZED VIEW reporting.ledger_daily"))
            got = {(a, w): b for a, w, b in conn.execute(
                text("SELECT asset, wallet, balance FROM reporting.balances_at(now())"))}
            sources = set(conn.execute(text("SELECT DISTINCT wallet_source FROM reporting.ledger")).scalars())
        finally:
            tx.rollback()
    assert got == t.balances_by_chain(rows, per_wallet=True)
    assert ("BTC", "earn / flexible") in got and ("BTC", "spot / main") in got
    assert sources == {"export"}


def test_entries_after_the_refresh_boundary_count_without_a_refresh(loaded: Loaded) -> None:
    before = dict(_q(loaded, "SELECT asset, balance FROM reporting.balances_at(now())"))
    with loaded.engine.connect() as conn:
        tx = conn.begin()
        try:
            conn.execute(text(
                "INSERT INTO kraken.ledger_entry (account, ledger_id, time, time_raw, type, asset, amount, fee, "
                "balance, source, raw) VALUES ('default', 'LTEST-1', now(), 0, 'deposit', 'ZUSD', 10.5, 0.5, 0, "
                "'rest', '{}')"))
            after = {r[0]: r[1] for r in conn.execute(text("SELECT asset, balance FROM reporting.balances_at(now())"))}
            today = conn.execute(text("SELECT balance, entries FROM reporting.balance_daily WHERE asset = 'USD' "
                                      "AND day = (now() AT TIME ZONE 'UTC')::date")).one()
        finally:
            tx.rollback()
    assert after["USD"] == before["USD"] + Decimal("10.0")
    assert today[0] == after["USD"] and today[1] >= 1


def test_ledger_normalises_and_links_trades(loaded: Loaded) -> None:
    trades = loaded.truths["trades"]["trades"]
    rows = _q(loaded, "SELECT ledger_id, asset, asset_code, asset_suffix, net, amount - fee, trade_txid, "
                      "order_txid, refid, type FROM reporting.ledger WHERE account = :a", a=ACCOUNT)
    truth = loaded.truths["ledgers"]["ledger"]
    assert len(rows) == len(truth)
    for lid, asset, code, suffix, net, amount_fee, trade_txid, order_txid, refid, kind in rows:
        rec = truth[lid]
        assert (code, asset) == (rec["asset"], normalize_asset(rec["asset"]))
        assert net == amount_fee == D(rec["amount"]) - D(rec["fee"])
        assert suffix == (str(code)[str(code).index("."):] if "." in str(code) else "")
        if kind == "trade":
            assert trade_txid == refid and order_txid == trades[refid]["ordertxid"]
        else:
            assert trade_txid is None
    assert {"BTC", "USD", "DOT.S", "USD.HOLD"} <= {r[1] for r in rows}


def test_trade_splits_the_pair_and_lists_the_legs(loaded: Loaded) -> None:
    pairs = {p.key: (catalog.ASSETS[p.base].ticker, catalog.ASSETS[p.quote].ticker) for p in catalog.PAIRS}
    truth = loaded.truths["trades"]["trades"]
    rows = _q(loaded, "SELECT txid, pair, base, quote, side, price, vol, cost, fee, order_txid, ledger_ids "
                      "FROM reporting.trade WHERE account = :a", a=ACCOUNT)
    assert len(rows) == len(truth)
    for txid, pair, base, quote, side, price, vol, cost, fee, order, legs in rows:
        rec = truth[txid]
        assert (base, quote) == pairs[str(pair)], pair
        assert (side, price, vol, cost, fee, order) == (rec["type"], D(rec["price"]), D(rec["vol"]),
                                                        D(rec["cost"]), D(rec["fee"]), rec["ordertxid"])
        assert sorted(legs) == sorted(rec["ledgers"])  # type: ignore[arg-type]
    # every pair the truth trades (the simulator also lists markets it never trades, such as EUR/USD)
    assert {p for _, p, *_ in rows} == {rec["pair"] for rec in truth.values()}
    assert len({p for _, p, *_ in rows}) >= 5


def test_fees_monthly(loaded: Loaded) -> None:
    got = {(m, a): f for m, a, f in _q(loaded, "SELECT month, asset, fees FROM reporting.fees_monthly")}
    assert got == t.fees_by_month(t.entries(loaded.truths))
    split = _q(loaded, "SELECT count(*) FROM reporting.fees_monthly "
                       "WHERE fees <> coalesce(trade_fees, 0) + coalesce(other_fees, 0)")
    assert split == [(0,)]


def test_deposits_withdrawals(loaded: Loaded) -> None:
    got = {(a, k): (n, s, f) for a, k, n, s, f in _q(
        loaded, "SELECT asset, type, count(*), sum(amount), sum(fee) FROM reporting.deposits_withdrawals "
                "GROUP BY 1, 2")}
    assert got == t.deposits_withdrawals(t.entries(loaded.truths))
    assert ("USD", "withdrawal") in got and ("USD.HOLD", "deposit") in got


def test_earn_rewards(loaded: Loaded) -> None:
    got = {(m, a, k): n for m, a, k, n in _q(loaded, "SELECT month, asset, kind, net FROM reporting.earn_rewards")}
    assert got == t.rewards(t.entries(loaded.truths))
    kinds = {k for _, _, k in got}
    assert kinds == {"staking", "earn"}
    bases = dict(_q(loaded, "SELECT DISTINCT asset, base_asset FROM reporting.earn_rewards"))
    assert all(bases[a] == t.base_of(str(a)) for a in bases)


def test_sync_health_after_a_sync(loaded: Loaded) -> None:
    rows = {s: (last, age, status, q) for s, last, age, status, q in _q(
        loaded, "SELECT stream, last_success_at, age_seconds, last_run_status, open_quarantine "
                "FROM reporting.sync_health WHERE account = :a", a=ACCOUNT)}
    assert {"ledgers", "trades", "closed_orders", "order_amends", "balances"} <= set(rows)
    for last, age, status, q in rows.values():
        assert last is not None and status == "ok" and q == 0 and age is not None
    with loaded.engine.connect() as conn:
        tx = conn.begin()
        try:
            conn.execute(text("INSERT INTO kraken.quarantine (account, stream, source, reason, fingerprint, raw) "
                              "VALUES ('default', 'ledgers', 'rest', 'bad amount', 'fp1', '{}'), "
                              "('default', 'ledgers', 'rest', 'bad time', 'fp2', '{}')"))
            n = conn.execute(text("SELECT open_quarantine FROM reporting.sync_health "
                                  "WHERE account = 'default' AND stream = 'ledgers'")).scalar_one()
        finally:
            tx.rollback()
    assert n == 2


def test_reconciliation_latest_and_open_findings(loaded: Loaded) -> None:
    with loaded.engine.connect() as conn:
        tx = conn.begin()
        try:
            old, new = (conn.execute(text(
                "INSERT INTO kraken.reconciliation_run (account, as_of, started_at, finished_at, status, findings, "
                "breaks, checks) VALUES ('default', now(), now() - make_interval(hours => :h), now(), 'ok', 2, 1, "
                "ARRAY['balance_chain']) RETURNING id"), {"h": h}).scalar_one() for h in (48, 1))
            conn.execute(text(
                "INSERT INTO kraken.reconciliation_finding (run_id, account, check_name, kind, severity, asset, "
                "expected, actual, difference, message, fingerprint, status, acknowledged_at) VALUES "
                "(:old, 'default', 'balance_chain', 'gap', 'break', 'XXBT', 1.5, 1.25, -0.25, 'missing row', 'a', "
                "'open', NULL), "
                "(:new, 'default', 'snapshot', 'drift', 'warning', 'ZUSD', 1, 2, 1, 'drift', 'b', 'open', now()), "
                "(:new, 'default', 'snapshot', 'drift', 'break', 'ZEUR', 1, 2, 1, 'gone', 'c', 'resolved', NULL)"),
                {"old": old, "new": new})
            latest = conn.execute(text("SELECT run_id, open_breaks, open_warnings, open_info, acknowledged "
                                       "FROM reporting.reconciliation_latest WHERE account = 'default'")).one()
            findings = conn.execute(text("SELECT asset, severity, difference FROM "
                                         "reporting.reconciliation_open_findings ORDER BY asset")).all()
        finally:
            tx.rollback()
    assert tuple(latest) == (new, 1, 1, 0, 1)
    assert [tuple(f) for f in findings] == [("BTC", "break", Decimal("-0.25")), ("USD", "warning", Decimal(1))]


def test_before_any_refresh_everything_is_read_live(loaded: Loaded) -> None:
    with loaded.engine.connect() as conn:
        tx = conn.begin()
        try:
            conn.execute(text("UPDATE reporting.refresh_state SET covered_before = NULL, refreshed_at = NULL"))
            conn.execute(text("REFRESH MATERIALIZED VIEW reporting.ledger_daily"))
            empty = conn.execute(text("SELECT count(*) FROM reporting.ledger_daily")).scalar_one()
            live = {(a, w): b for a, w, b in conn.execute(
                text("SELECT asset, wallet, balance FROM reporting.balances_at(now())"))}
            days = conn.execute(text("SELECT count(*), sum(entries) FROM reporting.balance_daily")).one()
        finally:
            tx.rollback()
    assert empty == 0
    assert live == {(normalize_asset(a), None): D(v) for a, v in loaded.truths["balances"]["balance"].items()}
    materialised = _q(loaded, "SELECT count(*), sum(entries) FROM reporting.balance_daily")
    assert tuple(days) == materialised[0]


def test_refresh_is_repeatable(loaded: Loaded) -> None:
    before = _q(loaded, "SELECT * FROM reporting.ledger_daily ORDER BY 1, 2, 3, 4")
    refresh_reporting(loaded.engine)
    assert _q(loaded, "SELECT * FROM reporting.ledger_daily ORDER BY 1, 2, 3, 4") == before
    stamp = _q(loaded, "SELECT covered_before, refreshed_at FROM reporting.refresh_state")
    assert len(stamp) == 1 and stamp[0][0] <= stamp[0][1]  # type: ignore[operator]
    assert stamp[0][0].hour == 0 and stamp[0][0].minute == 0  # type: ignore[union-attr]
