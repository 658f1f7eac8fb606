"""A window from an article that never mentions the name asked about is not read (retrieval/names.py).

The seed articles name the governor of Jeollanam (KIM YUNG-ROK, article 002); Chungnam is
only in article 004, which names no governor. Asked for Chungnam's governor, a reader that
answers "KIM YUNG-ROK" wherever it sees him must not be given article 002 to read.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fakes import SEEDS, FakeEncoder, FakeReader, build
from retrieval import store
from retrieval.names import NameIndex
from retrieval.search import Searcher
from retrieval.settings import SearchSettings

GOVERNOR = {"thong doc tinh": "KIM YUNG-ROK", "governor of": "KIM YUNG-ROK"}


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("names") / "index"
    build(SEEDS, folder, FakeEncoder())
    return folder


def searcher_with(index_dir: Path, reader: FakeReader) -> Searcher:
    return Searcher(store.load(index_dir), FakeEncoder(), SearchSettings(reader_passages=10), reader)


def test_names_are_the_articles_capitalised_words_matched_without_diacritics() -> None:
    names = NameIndex(
        [
            ("a", "Đoàn đến tỉnh Chungnam. Chungnam có khu công nghệ; thông tin và lòng tin của Long An được củng cố."),
            ("b", "Ông Út gặp Thống đốc Jeollanam tại Muan, cùng Sở Ngoại vụ và HĐND tỉnh."),
        ]
    )
    assert names.asked("ai la thong doc tinh CHUNGNAM") == {"chungnam"}
    assert names.asked("Thống đốc Jeollanam là ai?") == {"jeollanam"}
    assert names.asked("HĐND Jeollanam họp khi nào?") == {"jeollanam"}  # abbreviations are not names: another article spells them out
    assert names.asked("Who governs Jeollanam?") == frozenset()  # English: the articles translate its names
    # "long" is also a common word ("lòng"), and a sentence's first word proves nothing.
    assert names.asked("Long An gửi đoàn nào? Đoàn nào?") == frozenset()
    assert names.mentions("a", frozenset({"chungnam"})) and not names.mentions("b", frozenset({"chungnam"}))
    assert names.mentions("b", frozenset()) and not names.mentions("unknown", frozenset({"chungnam"}))


@pytest.mark.parametrize("question", ["Ai là thống đốc tỉnh Chungnam?", "ai la thong doc tinh chungnam"])
def test_a_vietnamese_question_about_another_province_is_refused(index_dir: Path, question: str) -> None:
    reader = FakeReader(GOVERNOR)
    answer = searcher_with(index_dir, reader).search(question)
    assert answer.abstained and answer.answer is None
    read = [passage for call in reader.calls for _, passage in call]
    assert read and not any("KIM YUNG-ROK" in passage for passage in read)  # the next candidates, from Chungnam's article


def test_the_same_question_about_the_province_the_article_names_is_answered(index_dir: Path) -> None:
    answer = searcher_with(index_dir, FakeReader(GOVERNOR)).search("ai la thong doc tinh jeollanam")
    assert not answer.abstained and answer.answer is not None and answer.answer.text == "KIM YUNG-ROK"


def test_english_questions_are_not_judged_by_names(index_dir: Path) -> None:
    """Vietnamese articles translate many English names ("England" is "Anh"), so the rule would refuse answerable English questions."""
    searcher = searcher_with(index_dir, FakeReader(GOVERNOR))
    articles = lambda question: {searcher.index.chunks[c.position].article_id for c in searcher.readable(searcher.score(question), question)}  # noqa: E731
    english, vietnamese = articles("Who is the governor of Chungnam province?"), articles("ai la thong doc tinh chungnam")
    assert len(vietnamese) == 1 and len(english) > 1 and vietnamese < english


def test_windows_are_still_placed_in_any_candidate_asked_for(index_dir: Path) -> None:
    """Which candidates are read is `readable`'s choice; `reading_windows` places windows wherever asked (training/mining.py relies on it)."""
    searcher = searcher_with(index_dir, FakeReader(GOVERNOR))
    question = "ai la thong doc tinh chungnam"
    scored = searcher.score(question)
    elsewhere = [c for c in scored if searcher.index.chunks[c.position].article_id.startswith("002")]
    assert elsewhere and not any(c in searcher.readable(scored, question) for c in elsewhere)
    [(position, _, _)] = searcher.reading_windows(elsewhere[:1], question)
    assert position == elsewhere[0].position
