"""Where two of the search constants come from: the answer-type bonus and the abstention threshold.

Both were chosen on the eval set with the real model. This script reruns the sweeps, so whoever
changes the model, the chunker or the fusion can see whether the choice still holds.
Run: .venv/bin/python bench/tuning.py [--questions tests/eval/questions.jsonl]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import retrieval.search as search
from retrieval.engine import open_engine
from retrieval.evaluation import EvalQuestion, evaluate, read_questions
from seedqa.config import load_settings

LANGS = ("en", "vi", "vi-noaccent")


def bonus_sweep(searcher: search.Searcher, questions: list[EvalQuestion]) -> None:
    print("| answer-type bonus | " + " | ".join(f"{lang} hit@1 / hit@3" for lang in LANGS) + " |")
    print("|---|" + "---|" * len(LANGS))
    chosen = search.ANSWER_TYPE_BONUS
    try:
        for bonus in (0.0, 0.01, 0.02, 0.03, 0.05):
            search.ANSWER_TYPE_BONUS = bonus
            groups = evaluate(searcher, questions).by_lang
            cells = [f"{groups[lang].as_dict()['hit@1']:.3f} / {groups[lang].as_dict()['hit@3']:.3f}" for lang in LANGS]
            print(f"| {bonus:.2f}{' (chosen)' if bonus == chosen else ''} | " + " | ".join(cells) + " |")
    finally:
        search.ANSWER_TYPE_BONUS = chosen


def threshold_sweep(searcher: search.Searcher, questions: list[EvalQuestion]) -> None:
    # best_score is the very number search() compares with abstain_below.
    best = [(q, searcher.search(q.question).best_score) for q in questions]
    answerable = [score for q, score in best if q.answerable]
    unanswerable = [score for q, score in best if not q.answerable]
    chosen = searcher.settings.abstain_below
    print("\n| abstain_below | unanswerable abstained | answerable abstained |")
    print("|---|---|---|")
    for step in range(40, 58):
        t = step / 100
        u = sum(s < t for s in unanswerable)
        a = sum(s < t for s in answerable)
        mark = " (chosen)" if abs(t - chosen) < 1e-9 else ""
        print(f"| {t:.2f}{mark} | {u}/{len(unanswerable)} ({u / len(unanswerable):.2f}) | {a}/{len(answerable)} ({a / len(answerable):.2f}) |")
    print(f"\nweakest answerable question: {min(answerable):.3f}; strongest unanswerable: {max(unanswerable):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, default=Path("tests/eval/questions.jsonl"))
    args = parser.parse_args()
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    settings = load_settings()
    searcher = open_engine(settings.articles, settings.index, settings.search, settings.embeddings).searcher
    questions = read_questions(args.questions)
    bonus_sweep(searcher, questions)
    threshold_sweep(searcher, questions)


if __name__ == "__main__":
    main()
