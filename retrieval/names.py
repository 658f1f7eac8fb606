"""Names a question asks about, and which articles mention them.

"ai la thong doc tinh chungnam" (who is the governor of Chungnam?) reads a passage about the
governor of Jeollanam, and the reader answers with his name: the topic and the role match,
the province does not. A window from an article that never mentions a name the question asks
about cannot answer it, so the searcher does not read it.

A name is a word the articles write capitalised inside a sentence and never in lower case
("Chungnam", "Okayama"), matched folded, so questions typed without diacritics or capitals
find it. Words in capitals are left out: mostly abbreviations (HĐND, KCN) that another article
spells out. Vietnamese names are mostly common syllables ("Long An": "long", "an"), which this
never takes for names: it errs towards not judging. Words the articles never use are not
judged either (a typo, or a name no article has, which retrieval already scores low).

Only Vietnamese questions are judged. An English question names things as English does, and
Vietnamese articles translate many of those names ("England" is "Anh"). On XQuAD's held-out
articles (Vietnamese passages, each paragraph taken as an article, as bench/reader.py indexes
them) the rule skips the paragraph holding the answer for none of the Vietnamese questions, with
or without diacritics; judged by all their words the same way, 25% / 30% of English questions
would lose it (calibration / test articles: English words the Vietnamese text quotes
capitalised, "Who", "Championship"). In the searcher, on the test articles, Vietnamese near
misses refused rose from 0.695 / 0.603 (with / without diacritics) to 0.741 / 0.667 at the same
answerable refused (0.032 / 0.043); the seed eval set refuses 13 of 16 unanswerable questions
instead of 11, still 0 of 85 answerable. Reading two passages instead of three (since
2026-12-07, evening): 0.773 / 0.699 against 0.738 / 0.649 without the rule, and 14 of 16 seed
questions against 13 (bench/names.py, bench/reader.py; BENCHMARKS.md, "Reader: names the article
never mentions").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from .folding import fold, normalize

# English question words, none of them a Vietnamese syllable with or without marks. A question
# holding one is English even where most of its words are in the articles' vocabulary ("Who won
# the Ekstraklasa Championship in 2000?": "won", "the", "in" are also folded Vietnamese, or
# quoted in Vietnamese text), which made 4 of 282 English questions on XQuAD's test articles
# count as Vietnamese and lose their answer's paragraph (bench/reader.py, 2026-12-07).
ENGLISH_QUESTION_WORDS = frozenset("who whom whose what which when where why how".split())
# Shorter capitalised words are mostly particles and titles ("Ô", "Bà", "Út" aside), which a
# question may spell otherwise. A guard, not a tuned number: three letters keep "Ulsan"-like names.
MIN_NAME_LETTERS = 3
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE = re.compile(r"(?<=[.!?:;])\s+|\n+")


def _words(text: str) -> Iterable[tuple[str, bool]]:
    """Each word, and whether it opens a sentence (where a capital says nothing)."""
    for sentence in _SENTENCE.split(normalize(text)):
        for i, word in enumerate(_WORD.findall(sentence)):
            yield word, i == 0


class NameIndex:
    """The articles' names, each with the articles that mention it (folded)."""

    def __init__(self, articles: Iterable[tuple[str, str]]) -> None:
        """`articles`: (article id, title and text) pairs."""
        capitalised: Counter[str] = Counter()
        lower: set[str] = set()
        # Per article, only the words it writes with a capital: a name is never in lower case, so
        # no other word can be one, and a large archive's full vocabularies are not held at once.
        written_up: dict[str, set[str]] = {}
        for article_id, text in articles:
            seen = written_up.setdefault(article_id, set())
            for word, opening in _words(text):
                folded = fold(word)
                if word[0].islower():
                    lower.add(folded)
                    continue
                seen.add(folded)
                # In capitals it is mostly an abbreviation (HĐND, KCN) that another article spells out.
                if word[0].isupper() and not opening and not word.isupper():
                    capitalised[folded] += 1
        self._names = {w for w in capitalised if w not in lower and len(w) >= MIN_NAME_LETTERS and not w.isdigit()}
        self._articles: dict[str, set[str]] = {a: words & self._names for a, words in written_up.items()}

    def asked(self, question: str) -> frozenset[str]:
        """The names in a question, folded; none in an English one (see the module's docstring)."""
        words = _WORD.findall(fold(normalize(question)))
        return frozenset() if ENGLISH_QUESTION_WORDS.intersection(words) else self._among(words)

    def names_in(self, text: str) -> frozenset[str]:
        """The names in any text, English or not (bench/names.py: what the rule would judge without its English check)."""
        return self._among(_WORD.findall(fold(normalize(text))))

    def _among(self, folded_words: list[str]) -> frozenset[str]:
        return frozenset(w for w in folded_words if w in self._names)

    def mentions(self, article_id: str, names: frozenset[str]) -> bool:
        """Whether the article mentions every one of the names."""
        return names <= self._articles.get(article_id, frozenset())
