"""Stated answers and reader-decided refusals, with a fake reader: the plumbing around the real one.

The real reader's behaviour (the Jeju answer, near misses refused, a corrupted file) is checked
in tests/test_reader.py with the real model.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot_harness import running_bot
from fakes import SEEDS, FakeEncoder, FakeReader, FakeReading, build
from retrieval import search as search_module, store
from retrieval.evaluation import EvalQuestion, answer_f1, evaluate, exact_match
from retrieval.search import Searcher
from retrieval.settings import SearchSettings
from retrieval.windows import window, windows
from retrieval.chunking import split_sentences

JEJU = "Ai đã gặp Tỉnh trưởng tỉnh Jeju?"
ANSWERS = {"Ai đã gặp": "Nguyễn Văn Út"}
# On topic (the seeds talk about Long An's delegation to Jeju) but the fake reader finds nothing.
NEAR_MISS = "Tỉnh trưởng tỉnh Jeju bao nhiêu tuổi?"
# Asked in English, so the reader may read passages of any article (retrieval/names.py judges
# Vietnamese questions only) and the rerank tests can plant an answer in whichever comes third.
JEJU_EN = "Who met the Governor of Jeju province?"


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("answers") / "index"
    build(SEEDS, folder, FakeEncoder())
    return folder


def searcher_with(index_dir: Path, passage_reader: FakeReader | None, **settings: Any) -> Searcher:
    return Searcher(store.load(index_dir), FakeEncoder(), SearchSettings(**settings), passage_reader)


def test_the_answer_is_stated_with_the_result_it_comes_from(index_dir: Path) -> None:
    answer = searcher_with(index_dir, FakeReader(ANSWERS)).search(JEJU)
    assert not answer.abstained and answer.answer is not None
    assert answer.answer.text == "Nguyễn Văn Út" and 0.5 < answer.answer.score <= 1.0
    holding = answer.results[answer.answer.result - 1]
    assert "Nguyễn Văn Út" in holding.text and "Nguyễn Văn Út" in holding.highlight  # the answer's sentence is highlighted
    data = answer.to_json()
    assert data["answer"] == {"text": "Nguyễn Văn Út", "score": round(answer.answer.score, 4), "result": answer.answer.result}
    assert set(data) == {"question", "abstained", "answer", "results"}


def test_a_near_miss_is_refused_and_marked_as_on_topic(index_dir: Path) -> None:
    searcher = searcher_with(index_dir, FakeReader(ANSWERS))
    answer = searcher.search(NEAR_MISS)
    assert answer.abstained and answer.results == [] and answer.answer is None
    assert answer.topic_present  # the evidence rule alone would have answered it
    assert not searcher_with(index_dir, None).search(NEAR_MISS).abstained
    closest = searcher.search(NEAR_MISS, abstain=False)
    assert closest.results and closest.answer is None


def test_an_off_topic_question_is_refused_without_the_closest_passages_offer(index_dir: Path) -> None:
    answer = searcher_with(index_dir, FakeReader(ANSWERS)).search("What is the capital of France?")
    assert answer.abstained and not answer.topic_present


def test_the_reader_stops_at_the_best_window_when_it_holds_the_answer(index_dir: Path) -> None:
    reader = FakeReader(ANSWERS)
    searcher = searcher_with(index_dir, reader, reader_passages=2)
    answer = searcher.search(JEJU)
    assert answer.answer is not None and [len(c) for c in reader.calls] == [1]
    searcher.search(JEJU, k=5)  # "More results" pages on without reading again
    assert len(reader.calls) == 1


def test_the_reader_reads_the_next_best_passages_before_refusing(index_dir: Path) -> None:
    """The best three passages of the articles that mention Jeju (the name asked about: retrieval/names.py)."""
    reader = FakeReader(ANSWERS)
    searcher = searcher_with(index_dir, reader, reader_passages=3)
    plain = searcher_with(index_dir, None).search(NEAR_MISS, k=10, abstain=False)
    naming = [r for r in plain.results if "Jeju" in (SEEDS / r.article.source_file).read_text(encoding="utf-8")][:3]
    assert searcher.search(NEAR_MISS).abstained
    assert [len(c) for c in reader.calls] == [1, 2]
    read = [passage for call in reader.calls for _, passage in call]
    assert all(any(window in r.text for r in naming) for window in read)


def test_without_a_rerank_bonus_reading_leaves_the_ranking_alone(index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the bonus at 0 the reader states the answer from the third result (three passages read) but does not reorder them."""
    monkeypatch.setattr(search_module, "READER_BONUS", 0.0)
    plain = searcher_with(index_dir, None).search(JEJU_EN, k=5, abstain=False)
    third = plain.results[2]
    reader = FakeReader({"Governor of Jeju": " ".join(third.highlight.split()[:4])})
    answer = searcher_with(index_dir, reader, reader_passages=3).search(JEJU_EN, k=5)
    assert [r.text for r in answer.results] == [r.text for r in plain.results]
    assert answer.answer is not None and answer.answer.result == 3


