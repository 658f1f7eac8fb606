"""Abstention on public data: XQuAD questions whose paragraph is in the index, and the same
questions with their paragraph taken out.

Why: the seed eval set has 16 unanswerable questions, too few to choose or judge an abstention
rule on. XQuAD gives 2,380 pairs (1,190 questions, English and Vietnamese): with its paragraph
present a question is answerable; with it removed, it is a near miss of exactly the kind that
is hard (sibling paragraphs of the same Wikipedia article remain, on the same topic). Removing a
paragraph is simulated by dropping its passages from the candidates, which gives the same best
score as rebuilding the index without it.

Prints, for each signal, how well it separates the two (ROC AUC) per question language; for the
evidence search() judges, the threshold that refuses 5% of answerable questions in each
language (how the defaults `search.abstain_below*` were set) and what the configured thresholds
do on XQuAD and on the seed eval set; and, for comparison, a logistic rule over all signals.

Run from the repository root:  .venv/bin/python bench/abstention.py [--limit N] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for key, value in (("TOKENIZERS_PARALLELISM", "false"), ("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1")):
    os.environ.setdefault(key, value)

import numpy as np  # noqa: E402

from embeddings.settings import EmbeddingsSettings  # noqa: E402
from report import write_section, provenance  # noqa: E402
from retrieval.engine import open_engine  # noqa: E402
from retrieval.evaluation import read_questions  # noqa: E402
from retrieval.search import Scored, Searcher  # noqa: E402
from retrieval.settings import ArticlesSettings, IndexSettings, SearchSettings  # noqa: E402
from xquad import DEFAULT_DATA, INDEX_DIR, SEED_QUESTIONS, load_xquad, log, xquad_searcher  # noqa: E402

FEATURES = ("relevance", "dense", "sentence", "lexical", "margin", "evidence")


def features(searcher: Searcher, question: str, scored: list[Scored]) -> dict[str, float]:
    """The best candidate's score parts, and how far it stands above the best of another article."""
    if not scored:
        return {name: 0.0 for name in FEATURES}
    top = max(scored, key=lambda s: s.relevance)
    return {
        "relevance": top.relevance,
        "dense": top.dense,
        "sentence": top.sentence,
        "lexical": top.lexical,
        "margin": searcher.lead(scored),
        "evidence": searcher.evidence(scored),  # what search() judges
    }


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a random answerable question scores above a random near miss)."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.ones(len(positive)), np.zeros(len(negative))], np.r_[positive, negative]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, help="only the first N questions per language")
    parser.add_argument("--write", action="store_true", help="replace the abstention section of BENCHMARKS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    contexts, by_lang = load_xquad(DEFAULT_DATA)
    embeddings, search = EmbeddingsSettings(), SearchSettings()
    searcher = xquad_searcher(contexts, search)

    rows: list[dict[str, object]] = []
    for lang, questions in by_lang.items():
        for i, (question, gold) in enumerate(questions[: args.limit] if args.limit else questions, start=1):
            scored = searcher.score(question)
            without = [s for s in scored if searcher.index.chunks[s.position].article_id != gold]
            rows.append({"lang": lang, "answerable": True, **features(searcher, question, scored)})
            rows.append({"lang": lang, "answerable": False, **features(searcher, question, without)})
            if i % 200 == 0:
                log(f"  {lang}: {i}/{len(questions)}")

    data = {name: np.array([float(r[name]) for r in rows]) for name in FEATURES}  # type: ignore[arg-type]
    label = np.array([bool(r["answerable"]) for r in rows])
    langs = np.array([r["lang"] for r in rows])
    lines = ["| Signal (best candidate) | ROC AUC, en questions | ROC AUC, vi questions |", "|---|---:|---:|"]
    for name in FEATURES:
        cells = [f"{auc(data[name][label & (langs == lang)], data[name][~label & (langs == lang)]):.3f}" for lang in ("en", "vi")]
        lines.append(f"| {name}{' (what search() judges)' if name == 'evidence' else ''} | " + " | ".join(cells) + " |")

    configured = {"en": search.abstain_below_other_language, "vi": search.abstain_below}
    lines += [
        "",
        "| Questions | threshold refusing 5% of answerable | configured | answerable refused | near misses refused |",
        "|---|---:|---:|---:|---:|",
    ]
    for lang in ("en", "vi"):
        mine = langs == lang
        evidence = data["evidence"]
        at_five = float(np.quantile(evidence[mine & label], 0.05))
        refused = evidence < configured[lang]
        lines.append(
            f"| {lang} | {at_five:.3f} | {configured[lang]:.2f} | {np.mean(refused[mine & label]):.3f} | {np.mean(refused[mine & ~label]):.3f} |"
        )

    # The seed eval set with the configured thresholds, and a logistic rule fitted on XQuAD for comparison.
    from sklearn.linear_model import LogisticRegression

    seed = open_engine(ArticlesSettings(), IndexSettings(), search, embeddings, fetch_progress=False).searcher
    seed_rows = [(q, features(seed, q.question, seed.score(seed._clean(q.question))), seed.is_vietnamese(q.question)) for q in read_questions(SEED_QUESTIONS)]
    answerable = np.array([q.answerable for q, _, _ in seed_rows])
    refused = np.array([f["evidence"] < (search.abstain_below if vi else search.abstain_below_other_language) for _, f, vi in seed_rows])
    x = np.column_stack([data[name] for name in FEATURES])
    model = LogisticRegression(max_iter=2000).fit(x, label)
    seed_x = np.column_stack([[f[name] for _, f, _ in seed_rows] for name in FEATURES])
    seed_p = model.predict_proba(seed_x)[:, 1]
    lines += [
        "",
        f"Seed eval set with the configured thresholds: {int(np.sum(refused & ~answerable))} of {int(np.sum(~answerable))} unanswerable "
        f"questions refused, {int(np.sum(refused & answerable))} of {int(np.sum(answerable))} answerable ones. Seed-set AUC of the evidence "
        f"{auc(seed_x[:, FEATURES.index('evidence')][answerable], seed_x[:, FEATURES.index('evidence')][~answerable]):.3f}; of a logistic rule "
        f"over all six signals fitted on XQuAD {auc(seed_p[answerable], seed_p[~answerable]):.3f} (not used: no better where it matters).",
    ]
    table = "\n".join(lines)
    print(table)
    elapsed = time.perf_counter() - started
    if args.write:
        section = [
            "## Abstention on public data (XQuAD, paragraph present vs removed)",
            "",
            f"{len(rows) // 2} XQuAD questions (English and Vietnamese) asked twice: with their paragraph in the index "
            "(answerable) and with it removed (a near miss: sibling paragraphs of the same article stay).",
            "",
            table,
            "",
            *provenance(minutes=elapsed / 60),
        ]
        log(f"Wrote {write_section('abstention', section)}")
    (INDEX_DIR.parent / "abstention-features.json").write_text(json.dumps(rows), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
