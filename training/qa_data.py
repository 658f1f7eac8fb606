"""SQuAD-format data (XQuAD, SQuAD 2.0) as reader examples, split by article so held-out figures are honest.

Shared by the training script and the benchmarks: both must agree on which articles are held
out, and the benchmarks must read the windows the reader was trained on.

The split is by article title, fixed by a hash (not by position in a file), and shared across
both data sets: all 16 SQuAD 2.0 dev articles are also XQuAD articles, so an article is held
out of both or of neither.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from retrieval.chunking import split_sentences
from retrieval.folding import fold, folded_tokens
from retrieval.windows import WINDOW_TOKENS, window

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
XQUAD_VI = SHARED / "xquad" / "xquad.vi.json"
XQUAD_EN = SHARED / "xquad" / "xquad.en.json"
SQUAD2 = SHARED / "squad2" / "dev-v2.0.json"

Split = Literal["train", "calibration", "test"]
# Of the 16 articles in both sets, 4 are held out (SQuAD 2.0's held-out figures come from them);
# of XQuAD's other 32, 8 more are held out and 6 are kept for calibrating thresholds. XQuAD's
# test part is then 12 articles (60 paragraphs, ~290 questions per language).
SHARED_TEST = 4
OTHER_TEST = 8
OTHER_CALIBRATION = 6

QuestionForm = Literal["vi", "en", "vi-noaccent"]


@dataclass(frozen=True)
class Paragraph:
    article: str
    index: int
    context: str


@dataclass(frozen=True)
class Question:
    id: str
    paragraph: Paragraph
    text: str
    form: str  # vi, en, vi-noaccent (XQuAD over Vietnamese passages) or squad2 (English over English)
    answers: tuple[tuple[int, str], ...]  # (char start, text); empty when the paragraph does not answer it


@dataclass(frozen=True)
class Example:
    """One window the reader reads, with the answer's character span in it or None."""

    question: str
    passage: str
    answer: tuple[int, int] | None
    form: str
    kind: str  # answer, removed (answer sentence cut out), sibling (another paragraph), impossible (SQuAD 2.0)
    answer_texts: tuple[str, ...] = ()


def _rank(title: str) -> str:
    return hashlib.sha256(title.encode()).hexdigest()


def splits() -> dict[str, Split]:
    """Every XQuAD/SQuAD 2.0 article title and its part."""
    xquad = [a["title"] for a in json.loads(XQUAD_VI.read_text())["data"]]
    squad = {a["title"] for a in json.loads(SQUAD2.read_text())["data"]}
    shared = sorted((t for t in xquad if t in squad), key=_rank)
    other = sorted((t for t in xquad if t not in squad), key=_rank)
    out: dict[str, Split] = {}
    for i, title in enumerate(shared):
        out[title] = "test" if i < SHARED_TEST else "train"
    for i, title in enumerate(other):
        out[title] = "test" if i < OTHER_TEST else "calibration" if i < OTHER_TEST + OTHER_CALIBRATION else "train"
    return out


def _load(path: Path) -> list[tuple[Paragraph, list[dict]]]:
    out = []
    for article in json.loads(path.read_text())["data"]:
        for i, p in enumerate(article["paragraphs"]):
            out.append((Paragraph(article["title"], i, p["context"]), p["qas"]))
    return out


def xquad_questions(part: Split, forms: Iterable[QuestionForm] = ("vi", "en", "vi-noaccent")) -> list[Question]:
    """XQuAD questions of one part over the Vietnamese paragraphs, in each asked form.

    English questions come from the parallel English file (same ids); the Vietnamese answer
    span serves all three forms, since the passage is the Vietnamese one.
    """
    parts = splits()
    english = {qa["id"]: qa["question"] for _, qas in _load(XQUAD_EN) for qa in qas}
    out: list[Question] = []
    for paragraph, qas in _load(XQUAD_VI):
        if parts[paragraph.article] != part:
            continue
        for qa in qas:
            answers = tuple((a["answer_start"], a["text"]) for a in qa["answers"])
            for form in forms:
                text = {"vi": qa["question"], "en": english[qa["id"]], "vi-noaccent": fold(qa["question"])}[form]
                out.append(Question(f"{qa['id']}-{form}", paragraph, text, form, answers))
    return out