def test_with_a_rerank_bonus_a_passage_holding_the_answer_moves_up(index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake encoder ranks the Jeju passage first on its own; with the configured bonus, an answer found third (three read) rises."""
    plain = searcher_with(index_dir, None).search(JEJU_EN, k=5, abstain=False)
    third = plain.results[2]
    sentence = third.highlight.split()[:4]
    phrase = " ".join(sentence)
    reader = FakeReader({"Governor of Jeju": phrase})
    answer = searcher_with(index_dir, reader, reader_passages=3).search(JEJU_EN, k=5)
    ranks = {r.text: r.rank for r in answer.results}
    assert ranks.get(third.text, 99) < 3, "the passage where the reader found the answer did not move up"
    assert answer.answer is not None and answer.results[answer.answer.result - 1].text == third.text


class UnsureReader(FakeReader):
    """Finds the answers it is told, but only just short of beating its own "no answer" (margin -3)."""

    def read(self, questions: Sequence[str], passages: Sequence[str]) -> list[FakeReading]:
        return [replace(r, margin=-3.0) if r.text else r for r in super().read(questions, passages)]


def test_where_the_articles_stand_out_an_unsure_reading_answers(index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refusal judges the reader's margin plus the weighted evidence (search.READER_EVIDENCE_WEIGHT)."""
    strict = {"reader_min_margin": -1.0, "reader_min_margin_other_language": -1.0}
    monkeypatch.setattr(search_module, "READER_EVIDENCE_WEIGHT", 0.0)
    assert searcher_with(index_dir, UnsureReader(ANSWERS), **strict).search(JEJU).abstained
    evidence = searcher_with(index_dir, None).search(JEJU).evidence
    monkeypatch.setattr(search_module, "READER_EVIDENCE_WEIGHT", 2.5 / evidence)  # -3 + 2.5 clears -1
    answer = searcher_with(index_dir, UnsureReader(ANSWERS), **strict).search(JEJU)
    assert not answer.abstained and answer.results
    assert answer.answer is None  # answered, but a span the reader itself doubts is not stated
    assert searcher_with(index_dir, UnsureReader(ANSWERS), **strict).search(NEAR_MISS).abstained  # nothing found: the evidence alone does not answer


def test_setting_the_reader_off_brings_back_the_evidence_rule(index_dir: Path) -> None:
    reader = FakeReader(ANSWERS)
    answer = searcher_with(index_dir, reader, reader=False).search(NEAR_MISS)
    assert not answer.abstained and answer.answer is None and reader.calls == []


def test_waiting_questions_are_read_in_one_pass(index_dir: Path) -> None:
    reader = FakeReader(ANSWERS)
    searcher = searcher_with(index_dir, reader)
    questions = [JEJU, NEAR_MISS, "Long An có bao nhiêu dự án đầu tư của Nhật Bản?"]
    searcher.prepare(questions)
    # One pass over the three best windows; one over the next windows of the two still unanswered.
    assert [len(c) for c in reader.calls] == [3, 2 * (SearchSettings().reader_passages - 1)]
    answers = [searcher.search(q) for q in questions]
    assert len(reader.calls) == 2  # every search found its reading ready
    assert answers[0].answer is not None and answers[1].abstained


def test_eval_scores_the_stated_answer(index_dir: Path) -> None:
    questions = [EvalQuestion("vi-1", "vi", JEJU, None, ("Nguyễn Văn Út",)), EvalQuestion("vi-2", "vi", NEAR_MISS, None, ())]
    report = evaluate(searcher_with(index_dir, FakeReader(ANSWERS)), questions).as_dict()
    assert report["overall"]["answer_em"] == 1.0 and report["overall"]["answer_f1"] == 1.0
    assert report["overall"]["unanswerable_abstained"] == 1.0
    assert evaluate(searcher_with(index_dir, None), questions).as_dict()["overall"]["answer_em"] is None


def test_em_and_f1_follow_squad() -> None:
    assert exact_match("ông Nguyễn Văn Út.", ["Nguyễn Văn Út"]) == 0.0
    assert answer_f1("ông Nguyễn Văn Út.", ["Nguyễn Văn Út"]) == pytest.approx(2 * 0.75 * 1 / 1.75)
    assert exact_match("The 148 projects", ["148 projects"]) == 1.0
    assert answer_f1("", ["x"]) == 0.0


def test_a_window_holds_the_sentence_and_neighbours_within_budget() -> None:
    text = "Một hai ba. Bốn năm sáu bảy. Tám chín mười. Mười một mười hai."
    spans = split_sentences(text)
    lo, hi = window(text, spans, 1, lambda s: len(s.split()), budget=8)
    assert text[lo:hi] == "Bốn năm sáu bảy. Tám chín mười."
    assert window(text, spans, 1, lambda s: len(s.split()), budget=2) == (spans[1].start, spans[1].end)  # too long alone: kept whole


def test_a_passage_longer_than_a_window_is_read_whole_in_a_second_window() -> None:
    text = "Một hai ba. Bốn năm sáu bảy. Tám chín mười. Mười một mười hai. Mười ba mười bốn."
    spans = split_sentences(text)
    words = lambda s: len(s.split())  # noqa: E731
    first, second = windows(text, spans, 1, words, budget=8, most=2)
    assert text[slice(*first)] == "Bốn năm sáu bảy. Tám chín mười."
    assert text[slice(*second)] == "Mười một mười hai. Mười ba mười bốn."  # the longest stretch left unread
    assert windows(text, spans, 1, words, budget=8) == [first]  # one window unless more are asked for
    assert windows(text, spans, 1, words, budget=100, most=3) == [(0, len(text))]  # one window holds it all


def test_the_bot_opens_with_the_answer_and_offers_the_closest_passages_on_a_near_miss(index_dir: Path, tmp_path: Path) -> None:
    searcher = searcher_with(index_dir, FakeReader(ANSWERS))
    with running_bot(searcher, tmp_path) as bot:
        reply = bot.ask(JEJU)
        first_line = reply["text"].split("\n")[0]
        assert "Trả lời" in first_line and "<b>Nguyễn Văn Út</b>" in first_line and "[1]" in first_line
        assert "<b>1.</b>" in reply["text"]

        refused = bot.ask(NEAR_MISS)
        assert "không nêu" in refused["text"]
        keyboard = refused["reply_markup"]["inline_keyboard"]
        label, data = keyboard[0][0]["text"], keyboard[0][0]["callback_data"]
        assert "gần nhất" in label
        bot.api.press_button(bot.api.bot_messages(1001)[-1], data)
        edited = bot.api.wait_for("editMessageText")[0].params
        assert "không nêu câu trả lời" in edited["text"] and "<b>1.</b>" in edited["text"]
        assert "Trả lời:" not in edited["text"]


def test_inline_mode_titles_the_answering_result_with_the_answer(index_dir: Path, tmp_path: Path) -> None:
    searcher = searcher_with(index_dir, FakeReader(ANSWERS))
    with running_bot(searcher, tmp_path) as bot:
        bot.api.inline_query(JEJU)
        results = bot.api.wait_for("answerInlineQuery")[0].params["results"]
        assert results[0]["title"] == "Nguyễn Văn Út"
        assert "Nguyễn Văn Út" in json.dumps(results[0]["input_message_content"], ensure_ascii=False)


def _long_passage_index(tmp_path: Path) -> store.StoredIndex:
    """One passage over one window, with the Jeju answer in its third sentence, built with derived sentence vectors
    that point at its first sentence (standing in for derived vectors that pick the wrong window)."""
    filler = " ".join(f"tu{i}" for i in range(60))  # 60 words: four such sentences make a passage over one window
    sentences = [f"Câu {n} nói về {topic} {filler}." for n, topic in enumerate(["cảng biển", "nông nghiệp", "du lịch", "giáo dục"])]
    sentences.insert(2, "Ông Nguyễn Văn Út đã gặp Tỉnh trưởng tỉnh Jeju.")
    if not (tmp_path / "index").exists():
        (tmp_path / "articles").mkdir()
        (tmp_path / "articles" / "long.txt").write_text("Một bài dài\n\n" + " ".join(sentences) + "\n", encoding="utf-8")
        build(tmp_path / "articles", tmp_path / "index", FakeEncoder())  # derived, as a Ray build makes it
    index = store.load(tmp_path / "index")
    assert len(index.chunks) == 1 and len(index.chunks[0].sentences) == 5 and index.manifest.sentence_vectors == "derived"
    index.sentence_vectors = np.repeat(index.sentence_vectors[:1], 5, axis=0)
    return index


def test_with_derived_sentence_vectors_a_long_passage_is_read_where_its_sentences_embedded_apart_point(tmp_path: Path) -> None:
    """An index built with derived sentence vectors places the reader's window as one built with `separate`.

    Derived vectors pick a worse window in passages longer than one (BENCHMARKS.md, sentence
    vectors); the searcher embeds such a passage's sentences apart when it reads it, once.
    """
    index = _long_passage_index(tmp_path)
    encoder = FakeEncoder()
    searcher = Searcher(index, encoder, SearchSettings(), FakeReader(ANSWERS))
    scored = searcher.score(JEJU)
    assert scored[0].best_sentence == 0
    question = searcher.reader_question(JEJU)
    [(position, lo, hi)] = searcher.reading_windows(scored[:1], question)
    assert "Nguyễn Văn Út" in index.chunks[position].text[lo:hi] and lo > 0  # centred on the Jeju sentence, not the first
    embedded = len(encoder.documents)
    assert embedded == 5  # the passage's sentences, embedded apart once
    searcher.reading_windows(scored[:1], question)
    assert len(encoder.documents) == embedded  # and kept for the next question
    assert searcher.search(JEJU).answer.text == "Nguyễn Văn Út"

    separate = replace(index, manifest=replace(index.manifest, sentence_vectors="separate"))
    kept = Searcher(separate, FakeEncoder(), SearchSettings(), FakeReader(ANSWERS))
    [(_, lo, _)] = kept.reading_windows(kept.score(JEJU)[:1], question)
    assert lo == 0  # an index with sentences embedded apart is read where its own vectors point


def test_a_question_settled_by_its_first_window_places_no_other_window(tmp_path: Path) -> None:
    """Placing a window in a long derived passage costs a pass of the model: only windows that may be read are placed."""
    filler = " ".join(f"tu{i}" for i in range(70))  # each passage over one window
    (tmp_path / "articles").mkdir()
    for name, fact in (("a", "Ông Nguyễn Văn Út đã gặp Tỉnh trưởng tỉnh Jeju."), ("b", "Đoàn khách thăm cảng biển Jeju.")):
        body = " ".join([f"Câu một {filler}.", fact, f"Câu hai {filler}.", f"Câu ba {filler}."])
        (tmp_path / "articles" / f"{name}.txt").write_text(f"Bài {name}\n\n{body}\n", encoding="utf-8")
    build(tmp_path / "articles", tmp_path / "index", FakeEncoder())
    index = store.load(tmp_path / "index")
    assert len(index.chunks) == 2 and all(len(c.sentences) == 4 for c in index.chunks)
    encoder = FakeEncoder()
    searcher = Searcher(index, encoder, SearchSettings(reader_passages=2), FakeReader(ANSWERS))
    answer = searcher.search(JEJU)
    assert answer.answer is not None and answer.answer.text == "Nguyễn Văn Út"
    assert len(encoder.documents) == 4  # the answering passage's sentences only

    shutil.rmtree(tmp_path / "index" / "placements")  # as a first run would: nothing placed yet
    unsettled = Searcher(index, FakeEncoder(), SearchSettings(reader_passages=2), FakeReader({}))
    unsettled.search(JEJU, abstain=False)
    assert len(unsettled.encoder.documents) == 8  # nothing found in the first: the second is placed and read too


def test_placements_are_kept_beside_the_index_so_a_restart_does_not_embed_them_again(tmp_path: Path) -> None:
    """A restarted bot, or the next `seedqa ask` (a new process each time), finds the long passage placed.

    Placing costs a pass of the model over the passage's sentences, which doubles that
    question's time (BENCHMARKS.md, reader); the vectors depend only on the sentences, the title
    and the model, so they stay valid in the next process.
    """
    first = Searcher(_long_passage_index(tmp_path), FakeEncoder(), SearchSettings(), FakeReader(ANSWERS))
    question = first.reader_question(JEJU)
    placed = first.reading_windows(first.score(JEJU)[:1], question)
    assert len(first.encoder.documents) == 5

    restarted = Searcher(_long_passage_index(tmp_path), FakeEncoder(), SearchSettings(), FakeReader(ANSWERS))
    assert restarted.reading_windows(restarted.score(JEJU)[:1], question) == placed
    assert restarted.encoder.documents == []  # read from disk, not embedded again
    assert restarted.search(JEJU).answer.text == "Nguyễn Văn Út"

    # A folder that cannot be written (here a file stands where it would go): placing still works, only not across restarts.
    shutil.rmtree(tmp_path / "index" / "placements")
    (tmp_path / "index" / "placements").write_text("not a folder")
    for _ in range(2):
        unkept = Searcher(_long_passage_index(tmp_path), FakeEncoder(), SearchSettings(), FakeReader(ANSWERS))
        assert unkept.reading_windows(unkept.score(JEJU)[:1], question) == placed
        assert len(unkept.encoder.documents) == 5


def test_placements_kept_in_many_files_are_folded_into_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One file lands per passage placed; a busy bot's folder would grow without end, so it is folded, newest kept."""
    from retrieval import placements

    most = placements.MERGE_SHARDS
    monkeypatch.setattr(placements, "MERGE_SHARDS", 1000)  # as if written side by side, none seeing the others'
    for n in range(most + 1):  # many processes (seedqa ask), one passage each
        placements.PlacementStore(tmp_path / "asks", "fp").put([f"s{n}"], np.full((1, 4), n, dtype=np.float32))
    monkeypatch.setattr(placements, "MERGE_SHARDS", most)
    folder = next((tmp_path / "asks" / "placements").iterdir())
    assert len(list(folder.glob("*.npz"))) == most + 1
    reader = placements.PlacementStore(tmp_path / "asks", "fp")  # the next process folds them
    assert np.array_equal(reader.get(["s3", "s64"]), np.array([[3] * 4, [64] * 4], dtype=np.float32))
    assert len(list(folder.glob("*.npz"))) == 1
    assert reader.get(["s3", "never placed"]) is None

    monkeypatch.setattr(placements, "MOST_VECTORS", 10)
    bot = placements.PlacementStore(tmp_path / "bot", "fp")  # one process placing passage after passage
    for n in range(placements.MERGE_SHARDS + 1):
        bot.put([f"s{n}"], np.full((1, 4), n, dtype=np.float32))
    folder = next((tmp_path / "bot" / "placements").iterdir())
    assert len(list(folder.glob("*.npz"))) == 1
    assert bot.get(["s54"]) is None and bot.get(["s55", "s64"]) is not None  # only the newest ten kept, in memory too
    assert placements.PlacementStore(tmp_path / "bot", "fp").get(["s55", "s64"]) is not None
