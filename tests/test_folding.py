"""Questions typed without diacritics must still meet the accented articles."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pytest

from retrieval.accents import AccentRestorer
from retrieval.articles import Article, load_folder
from retrieval.folding import contains_folded, fold, folded_tokens, has_diacritics, normalize
from retrieval.lexical import LexicalIndex, folded_terms

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture(scope="module")
def articles() -> list[Article]:
    return load_folder(SEEDS)


def test_fold_strips_marks_and_maps_d_bar() -> None:
    """đ/Đ is a letter, not d plus a mark: without the explicit mapping "Được" never meets "duoc"."""
    assert fold("Được") == "duoc"
    assert fold("ĐƯỜNG ĐI") == "duong di"
    assert fold("Tỉnh trưởng tỉnh Jeju") == "tinh truong tinh jeju"
    assert fold("Nguyễn Văn Út") == "nguyen van ut"
    assert fold("jeju 2025") == "jeju 2025"


def test_fold_is_the_same_for_nfd_input() -> None:
    word = "Thống đốc"
    assert fold(unicodedata.normalize("NFD", word)) == fold(word) == "thong doc"
    assert folded_tokens(unicodedata.normalize("NFD", "Hàn Quốc")) == ["han", "quoc"]


def test_normalize_removes_invisible_characters() -> None:
    """Text pasted from the web carries zero-width characters that would split words."""
    assert normalize("Jeju\u200b tỉnh\ufeff") == "Jeju tỉnh"
    assert normalize(unicodedata.normalize("NFD", "Tỉnh")) == "Tỉnh"


def test_has_diacritics() -> None:
    assert has_diacritics("ai gặp tỉnh trưởng")
    assert has_diacritics("đi")
    assert not has_diacritics("ai gap tinh truong Jeju")


@pytest.mark.parametrize(
    "needle",
    ["tinh truong tinh jeju", "TỈNH TRƯỞNG TỈNH JEJU", "Tinh  Truong   tinh Jeju", unicodedata.normalize("NFD", "tỉnh trưởng")],
)
def test_contains_folded_ignores_case_marks_and_spacing(needle: str) -> None:
    assert contains_folded("Buổi làm việc với Tỉnh trưởng tỉnh Jeju, (Hàn Quốc).", needle)


def test_contains_folded_rejects_other_words() -> None:
    assert not contains_folded("Buổi làm việc với Tỉnh trưởng tỉnh Jeju", "thanh pho jeju")
    assert not contains_folded("Tỉnh trưởng", "tỉnh trưởng tỉnh Jeju")


def test_accent_restorer_puts_back_the_articles_words(articles: list[Article]) -> None:
    """"tinh truong" has many readings; the articles say it is "tỉnh trưởng"."""
    restorer = AccentRestorer(a.title + "\n" + a.text for a in articles)
    restored = restorer.restore("ai gap tinh truong jeju")
    assert "tỉnh trưởng" in restored
    assert restored.endswith("jeju")
    assert fold(restored) == "ai gap tinh truong jeju"  # only marks change, never the words


def test_accent_restorer_keeps_capitals_and_accented_questions(articles: list[Article]) -> None:
    restorer = AccentRestorer(a.text for a in articles)
    restored = restorer.restore("Ai gap Tinh truong Jeju?")
    assert restored.startswith("Ai ") and restored.endswith("Jeju?")
    assert "Tỉnh trưởng" in restored
    already = "Ai đã gặp tinh truong Jeju?"  # has marks: the user chose them, leave them alone
    assert restorer.restore(already) == already


def test_folded_terms_include_syllable_bigrams() -> None:
    """Vietnamese words are often two syllables; the bigram is what makes "tỉnh trưởng" one term."""
    terms = folded_terms("Tỉnh trưởng tỉnh Jeju")
    assert {"tinh", "truong", "jeju", "tinh_truong", "tinh_jeju"} <= set(terms)


def test_lexical_finds_accented_passage_from_plain_question(articles: list[Article]) -> None:
    paragraphs = [p.text for a in articles for p in a.paragraphs]
    index = LexicalIndex(paragraphs)
    scores = index.scores("tinh truong jeju")
    best = int(np.argmax(scores))
    assert "Tỉnh trưởng tỉnh Jeju" in paragraphs[best]
    assert 0.0 < scores[best] <= 1.0
    # The same question with diacritics finds the same paragraph.
    assert int(np.argmax(index.scores("tỉnh trưởng Jeju"))) == best


def test_lexical_coverage_separates_vietnamese_from_english(articles: list[Article]) -> None:
    index = LexicalIndex([p.text for a in articles for p in a.paragraphs])
    assert index.coverage("Ai đã gặp Tỉnh trưởng tỉnh Jeju?") == 1.0
    assert index.coverage("ai da gap tinh truong tinh jeju") == 1.0
    assert index.coverage("What is the capital of France?") == 0.0
    assert index.coverage("Who did the Jeju governor meet?") < 0.5


def test_restoring_keeps_acronyms_as_typed() -> None:
    """A word with nothing to restore stays exactly as the user typed it."""
    from pathlib import Path

    from retrieval.accents import AccentRestorer
    from retrieval.articles import load_folder

    articles = load_folder(Path(__file__).resolve().parent.parent / "seeds")
    restorer = AccentRestorer(a.title + "\n" + a.text for a in articles)
    restored = restorer.restore("UBND tinh Long An gap tinh truong Jeju")
    assert restored.startswith("UBND ") and "tỉnh trưởng" in restored
