"""Margin shapes (profile ``margin-trader``): spot positions on margin, opened, rolled over, closed or settled.

Kraken's ledger for margin (support article "How to calculate profits/losses from trading on margin"):
no spot leg moves the base asset; a ``margin`` entry in the quote currency carries each position trade
(opening: amount 0, the trade and opening fees together; closing: amount = the realised profit or loss
before fees, the closing trade's fee); a ``rollover`` entry (amount 0, the fee) every 4 hours the position
stays open. Settling a position (an order of type ``settle-position``) pays the position's cost in the
quote and receives its volume in the base (long; a short the other way round) as two ``settled`` entries,
with no fee (Kraken's fee page: no fee for settling).

Assumed where Kraken's documentation is silent (UNVERIFIED, docs/simulator.md): a rollover's refid (the
position's id, or its own: the ``rollover_refid`` knob); a position trade's ``fee`` is its ``margin`` entry's;
``net`` is the profit or loss before fees; a settled position's ``net`` is 0, its settling trade on the closing
side at the position's price; a partial close (the first close by trade, then about a third of them: 20-70 %
of the volume, the rest later) leaves ``posstatus`` ``partial`` and ``cvol`` the volume closed so far.

Times: a position keeps its due times (next rollover, close) relative to the current run (batch); a
position still open when a run ends continues its schedule from the start of the next run
(`/_sim/advance`), so the gap between two runs is not charged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from kraken_etl.simulator import catalog as c
from kraken_etl.simulator.orders import LOT, MIN_VOL, TAKER_RATE, _walk_price, make_order

if TYPE_CHECKING:
    from kraken_etl.simulator.generator import GeneratedBatch, Generator

TICKS = 10_000_000
GRID = 1_000
HOUR = 3_600 * TICKS
ROLLOVER_EVERY = 4 * HOUR  # Kraken: "Rollover fees are charged every 4 hours"
OPEN_RATE = 2  # margin opening fee per 10,000 of the position's cost (Kraken's fee page: 0.01-0.02 %)
ROLLOVER_RATE = 2  # rollover fee per 10,000 of the position's cost, every 4 hours
SETTLE_SHARE = 0.25  # of positions settled rather than closed by a trade (when the account can pay)
PARTIAL_SHARE = 0.3  # of closes by trade that close only part of the position (the rest closes later)
MAX_OPEN = 3
LEVERAGES = (2, 3, 5)
MARGIN_PAIRS = tuple(c.PAIR_CODE[k] for k in ("XXBTZUSD", "XXBTZEUR", "XETHZUSD", "SOLUSD"))
SHARE = 0.35  # of the account's events that open a position
T_MARGIN = c.LEDGER_TYPE_CODE["margin"]
T_ROLLOVER = c.LEDGER_TYPE_CODE["rollover"]
T_SETTLED = c.LEDGER_TYPE_CODE["settled"]
SETTLE = c.ORDER_TYPE_CODE["settle-position"]
MARKET = c.ORDER_TYPE_CODE["market"]


@dataclass(frozen=True, slots=True)
class Close:
    """One closing (or settling) trade of a position: its absolute index, the volume it closed (lot units), its
    price, cost, fee and the profit or loss it realised (quote units), whether it settled."""

    idx: int
    vol: int
    price: int
    cost: int
    fee: int
    pnl: int
    settled: bool


@dataclass(slots=True)
class Position:
    """One position: opened by trade `idx` (absolute), closed by one or more trades (`closes`: a partial close
    leaves the rest open), or settled."""

    idx: int
    pair: int
    side: int  # 0 long (bought), 1 short (sold)
    lev: int
    vol: int  # lot units
    price: int  # pair decimals
    cost: int  # quote units
    fee: int  # opening: trade fee + opening fee, quote units
    margin: int  # quote units
    next_roll: int  # ticks, relative to the current run
    close_due: int
    rollovers: list[int] = field(default_factory=list)  # absolute ledger positions of its rollover entries
    roll_fees: int = 0
    closing: int = -1  # absolute index of the trade that closed (or settled) what was left
    closes: list[Close] = field(default_factory=list)
    closed_vol: int = 0  # lot units closed so far
    closed_cost: int = 0  # the opening cost of the volume closed so far (quote units)

    @property
    def open_cost(self) -> int:
        """The opening cost of the volume still open (quote units)."""
        return self.cost - self.closed_cost


@dataclass(slots=True)
class MarginBook:
    """Every position of the account by opening trade, and which are open."""

    positions: dict[int, Position] = field(default_factory=dict)
    open: list[int] = field(default_factory=list)
    run: tuple[int, int] = (-1, -1)  # which GeneratedBatch the due times are relative to
    last: int = 0  # the latest time written in that run
    settled: int = 0  # positions settled so far (the first close settles: every account has one)
    partial: int = 0  # partial closes so far (the first close by trade is one: every account has one)


def book(gen: Generator) -> MarginBook:
    """The generator's margin book (created on first use)."""
    return cast(MarginBook, gen.state.setdefault("margin", MarginBook()))


