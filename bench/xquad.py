"""Cross-lingual retrieval on XQuAD: does the seedqa pipeline find the right Vietnamese passage?

Why: the project's own eval set is small and was used to tune fusion, so it cannot show whether
BM25 fusion, sentence scoring, accent restoration and passage merging help or hurt retrieval
in general. XQuAD is independent of that tuning: 240 Vietnamese Wikipedia paragraphs, each one
article, and 1,190 questions asked in both English and Vietnamese (same question ids). We compare
  * the seedqa pipeline: the real `seedqa index` build and `Searcher.search` with default settings;
  * plain dense: the same model and prompts, one vector per paragraph, exact inner product;
  * BM25 (bm25s) over folded word tokens, the lexical baseline;
and time a warm pipeline query against a bare encode + FAISS search of the same question.

Run from the repository root:  .venv/bin/python bench/xquad.py [--limit N] [--write]
The build is kept in .seedqa/bench/xquad-index, so a rerun re-embeds nothing unless the
chunker or the model changed; search settings are read afresh from retrieval/settings.py.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for key, value in (("TOKENIZERS_PARALLELISM", "false"), ("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1")):
    os.environ.setdefault(key, value)

import bm25s  # noqa: E402
import faiss  # noqa: E402
import numpy as np  # noqa: E402

from embeddings.settings import EmbeddingsSettings  # noqa: E402
from retrieval.build import Progress  # noqa: E402
from retrieval.engine import open_engine, rebuild  # noqa: E402
from retrieval.folding import folded_tokens  # noqa: E402
from retrieval.settings import ArticlesSettings, IndexSettings, SearchSettings  # noqa: E402
from report import machine, percentiles, write_section  # noqa: E402

DEFAULT_DATA = Path("/work/shared/data/xquad")
INDEX_DIR = ROOT / ".seedqa" / "bench" / "xquad-index"
K = 10
LANGS = ("en", "vi")

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding xquad.vi.json and xquad.en.json")
    parser.add_argument("--limit", type=int, help="only the first N questions per language (a smoke run)")
    parser.add_argument("--latency", type=int, default=200, help="questions timed for latency (half English, half Vietnamese)")
    parser.add_argument("--show-misses", type=int, default=5, help="print up to N questions plain dense ranks first and the pipeline does not")
    parser.add_argument("--write", action="store_true", help="replace the XQuAD section of BENCHMARKS.md")
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

    def pipeline(question: str, lang: str) -> list[str]:
        answer = searcher.search(question, k=K, abstain=False)
        return dedupe([r.article.id for r in answer.results])

    # 2. Plain dense: one vector per whole paragraph, the model's prompts, no title.
    # Its paragraph vectors are kept next to the index, keyed by the weights and the texts.
    key = hashlib.sha256("\x00".join([encoder.fingerprint, *contexts]).encode()).hexdigest()[:16]
    cached = INDEX_DIR.parent / f"xquad-plain-{key}.npy"
    if cached.exists():
        paragraph_vectors = np.load(cached, allow_pickle=False)
    else:
        log("Encoding the paragraphs for plain dense...")
        paragraph_vectors = encoder.encode_documents(contexts, [None] * len(contexts))
        np.save(cached, paragraph_vectors, allow_pickle=False)
    flat = faiss.IndexFlatIP(encoder.dimension)
    flat.add(paragraph_vectors)
    query_vectors: dict[str, dict[str, np.ndarray]] = {}
    for lang in LANGS:
        log(f"  encoding {len(questions[lang])} {lang} questions")
        texts = [q for q, _ in questions[lang]]
        query_vectors[lang] = dict(zip(texts, encoder.encode_queries(texts)))

    def dense(question: str, lang: str) -> list[str]:
        _, ids = flat.search(query_vectors[lang][question][None, :], K)
        return [doc_ids[i] for i in ids[0] if i >= 0]

    # 3. BM25 over folded tokens (no diacritics, đ→d), bm25s with its default parameters.
    lexical = bm25s.BM25()
    lexical.index([folded_tokens(c) for c in contexts], show_progress=False)
    vocabulary = {t for c in contexts for t in folded_tokens(c)}

    def bm25(question: str, lang: str) -> list[str]:
        terms = [t for t in folded_tokens(question) if t in vocabulary]
        scores = lexical.get_scores(terms) if terms else np.zeros(len(contexts))
        return [doc_ids[i] for i in np.argsort(-scores, kind="stable")[:K] if scores[i] > 0]

    results: dict[str, dict[str, dict[str, float]]] = {}
    ranks: dict[tuple[str, str], list[int]] = {}
    for label, ranker in (("seedqa pipeline", pipeline), ("plain dense", dense), ("BM25 (bm25s)", bm25)):
        log(f"Evaluating {label}...")
        for lang in LANGS:
            results.setdefault(label, {})[lang], ranks[label, lang] = evaluate(ranker, questions[lang], lang, label)

    # 4. Warm latency, the two measured back to back on each question so machine load hits both alike.
    timed = [q for pair in zip(*(questions[lang][: args.latency // 2] for lang in LANGS)) for q, _ in pair]
    for question in timed[:5]:
        searcher.search(question, k=K, abstain=False)
    full_ms, bare_ms = [], []
    log(f"Timing {len(timed)} questions...")
    for question in timed:
        t0 = time.perf_counter()
        searcher.search(question, k=K, abstain=False)
        t1 = time.perf_counter()
        flat.search(encoder.encode_queries([question]), K)
        t2 = time.perf_counter()
        full_ms.append((t1 - t0) * 1000)
        bare_ms.append((t2 - t1) * 1000)
    (full50, full95), (bare50, bare95) = percentiles(full_ms), percentiles(bare_ms)

    n = {lang: len(qs) for lang, qs in questions.items()}
    lines = ["| System | Questions | Recall@1 | Recall@5 | Recall@10 | MRR@10 |", "|---|---|---:|---:|---:|---:|"]
    for label, by_lang in results.items():
        for lang, m in by_lang.items():
            lines.append(f"| {label} | {lang} ({n[lang]}) | {m['R@1']:.3f} | {m['R@5']:.3f} | {m['R@10']:.3f} | {m['MRR@10']:.3f} |")
    lines += [
        "",
        f"| Warm query latency ({len(timed)} questions) | p50 ms | p95 ms |",
        "|---|---:|---:|",
        f"| seedqa pipeline (`Searcher.search`, k={K}) | {full50:.1f} | {full95:.1f} |",
        f"| bare: `encode_queries` + `IndexFlatIP.search` | {bare50:.1f} | {bare95:.1f} |",
        f"| ratio pipeline / bare | {full50 / bare50:.2f}x | {full95 / bare95:.2f}x |",
    ]
    table = "\n".join(lines)
    print(table)

    # Questions plain dense gets right and the pipeline does not: where to look first.
    misses = [
        (lang, q, gold, ranks["seedqa pipeline", lang][i])
        for lang in LANGS
        for i, (q, gold) in enumerate(questions[lang])
        if ranks["plain dense", lang][i] == 1 and ranks["seedqa pipeline", lang][i] != 1
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

        python = Path(sys.executable)
        shown = os.path.relpath(python, ROOT) if python.is_relative_to(ROOT) else "python"
        command = " ".join([shown, "bench/xquad.py", *sys.argv[1:]])
        settings = json.dumps(search.model_dump(mode="json"), sort_keys=True)
        chunker = json.dumps(index.model_dump(mode="json", exclude={"folder"}), sort_keys=True)
        lines = [
            "## XQuAD cross-lingual retrieval (Vietnamese passages)",
            "",
            f"XQuAD ({len(contexts)} Vietnamese paragraphs, CC BY-SA 4.0), each paragraph one article written as a plain "
            "`.txt` (title derived by the parser from its first sentence); the same 1,190 questions asked in English and "
            f"in Vietnamese. A hit is the question's own paragraph among the first k distinct articles. The pipeline index: "
            f"{passages} passages, {sentences} sentences. Plain dense embeds each whole paragraph with the document prompt "
            "and no title. BM25: bm25s defaults over folded tokens, no stopwords.",
            "",
            table,
            "",
            f"- Command: `{command}` (from the repository root; {elapsed / 60:.1f} min in all)",
            f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
            f"- Machine: {machine()}; torch {torch.__version__} ({torch.get_num_threads()} threads); shared with other jobs, so timings are noisy",
            f"- Model: {embeddings.model} ({encoder.fingerprint[:12]})",
            f"- Search settings: `{settings}`",
            f"- Chunker: `{chunker}`",
        ]
        log(f"Wrote {write_section('xquad', lines)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
