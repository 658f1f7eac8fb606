"""Would the question's words missing from the window read help the reader refuse near misses?

A near miss often reads a passage on the right topic that lacks the question's specific words
(another province, another year). Two signals are tried next to the reader's margin, per window
read: BM25 as a share of a full match (`Scored.lexical`, which search already computes), and
the IDF-weighted share of the question's corpus words missing from the window's passage. The
refusal threshold is set per language group as bench/reader.py sets it (2% of the calibration
articles' answerable questions refused); the test articles and our own question sets report.
Measured, not adopted: see BENCHMARKS.md, "Reader: question words missing from the window".

Run from the repository root:  .venv/bin/python bench/reader_coverage.py [--write] [--dump F | --load F]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))
for key, value in (("TOKENIZERS_PARALLELISM", "false"), ("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1")):
    os.environ.setdefault(key, value)

import numpy as np  # noqa: E402

from embeddings.settings import EmbeddingsSettings  # noqa: E402
from qa_data import xquad_questions  # noqa: E402
from report import provenance, write_section  # noqa: E402
from retrieval.engine import open_engine  # noqa: E402
from retrieval.evaluation import read_questions  # noqa: E402
from retrieval.folding import folded_tokens  # noqa: E402
from retrieval.lexical import STOPWORDS  # noqa: E402
from retrieval.search import Scored, Searcher  # noqa: E402
from retrieval.settings import ArticlesSettings, IndexSettings, SearchSettings  # noqa: E402
from xquad import CALIBRATION_REFUSED, DEFAULT_DATA, FRESH, NEAR_MISSES, READER_FORMS as FORMS, SEED_QUESTIONS, load_xquad, log, xquad_searcher  # noqa: E402

SETS = {"seed eval set": SEED_QUESTIONS, "fresh.jsonl": FRESH, "near_misses.jsonl": NEAR_MISSES}
WEIGHTS = {"lexical": (0.0, 8.0, 16.0, 24.0, 32.0, 48.0), "missing": (4.0, 8.0, 12.0)}


def windows_read(searcher: Searcher, question: str, candidates: list[Scored], margins: dict[int, float]) -> list[dict]:
    """The windows search would read for these candidates, each with its margin and coverage."""
    assert searcher.reader is not None
    view = searcher._lexical._folded
    assert view is not None
    words = [w for w in dict.fromkeys(folded_tokens(question)) if w not in STOPWORDS and w in view.df]
    asked = searcher.reader_question(question)
    plan = searcher.reading_windows(candidates, asked)
    unread = [(p, lo, hi) for p, lo, hi in plan if p not in margins]
    if unread:
        readings = searcher.reader.read([asked] * len(unread), [searcher.index.chunks[p].text[lo:hi] for p, lo, hi in unread])
        margins.update({p: float(r.margin) for (p, _, _), r in zip(unread, readings)})
    lexical = {s.position: s.lexical for s in candidates}
    total = sum(view.idf(w) for w in words)
    out = []
    for p, _, _ in plan:
        chunk = searcher.index.chunks[p]
        held = set(folded_tokens(f"{chunk.title}\n{chunk.text}"))
        missing = sum(view.idf(w) for w in words if w not in held) / total if total else 0.0
        out.append({"margin": margins[p], "lexical": lexical[p], "missing": missing})
    return out


def measure_xquad(searcher: Searcher, part: str) -> list[dict]:
    doc_of = {" ".join(text.split()): f"xquad-{i:03d}" for i, text in enumerate(load_xquad(DEFAULT_DATA)[0])}
    rows = []
    for n, q in enumerate(xquad_questions(part), start=1):  # type: ignore[arg-type]
        gold = doc_of[" ".join(q.paragraph.context.split())]
        text = searcher._clean(q.text)
        scored = searcher.score(text)
        without = [s for s in scored if searcher.index.chunks[s.position].article_id != gold]
        margins: dict[int, float] = {}
        rows.append({"form": q.form, "vi": q.form != "en", "present": windows_read(searcher, text, scored, margins), "removed": windows_read(searcher, text, without, margins)})
        if n % 200 == 0:
            log(f"  {part}: {n}")
    return rows


def measure_seed(searcher: Searcher) -> dict[str, list[dict]]:
    out = {}
    for name, path in SETS.items():
        out[name] = []
        for q in read_questions(path):
            text = searcher._clean(q.question)
            windows = windows_read(searcher, text, searcher.score(text), {})
            out[name].append({"id": q.id, "vi": searcher.is_vietnamese(text), "answerable": bool(q.answer_contains), "windows": windows})
    return out


def decision(windows: list[dict], signal: str, weight: float) -> float:
    """The best window's margin with the signal added: more of the question matched, or less missing."""
    if not windows:
        return -np.inf
    sign = 1.0 if signal == "lexical" else -1.0
    return max(w["margin"] + sign * weight * w[signal] for w in windows)


