"""Crafted export files (the hostile values an attacker would put in a file forwarded to an accountant) and a
runner for the real `kraken-etl` commands, shared by the terminal tests and the report tests."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

# Each one broke the report, the terminal or both before they printed data as text.
HOSTILE: tuple[str, ...] = (
    "<!--",
    '<meta http-equiv="refresh" content="0;url=https://attacker.invalid/">',
    '<form action="https://attacker.invalid/"><input name="q"></form>',
    '<a href="javascript:alert(1)">click</a>',
    "</title><h1>owned</h1>",
    "</script><script>alert(1)</script>",
    "A[/]B",
    "[bold red]loud[/][link=https://attacker.invalid]x[/link]",
    "\x1b[2J\x1b]0;pwned\x07",
    "\u202eCTB",
    "B\u200bTC",
    ":smile: \x7f\x9b\u2028end",
)
# How the terminal and the report show each one (hidden characters as escapes, everything else as written).
LOOK_ALIKES = {"\u202eCTB": "\\u202eCTB", "B\u200bTC": "B\\u200bTC"}

LEDGER_HEADER = ("txid", "refid", "time", "type", "subtype", "aclass", "subclass", "asset", "wallet", "amount",
                 "fee", "balance", "amountusd")
TRADE_HEADER = ("txid", "ordertxid", "pair", "time", "type", "ordertype", "price", "cost", "fee", "vol", "margin",
                "misc", "ledgers", "postxid")


def _csv(header: Sequence[str], rows: list[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def ledgers_csv(values: Sequence[str]) -> str:
    """A ledgers export in which every text field a file can carry holds one of `values`.

    Per value: a deposit of it as the asset (its own balance chain), an entry of it as the type and subtype
    on EUR, an entry in it as the wallet on USD; the subclass and the amountusd column carry it too. Amounts
    and balances add up, so the only findings are the ones the values themselves cause.
    """
    rows: list[Sequence[str]] = []
    eur = 0
    for i, v in enumerate(values):
        second = f"{i // 60:02d}:{i % 60:02d}"
        eur += 5
        rows += [
            (f"L{i:05d}A-AAAAA-BBBBBB", f"R{i:05d}A-CCCCC-DDDDDD", f"2024-03-01 00:{second}", "deposit", "",
             "currency", v, v, "spot / main", "10.0000", "0.0000", "10.0000", v),
            (f"L{i:05d}B-AAAAA-BBBBBB", f"R{i:05d}B-CCCCC-DDDDDD", f"2024-03-02 00:{second}", v, v,
             "currency", "fiat", "EUR", "spot / main", "5.0000", "0.0000", f"{eur}.0000", ""),
            (f"L{i:05d}C-AAAAA-BBBBBB", f"R{i:05d}C-CCCCC-DDDDDD", f"2024-03-03 00:{second}", "deposit", "",
             "currency", "fiat", "USD", v, "1.0000", "0.0000", "1.0000", ""),
        ]
    return _csv(LEDGER_HEADER, rows)


def trades_csv(values: Sequence[str]) -> str:
    """A trades export with each of `values` as a pair, an order type and the misc text (no ledger legs)."""
    rows = [(f"T{i:05d}-AAAAA-BBBBBB", f"O{i:05d}-CCCCC-DDDDDD", v, f"2024-03-04 00:{i // 60:02d}:{i % 60:02d}",
             "buy", v, "100.0", "1.0", "0.01", "0.01", "", v, "", "") for i, v in enumerate(values)]
    return _csv(TRADE_HEADER, rows)


def write_exports(folder: Path, values: Sequence[str]) -> list[Path]:
    """The crafted ledgers and trades files in `folder`, ready for `kraken-etl import`."""
    ledgers, trades = folder / "ledgers.csv", folder / "trades.csv"
    ledgers.write_text(ledgers_csv(values), encoding="utf-8")
    trades.write_text(trades_csv(values), encoding="utf-8")
    return [ledgers, trades]


def run_cli(db_url: str, home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[bytes]:
    """`python -m kraken_etl ARGS…` on `db_url`, output captured as bytes (a pipe, not a terminal)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KRAKEN_") and k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS", "TERM")}
    env.update(DATABASE_URL=db_url, KRAKEN_ETL_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "kraken_etl", *args], env=env, capture_output=True,
                          timeout=timeout, check=False)


def assert_plain(done: subprocess.CompletedProcess[bytes]) -> str:
    """The command's stdout + stderr as text, after checking it holds no ESC, no C1 CSI and no traceback."""
    for stream in (done.stdout, done.stderr):
        assert b"\x1b" not in stream, stream[:2000]
        assert b"\xc2\x9b" not in stream, stream[:2000]  # U+009B, the one-byte CSI
        assert b"Traceback" not in stream and b"MarkupError" not in stream, stream.decode("utf-8", "replace")
    return done.stdout.decode("utf-8") + done.stderr.decode("utf-8")
