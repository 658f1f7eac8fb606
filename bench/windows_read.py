"""How many passages the reader reads before it refuses: one, two or three, replayed from one run.

Each window read is one more chance to find a plausible span where the articles do not answer,
and one more chance to find the answer where retrieval ranked it lower. bench/reader.py's dump
records the reader's margin in every window it planned, with each question's paragraph present
(answerable) and removed (a near miss), so reading fewer passages is replayed exactly as
Searcher._read_many reads: the best window first, the next ones only when it does not settle the
question (margin below max(0, the refusal margin)). Reranking is replayed from the dump's first
ten candidates, as bench/reader.py does.

The dump must come from a run reading three passages:

    SEEDQA_SEARCH__READER_PASSAGES=3 .venv/bin/python bench/reader.py --sentence-vectors derived --dump RUN.json
    .venv/bin/python bench/windows_read.py RUN.json [--write]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from report import provenance, write_section  # noqa: E402
from retrieval.search import ANSWER_MIN_MARGIN, reader_gain, settling_margin  # noqa: E402
from retrieval.settings import SearchSettings  # noqa: E402
from xquad import READER_FORMS as FORMS  # noqa: E402

PASSAGES = (1, 2, 3)
SHARES = (0.02, 0.03, 0.04, 0.05)


def read(windows: list[list], passages: int, margin: float) -> list[list]:
    """The windows search reads: the first alone when it settles the question, else the first `passages`."""
    return windows[:1] if windows and windows[0][1] >= settling_margin(margin) else windows[:passages]


def answered(windows: list[list], passages: int, margin: float) -> bool:
    return any(w[1] >= margin for w in read(windows, passages, margin))


def answer_f1(windows: list[list], passages: int, margin: float) -> float:
    """The stated span's F1 (the best window read), 0 when nothing is read."""
    seen = read(windows, passages, margin)
    return max(seen, key=lambda w: w[1])[2] if seen else 0.0


def hit(row: dict, passages: int) -> bool:
    """Whether the first result is from the question's paragraph after the reader's rerank bonus."""
    windows = row["present_windows"]
    reads = len(read(windows, passages, -math.inf)) if windows else 0
    scored = []
    for gold, fused, margin in row["ranked"]:
        if margin is not None and reads > 0:
            fused += reader_gain(margin)
            reads -= 1
        scored.append((fused, gold))
    return max(scored)[1]


def at_share(rows: list[dict], passages: int, share: float) -> float:
    """Near misses refused at the margin that refuses `share` of these answerable questions.

    For margins up to ANSWER_MIN_MARGIN the windows read do not depend on the margin, so a
    question is answered exactly when the best margin read reaches it.
    """
    def best(windows: list[list]) -> float:
        seen = read(windows, passages, -math.inf)
        return max((w[1] for w in seen), default=-math.inf)

    present = sorted(best(r["present_windows"]) for r in rows)
    margin = min(present[int(share * len(present))], ANSWER_MIN_MARGIN)
    return statistics.mean(best(r["removed_windows"]) < margin for r in rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dump", type=Path, help="bench/reader.py --dump of a run reading three passages")
    parser.add_argument("--write", action="store_true", help="replace the windows-read section of BENCHMARKS.md")
    args = parser.parse_args()
    data = json.loads(args.dump.read_text())
    rows = [r for part in ("calibration", "test") for r in data.get(part, [])]
    if not rows or "present_windows" not in rows[0]:
        raise SystemExit(f"{args.dump} records no windows: make it with bench/reader.py --dump (2026-12-07 or later).")
    if max(len(r["present_windows"]) for r in rows) < max(PASSAGES):
        raise SystemExit(f"{args.dump} was measured reading fewer than {max(PASSAGES)} passages: run bench/reader.py with SEEDQA_SEARCH__READER_PASSAGES=3.")
    search = SearchSettings()
    lines = [
        "## The reader: how many passages it reads before refusing (replayed from one run)",
        "",
        f"XQuAD, the same run of the same reader read as search reads with 1, 2 or 3 passages; margins as configured ({search.reader_min_margin} / "
        f"{search.reader_min_margin_other_language}); the dump `{args.dump.name}` (reader {data.get('reader_sha256', '?')[:12]}, {data.get('sentence_vectors', '?')} sentence vectors).",
        "",
        "| Articles | Questions | passages read | answerable refused | near misses refused | answer F1 | hit@1 with the reader | near misses refused at "
        + " / ".join(f"{s:.0%}" for s in SHARES) + " answerable refused (each form's own margin) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for part in ("calibration", "test"):
        for form in FORMS:
            group = [r for r in data[part] if r["form"] == form]
            margin = search.reader_margin(form != "en")
            for passages in PASSAGES:
                refused = statistics.mean(not answered(r["present_windows"], passages, margin) for r in group)
                near = statistics.mean(not answered(r["removed_windows"], passages, margin) for r in group)
                f1 = statistics.mean(answer_f1(r["present_windows"], passages, margin) for r in group)
                hits = statistics.mean(hit(r, passages) for r in group)
                shares = " / ".join(f"{at_share(group, passages, s):.3f}" for s in SHARES)
                lines.append(f"| {part} | {form} ({len(group)}) | {passages} | {refused:.3f} | {near:.3f} | {f1:.3f} | {hits:.3f} | {shares} |")
    lines += ["", *provenance()]
    print("\n".join(lines))
    if args.write:
        print(f"wrote {write_section('windows-read', lines)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