def report(data: dict) -> list[str]:
    lines = [
        "| Signal, weight | margins vi / other | calibration near misses refused | test answerable refused en / vi / vi-noaccent | test near misses refused en / vi / vi-noaccent "
        "| seed answerable refused | seed unanswerable refused | fresh answerable refused | new near misses refused |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by_form = {f: [r for r in data["test"] if r["form"] == f] for f in FORMS}
    for signal, weights in WEIGHTS.items():
        for weight in weights:
            limit = {}
            for vi in (True, False):
                answerable = [decision(r["present"], signal, weight) for r in data["calibration"] if r["vi"] == vi]
                limit[vi] = float(np.quantile(answerable, CALIBRATION_REFUSED))
            refused = lambda rows, case: statistics.mean(decision(r[case], signal, weight) < limit[r["vi"]] for r in rows)  # noqa: E731

            def ours(name: str, answerable: bool) -> str:
                rows = [r for r in data["seed"][name] if r["answerable"] == answerable]
                return f"{sum(decision(r['windows'], signal, weight) < limit[r['vi']] for r in rows)} of {len(rows)}"

            name = f"{signal}, {weight:g}" if weight else "none (the reader alone)"
            answerable_refused = " / ".join(f"{refused(by_form[f], 'present'):.3f}" for f in FORMS)
            near_refused = " / ".join(f"{refused(by_form[f], 'removed'):.3f}" for f in FORMS)
            lines.append(
                f"| {name} | {limit[True]:.1f} / {limit[False]:.1f} | {refused(data['calibration'], 'removed'):.3f} | {answerable_refused} | {near_refused} "
                f"| {ours('seed eval set', True)} | {ours('seed eval set', False)} | {ours('fresh.jsonl', True)} | {ours('near_misses.jsonl', False)} |"
            )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="replace the reader-coverage section of BENCHMARKS.md")
    parser.add_argument("--dump", type=Path, help="also write the per-window measurements to this JSON file")
    parser.add_argument("--load", type=Path, help="report from a file --dump wrote instead of measuring")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.load:
        data = json.loads(args.load.read_text())
    else:
        seed = open_engine(ArticlesSettings(), IndexSettings(), SearchSettings(), EmbeddingsSettings(), fetch_progress=False).searcher
        data = {"seed": measure_seed(seed)}
        searcher = xquad_searcher(load_xquad(DEFAULT_DATA)[0], SearchSettings())
        for part in ("calibration", "test"):
            data[part] = measure_xquad(searcher, part)
        if args.dump:
            args.dump.write_text(json.dumps(data))
    table = "\n".join(report(data))
    print(table)
    if args.write:
        section = ["## Reader: question words missing from the window (measured, not adopted)", "", __doc__.split("\n\n")[1].replace("\n", " "), "", table, "", *provenance(minutes=(time.perf_counter() - started) / 60)]
        log(f"Wrote {write_section('reader-coverage', section)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
