"""Look-alike ids: an id written differently from a real one must never load as a second row (pure).

Kraken's ids are ASCII (ledger ids ``L…-…-…``, trade ids ``T…``, mixed-case ``FT…`` refids): their
alphabet is NOT checked (Kraken has changed it before, docs/architecture.md, decision 7). What is refused is an id
that only *looks* like another one:

- an id holding whitespace or invisible characters (spaces, tabs, line breaks, zero-width and other format
  characters, controls, unassigned code points): ``ID ``, `` ID``, ``ID\\u200b`` read as ``ID``;
- an id that equals another id of the same batch, of an earlier batch of the same file, or one already
  stored, once both are lower-cased (`fold`), while differing from it: ``id`` next to ``ID``. The first
  one wins (the stored one, or the earlier one in the file); the look-alike is quarantined with a reason
  naming both ids, escaped (`ascii`).

The comparison with stored ids is made in SQL on ``lower(id)`` (`kraken_etl.db.merge_rule`); `fold` is the same
rule on this side (``str.lower``; for ASCII ids the two agree exactly).
"""

from __future__ import annotations

import unicodedata

# Unicode categories of characters that do not show: controls, format (zero-width, bidi marks),
# surrogates, private use, unassigned, and the separators (spaces, line and paragraph separators).
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})


def fold(record_id: str) -> str:
    """The form two ids are compared in: lower case (the database's ``lower()``)."""
    return record_id.lower()


def plain_ids(ids: list[str]) -> bool:
    """Whether none of `ids` can hold a hidden character (one C-speed test over the batch)."""
    joined = "".join(ids)
    return joined.isascii() and joined.isprintable() and " " not in joined


def visible(record_id: str) -> str:
    """`record_id` without its hidden characters."""
    return "".join(c for c in record_id if unicodedata.category(c) not in _HIDDEN)


def hidden_reason(record_id: str) -> str | None:
    """The quarantine reason for an id holding whitespace or invisible characters, or None."""
    if plain_ids([record_id]):
        return None
    shown = visible(record_id)
    if shown == record_id:
        return None  # non-ASCII but every character shows: not a look-alike by this rule
    return (f"look-alike id {record_id!a}: it holds whitespace or invisible characters and reads as "
            f"{shown!a}; not loaded")


def case_reason(record_id: str, first: str, where: str) -> str:
    """The quarantine reason for an id equal to `first` in another case (`where`: whose id it is)."""
    return (f"look-alike id {record_id!a} of {first!a} ({where}): the same id in another case; "
            f"{first!a} is kept, this one is not loaded")


def batch_lookalikes(ids: list[str]) -> dict[int, str]:
    """Look-alikes within one batch, by position: hidden characters, or a case variant of an earlier id.

    Exact repeats are not look-alikes (the duplicate rule handles them). Ids given as None are skipped.
    """
    out: dict[int, str] = {}
    if plain_ids([i for i in ids if i]) and len({fold(i) for i in ids if i}) == len({i for i in ids if i}):
        return out  # the usual batch: nothing to look at closer
    first: dict[str, str] = {}
    for position, record_id in enumerate(ids):
        if not record_id:
            continue
        reason = hidden_reason(record_id)
        if reason is None:
            folded = fold(record_id)
            earlier = first.setdefault(folded, record_id)
            if earlier != record_id:
                reason = case_reason(record_id, earlier, "earlier in the same batch")
        if reason is not None:
            out[position] = reason
    return out
