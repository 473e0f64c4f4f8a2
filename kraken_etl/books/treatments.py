"""Treatments as data: how each kind of ledger entry (type, subtype) reaches the lots.

The defaults below are what `kraken.treatment` is seeded with; the table is the one the books read and a user
may edit it. A (type, subtype) pair is looked up exactly, then as (type, `*`), then the type `*` (the
default for anything unknown), whose rows are flagged so nothing is classified silently.

Treatments:
- `trade`: the entries of one refid dispose of what was given and acquire what was received, both at the
  trade's value (crypto-to-crypto included);
- `income`: an acquisition at fair value at receipt, and a row of income (staking and Earn rewards, ...);
- `internal`: a move between the account's own wallets (spot, staking, Earn, futures, `.HOLD`): lots carry
  over unchanged;
- `deposit`: an acquisition at the cost of the user's opening lots, else at fair value flagged
  `cost_assumed`;
- `withdrawal`: lots leave the entity with their cost (transferred), never a disposal;
- `acquire_or_dispose`: an increase is an acquisition and a decrease a disposal, both at fair value (the
  default for an unknown type, always flagged);
- `ignore`: nothing happens to the lots (the row is still counted by the lots check);
- `fee`: the entry's fee is an expense at fair value (a margin rollover); paid in another asset than the
  reporting currency, that asset also leaves its lots (a disposal at fair value);
- `margin`: a position on margin's entry: its fee as `fee`, its amount (the profit or loss a close
  realised) a gain or loss that draws on no lots (a disposal row of rule `margin`); in another asset than
  the reporting currency, the amount also reaches that asset's lots (an acquisition at fair value, or a
  disposal).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class Treatment(StrEnum):
    TRADE = "trade"
    INCOME = "income"
    INTERNAL = "internal"
    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    ACQUIRE_OR_DISPOSE = "acquire_or_dispose"
    IGNORE = "ignore"
    FEE = "fee"
    MARGIN = "margin"


class FeeRule(StrEnum):
    """Where a trade's fee paid in the reporting currency goes."""

    ACQUISITION_COST = "acquisition_cost"  # added to the cost of what the trade acquired (else to the disposal's fees)
    DISPOSAL_PROCEEDS = "disposal_proceeds"  # taken off the proceeds of what it disposed of (else added to cost)


ANY = "*"


@dataclass(frozen=True, slots=True)
class Rule:
    treatment: Treatment
    note: str
    flagged: bool = False  # a row classified by this rule is reported (the unknown-type default)


# (ledger type, subtype) → rule. Seeded into kraken.treatment by the cost_basis migration (a test keeps the two
# equal). Kraken's ledger types and transfer/earn subtypes as documented and as seen in the wild.
DEFAULTS: dict[tuple[str, str], Rule] = {
    ("trade", ANY): Rule(Treatment.TRADE, "a fill: disposal of what was given, acquisition of what was received"),
    ("spend", ANY): Rule(Treatment.TRADE, "Buy Crypto / convert: the paying side of a swap"),
    ("receive", ANY): Rule(Treatment.TRADE, "Buy Crypto / convert: the receiving side of a swap"),
    ("conversion", ANY): Rule(Treatment.TRADE, "a conversion (a delisted or renamed asset): a swap"),
    ("sale", ANY): Rule(Treatment.TRADE, "a sale (an asset converted by Kraken): a swap"),
    ("transfer", "delistingconversion"): Rule(Treatment.TRADE, "a delisted asset converted: a swap"),
    ("transfer", ANY): Rule(Treatment.INTERNAL, "between the account's wallets (spot, staking, futures, .HOLD)"),
    ("earn", "reward"): Rule(Treatment.INCOME, "an Earn reward"),
    ("earn", ANY): Rule(Treatment.INTERNAL, "Earn allocation, deallocation, autoallocation, migration"),
    ("staking", ANY): Rule(Treatment.INCOME, "a staking reward"),
    ("reward", ANY): Rule(Treatment.INCOME, "a reward"),
    ("dividend", ANY): Rule(Treatment.INCOME, "a dividend"),
    ("invite bonus", ANY): Rule(Treatment.INCOME, "a referral bonus"),
    ("nftrebate", ANY): Rule(Treatment.INCOME, "an NFT rebate"),
    ("nfttrade", ANY): Rule(Treatment.ACQUIRE_OR_DISPOSE, "an NFT bought (what paid: a disposal) or sold (what came "
                                                          "in: an acquisition), at fair value; the NFT has no lots"),
    ("nftcreatorfee", ANY): Rule(Treatment.ACQUIRE_OR_DISPOSE, "an NFT creator's royalty, paid (a disposal) or "
                                                               "received (an acquisition), at fair value"),
    ("credit", ANY): Rule(Treatment.INCOME, "a credit from Kraken (fee credits have no lots)"),
    ("deposit", ANY): Rule(Treatment.DEPOSIT, "a deposit: cost from the opening lots, else fair value, flagged"),
    ("opening balance", ANY): Rule(Treatment.DEPOSIT, "the balance a partial history opens with: like a deposit"),
    ("withdrawal", ANY): Rule(Treatment.WITHDRAWAL, "a withdrawal to the owner's own wallet: lots move out"),
    ("custodytransfer", ANY): Rule(Treatment.INTERNAL, "a move between Kraken's custody accounts"),
    ("hybridearnwithdrawal", ANY): Rule(Treatment.INTERNAL, "Earn back to spot"),
    ("adjustment", ANY): Rule(Treatment.ACQUIRE_OR_DISPOSE, "a balance adjustment at fair value", flagged=True),
    ("margin", ANY): Rule(Treatment.MARGIN, "a position on margin: its profit or loss a realised gain, its fees an "
                                            "expense"),
    ("rollover", ANY): Rule(Treatment.FEE, "a margin rollover fee: an expense"),
    ("settled", ANY): Rule(Treatment.TRADE, "a margin position settled: the base bought (or sold) at its cost"),
    (ANY, ANY): Rule(Treatment.ACQUIRE_OR_DISPOSE, "an unknown type: classified by default", flagged=True),
}


def rule_for(table: Mapping[tuple[str, str], Rule], type_: str, subtype: str) -> Rule:
    """The rule for a (type, subtype): exact, then the type with any subtype, then the unknown default."""
    kind, sub = type_.strip().lower(), (subtype or "").strip().lower()
    return table.get((kind, sub)) or table.get((kind, ANY)) or table.get((ANY, ANY)) or DEFAULTS[(ANY, ANY)]
