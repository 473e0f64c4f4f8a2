"""Text from files and from Kraken made safe to show: every character that would act instead of print, visible.

One rule for the terminal, the HTML report and its charts: a control character (ESC, NUL, newline, DEL, the
C1 range), a format character (the bidirectional overrides and isolates, zero-width spaces and joiners, the
byte-order mark), a line or paragraph separator, a surrogate, a private-use or unassigned code point is
written as its escape, ``\\x1b``, ``\\u202e``, ``\\U000e0041``. So ``B\\u200bTC`` and ``\\u202eCTB`` never
pass for ``BTC``, an ESC sequence never reaches a terminal, and no character the chart engine's XML parser
refuses reaches it. Everything else (letters of any script, emoji, punctuation, spaces) is left as it is.
Backslashes are left too: the point is that nothing is hidden, not that the text can be read back.
"""

from __future__ import annotations

import unicodedata

# Categories that render as nothing, move the cursor, reorder text or are not characters at all.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def is_hidden(char: str) -> bool:
    """True for a character that would not print as itself (see the module docstring)."""
    return unicodedata.category(char) in _HIDDEN


def visible(value: object) -> str:
    """`value` as text with every hidden character written as its escape (``"A\\x1b[2J"`` for ESC [2J)."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable() and text.isascii():
        return text  # the common case, no per-character work
    return "".join(_escape(c) if is_hidden(c) else c for c in text)


def has_hidden(value: str) -> bool:
    """True when `visible(value)` differs from `value`."""
    return any(is_hidden(c) for c in value)