def positions_of(state: dict[str, object]) -> dict[int, Position]:
    """Positions by opening trade index (empty for an account that never traded on margin)."""
    found = state.get("margin")
    return found.positions if isinstance(found, MarginBook) else {}


def _quote_scale(pi: int) -> tuple[int, int, int]:
    p = c.PAIRS[pi]
    return c.ASSETS[p.quote].decimals, c.ASSETS[p.base].decimals, p.pair_decimals


def _cost(pi: int, price: int, vol: int) -> int:
    qdec, _, pdec = _quote_scale(pi)
    return int(price * vol * 10**qdec // 10 ** (pdec + LOT))


def _locked(bk: MarginBook, quote: int) -> int:
    return sum(bk.positions[i].margin for i in bk.open if c.PAIRS[bk.positions[i].pair].quote == quote)


def open_position(gen: Generator, b: GeneratedBatch, t: int, bases: tuple[int, int, int], mean_gap: int) -> int:
    """Open a position (one market order, one trade, one ``margin`` entry); a spot order when enough are open."""
    rng = gen.rng
    bk = book(gen)
    lb, _, ob = bases
    if len(bk.open) >= MAX_OPEN:
        return make_order(gen, b, t, bases, mean_gap)
    pi = rng.choice(MARGIN_PAIRS)
    quote = c.PAIRS[pi].quote
    qdec, _, pdec = _quote_scale(pi)
    price = _walk_price(gen, pi)
    side = rng.randrange(2)
    lev = rng.choice(LEVERAGES)
    free = gen.bal(quote) - _locked(bk, quote)
    budget = max(0, free) * rng.randint(5, 20) // 100 * lev
    vol = budget * 10 ** (pdec + LOT) // (price * 10**qdec)
    if vol < MIN_VOL:
        return gen.deposit(b, t, lb, quote)
    cost = _cost(pi, price, vol)
    margin, fee = cost // lev, cost * (TAKER_RATE + OPEN_RATE) // 10_000
    if cost <= 0 or free < margin + fee:
        return gen.deposit(b, t, lb, quote)
    idx = b.trade_base + len(b.trades)
    at = t + GRID
    first = gen.leg(b, lb, at, quote, c.SPOT, T_MARGIN, c.ST_NONE, 0, fee, c.REF_TRADE, idx)
    b.trades.add(time=at, pair=pi, side=side, otype=MARKET, price=price, vol=vol, cost=cost, fee=fee, maker=0,
                 order=ob + len(b.orders), leg=first, nlegs=1, pos=idx + 1, lev=lev, margin=margin)
    b.orders.add(opentm=t, closetm=at + GRID, pair=pi, side=side, otype=MARKET, status=c.CLOSED, reason=0,
                 vol=vol, vol_exec=vol, cost=cost, fee=fee, limit=0, first_trade=idx, ntrades=1, userref=0,
                 oflags=0, amended=0, lev=lev)
    bk.positions[idx] = Position(idx, pi, side, lev, vol, price, cost, fee, margin, at + ROLLOVER_EVERY,
                                 at + rng.randint(1, 36) * HOUR)
    bk.open.append(idx)
    return at + GRID


def due(gen: Generator, b: GeneratedBatch, prev: int, t: int, bases: tuple[int, int, int]) -> int:
    """Write the rollovers and closes that fell due up to `t` (in time order, none before `prev`)."""
    bk = book(gen)
    run = (id(b), b.trade_base)
    if bk.run != run:
        for i in bk.open:  # a new run: carry the schedule over from the previous run's end
            pos = bk.positions[i]
            pos.next_roll, pos.close_due = max(0, pos.next_roll - bk.last), max(0, pos.close_due - bk.last)
        bk.run = run
    cur = prev
    while bk.open:
        when, kind, i = min(min((p.next_roll, 0, p.idx), (p.close_due, 1, p.idx))
                            for p in (bk.positions[j] for j in bk.open))
        if when > t:
            break
        pos = bk.positions[i]
        at = max(when, cur)
        if kind == 0 and pos.next_roll < pos.close_due:
            cur = _rollover(gen, b, at, bases[0], pos)
            pos.next_roll = at + ROLLOVER_EVERY  # 4 hours after the one charged (a delayed one moves the next)
        else:
            cur = _close(gen, b, at, bases, pos)
            if pos.closing >= 0:
                bk.open.remove(i)
            else:  # a partial close: the rest closes later
                pos.close_due = at + gen.rng.randint(1, 24) * HOUR
    bk.last = max(t, cur)
    return bk.last


def _afford(gen: Generator, b: GeneratedBatch, at: int, lb: int, asset: int, need: int) -> None:
    """Deposits of `asset` until its balance covers `need` (a trader topping up before a loss or a fee)."""
    for _ in range(50):
        if gen.bal(asset) >= need:
            return
        gen.deposit(b, at, lb, asset)


def _rollover(gen: Generator, b: GeneratedBatch, at: int, lb: int, pos: Position) -> int:
    quote = c.PAIRS[pos.pair].quote
    fee = max(1, pos.open_cost * ROLLOVER_RATE // 10_000)
    _afford(gen, b, at, lb, quote, fee)
    pos.rollovers.append(gen.leg(b, lb, at, quote, c.SPOT, T_ROLLOVER, c.ST_NONE, 0, fee, c.REF_TRADE, pos.idx))
    pos.roll_fees += fee
    return at


def _partial_vol(gen: Generator, pos: Position, force: bool = False) -> int:
    """The volume a close by trade closes: part of what is open (a partial close, once a position at most) or
    all of it; forced: part of it, or 0 when the position is too small to split."""
    left = pos.vol - pos.closed_vol
    bk = book(gen)
    if not force and (pos.closes or (gen.rng.random() >= PARTIAL_SHARE and bk.partial)):
        return left
    part = left * gen.rng.randint(20, 70) // 100
    if part < MIN_VOL or left - part < MIN_VOL:
        return 0 if force else left
    bk.partial += 1
    return part


def _close(gen: Generator, b: GeneratedBatch, at: int, bases: tuple[int, int, int], pos: Position,
           part: int = 0) -> int:
    """Close the position by a market trade (a ``margin`` entry with the profit or loss; part of it, or what is
    left), or settle what is left; `part` > 0: close that volume by a trade."""
    lb, _, ob = bases
    p = c.PAIRS[pos.pair]
    _, bdec, _ = _quote_scale(pos.pair)
    left = pos.vol - pos.closed_vol
    idx = b.trade_base + len(b.trades)
    tt = at + GRID
    long = pos.side == 0
    bk = book(gen)
    settle = not part and (gen.rng.random() < SETTLE_SHARE or not bk.settled)
    base_amt = left * 10 ** (bdec - LOT)
    if settle and not bk.settled:  # the account's first close settles: top up what settling pays with
        _afford(gen, b, at, lb, p.quote if long else p.base, pos.open_cost if long else base_amt)
    can_settle = gen.bal(p.quote) >= pos.open_cost if long else gen.bal(p.base) >= base_amt
    if settle and can_settle:
        bk.settled += 1
        vol, otype, price, cost, fee, pnl = left, SETTLE, pos.price, pos.open_cost, 0, 0
        first = gen.leg(b, lb, tt, p.base, c.SPOT, T_SETTLED, c.ST_NONE, base_amt if long else -base_amt, 0,
                        c.REF_TRADE, idx)
        gen.leg(b, lb, tt, p.quote, c.SPOT, T_SETTLED, c.ST_NONE, -cost if long else cost, 0, c.REF_TRADE, idx)
        nlegs, opened = 2, cost
    else:
        vol, otype, price = part or _partial_vol(gen, pos), MARKET, _walk_price(gen, pos.pair)
        opened = pos.open_cost if vol == left else pos.cost * vol // pos.vol  # the opening cost of `vol`
        cost = _cost(pos.pair, price, vol)
        fee = cost * TAKER_RATE // 10_000
        pnl = cost - opened if long else opened - cost
        _afford(gen, b, at, lb, p.quote, fee - pnl)
        first = gen.leg(b, lb, tt, p.quote, c.SPOT, T_MARGIN, c.ST_NONE, pnl, fee, c.REF_TRADE, idx)
        nlegs = 1
    side = 1 - pos.side
    b.trades.add(time=tt, pair=pos.pair, side=side, otype=otype, price=price, vol=vol, cost=cost, fee=fee,
                 maker=0, order=ob + len(b.orders), leg=first, nlegs=nlegs, pos=pos.idx + 1, lev=pos.lev,
                 margin=pos.margin)
    b.orders.add(opentm=at, closetm=tt + GRID, pair=pos.pair, side=side, otype=otype, status=c.CLOSED, reason=0,
                 vol=vol, vol_exec=vol, cost=cost, fee=fee, limit=0, first_trade=idx, ntrades=1,
                 userref=0, oflags=0, amended=0, lev=pos.lev)
    pos.closes.append(Close(idx, vol, price, cost, fee, pnl, otype == SETTLE))
    pos.closed_vol += vol
    pos.closed_cost += opened
    if pos.closed_vol == pos.vol:
        pos.closing = idx
    return tt + GRID


def finish(gen: Generator, b: GeneratedBatch, t: int, bases: tuple[int, int, int]) -> int:
    """The end of a built history: with no position open, open one; the last open position is rolled over at
    least once, closed in part when it is big enough to split, and stays open past the end (every account of
    the profile ends with a position open that has a rollover, whatever the seed)."""
    bk = book(gen)
    for _ in range(8):
        if bk.open:
            break
        t = open_position(gen, b, t + GRID, bases, HOUR)
    if bk.open:
        last = bk.positions[bk.open[-1]]
        if not last.rollovers:
            at = max(t, last.next_roll)
            t = _rollover(gen, b, at, bases[0], last)
            last.next_roll = at + ROLLOVER_EVERY
        part = 0 if last.closes else _partial_vol(gen, last, force=True)
        if part:  # and closed in part (OpenPositions shows its vol_closed), when it is big enough to split
            t = _close(gen, b, t, bases, last, part)
        last.close_due = max(last.close_due, t + 30 * 24 * HOUR)
        bk.last = t
    return t


EVENTS = ((1.0, open_position),)