def squad2_questions(part: Split) -> list[Question]:
    parts = splits()
    out: list[Question] = []
    for paragraph, qas in _load(SQUAD2):
        if parts[paragraph.article] != part:
            continue
        for qa in qas:
            answers = () if qa.get("is_impossible") else tuple((a["answer_start"], a["text"]) for a in qa["answers"])
            out.append(Question(qa["id"], paragraph, qa["question"], "squad2", answers))
    return out


def xquad_paragraphs() -> list[Paragraph]:
    return [p for p, _ in _load(XQUAD_VI)]


def _overlap(question: str, sentence: str) -> int:
    return len(set(folded_tokens(question)) & set(folded_tokens(sentence)))


def _best_matching(question: str, text: str, spans: list) -> int:
    """The sentence sharing most words with the question: what retrieval would centre a window on."""
    return max(range(len(spans)), key=lambda i: (_overlap(question, text[spans[i].start : spans[i].end]), -i)) if spans else 0


def examples(questions: Iterable[Question], count_tokens: Callable[[str], int], rng: random.Random, *, negatives: bool = True, budget: int = WINDOW_TOKENS) -> list[Example]:
    """Windows for each question: the one with the answer, and near misses derived from the same article.

    - answer: the window around the answer's sentence (one time in four around a neighbour,
      as retrieval does not always centre on the answer sentence), when it holds the answer;
    - removed: the paragraph with every sentence holding an answer cut out, around where it was;
    - sibling: another paragraph of the same article, around its best-matching sentence;
    - impossible: SQuAD 2.0's unanswerable questions, around the best-matching sentence.
    """
    questions = list(questions)
    by_article: dict[str, list[Paragraph]] = {}
    for q in questions:
        group = by_article.setdefault(q.paragraph.article, [])
        if q.paragraph not in group:
            group.append(q.paragraph)
    out: list[Example] = []
    for q in questions:
        text = q.paragraph.context
        spans = split_sentences(text)
        texts = tuple(t for _, t in q.answers)
        if not q.answers:
            lo, hi = window(text, spans, _best_matching(q.text, text, spans), count_tokens, budget)
            out.append(Example(q.text, text[lo:hi], None, q.form, "impossible"))
            continue
        start, answer = q.answers[0]
        end = start + len(answer)
        home = next((i for i, s in enumerate(spans) if s.start <= start < s.end), 0)
        center = home if rng.random() < 0.75 else min(max(home + rng.choice((-1, 1)), 0), len(spans) - 1)
        lo, hi = window(text, spans, center, count_tokens, budget)
        if not (lo <= start and end <= hi):
            lo, hi = window(text, spans, home, count_tokens, budget)
        if lo <= start and end <= hi:
            out.append(Example(q.text, text[lo:hi], (start - lo, end - lo), q.form, "answer", texts))
        if not negatives:
            continue
        if rng.random() < 0.5:
            cut = [s for s in spans if not any(s.start <= a < s.end or t in text[s.start : s.end] for a, t in q.answers)]
            if cut:
                rest = " ".join(text[s.start : s.end] for s in cut)
                if not any(t in rest for t in texts):
                    rest_spans = split_sentences(rest)
                    lo, hi = window(rest, rest_spans, min(home, len(rest_spans) - 1), count_tokens, budget)
                    out.append(Example(q.text, rest[lo:hi], None, q.form, "removed", texts))
                    continue
        siblings = [p for p in by_article[q.paragraph.article] if p != q.paragraph and not any(t in p.context for t in texts)]
        if siblings:
            other = rng.choice(siblings).context
            other_spans = split_sentences(other)
            lo, hi = window(other, other_spans, _best_matching(q.text, other, other_spans), count_tokens, budget)
            out.append(Example(q.text, other[lo:hi], None, q.form, "sibling", texts))
    return out
