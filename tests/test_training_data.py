"""The reader's training data: swapped near misses must really be unanswerable from their passage."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "training"))

from qa_data import XQUAD_VI, Paragraph, Question, anchors, examples, splits, swapped  # noqa: E402
from retrieval.folding import fold  # noqa: E402

PARAGRAPH = Paragraph(
    "Long An",
    0,
    "Năm 2023, Long An cử 3 đoàn công tác sang Hàn Quốc. Đoàn do Nguyễn Văn Út dẫn đầu đã gặp Tỉnh trưởng Jeju. "
    "Tỉnh có 1.100 doanh nghiệp Nhật Bản đang hoạt động.",
)
OTHER = Paragraph("Bình Phước", 0, "Bình Phước đón đoàn doanh nghiệp Singapore và Thái Lan năm 2021.")


def _questions() -> list[Question]:
    start = PARAGRAPH.context.index("Nguyễn Văn Út")
    out = [
        Question("q1-vi", PARAGRAPH, "Ai dẫn đầu đoàn Long An sang Hàn Quốc năm 2023?", "vi", ((start, "Nguyễn Văn Út"),)),
        Question("q1-vi-noaccent", PARAGRAPH, fold("Ai dẫn đầu đoàn Long An sang Hàn Quốc năm 2023?"), "vi-noaccent", ((start, "Nguyễn Văn Út"),)),
        Question("q1-en", PARAGRAPH, "Who led the Long An delegation to Korea in 2023?", "en", ((start, "Nguyễn Văn Út"),)),
        Question("q2-vi", OTHER, "Doanh nghiệp Singapore đến Bình Phước năm nào?", "vi", ((OTHER.context.index("2021"), "2021"),)),
        Question("q2-en", OTHER, "When did Singapore firms visit Bình Phước?", "en", ((OTHER.context.index("2021"), "2021"),)),
    ]
    return out


def test_anchors_are_the_names_and_numbers_a_question_asks_about() -> None:
    assert anchors("Who led the Long An delegation to Korea in 2023?") == ["Long An", "Korea", "2023"]
    assert anchors("Ai dẫn đầu đoàn Long An sang Hàn Quốc?") == ["Long An", "Hàn Quốc"]


def test_swapped_questions_ask_about_something_their_passage_never_mentions() -> None:
    questions = _questions()
    made = [q for seed in range(30) for q in swapped(questions, random.Random(seed), 1.0)]
    assert made, "no swap was made"
    by_id = {q.id: q for q in questions}
    for q in made:
        original = by_id[q.id.removesuffix("-swap")]
        assert q.answers == () and q.near == original.answers[0][0]
        assert q.text != original.text
        new = set(fold(q.text).lower().split()) - set(fold(original.text).lower().split())
        assert new, q.text
        context = fold(q.paragraph.context).lower()
        assert any(word.strip("?") not in context for word in new), f"{q.text!r} only uses words of its passage"


def test_a_question_asking_for_an_office_is_swapped_to_one_its_passage_never_names() -> None:
    """"Ai đã gặp Tỉnh trưởng Jeju?" becomes a question about another office, or the deputy, which the passage cannot answer."""
    from qa_data import ROLES

    answer = ((PARAGRAPH.context.index("Nguyễn Văn Út"), "Nguyễn Văn Út"),)
    asked = [Question("q3-vi", PARAGRAPH, "Ai đã gặp Tỉnh trưởng Jeju?", "vi", answer), Question("q3-en", PARAGRAPH, "Who met the Jeju governor?", "en", answer)]
    context = fold(PARAGRAPH.context).lower()
    offices = {fold(w).lower() for forms in ROLES for w in (*forms[0], *forms[1])}
    seen = set()
    for seed in range(20):
        made = {q.id: q.text for q in swapped(asked, random.Random(seed), 0.0, roles=True)}
        assert set(made) == {"q3-vi-swap", "q3-en-swap"}, "every question asking for an office the passage names is swapped, whatever the share"
        for text in made.values():
            folded = fold(text).lower()
            new = [o for o in offices if o in folded and o not in context and o not in ("thong doc", "governor")]
            assert new or folded.count("pho ") + folded.count("deputy ") == 1, text
        seen |= set(made.values())
    assert len(seen) > 4, "the new office is drawn, not always the same"
    # A passage that names no mayor makes "the mayor" no office to swap, and without `roles` nothing is swapped at share 0.
    assert swapped([Question("q4-en", PARAGRAPH, "Who is the mayor?", "en", answer)], random.Random(0), 0.0, roles=True) == []
    assert swapped(asked, random.Random(0), 0.0) == []


def test_a_question_without_diacritics_gets_its_vietnamese_siblings_swap() -> None:
    for seed in range(30):
        made = {q.id: q for q in swapped(_questions(), random.Random(seed), 1.0)}
        if "q1-vi-swap" in made:
            assert made["q1-vi-noaccent-swap"].text == fold(made["q1-vi-swap"].text)
            return
    raise AssertionError("no Vietnamese swap in 30 seeds")


def test_a_swapped_near_miss_is_read_over_the_window_that_answered_the_original() -> None:
    made = swapped(_questions(), random.Random(3), 1.0)
    windows = examples(made, lambda text: len(text.split()), random.Random(0), budget=400)
    assert windows and all(w.answer is None and w.kind == "swapped" for w in windows)
    assert all("Nguyễn Văn Út" in w.passage for w in windows if w.question.startswith(("Ai", "ai", "Who")))


def test_xquads_other_languages_ask_the_same_questions_by_id() -> None:
    """The trainer pairs each translated question with the Vietnamese paragraph and answer of its id."""
    import json

    from qa_data import XQUAD_TRANSLATIONS

    translations = json.loads(XQUAD_TRANSLATIONS.read_text(encoding="utf-8"))
    assert sorted(translations) == ["ar", "de", "el", "es", "hi", "ro", "ru", "th", "tr", "zh"]
    ids = {frozenset(questions) for questions in translations.values()}
    assert len(ids) == 1 and len(next(iter(ids))) == 1190
    assert translations["de"]["56beb4343aeaaa14008c925b"] == "Wie viele Punkte gab die Verteidigung der Panthers ab?"


@pytest.mark.skipif(not XQUAD_VI.is_file(), reason="needs ../shared/data/xquad")
def test_a_translated_question_is_asked_over_the_vietnamese_paragraph_with_its_answer() -> None:
    from qa_data import xquad_questions

    by_form = {q.id: q for q in xquad_questions("train", ("vi", "de"))}
    german = by_form["56beb4343aeaaa14008c925b-de"]
    vietnamese = by_form["56beb4343aeaaa14008c925b-vi"]
    assert german.text.startswith("Wie viele Punkte") and german.paragraph == vietnamese.paragraph and german.answers == vietnamese.answers
    assert not any(q.paragraph.article in {t for t, part in splits().items() if part != "train"} for q in by_form.values())
    with pytest.raises(ValueError, match="No XQuAD questions in xx"):
        xquad_questions("train", ("vi", "xx"))


def _squad_file(tmp_path: Path, title: str) -> Path:
    """A SQuAD-format file of one article: two answerable questions and one unanswerable."""
    import json

    context = "Busan is a port city. Its mayor met the delegation in 2024."
    qas = [
        {"id": "a", "question": "What is Busan?", "answers": [{"text": "a port city", "answer_start": 9}], "is_impossible": False},
        {"id": "b", "question": "When did the mayor meet the delegation?", "answers": [{"text": "2024", "answer_start": 54}], "is_impossible": False},
        {"id": "c", "question": "Who is the mayor of Busan?", "answers": [], "is_impossible": True},
    ]
    path = tmp_path / "more.json"
    path.write_text(json.dumps({"data": [{"title": title, "paragraphs": [{"context": context, "qas": qas}]}]}), encoding="utf-8")
    return path


@pytest.mark.skipif(not XQUAD_VI.is_file(), reason="needs ../shared/data/xquad")
def test_more_squad_data_trains_on_its_unanswerable_questions_and_a_share_of_the_rest(tmp_path: Path) -> None:
    from qa_data import more_squad_questions

    path = _squad_file(tmp_path, "Busan")
    everything = more_squad_questions(path, 1.0, random.Random(1))
    assert [q.id for q in everything] == ["a", "b", "c"] and everything[1].answers == ((54, "2024"),) and everything[2].answers == ()
    assert [q.id for q in more_squad_questions(path, 0.0, random.Random(1))] == ["c"]


@pytest.mark.skipif(not XQUAD_VI.is_file(), reason="needs ../shared/data/xquad")
def test_more_squad_data_may_not_hold_a_held_out_article(tmp_path: Path) -> None:
    """Training on a held-out article would make the held-out figures lie, so such a file is refused."""
    from qa_data import more_squad_questions

    held_out = next(title for title, part in splits().items() if part == "test")
    with pytest.raises(ValueError, match="holds articles of XQuAD or SQuAD 2.0 dev"):
        more_squad_questions(_squad_file(tmp_path, held_out), 1.0, random.Random(1))
