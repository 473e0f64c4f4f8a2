"""The balance chain across a moment whose rows cancel out: a Buy Crypto deposits exactly what it then
spends (amount + fee) within one second, so in an export (whole seconds, order unknown) each row's balance
is the other's starting point. The moment ends where it started, whatever order its ids suggest."""

from __future__ import annotations

from sqlalchemy import Engine, text

from kraken_etl.recon import reconcile

T0 = 1_790_000_000

_INSERT = """
    INSERT INTO kraken.ledger_entry (account, ledger_id, refid, time, time_raw, type, asset, wallet, amount, fee,
        balance, source, raw)
    VALUES (:account, :id, :refid, to_timestamp(:t), :t, :type, 'ZEUR', 'spot / main', CAST(:amount AS numeric),
            CAST(:fee AS numeric), CAST(:balance AS numeric), 'export', '{}')"""


def _load(engine: Engine, account: str, after: str) -> None:
    rows = [("L00", "Q0", 0, "deposit", "1000", "0", "1000"),
            ("LD1", "Q1", 50, "deposit", "200", "0", "1200"),  # three in a row: the ids put these two in order
            ("LD2", "S1", 50, "spend", "-197", "3", "1000"),
            ("LE1", "Q2", 60, "deposit", "223.3", "0", "1223.3"),
            ("LE2", "S2", 60, "spend", "-220", "3.3", "1000"),
            ("LF2", "Q3", 70, "deposit", "101.5", "0", "1101.5"),  # the ids put the spend first
            ("LF1", "S3", 70, "spend", "-100", "1.5", "1000"),
            ("LZ0", "T1", 120, "trade", "100", "0", after)]
    with engine.begin() as conn:
        conn.execute(text(_INSERT), [{"account": account, "id": i, "refid": r, "t": T0 + s, "type": k, "amount": a,
                                      "fee": f, "balance": b} for i, r, s, k, a, f, b in rows])


def _breaks(engine: Engine, account: str) -> list[tuple[str, tuple[str, ...]]]:
    result = reconcile(engine, account, checks=["balance_chain"])
    return [(f.kind, f.source_ids) for f in result.open_findings if f.severity == "break"]


def test_a_moment_that_cancels_out_ends_where_it_started(engine: Engine) -> None:
    _load(engine, "a", "1100")
    assert _breaks(engine, "a") == []


def test_a_row_after_it_that_continues_the_wrong_balance_breaks(engine: Engine) -> None:
    _load(engine, "b", "1201.5")  # continues the last deposit (last by id), as if its spend had not happened
    assert [kind for kind, _ in _breaks(engine, "b")] == ["chain_break"]
