"""What kind of answer a question expects, and whether a passage can hold one.

"When did the delegation visit Chungnam Techno Park?" ranks the passages about the visit close
together; only one of them holds a date. Dense similarity sees the topic, not the missing date,
so a passage that contains the kind of thing asked for (a date for "when", a number for "how
many") gets a small bonus. Patterns are matched on folded text, so they cover English, Vietnamese
and Vietnamese typed without diacritics alike.
"""

from __future__ import annotations

import re
from enum import Enum

from .folding import fold

_WHEN = re.compile(
    r"\b(when|what (?:date|day|time|year|month)|which (?:date|day|year|month)|since when|"
    r"khi nao|bao gio|luc nao|hoi nao|ngay nao|ngay bao nhieu|thang nao|nam nao|thoi gian nao)\b"
)
_HOW_MANY = re.compile(r"\b(how (?:many|much|large|big|long)|what (?:share|percentage|proportion|amount|number)|bao nhieu|may)\b")
# A day/month date (10/01, 23-4, 26/9/2023), "ngày 5", "tháng 12", or a year.
_DATE = re.compile(r"\b\d{1,2}\s?[/-]\s?\d{1,2}\b|\b(ngay|thang|nam)\s+\d{1,4}\b|\b(19|20)\d{2}\b")
_NUMBER = re.compile(r"\d")


class AnswerType(Enum):
    DATE = "date"
    NUMBER = "number"
    OTHER = "other"


def expected(question: str) -> AnswerType:
    folded = fold(question)
    if _WHEN.search(folded):
        return AnswerType.DATE
    if _HOW_MANY.search(folded):
        return AnswerType.NUMBER
    return AnswerType.OTHER


def can_answer(kind: AnswerType, passage: str) -> bool:
    """Whether the passage holds something of the expected kind (always true for OTHER)."""
    if kind is AnswerType.DATE:
        return bool(_DATE.search(fold(passage)))
    if kind is AnswerType.NUMBER:
        return bool(_NUMBER.search(passage))
    return True
