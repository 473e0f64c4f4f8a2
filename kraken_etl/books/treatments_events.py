"""Ledger entries of one tax entity → the lot engine's events, by the treatments table. Pure.

The caller gives each entry already normalised (`asset` is the canonical code without a wallet suffix, so
`DOT.S` and `DOT` are one asset) and its fair value (`price` of one unit in the reporting currency at the
entry's moment, or None when there is no price). Quantities are net of the ledger fee (`amount - fee` is
what the balance moved by), so the open lots always follow the balance.

Nothing is dropped silently: a missing price, a cost assumed from fair value, an entry classified by the
unknown-type default each give a `Finding` naming the entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from operator import attrgetter, itemgetter

from kraken_etl.books.event_lines import Converted, Finding, LedgerLine, OpeningLot, Progress, value_of
from kraken_etl.books.lots import gc_paused
from kraken_etl.books.lots_model import ZERO, Event, Kind
from kraken_etl.books.openings import Openings, deposit, held_openings, unused_openings
from kraken_etl.books.trade_sides import by_asset, net_same_asset, shares
from kraken_etl.books.treatments import DEFAULTS, FeeRule, Rule, Treatment, rule_for

FEE_CREDITS = frozenset({"KFEE"})
_ACQUIRE, _DISPOSE, _EXPENSE = Kind.ACQUIRE, Kind.DISPOSE, Kind.EXPENSE  # (an enum member lookup is slow)
_LINE_ORDER = attrgetter("at", "ledger_id")
_BUY_CRYPTO = frozenset({"spend", "receive"})
_PENDING_AT = itemgetter(2)


def ledger_to_events(
    lines: Iterable[LedgerLine],
    *,
    currency: str,
    table: Mapping[tuple[str, str], Rule] = DEFAULTS,
    fee_rule: FeeRule = FeeRule.ACQUISITION_COST,
    opening_lots: Iterable[OpeningLot] = (),
    since: Mapping[str, datetime] | None = None,
    opening_progress: Mapping[str, Progress] | None = None,
    moves: Mapping[tuple[str, str], tuple[str, str]] | None = None,
) -> Converted:
    """The events and findings of `lines`.

    `moves`: (account, ledger id) of the deposits and withdrawals that are moves between the entity's accounts
    (`books.moves.pair_moves`): their lots stay in the pool; only their fees leave it.

    `since` (a resumed run): per asset, the moment its events start; only those assets' events and findings
    from then on are returned, and their deposits before it do not use opening lots. `opening_progress`: per
    asset, how far its opening lots had been used at that moment (default: not at all).
    """
    with gc_paused():
        return _convert(lines, currency, table, fee_rule, opening_lots, since, opening_progress or {}, moves or {})


def _convert(lines: Iterable[LedgerLine], currency: str, table: Mapping[tuple[str, str], Rule], fee_rule: FeeRule,
             opening_lots: Iterable[OpeningLot], since: Mapping[str, datetime] | None,
             opening_progress: Mapping[str, Progress], moves: Mapping[tuple[str, str], tuple[str, str]]) -> Converted:
    out = Converted([], [])
    openings = held_openings(opening_lots, opening_progress)
    trades: dict[str, list[LedgerLine]] = {}
    ordered = sorted(lines, key=_LINE_ORDER)
    rules: dict[tuple[str, str], Rule] = {}
    trade = Treatment.TRADE
    for line in ordered:
        key = (line.type, line.subtype)
        rule = rules.get(key)
        if rule is None:
            rule = rules[key] = rule_for(table, line.type, line.subtype)
        if rule.flagged:
            out.findings.append(Finding("unclassified", (line.ledger_id,),
                                        f"{line.type}/{line.subtype or '-'} treated as {rule.treatment}: {rule.note}",
                                        line.asset, line.at))
        if rule.treatment is trade:
            refid = line.refid or line.ledger_id
            legs = trades.get(refid)
            if legs is None:
                trades[refid] = [line]
            else:
                legs.append(line)
            continue
        if moves and (line.account, line.ledger_id) in moves:
            if line.fee and line.asset != currency:  # the fee leaves the pool, its cost carried out
                out.add(Kind.TRANSFER_OUT, line.asset, line.at, line.fee, entries=(line.ledger_id,),
                        label=f"{line.type} fee (a move between accounts)")
            continue
        if since is not None and rule.treatment is Treatment.DEPOSIT and (
                line.asset not in since or line.at < since[line.asset]):
            continue  # outside the run: its opening lots were used (or not) before
        _single(out, line, rule.treatment, currency, openings)
    for legs in trades.values():
        if len(legs) != 2 or not _fiat_trade(out, legs[0], legs[1], currency):
            _trade(out, legs, currency, fee_rule)
    unused_openings(out, openings)
    if since is not None:
        out.pending = [p for p in out.pending if (s := since.get(p[1])) is not None and p[2] >= s]  # type: ignore[call-overload]
        out.findings = [f for f in out.findings
                        if (s := since.get(f.asset)) is not None and (f.at is None or f.at >= s)]
    out.pending.sort(key=_PENDING_AT)  # stable: the order each entry produced its events in
    out.events = [Event(kind, asset, at, amount, value, fees, entries, seq, assumed, label, acquired_at)  # type: ignore[arg-type]
                  for seq, (kind, asset, at, amount, value, fees, entries, assumed, label, acquired_at)
                  in enumerate(out.pending)]
    out.pending = []
    return out


def _single(out: Converted, line: LedgerLine, treatment: Treatment, currency: str,
            openings: dict[str, Openings]) -> None:
    net = line.net
    label = f"{line.type}/{line.subtype}" if line.subtype else line.type
    ids = (line.ledger_id,)
    if treatment is Treatment.FEE or treatment is Treatment.MARGIN:
        _margin(out, line, treatment, currency, label)
        return
    if line.asset == currency or not net or treatment is Treatment.IGNORE:
        return
    if line.asset in FEE_CREDITS:
        if net < 0:
            out.add(Kind.EXPENSE, line.asset, line.at, -net, value_of(out, line, -net), entries=ids,
                                    label=label)
        return
    if treatment is Treatment.INTERNAL:
        return
    if net > 0 and treatment is Treatment.INCOME:
        out.add(Kind.INCOME, line.asset, line.at, net, value_of(out, line, net), entries=ids,
                                label=label)
    elif net > 0 and treatment is Treatment.DEPOSIT:
        deposit(out, line, net, openings[line.asset])
    elif net < 0 and treatment is Treatment.WITHDRAWAL:
        out.add(Kind.TRANSFER_OUT, line.asset, line.at, -net, entries=ids, label=label)
    elif net > 0:
        out.add(Kind.ACQUIRE, line.asset, line.at, net, value_of(out, line, net), entries=ids,
                                cost_assumed=True, label=label)
    else:
        out.add(Kind.DISPOSE, line.asset, line.at, -net, value_of(out, line, -net), entries=ids,
                                label=label)


def _margin(out: Converted, line: LedgerLine, treatment: Treatment, currency: str, label: str) -> None:
    """A margin entry: its fee an expense, its amount (`margin` only) a realised gain or loss with no lots; in
    another asset than `currency`, what moved also reaches that asset's lots at fair value."""
    ids = (line.ledger_id,)
    fiat = line.asset == currency
    if line.fee:
        value = line.fee if fiat else value_of(out, line, line.fee)
        if not fiat:
            out.add(Kind.DISPOSE, line.asset, line.at, line.fee, value, entries=ids, label=label)
        out.add(Kind.EXPENSE, line.asset, line.at, line.fee, value, entries=ids, label=label)
    amount = line.amount
    if treatment is not Treatment.MARGIN or not amount:
        return
    value = amount if fiat else (value_of(out, line, amount) if amount > 0 else -value_of(out, line, -amount))
    out.add(Kind.GAIN, line.asset, line.at, abs(amount), value, entries=ids, label=label)  # value: signed
    if fiat:
        return
    if amount > 0:
        out.add(Kind.ACQUIRE, line.asset, line.at, amount, value, entries=ids, label=label)
    else:
        out.add(Kind.DISPOSE, line.asset, line.at, -amount, -value, entries=ids, label=label)


