"""The name rule (retrieval/names.py): what it costs answerable questions, and what it refuses.

Two measurements. Without a model: on XQuAD (each paragraph taken as an article, as the
reader bench indexes them), how often the rule would skip the paragraph that holds the answer,
per question form; this bounds what it can cost answerable questions there. With the model and
the shipped reader: our question sets searched with the rule and without it (English questions
are never judged, so only Vietnamese ones can change).

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
    index = NameIndex((f"{p.article}#{p.index}", p.context) for p in xquad_paragraphs())
    cells = []
    for part in ("calibration", "test"):
        questions = xquad_questions(part)  # type: ignore[arg-type]
        for form in READER_FORMS:
            asked = [q for q in questions if q.form == form]
            judged = asked if form != "en" else []  # as the searcher judges: Vietnamese questions only
            skipped = sum(not index.mentions(f"{q.paragraph.article}#{q.paragraph.index}", index.asked(q.text)) for q in judged)
            # As if the rule judged every question by all its words (it leaves English questions alone).
            everything = sum(not index.mentions(f"{q.paragraph.article}#{q.paragraph.index}", index.names_in(q.text)) for q in asked)
            cells.append(f"| {part} | {form} | {len(asked)} | {skipped / len(asked):.3f} | {everything / len(asked):.3f} |")
    return cells


def with_and_without() -> list[str]:
    """Our question sets searched with the rule and with it switched off."""
    searcher = open_engine(ArticlesSettings(), IndexSettings(), SearchSettings(), EmbeddingsSettings(), fetch_progress=False).searcher
    named, nothing = searcher._names, NameIndex([])  # an index naming nothing lets every candidate be read: the rule off
    rows = []
    for title, path in SETS.items():
        questions = read_questions(path)
        figures = {}
        for mode in ("off", "on"):
            searcher._names = named if mode == "on" else nothing
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
        searcher._names = named
        off, on = figures["off"], figures["on"]
        changed = sorted(set(off[3]) ^ set(on[3]))
        rows.append(f"| {title} | {off[0]} / {on[0]} | {off[1]} / {on[1]} | {off[2]} / {on[2]} | {', '.join(changed) or '-'} |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="replace the name rule's section of BENCHMARKS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    lines = [
        "XQuAD, the paragraph holding the answer skipped (no model; each paragraph an article):",
        "",
        "| Articles | Questions | n | skipped, as searched (English questions not judged) | skipped if every question were judged by all its words |",
        "|---|---|---:|---:|---:|",
        *gold_skipped(),
        "",
        f"Our question sets, reader on (up to {SearchSettings().reader_passages} passages read), without / with the rule:",
        "",
        "| Set | answerable refused | unanswerable refused | answer F1 | questions that change (refused or answered) |",
        "|---|---:|---:|---:|---|",
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
