"""Vietnamese text folded for matching: people type questions without diacritics.

Unicode decomposition strips most Vietnamese marks, but `đ`/`Đ` is a letter of its own (not
d + a mark), so it is mapped explicitly; without that "Được" and "duoc" never meet.
"""

from __future__ import annotations

import re
import unicodedata

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e"), None)
_TOKEN = re.compile(r"\w+", re.UNICODE)


def normalize(text: str) -> str:
    """NFC with invisible characters removed, so decomposed input (NFD) and pasted text match stored text."""
    return unicodedata.normalize("NFC", text.translate(_ZERO_WIDTH))


def fold(text: str) -> str:
    """Lower-case, diacritics removed, đ→d: the form a question typed on a phone without accents takes."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens with their diacritics kept (NFC)."""
    return _TOKEN.findall(normalize(text).lower())


def folded_tokens(text: str) -> list[str]:
    return _TOKEN.findall(fold(normalize(text)))


def has_diacritics(text: str) -> bool:
    return fold(text) != text.lower()


def contains_folded(haystack: str, needle: str) -> bool:
    """Case- and diacritic-insensitive containment, the rule the evaluation uses for a hit."""
    collapse = lambda s: " ".join(fold(normalize(s)).split())  # noqa: E731
    return collapse(needle) in collapse(haystack)