def _trade(out: Converted, legs: list[LedgerLine], currency: str, fee_rule: FeeRule) -> None:
    at = min([leg.at for leg in legs])
    ids = tuple([leg.ledger_id for leg in legs])
    fiat: list[LedgerLine] = []
    gives: list[tuple[LedgerLine, Decimal]] = []  # (leg, quantity net of its fee), in the legs' order
    gets: list[tuple[LedgerLine, Decimal]] = []
    for leg in legs:
        asset = leg.asset
        if asset == currency:
            fiat.append(leg)
            continue
        net = leg.amount - leg.fee
        if asset in FEE_CREDITS:
            if net < 0:
                out.add(_EXPENSE, asset, leg.at, -net, value_of(out, leg, -net), entries=(leg.ledger_id,),
                        label="trade fee")
        elif net < 0:
            gives.append((leg, net))
        elif net > 0:
            gets.append((leg, net))
    fee = sum([leg.fee for leg in fiat], ZERO)
    paid = sum([leg.amount for leg in fiat], ZERO)
    if paid:
        value = abs(paid)
    elif gives and all(leg.type in _BUY_CRYPTO for leg in legs):  # Buy Crypto: worth the fiat spent, fee included
        value = sum([value_of(out, leg, -net, at) for leg, net in gives], ZERO)
    else:
        value = sum([value_of(out, leg, abs(leg.amount), at) for leg, _ in gets or gives], ZERO)
    gives, gets = net_same_asset(by_asset(gives), by_asset(gets))  # a leg per wallet; a renamed asset
    give_values = shares(value, gives) if len(gives) > 1 else [value] * len(gives)
    get_values = shares(value, gets) if len(gets) > 1 else [value] * len(gets)
    fees_on_disposal = fee if fee and gives and (fee_rule is FeeRule.DISPOSAL_PROCEEDS or not gets) else ZERO
    fee_on_cost = fee if fee and gets and not fees_on_disposal else ZERO
    add = out.pending.append  # the fields of Converted.add, in order
    if fee and not gives and not gets:
        add((_EXPENSE, currency, at, fee, fee, ZERO, ids, False, "trade fee", None))
    for i, (leg, net) in enumerate(gives):
        add((_DISPOSE, leg.asset, at, -net, give_values[i], fees_on_disposal if i == 0 else ZERO, ids, False,
             "trade", None))
    for i, (leg, net) in enumerate(gets):
        add((_ACQUIRE, leg.asset, at, net, get_values[i] + (fee_on_cost if i == 0 else ZERO), ZERO, ids, False,
             "trade", None))


def _fiat_trade(out: Converted, a: LedgerLine, b: LedgerLine, currency: str) -> bool:
    """The usual trade, one coin for the reporting currency, with `_trade`'s arithmetic written out (the same
    figures, without its lists); False when the legs are anything else."""
    fiat, coin = (a, b) if a.asset == currency else (b, a)
    if fiat.asset != currency or coin.asset == currency or coin.asset in FEE_CREDITS or not fiat.amount:
        return False
    net = coin.amount - coin.fee
    if not net:
        return False
    at = a.at if a.at <= b.at else b.at
    fee = ZERO + fiat.fee
    value = abs(ZERO + fiat.amount)
    if net < 0:  # a sale: no acquisition to carry the fee, so it stays with the disposal
        out.pending.append((_DISPOSE, coin.asset, at, -net, value, fee if fee else ZERO, (a.ledger_id, b.ledger_id),
                            False, "trade", None))
    else:
        out.pending.append((_ACQUIRE, coin.asset, at, net, value + (fee if fee else ZERO), ZERO,
                            (a.ledger_id, b.ledger_id), False, "trade", None))
    return True
