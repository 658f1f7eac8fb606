"""The name rule (retrieval/names.py): what it costs answerable questions, and what it refuses.

Two measurements. Without a model: on XQuAD (each paragraph taken as an article, as the
reader bench indexes them), how often the rule would skip the paragraph that holds the answer,
per question form; this bounds what it can cost answerable questions there. With the model and
the shipped reader: our question sets searched with the rule off, judging names alone (in
Vietnamese questions) and judging names and years (years in questions of any language).

Run from the repository root:  .venv/bin/python bench/names.py [--write]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))
for key, value in (("TOKENIZERS_PARALLELISM", "false"), ("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1")):
    os.environ.setdefault(key, value)

from embeddings.settings import EmbeddingsSettings  # noqa: E402
from qa_data import xquad_paragraphs, xquad_questions  # noqa: E402
from report import provenance, write_section  # noqa: E402
from retrieval.engine import open_engine  # noqa: E402
from retrieval.evaluation import evaluate, read_questions  # noqa: E402
from retrieval.names import NameIndex  # noqa: E402
from retrieval.settings import ArticlesSettings, IndexSettings, SearchSettings  # noqa: E402
from xquad import FRESH, FRESH_2, NEAR_MISSES, NEAR_MISSES_2, READER_FORMS, SEED_QUESTIONS, log  # noqa: E402

SETS = {
    "seed eval set": SEED_QUESTIONS,
    "fresh.jsonl": FRESH,
    "near_misses.jsonl": NEAR_MISSES,
    "fresh_2.jsonl (written before this was measured)": FRESH_2,
    "near_misses_2.jsonl (written before this was measured)": NEAR_MISSES_2,
}


def gold_skipped() -> list[str]:
    """Per part and form: the share of XQuAD questions whose answer's paragraph the rule would skip."""
    paragraphs = [(f"{p.article}#{p.index}", p.context) for p in xquad_paragraphs()]
    index, names_only = NameIndex(paragraphs), NameIndex(paragraphs, years=False)
    cells = []
    for part in ("calibration", "test"):
        questions = xquad_questions(part)  # type: ignore[arg-type]
        for form in READER_FORMS:
            asked = [q for q in questions if q.form == form]
            skips = lambda names, q, judge_names: not names.mentions(f"{q.paragraph.article}#{q.paragraph.index}", names.asked(q.text, names=judge_names))  # noqa: E731
            # As the searcher judges: names in Vietnamese questions only, years in every question.
            by_names = sum(skips(names_only, q, form != "en") for q in asked)
            searched = sum(skips(index, q, form != "en") for q in asked)
            with_years = [q for q in asked if index.asked(q.text, names=False)]
            by_years = sum(skips(index, q, False) for q in with_years)
            # As if the rule judged every question by all its words (it leaves English questions' names alone).
            everything = sum(not index.mentions(f"{q.paragraph.article}#{q.paragraph.index}", index.names_in(q.text)) for q in asked)
            cells.append(
                f"| {part} | {form} | {len(asked)} | {by_names / len(asked):.3f} | {len(with_years)}: {by_years} | {searched / len(asked):.3f} | {everything / len(asked):.3f} |"
            )
    return cells


def with_and_without() -> list[str]:
    """Our question sets searched with the rule switched off, judging names alone, and judging names and years."""
    searcher = open_engine(ArticlesSettings(), IndexSettings(), SearchSettings(), EmbeddingsSettings(), fetch_progress=False).searcher
    articles = [(a.id, a.title + "\n" + a.text) for a in searcher.index.articles.values()]  # as the searcher builds its index
    # An index naming nothing lets every candidate be read: the rule off.
    indexes = {"off": NameIndex([]), "names": NameIndex(articles, years=False), "names and years": searcher._names}
    rows = []
    for title, path in SETS.items():
        questions = read_questions(path)
        figures = {}
        for mode, index in indexes.items():
            searcher._names = index
            searcher._reads.clear()
            report = evaluate(searcher, questions)
            o = report.overall
            figures[mode] = (
                f"{o.answerable_abstained} of {o.questions}" if o.questions else "-",
                f"{o.unanswerable_abstained} of {o.unanswerable}" if o.unanswerable else "-",
                f"{o.f1 / o.questions:.3f}" if o.questions else "-",
                sorted(m["id"] for m in report.misses if m["problem"] in ("abstained", "answered an unanswerable question")),
            )
            log(f"{title}, rule {mode}: {figures[mode]}")
        searcher._names = indexes["names and years"]
        off, names, both = figures["off"], figures["names"], figures["names and years"]
        by_names, by_years = sorted(set(off[3]) ^ set(names[3])), sorted(set(names[3]) ^ set(both[3]))
        rows.append(
            f"| {title} | {' / '.join(f[0] for f in (off, names, both))} | {' / '.join(f[1] for f in (off, names, both))} | "
            f"{' / '.join(f[2] for f in (off, names, both))} | {', '.join(by_names) or '-'} | {', '.join(by_years) or '-'} |"
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="replace the name rule's section of BENCHMARKS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    lines = [
        "XQuAD, the paragraph holding the answer skipped (no model; each paragraph an article):",
        "",
        "| Articles | Questions | n | skipped by names (Vietnamese questions only) | questions naming a year: skipped by years | skipped as searched (both) | skipped if every question were judged by all its words |",
        "|---|---|---:|---:|---:|---:|---:|",
        *gold_skipped(),
        "",
        "Our question sets, reader on: the rule off / names alone / names and years:",
        "",
        "| Set | answerable refused | unanswerable refused | answer F1 | changed by names (refused or answered) | changed by years |",
        "|---|---:|---:|---:|---|---|",
        *with_and_without(),
    ]
    table = "\n".join(lines)
    print(table)
    if args.write:
        section = ["## Reader: names the article never mentions", "", __doc__.split("\n\n")[1].replace("\n", " "), "", table, "", *provenance(minutes=(time.perf_counter() - started) / 60)]
        log(f"Wrote {write_section('reader-names', section)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
