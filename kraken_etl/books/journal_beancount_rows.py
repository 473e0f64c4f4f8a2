"""The Beancount journal written straight from entry rows: the same text `BeancountRenderer` writes through
`render`, in one pass over the rows of `reporting.journal_entry` with no posting or transaction objects.

The export's common case (no gains posted, no lots) on a million-entry account: each entry's lines are
written from its row, the amounts as the database's own text of the numeric (`numbers_as_text` of
`kraken_etl.db.journal.journal_entries`: what `number` would write of the Decimal: its own scale, never in
exponent form, no negative zero), the account and commodity names of each (asset account, asset) worked out
once. The renderer's state (names used, first day) is the `BeancountRenderer`'s, so the openings, prices,
assertions and the closing `open`/`commodity` directives are its own methods.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from kraken_etl.books.journal import FEE_ACCOUNT, DayEnds, Opening
from kraken_etl.books.journal_beancount import BeancountRenderer
from kraken_etl.books.journal_names import quoted
from kraken_etl.books.journal_render import JournalStats, Price, begin

# One row of `journal_entries(..., numbers_as_text=True)`: `EntryRow` with the numerics as text.
TextEntryRow = tuple[str, str, datetime, str | None, str, datetime, str, str, str, str | None, str, str,
                     str | None, str | None, str | None, str, str, str | None, str | None, str | None]

_FLUSH = 4096  # transactions' text joined into one write


def render_entries(renderer: BeancountRenderer, *, openings: list[Opening], rows: Iterable[TextEntryRow],
                   prices: Iterable[Price]) -> JournalStats:
    """Write the journal of `rows` (in journal order) with `renderer`: the file `render` writes from their
    postings, byte for byte; returns what was written."""
    stats = begin(renderer, openings, prices)
    ends = DayEnds()
    entry = ends.entry
    out = renderer.out
    account_name, commodity_name, label = renderer._account, renderer._commodity, renderer._label
    value_suffix = ""  # " <currency>\n", once a value is written
    # (asset account, asset) -> (the asset posting's line up to its amount, the text after an amount)
    chains: dict[tuple[str, str], tuple[str, str]] = {}
    counters: dict[str, str] = {}  # counter account -> "  <name>  "
    fee_head = ""
    kinds_labels: dict[tuple[str, ...], str] = {}
    pending: list[str] = []  # text not written yet
    body: list[str] = []  # the current transaction's postings
    txn_account = txn_id = txn_refid = None
    txn_moment = datetime.min
    kinds: list[str] = []
    first_kind: tuple[str, str] = ("", "")
    transactions = postings = assertions = 0

    def header() -> str:
        key = tuple(kinds)
        made = kinds_labels.get(key)
        if made is None:
            made = kinds_labels[key] = label(", ".join(kinds))
        return (f"{txn_moment.date()} * \"Kraken\" {made}\n  kraken_account: {label(txn_account or '')}\n"
                f"  refid: {quoted(txn_refid or '')}\n  time: \"{txn_moment.isoformat()}\"\n")

    for (account, entry_txn, txn_time, refid, ledger_id, time, kind, subtype, asset, wallet, asset_account, net, fee,
         counter, balance, _, counter_account, net_value, fee_value, counter_value) in rows:
        if entry_txn != txn_id or account != txn_account:  # a new transaction
            if body:
                pending.append(header())
                pending.extend(body)
                pending.append("\n")
                body = []
                if len(pending) > _FLUSH:
                    out.write("".join(pending))
                    pending = []
            txn_account, txn_id, txn_refid = account, entry_txn, refid
            txn_moment = txn_time.astimezone(UTC)  # the database session's time zone may be another
            day = txn_moment.date()
            closed = ends.start(day)
            if closed:
                out.write("".join(pending))
                pending = []
                for assertion in closed:
                    renderer.assertion(assertion)
                assertions += len(closed)
            if renderer.first_day is None or day < renderer.first_day:
                renderer.first_day = day
            if stats.first_day is None or day < stats.first_day:
                stats.first_day = day
            stats.last_day = day
            transactions += 1
            first_kind = (kind, subtype)
            kinds = [f"{kind}/{subtype}" if subtype else kind]
        elif kind != first_kind[0] or subtype != first_kind[1]:
            made_kind = f"{kind}/{subtype}" if subtype else kind
            if made_kind not in kinds:
                kinds.append(made_kind)
        entry(ledger_id, time, asset_account, asset, wallet, net, balance)
        chain = chains.get((asset_account, asset))
        if chain is None:
            chain = chains[(asset_account, asset)] = (f"  {account_name(asset_account)}  ",
                                                      f" {commodity_name(asset)}\n    ledger_id: ")
        head, tail = chain
        ledger_quoted = quoted(ledger_id)
        body.append(f"{head}{net}{tail}{ledger_quoted}\n")
        postings += 1
        if net_value is not None and renderer.currency:
            value_suffix = value_suffix or f" {commodity_name(renderer.currency)}\n"
            body.append(f"    value: {net_value}{value_suffix}")
        if fee is not None:
            fee_head = fee_head or f"  {account_name(FEE_ACCOUNT)}  "
            body.append(f"{fee_head}{fee}{tail}{ledger_quoted}\n")
            postings += 1
            if fee_value is not None and renderer.currency:
                value_suffix = value_suffix or f" {commodity_name(renderer.currency)}\n"
                body.append(f"    value: {fee_value}{value_suffix}")
        if counter is not None:
            counter_head = counters.get(counter_account)
            if counter_head is None:
                counter_head = counters[counter_account] = f"  {account_name(counter_account)}  "
            body.append(f"{counter_head}{counter}{tail}{ledger_quoted}\n")
            postings += 1
            if counter_value is not None and renderer.currency:
                value_suffix = value_suffix or f" {commodity_name(renderer.currency)}\n"
                body.append(f"    value: {counter_value}{value_suffix}")
    if body:
        pending.append(header())
        pending.extend(body)
        pending.append("\n")
    out.write("".join(pending))
    closed = ends.close_day()
    for assertion in closed:
        renderer.assertion(assertion)
    stats.transactions, stats.postings = transactions, postings
    stats.assertions = assertions + len(closed)
    stats.unasserted = ends.unasserted
    renderer.end()
    return stats
