"""The seed eval set: `seedqa eval`'s figures, the answer-type bonus sweep, and what the abstention thresholds do.

The bonus was chosen on the eval set with the real model; the abstention thresholds were set on
XQuAD (bench/abstention.py) and are only checked here. Rerun after changing the model, the
chunker or the fusion to see whether the choices still hold.

Run from the repository root:  .venv/bin/python bench/tuning.py [--questions FILE] [--write]
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import retrieval.search as search  # noqa: E402
from report import write_section, provenance  # noqa: E402
from retrieval.engine import open_engine  # noqa: E402
from retrieval.evaluation import EvalQuestion, Report, evaluate, read_questions  # noqa: E402
from seedqa.config import load_settings  # noqa: E402

LANGS = ("en", "vi", "vi-noaccent")


def eval_table(report: Report) -> list[str]:
    lines = [
        "| group | n | hit@1 | hit@3 | hit@5 | MRR | unanswerable | abstained (unanswerable) | abstained (answerable) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, group in [("all", report.overall), *sorted(report.by_lang.items())]:
        d = group.as_dict()
        unans = "-" if d["unanswerable_abstained"] is None else f"{d['unanswerable_abstained']:.2f}"
        lines.append(
            f"| {name} | {d['questions']} | {d['hit@1']:.3f} | {d['hit@3']:.3f} | {d['hit@5']:.3f} | {d['mrr']:.3f} | {d['unanswerable']} | {unans} | {d['answerable_abstained']:.2f} |"
        )
    answered = [m["id"] for m in report.misses if m["problem"] == "answered an unanswerable question"]
    lines += ["", f"Unanswerable questions still answered: {', '.join(answered) or 'none'}."]
    return lines


def bonus_sweep(searcher: search.Searcher, questions: list[EvalQuestion]) -> list[str]:
    lines = ["| answer-type bonus | " + " | ".join(f"{lang} hit@1 / hit@3" for lang in LANGS) + " |", "|---|" + "---|" * len(LANGS)]
    chosen = search.ANSWER_TYPE_BONUS
    try:
        for bonus in (0.0, 0.01, 0.02, 0.03, 0.05):
            search.ANSWER_TYPE_BONUS = bonus
            groups = evaluate(searcher, questions).by_lang
            cells = [f"{groups[lang].as_dict()['hit@1']:.3f} / {groups[lang].as_dict()['hit@3']:.3f}" for lang in LANGS]
            lines.append(f"| {bonus:.2f}{' (chosen)' if bonus == chosen else ''} | " + " | ".join(cells) + " |")
    finally:
        search.ANSWER_TYPE_BONUS = chosen
    return lines


def threshold_sweep(searcher: search.Searcher, questions: list[EvalQuestion]) -> list[str]:
    """Each language's threshold over the evidence search() judges, around its default."""
    rows = [(q, searcher.evidence(searcher.score(searcher._clean(q.question))), searcher.is_vietnamese(q.question)) for q in questions]
    settings = searcher.settings
    lines: list[str] = []
    for same, label, key, chosen in (
        (True, "in the articles' language (vi, vi-noaccent)", "abstain_below", settings.abstain_below),
        (False, "in another language (en)", "abstain_below_other_language", settings.abstain_below_other_language),
    ):
        group = [(q, e) for q, e, v in rows if v == same]
        answerable = [e for q, e in group if q.answerable]
        unanswerable = [e for q, e in group if not q.answerable]
        lines += [
            "",
            f"Questions {label}: {len(answerable)} answerable, {len(unanswerable)} unanswerable.",
            "",
            f"| `{key}` | unanswerable abstained | answerable abstained |",
            "|---|---|---|",
        ]
        for step in range(round(chosen * 100) - 12, round(chosen * 100) + 13, 3):
            t = step / 100
            mark = " (default)" if abs(t - chosen) < 0.005 else ""
            lines.append(f"| {t:.2f}{mark} | {sum(e < t for e in unanswerable)}/{len(unanswerable)} | {sum(e < t for e in answerable)}/{len(answerable)} |")
        lines.append(f"\nWeakest answerable: {min(answerable):.3f}; strongest unanswerable: {max(unanswerable):.3f}.")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=Path, default=ROOT / "tests" / "eval" / "questions.jsonl")
    parser.add_argument("--write", action="store_true", help="replace the seed-eval section of BENCHMARKS.md")
    args = parser.parse_args()
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    settings = load_settings()
    searcher = open_engine(settings.articles, settings.index, settings.search, settings.embeddings).searcher
    questions = read_questions(args.questions)
    report = evaluate(searcher, questions)
    table, bonus, thresholds = eval_table(report), bonus_sweep(searcher, questions), threshold_sweep(searcher, questions)
    print("\n".join([*table, "", *bonus, *thresholds]))
    if args.write:
        lines = [
            "## Seed eval set (`tests/eval/questions.jsonl`)",
            "",
            f"{len(questions)} questions written from the five seed articles: English, Vietnamese, Vietnamese typed without "
            "diacritics, and questions the articles do not answer. A hit at k means one of the question's `answer_contains` "
            "strings is in one of the first k passages (case- and diacritic-insensitive); ranking is measured with abstention "
            "off. `seedqa eval tests/eval/questions.jsonl` prints the same table. The abstention columns are decided by the "
            "reader when it is on (`search.reader`, the default; its own figures are in the reader section); the evidence "
            "thresholds below decide only with it off, and otherwise tell a near miss (the topic is there) from an off-topic question.",
            "",
            *table,
            "",
            "### The answer-type bonus (chosen here)",
            "",
            "A passage that holds a date for a \"when\" question, or a number for \"how many\", gets this much added for ranking; "
            "abstention judges the evidence without it.",
            "",
            *bonus,
            "",
            "### The abstention thresholds (set on XQuAD, checked here)",
            *thresholds,
            "",
            *provenance(machine_extra=f"model: {settings.embeddings.model}"),
        ]
        print(f"Wrote {write_section('seed-eval', lines)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
