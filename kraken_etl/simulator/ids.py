"""Kraken-shaped ids derived from a row's serial number, and back, without a lookup table.

A ledger id looks like ``L4UESK-KG3EQ-UFO4T5``: a kind letter and 16 base-32 characters (80 bits). The
simulator packs a keyed 64-bit bijection of the row's serial and 16 check bits (from the number, the
seed and the kind) into those bits, so a 2,000,000-row account needs no id→row dictionary: decoding
inverts the bijection.
The base-32 alphabet is ASCII-sorted, so comparing id *strings* compares the packed numbers — which is
what lets the store order same-timestamp rows "by id" while paging by position. Ids are not
time-sortable, exactly like Kraken's (XChange#3126).

Other ids (refids, amend ids, export ids, WS tokens) never need inverting and come from a hash.
"""

from __future__ import annotations

import base64
import hashlib
import re

import numpy as np
import numpy.typing as npt

ALPHABET = "234567ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # RFC 4648 characters, ASCII order
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_MASK = (1 << 64) - 1
_M1 = 0x9E3779B97F4A7C15
_M2 = 0xBF58476D1CE4E5B9
_M1_INV = pow(_M1, -1, 1 << 64)
_M2_INV = pow(_M2, -1, 1 << 64)
_ID_RE = re.compile(r"^([A-Z])([2-7A-Z]{5})-([2-7A-Z]{5})-([2-7A-Z]{6})$")


def _digest(*parts: object) -> bytes:
    return hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=32).digest()


class IdCodec:
    """Encode/decode the invertible ids of one kind (``L`` ledgers, ``T`` trades, ``O`` orders)."""

    __slots__ = ("_key", "kind", "tag")

    def __init__(self, seed: int, kind: str) -> None:
        d = _digest("idcodec", seed, kind)
        self.kind = kind
        self.tag = int.from_bytes(d[:2], "big")
        self._key = int.from_bytes(d[2:10], "big")

    def number(self, serial: int) -> int:
        """The keyed bijection of `serial` (the id's high 64 bits)."""
        x = (serial ^ self._key) & _MASK
        x = (x * _M1) & _MASK
        x ^= x >> 32
        x = (x * _M2) & _MASK
        x ^= x >> 32
        return x

    def numbers(self, serials: npt.NDArray[np.int64]) -> npt.NDArray[np.uint64]:
        """`number` for a whole array at once (used to order ties by id)."""
        x = serials.astype(np.uint64) ^ np.uint64(self._key)
        x = x * np.uint64(_M1)
        x ^= x >> np.uint64(32)
        x = x * np.uint64(_M2)
        x ^= x >> np.uint64(32)
        return x

    def _check(self, number: int) -> int:
        # 16 check bits that depend on the number and the kind: ids look random, typos are rejected
        return (((number ^ self.tag) * _M2) & _MASK) >> 48

    def _serial(self, number: int) -> int:
        x = number ^ (number >> 32)
        x = (x * _M2_INV) & _MASK
        x ^= x >> 32
        x = (x * _M1_INV) & _MASK
        return x ^ self._key

    def encode(self, serial: int) -> str:
        """The id text of row `serial`."""
        number = self.number(serial)
        value = (number << 16) | self._check(number)
        chars = [ALPHABET[(value >> (5 * (15 - i))) & 31] for i in range(16)]
        text = "".join(chars)
        return f"{self.kind}{text[:5]}-{text[5:10]}-{text[10:]}"

    def decode(self, text: str) -> int | None:
        """The serial behind `text`, or None when it is not an id this codec made."""
        match = _ID_RE.match(text)
        if match is None or match.group(1) != self.kind:
            return None
        value = 0
        for c in "".join(match.groups()[1:]):
            value = (value << 5) | _VALUE[c]
        number = value >> 16
        if value & 0xFFFF != self._check(number):
            return None
        return self._serial(number)


def hashed_id(seed: int, kind: str, index: int, shape: tuple[int, ...] = (6, 5, 6)) -> str:
    """A Kraken-looking uppercase id (``STAB2C-…``) that is never decoded (refids, amend ids)."""
    d = _digest("hashed", seed, kind, index)
    n = int.from_bytes(d, "big")
    total = sum(shape) - len(kind)
    chars = []
    for _ in range(total):
        chars.append(ALPHABET[n & 31])
        n >>= 5
    text = kind + "".join(chars)
    out, at = [], 0
    for size in shape:
        out.append(text[at:at + size])
        at += size
    return "-".join(out)


_MIXED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def funding_refid(seed: int, index: int) -> str:
    """A 30-character mixed-case ``FT…`` refid (Kraken's funding refids since an Aug 15 cutover)."""
    n = int.from_bytes(_digest("ft", seed, index), "big")
    chars = []
    for _ in range(27):
        chars.append(_MIXED[n % len(_MIXED)])
        n //= len(_MIXED)
    text = "".join(chars)
    return f"FT{text[:5]}-{text[5:]}"


def token(seed: int, index: int) -> str:
    """A WebSocket token (43 characters of base64url, like Kraken's)."""
    return base64.urlsafe_b64encode(_digest("wstoken", seed, index)).decode().rstrip("=")
