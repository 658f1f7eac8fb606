"""`seedqa eval`: how often the right passage comes first, per language, and whether the bot
knows when to stay quiet.

A question is a hit at rank k when one of its `answer_contains` strings appears, ignoring case
and diacritics, in one of the first k passages. Ranking is measured with abstention switched
off (so a wrong abstention does not hide a ranking problem) and abstention is measured on its
own: unanswerable questions abstained, answerable ones wrongly abstained. With a reader, the
answer it states is scored against `answer_contains` with SQuAD's EM and F1 (a refusal scores 0).
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from .folding import contains_folded, normalize
from .search import Searcher

KS = (1, 3, 5)
# Questions encoded together before they are searched: batches make the model about twice as
# fast per question (BENCHMARKS.md, speed), and a block stays well inside the query-vector
# cache (search.QUERY_CACHE_SIZE), so no vector is dropped before its search uses it.
PREPARE_BLOCK = 256


class BadEvalFile(ValueError):
    """An evaluation file that cannot be read; the message names the line."""


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    lang: str
    question: str
    source: str | None
    answer_contains: tuple[str, ...]
    kind: str = "fact"

    @property
    def answerable(self) -> bool:
        return bool(self.answer_contains)


@dataclass
class GroupScore:
    questions: int = 0
    hits: dict[int, int] = field(default_factory=lambda: {k: 0 for k in KS})
    reciprocal_rank: float = 0.0
    unanswerable: int = 0
    unanswerable_abstained: int = 0
    answerable_abstained: int = 0
    read: bool = False  # a reader stated answers, so EM/F1 mean something
    exact: float = 0.0
    f1: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        n = self.questions or 1
        return {
            "questions": self.questions,
            **{f"hit@{k}": round(self.hits[k] / n, 4) for k in KS},
            "mrr": round(self.reciprocal_rank / n, 4),
            "answer_em": round(self.exact / n, 4) if self.read else None,
            "answer_f1": round(self.f1 / n, 4) if self.read else None,
            "unanswerable": self.unanswerable,
            "unanswerable_abstained": round(self.unanswerable_abstained / self.unanswerable, 4) if self.unanswerable else None,
            "answerable_abstained": round(self.answerable_abstained / n, 4) if self.questions else None,
        }


def read_questions(path: Path) -> list[EvalQuestion]:
    out: list[EvalQuestion] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadEvalFile(f"Cannot read {path}: {exc}.") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(
                EvalQuestion(
                    id=str(row["id"]),
                    lang=str(row.get("lang", "?")),
                    question=normalize(row["question"]),
                    source=row.get("source"),
                    answer_contains=tuple(row.get("answer_contains") or ()),
                    kind=str(row.get("kind", "fact")),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BadEvalFile(f"{path}, line {number}: not a question object ({exc}); expected {{\"id\", \"lang\", \"question\", \"answer_contains\": [...]}}.") from None
    return out


@dataclass
class Report:
    overall: GroupScore
    by_lang: dict[str, GroupScore]
    misses: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall.as_dict(),
            "by_lang": {lang: g.as_dict() for lang, g in sorted(self.by_lang.items())},
            "misses": self.misses,
        }


def evaluate(searcher: Searcher, questions: Iterable[EvalQuestion]) -> Report:
    overall = GroupScore()
    by_lang: dict[str, GroupScore] = {}
    misses: list[dict[str, Any]] = []
    depth = max(KS)
    questions = list(questions)
    for number, q in enumerate(questions):
        if number % PREPARE_BLOCK == 0:
            searcher.prepare([later.question for later in questions[number : number + PREPARE_BLOCK]])
        group = by_lang.setdefault(q.lang, GroupScore())
        answer = searcher.search(q.question, k=depth)
        if not q.answerable:
            for g in (overall, group):
                g.unanswerable += 1
                g.unanswerable_abstained += answer.abstained
            if not answer.abstained:
                misses.append({"id": q.id, "question": q.question, "problem": "answered an unanswerable question", "score": round(answer.evidence, 4)})
            continue
        ranked = answer.results if not answer.abstained else searcher.search(q.question, k=depth, abstain=False).results
        rank = next((r.rank for r in ranked if any(contains_folded(r.text, a) for a in q.answer_contains)), None)
        stated = answer.answer.text if answer.answer else ""  # a refusal states nothing: 0 for both
        for g in (overall, group):
            g.questions += 1
            g.answerable_abstained += answer.abstained
            g.read = searcher.reader is not None
            g.exact += exact_match(stated, q.answer_contains)
            g.f1 += answer_f1(stated, q.answer_contains)
            for k in KS:
                g.hits[k] += rank is not None and rank <= k
            g.reciprocal_rank += 1 / rank if rank else 0.0
        if answer.abstained or rank != 1:
            misses.append(
                {
                    "id": q.id,
                    "question": q.question,
                    "problem": "abstained" if answer.abstained else f"answer at rank {rank}" if rank else "answer not in top 5",
                    "score": round(answer.evidence, 4),
                    "top": ranked[0].article.source_file + f" ¶{ranked[0].paragraph}" if ranked else None,
                }
            )
    return Report(overall, by_lang, misses)


# SQuAD's official answer normalisation (lower case, no punctuation, no English articles, single
# spaces), applied to Vietnamese as well, where the articles rule does nothing. Diacritics are
# kept: "Út" and "ut" are different words.
_ENGLISH_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation) | set("“”‘’«»…–—")


def normalize_answer(text: str) -> str:
    text = "".join(ch for ch in normalize(text).lower() if ch not in _PUNCTUATION)
    return " ".join(_ENGLISH_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, truths: Iterable[str]) -> float:
    """1.0 when the answer equals one of the expected answers after normalisation (SQuAD's EM)."""
    return float(any(normalize_answer(prediction) == normalize_answer(t) for t in truths))


def answer_f1(prediction: str, truths: Iterable[str]) -> float:
    """Word overlap with the closest expected answer (SQuAD's F1): partial credit for "ông Nguyễn Văn Út"."""
    pred = normalize_answer(prediction).split()
    best = 0.0
    for truth in truths:
        gold = normalize_answer(truth).split()
        if not pred or not gold:
            best = max(best, float(pred == gold))
            continue
        same = sum((Counter(pred) & Counter(gold)).values())
        if same:
            precision, recall = same / len(pred), same / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best
