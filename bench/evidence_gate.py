"""An unsure reader that also needs the similarity rule's evidence to answer, replayed from one run.

Between the refusal margin (-7.5 / -9.1) and 0 the reader answers without stating a span: the
articles answer, by its judgement, but it is unsure where. The similarity rule (the evidence,
Searcher.evidence) sees something the reader does not: how far the best passage stands out of
the whole corpus. The gate: a question the reader is unsure of (best margin below 0) is refused
too when the evidence is below a threshold. "Who is the mayor of Busan?" (seed un-008: no article
mentions Busan) is read at margin -5.8 with evidence 0.32, under the similarity rule's 0.35.

Replayed from bench/reader.py's dump (XQuAD, each question with its paragraph present and
removed; margins and evidence per question), the thresholds chosen on the calibration articles
and reported on the test articles, then the seed sets searched as configured and replayed:

    .venv/bin/python bench/reader.py --sentence-vectors derived --dump RUN.json
    .venv/bin/python bench/evidence_gate.py RUN.json [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from report import provenance, write_section  # noqa: E402
from retrieval.evaluation import read_questions  # noqa: E402
from retrieval.settings import SearchSettings  # noqa: E402
from xquad import READER_FORMS as FORMS, threshold_group  # noqa: E402

GROUPS = {g: tuple(f for f in FORMS if threshold_group(f) == g) for g in ("vi", "other")}
# Evidence thresholds tried on the calibration articles: the evidence of answerable questions
# runs from about 0.2 (English) to 1.2, and the similarity rule refuses below 0.35 / 0.56.
EVIDENCE_GRID = tuple(round(0.02 * i, 2) for i in range(0, 36))
MARGIN_GRID = tuple(round(-30 + 0.1 * i, 1) for i in range(301))
SHARES = (0.03, 0.05)


def refused(row: dict, case: str, margin: float, evidence: float | None) -> bool:
    """Whether search would refuse, the gate at `evidence` (None: no gate), for the paragraph present or removed."""
    best = row[case]
    return best < margin or (evidence is not None and best < 0 and row[f"{case}_evidence"] < evidence)


def share(rows: list[dict], case: str, margin: float, evidence: float | None) -> float:
    return statistics.mean(float(refused(r, case, margin, evidence)) for r in rows) if rows else 0.0


def margin_for(rows: list[dict], most: float, evidence: float | None) -> float | None:
    """The highest margin refusing at most `most` of the answerable questions with this gate."""
    fitting = [m for m in MARGIN_GRID if share(rows, "present", m, evidence) <= most]
    return max(fitting) if fitting else None


def form_cells(rows: list[dict], margins: dict[str, float | None], evidence: dict[str, float | None]) -> str:
    cells = []
    for form in FORMS:
        group = threshold_group(form)
        if margins[group] is None:
            cells.append("-")
            continue
        mine = [r for r in rows if r["form"] == form]
        cells.append(f"{share(mine, 'present', margins[group], evidence[group]):.3f} / {share(mine, 'removed', margins[group], evidence[group]):.3f}")
    return " | ".join(cells)


def seed_rows() -> list[dict]:
    """The seed sets' questions searched as configured: the reader's best margin, the evidence, and the threshold group search() puts the question in."""
    from embeddings.settings import EmbeddingsSettings
    from retrieval.engine import open_engine
    from retrieval.settings import ArticlesSettings, IndexSettings

    searcher = open_engine(ArticlesSettings(), IndexSettings(), SearchSettings(), EmbeddingsSettings(), fetch_progress=False).searcher
    out = []
    for path in sorted((ROOT / "tests" / "eval").glob("*.jsonl")):
        for q in read_questions(path):
            text = searcher._clean(q.question)
            scored = searcher.score(text)
            evidence = searcher.evidence(scored)
            reads = searcher.read(searcher.reader_question(text), scored, evidence)
            best = max((r.margin for r in reads), default=float("-inf"))
            out.append({"file": path.name, "id": q.id, "answerable": q.answerable, "group": "vi" if searcher.is_vietnamese(text) else "other", "present": float(best), "present_evidence": evidence})
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dump", type=Path, help="a --dump of bench/reader.py")
    parser.add_argument("--write", action="store_true", help="replace this section of BENCHMARKS.md")
    args = parser.parse_args()
    data = json.loads(args.dump.read_text())
    if "test" not in data:
        raise SystemExit(f"{args.dump} holds no test rows (its run stopped early): make it with bench/reader.py --dump.")
    calibration, test = data["calibration"], data["test"]
    settings = SearchSettings()
    configured = {"vi": settings.reader_min_margin, "other": settings.reader_min_margin_other_language}
    similarity = {"vi": settings.abstain_below, "other": settings.abstain_below_other_language}
    by_group = {g: [r for r in calibration if r["form"] in forms] for g, forms in GROUPS.items()}
    # Today's rule refuses this share of the calibration articles' answerable questions; a gate is
    # compared with it at the same share there, its margin lowered to pay for what the gate refuses.
    today = {g: share(rows, "present", configured[g], None) for g, rows in by_group.items()}
    matched = {g: margin_for(by_group[g], today[g], similarity[g]) for g in GROUPS}
    chosen_evidence, chosen_margin = {}, {}
    for g, rows in by_group.items():
        options = [(e, m) for e in EVIDENCE_GRID if (m := margin_for(rows, today[g], e)) is not None]
        e, m = max(options, key=lambda em: (share(rows, "removed", em[1], em[0]), -em[0]))
        chosen_evidence[g], chosen_margin[g] = e, m
    none = {"vi": None, "other": None}

    lines = [
        f"Replayed from `{args.dump.name}` (bench/reader.py's dump, reader sha256 {data['reader_sha256'][:12]}). Answerable / near misses refused on the test articles, per question form:",
        "",
        "| Rule | margins (vi / other) | evidence gate (vi / other) | en | vi | vi-noaccent |",
        "|---|---|---|---|---|---|",
        f"| Today: the reader's margin alone | {configured['vi']} / {configured['other']} | - | {form_cells(test, configured, none)} |",
        f"| Gate at the similarity rule's thresholds, today's margins | {configured['vi']} / {configured['other']} | {similarity['vi']} / {similarity['other']} | {form_cells(test, configured, similarity)} |",
    ]
    lines.append(
        "| Gate at the similarity rule's thresholds, margins lowered to refuse today's share on the calibration articles (-: no margin does, the gate alone refuses more) "
        f"| {matched['vi'] if matched['vi'] is not None else '-'} / {matched['other'] if matched['other'] is not None else '-'} | {similarity['vi']} / {similarity['other']} | {form_cells(test, matched, similarity)} |"
    )
    lines += [
        f"| Gate and margins chosen on the calibration articles (most near misses refused at today's share there) | {chosen_margin['vi']} / {chosen_margin['other']} "
        f"| {chosen_evidence['vi']} / {chosen_evidence['other']} | {form_cells(test, chosen_margin, chosen_evidence)} |",
        "",
        f"Today's share of answerable questions refused on the calibration articles: vi {today['vi']:.3f}, other {today['other']:.3f}.",
        "",
        "Separation apart from calibration: each form's margin set on its own test questions to refuse a share of the answerable ones, near misses refused without / with the gate at the similarity rule's thresholds:",
        "",
    ]
    for most in SHARES:
        cells = []
        for form in FORMS:
            group = threshold_group(form)
            mine = [r for r in test if r["form"] == form]
            plain = margin_for(mine, most, None)
            gated = margin_for(mine, most, similarity[group])
            cell = lambda m, e: "-" if m is None else f"{share(mine, 'removed', m, e):.3f}"  # noqa: E731
            cells.append(f"{form} {cell(plain, None)} / {cell(gated, similarity[group])}")
        lines.append(f"- {most:.0%}: " + "; ".join(cells))

    seeds = seed_rows()
    lines += ["", "Seed sets (`tests/eval/*.jsonl`, searched as configured), refused without / with the gate at the similarity rule's thresholds and today's margins:", ""]
    for name in sorted({r["file"] for r in seeds}):
        rows = [r for r in seeds if r["file"] == name]
        for answerable, label in ((True, "answerable"), (False, "unanswerable")):
            mine = [r for r in rows if r["answerable"] is answerable]
            if not mine:
                continue
            before = [r["id"] for r in mine if refused(r, "present", configured[r["group"]], None)]
            after = [r["id"] for r in mine if refused(r, "present", configured[r["group"]], similarity[r["group"]])]
            changed = sorted(set(after) ^ set(before))
            lines.append(f"- `{name}`, {label}: {len(before)} / {len(after)} of {len(mine)}" + (f" ({', '.join(changed)})" if changed else ""))
    lines += ["", *provenance()]
    lines.insert(0, "")
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section("evidence-gate", ["## Reader: an unsure reader also needing the similarity rule's evidence (replayed; measured, not adopted)", *lines])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
