"""Speed against peers, in one run: warm query latency, where seedqa's time goes, build throughput,
cold start and memory, and what was tried to make it faster.

Why one run: absolute times on a shared two-core machine move by tens of percent from one
minute to the next, so every comparison here is measured back to back, question by question,
and reported as a ratio. Systems: the seedqa pipeline (`Searcher.search`), txtai's hybrid
Embeddings with the same model, and the bare loop every retriever pays for: encode the query,
search FAISS exactly (bench/peers.py).

Run from the repository root:  .venv/bin/python bench/speed.py [--questions 200] [--write]
It reuses the XQuAD index that bench/xquad.py builds (and builds it if missing).
"""

from __future__ import annotations

import argparse
from importlib.metadata import version
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for key, value in (("TOKENIZERS_PARALLELISM", "false"), ("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1")):
    os.environ.setdefault(key, value)

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bot.formatting import answer_message  # noqa: E402
from bot.handlers import MAX_BATCH  # noqa: E402
from embeddings.provision import resolve_model  # noqa: E402
from retrieval.engine import load_encoder  # noqa: E402
from embeddings.settings import EmbeddingsSettings  # noqa: E402
from peers import PlainDense, Txtai  # noqa: E402
from report import percentiles, write_section, provenance  # noqa: E402
from runtimes import openvino_version  # noqa: E402
from retrieval import store  # noqa: E402
from retrieval.build import build_index  # noqa: E402
from retrieval.chunking import ChunkerSettings  # noqa: E402
from retrieval.search import Searcher  # noqa: E402
from retrieval.settings import IndexSettings, SearchSettings  # noqa: E402
from xquad import DEFAULT_DATA, K, load_xquad, log, write_articles, xquad_searcher  # noqa: E402

JEJU = "who met the Jeju governor?"
# Pile sizes for batch_trial: one at a time, then what a busy bot sees, up to its MAX_BATCH.
BATCH_SIZES = (1, 4, 8, 16, 32)


class Stopwatch:
    """Wraps callables so the time spent inside each is added up per label."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)

    def wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.totals[label] += time.perf_counter() - started

        return timed


class _TimedIndex:
    """A FAISS index whose search is timed; everything else passes through."""

    def __init__(self, index: Any, watch: Stopwatch) -> None:
        self._index = index
        self.search = watch.wrap("FAISS search", index.search)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)


def latency(systems: dict[str, Callable[[str], object]], questions: list[str]) -> dict[str, list[float]]:
    """Each question through every system in turn, so machine load falls on all of them alike."""
    for question in questions[:5]:
        for run in systems.values():
            run(question)
    out: dict[str, list[float]] = {name: [] for name in systems}
    for question in questions:
        for name, run in systems.items():
            started = time.perf_counter()
            run(question)
            out[name].append((time.perf_counter() - started) * 1000)
    return out


def breakdown(searcher: Searcher, questions: list[str]) -> dict[str, float]:
    """Mean milliseconds per question in each part of a seedqa search, plus formatting a reply."""
    watch = Stopwatch()
    encoder: Any = searcher.encoder
    if hasattr(encoder, "_session"):  # embeddings.onnx_encoder: the graph alone (reader off)
        steps = {(encoder._tokenizer, "ids"): watch.wrap("tokenize", encoder._tokenizer.ids), (encoder._session, "run"): watch.wrap("model forward", encoder._session.run)}
    else:  # sentence-transformers 6: prompt + tokenizer, then the modules
        model = encoder._model
        steps = {(model, "preprocess"): watch.wrap("tokenize", model.preprocess), (model, "forward"): watch.wrap("model forward", model.forward)}
    patched = {
        **steps,
        (searcher._accents, "restore"): watch.wrap("accent restoration", searcher._accents.restore),
        (searcher.encoder, "encode_queries"): watch.wrap("encode (all)", searcher.encoder.encode_queries),
        (searcher._lexical, "scores"): watch.wrap("BM25", searcher._lexical.scores),
        (searcher, "score"): watch.wrap("score (all of the above + fusion)", searcher.score),
        (searcher, "_shape"): watch.wrap("merge, dedupe, cite", searcher._shape),
    }
    index = searcher.index
    passages = index.passages
    try:
        for (owner, name), wrapped in patched.items():
            setattr(owner, name, wrapped)
        object.__setattr__(index, "passages", _TimedIndex(passages, watch))
        searcher._query_vectors.clear()
        total = 0.0
        for question in questions:
            searcher._query_vectors.clear()  # measure the encoding every time, not the cache
            started = time.perf_counter()
            answer = searcher.search(question, k=3, abstain=False)
            total += time.perf_counter() - started
            formatted = time.perf_counter()
            json.dumps(answer.to_json(), ensure_ascii=False)
            answer_message(answer.results, "en")
            watch.totals["format (JSON + Telegram HTML)"] += time.perf_counter() - formatted
    finally:
        for owner, name in patched:
            delattr(owner, name)  # the instance attribute goes; the class's method is back
        object.__setattr__(index, "passages", passages)
    n = len(questions)
    parts = {label: seconds * 1000 / n for label, seconds in watch.totals.items()}
    encode = parts.pop("encode (all)")
    parts["encode, other (prompt, pooling, normalise)"] = max(0.0, encode - parts["tokenize"] - parts["model forward"])
    score = parts.pop("score (all of the above + fusion)")
    parts["fusion (sentence scores, candidates)"] = max(0.0, score - encode - parts["FAISS search"] - parts["BM25"] - parts["accent restoration"])
    parts["search() total"] = total * 1000 / n
    return parts


def default_mark(kind: str) -> str:
    """", the default" after the sentence-vector kind an index gets unless configured otherwise."""
    return ", the default" if IndexSettings().sentence_vectors == kind else ""


def build_throughput(encoder: Any, texts_from: Path, kind: str = "derived") -> dict[str, Any]:
    """`seedqa index` of a folder into an empty index (no cached vectors), the model already loaded as txtai's is."""
    with tempfile.TemporaryDirectory(prefix="speed-index-") as tmp:
        started = time.perf_counter()
        report = build_index(
            articles_folder=texts_from,
            index_dir=Path(tmp) / "index",
            chunker=ChunkerSettings(),
            model_id=encoder.model_id,
            model_fingerprint=encoder.fingerprint,
            count_tokens=encoder.count_tokens,
            load_encoder=lambda: encoder,
            sentence_kind=kind,  # type: ignore[arg-type]
        )
        seconds = time.perf_counter() - started
        chunks = store.load(Path(tmp) / "index").chunks
    return {"passages": report.chunks, "sentences": report.sentences, "seconds": seconds, "texts": [f"{c.title}\n{c.text}" for c in chunks]}


def run_measured(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one command.

    Measured by /usr/bin/time from outside: a child forked from this (large) process reports the
    parent's memory in its own ru_maxrss, so the bench process cannot ask the kernel itself.
    """
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *command], capture_output=True, text=True, cwd=ROOT, env={**os.environ, **(env or {})})
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} exited with {done.returncode}: {done.stderr[-300:]}")
    return wall, int(done.stderr.strip().splitlines()[-1]) / 1024


def cold_start(runs: int = 3, reader: bool = True) -> tuple[float, float]:
    """Median wall seconds of `seedqa ask` from process start to answer printed, and its peak RSS in MB.

    With the reader off questions are embedded by the exported graph alone (`embeddings.runtime =
    "auto"`, embeddings.onnx_encoder): no torch, no sentence-transformers, the weights mapped from disk.
    """
    env = None if reader else {"SEEDQA_SEARCH__READER": "false"}
    run_measured([str(Path(sys.executable).parent / "seedqa"), "ask", "--json", JEJU], env)  # not counted: a first start exports what is missing
    results = [run_measured([str(Path(sys.executable).parent / "seedqa"), "ask", "--json", JEJU], env) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def txtai_cold_start(cached: Path, runs: int = 3) -> tuple[float, float]:
    """The same for txtai: a fresh process loading its saved index and answering one question."""
    code = f"from txtai import Embeddings; e = Embeddings(); e.load({str(cached)!r}); print(e.search({JEJU!r}, 3))"
    results = [run_measured([sys.executable, "-c", code]) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def int8_trial(encoder: Any, bare: PlainDense, questions: list[tuple[str, str]]) -> dict[str, float]:
    """Queries encoded by an int8 copy of the (torch) model against the fp32 passages: faster, and how far rankings move."""
    from int8 import quantized as int8_copy  # here, not at the top: bench/int8.py imports this module

    model = encoder._model
    quantized = int8_copy(model)
    texts = [q for q, _ in questions]
    timings: dict[str, list[float]] = {"fp32": [], "int8": []}
    vectors: dict[str, list[np.ndarray]] = {"fp32": [], "int8": []}
    for text in texts:
        for name, m in (("fp32", model), ("int8", quantized)):
            started = time.perf_counter()
            vector = m.encode_query([text], normalize_embeddings=True, convert_to_numpy=True)[0]
            bare.search_vector(vector.astype(np.float32), K)
            timings[name].append((time.perf_counter() - started) * 1000)
            vectors[name].append(vector)
    recall = {name: float(np.mean([bare.search_vector(v.astype(np.float32), 1)[:1] == [gold] for v, (_, gold) in zip(vectors[name], questions)])) for name in vectors}
    cosine = float(np.mean([float(a @ b) for a, b in zip(vectors["fp32"], vectors["int8"])]))
    fp32_p50, int8_p50 = percentiles(timings["fp32"])[0], percentiles(timings["int8"])[0]
    # Worth adopting only if clearly faster (10%) and no ranking lost on these questions; adopting
    # it also needs the full XQuAD recall check (bench/xquad.py) with int8 queries.
    kept = int8_p50 < 0.9 * fp32_p50 and recall["int8"] >= recall["fp32"]
    return {"fp32_p50": fp32_p50, "int8_p50": int8_p50, "fp32_r1": recall["fp32"], "int8_r1": recall["int8"], "cosine": cosine, "n": len(texts), "kept": kept}


def openvino_trial(encoder: Any, bare: PlainDense, questions: list[tuple[str, str]]) -> dict[str, dict[str, float]]:
    """The exported query graph run by OpenVINO instead of onnxruntime: faster, and are the vectors the same?"""
    from embeddings.onnx_encoder import OnnxEncoder
    from embeddings.onnx_files import whole_graph_ready
    from runtimes import PRECISIONS, OpenVinoSession

    settings = EmbeddingsSettings()
    graph = whole_graph_ready(settings.cache_dir, encoder.fingerprint)
    model_folder, _ = resolve_model(settings.model, settings.cache_dir, progress=False)
    encoders = {"onnxruntime": encoder}
    for precision in PRECISIONS:
        encoders[precision] = OnnxEncoder(
            graph, Path(model_folder), model_id=settings.model, fingerprint=encoder.fingerprint, batch_size=settings.batch_size,
            full_encoder=lambda: encoder, open_graph=lambda path, precision=precision: OpenVinoSession(path, precision),
        )  # fmt: skip
    texts = [q for q, _ in questions]
    timings: dict[str, list[float]] = {name: [] for name in encoders}
    vectors: dict[str, list[np.ndarray]] = {name: [] for name in encoders}
    for name, e in encoders.items():
        e.encode_queries(texts[:3])  # the first call plans the graph
    for text in texts:
        for name, e in encoders.items():
            started = time.perf_counter()
            vector = e.encode_queries([text])[0]
            bare.search_vector(vector, K)
            timings[name].append((time.perf_counter() - started) * 1000)
            vectors[name].append(vector)
    base = vectors["onnxruntime"]
    out: dict[str, dict[str, float]] = {}
    for name in encoders:
        p50, p95 = percentiles(timings[name])
        cosine = float(min(float(a @ b) for a, b in zip(base, vectors[name])))
        same = sum(bare.search_vector(a, K) == bare.search_vector(b, K) for a, b in zip(base, vectors[name]))
        # Issue 12's rule for another runtime: faster, cosine >= 0.9999 to fp32, the same rankings.
        kept = name != "onnxruntime" and p50 < percentiles(timings["onnxruntime"])[0] and cosine >= 0.9999 and same == len(texts)
        out[name] = {"p50": p50, "p95": p95, "cosine": cosine, "same": same, "n": len(texts), "kept": kept}
    return out


def batch_trial(searcher: Searcher, questions: list[str], sizes: tuple[int, ...] = BATCH_SIZES) -> dict[int, float]:
    """Milliseconds per question when a pile of questions is encoded in one batch (the bot's Searcher.prepare).

    Each size encodes fresh questions, split into piles of that size; 1 is one question at a time.
    """
    encoder = searcher.encoder
    encoder.encode_queries(questions[:4])  # warm up
    out: dict[int, float] = {}
    for size in sizes:
        piles = [questions[i : i + size] for i in range(0, len(questions) - size + 1, size)]
        started = time.perf_counter()
        for pile in piles:
            encoder.encode_queries(pile)
        out[size] = (time.perf_counter() - started) * 1000 / sum(len(p) for p in piles)
    return out


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=200, help="questions timed (half English, half Vietnamese)")
    parser.add_argument("--write", action="store_true", help="replace the speed section of BENCHMARKS.md")
    args = parser.parse_args()
    started_all = time.perf_counter()
    contexts, by_lang = load_xquad(DEFAULT_DATA)
    questions = [q for pair in zip(*(by_lang[lang][: args.questions // 2] for lang in ("en", "vi"))) for q, _ in pair]
    doc_ids = [f"xquad-{i:03d}" for i in range(len(contexts))]

    log("Opening seedqa (XQuAD index), the bare loop and txtai...")
    # Retrieval against retrieval: txtai does not read, so the reader is off here (its time is in
    # BENCHMARKS.md, reader).
    searcher = xquad_searcher(contexts, SearchSettings(reader=False))
    encoder = searcher.encoder
    bare = PlainDense(encoder, doc_ids, contexts)
    model_folder, _ = resolve_model(EmbeddingsSettings().model, EmbeddingsSettings().cache_dir, progress=False)
    txtai = Txtai(model_folder, encoder.fingerprint, doc_ids, contexts)
    # The same model on torch, the fallback runtime (seedqa's encoder above runs in onnxruntime: embeddings.runtime = auto).
    on_torch = load_encoder(EmbeddingsSettings(runtime="torch"), model_folder, encoder.fingerprint)
    bare_torch = PlainDense(on_torch, doc_ids, contexts)
    log(f"seedqa's encoder runtime: {getattr(encoder, 'runtime', '?')} ({type(encoder).__name__})")
    encoder.encode_passages(["Một câu."], [None], [[(0, 8)]])  # derived sentence vectors load the full encoder on first use: not inside a timed build

    def seedqa(question: str) -> object:
        searcher._query_vectors.clear()  # every question is new to it, as for the others
        return searcher.search(question, k=K, abstain=False)

    log(f"Timing {len(questions)} questions, interleaved...")
    timings = latency(
        {
            "seedqa pipeline": seedqa,
            "txtai hybrid": lambda q: txtai.search(q, K),
            "bare: encode + FAISS exact": lambda q: bare.search(q, K),
            "bare on torch: encode + FAISS exact": lambda q: bare_torch.search(q, K),
        },
        questions,
    )
    stats = {name: percentiles(ms) for name, ms in timings.items()}
    bare50, bare95 = stats["bare: encode + FAISS exact"]
    txtai50, txtai95 = stats["txtai hybrid"]

    log("Same vectors, same rankings? onnxruntime against torch...")
    fast, slow = encoder.encode_queries(questions), on_torch.encode_queries(questions)
    query_cosine = float(np.min(np.sum(fast * slow, axis=1)))
    same_top10 = sum(bare.search_vector(f, K) == bare.search_vector(t, K) for f, t in zip(fast, slow))
    seed_passages = [p for p in (ROOT / "seeds").iterdir() if p.suffix == ".txt"]
    docs = [p.read_text(encoding="utf-8")[:1500] for p in seed_passages]
    doc_cosine = float(np.min(np.sum(encoder.encode_documents(docs, [None] * len(docs)) * on_torch.encode_documents(docs, [None] * len(docs)), axis=1)))

    log("Breaking seedqa's time down...")
    parts = breakdown(searcher, questions[:100])

    log("Cache and threads...")
    few = questions[:50]
    repeated = latency({"repeated": lambda q: searcher.search(q, k=K, abstain=False)}, few * 2)
    cached50 = percentiles(repeated["repeated"][len(few) :])[0]  # the second asking of each
    threads: dict[int, float] = {}
    for n in (1, 2):
        with torch_threads(n):
            threads[n] = percentiles(latency({"bare": lambda q: bare.search(q, K)}, questions[:60])["bare"])[0]

    log("Batches of waiting questions...")
    batches = batch_trial(searcher, questions)

    log("int8 dynamic quantization of the query encoder...")
    with_gold = [q for pair in zip(*(by_lang[lang][: args.questions // 2] for lang in ("en", "vi"))) for q in pair]  # (question, gold id)
    int8 = int8_trial(on_torch, bare, with_gold)

    log("The query graph in OpenVINO...")
    try:
        openvino = openvino_trial(encoder, bare, with_gold)
    except ImportError:
        log("OpenVINO is not installed (pip install -e '.[bench]'): its rows are left out.")
        openvino = {}

    log("Build throughput (seedqa index from scratch, then txtai over the same passages), seeds/ and XQuAD...")
    builds: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="speed-xquad-") as tmp:
        write_articles(contexts, Path(tmp))
        for name, folder in (("seeds/", ROOT / "seeds"), ("XQuAD's 240 paragraphs", Path(tmp))):
            builds[name] = build_throughput(encoder, folder)
            builds[name]["txtai"] = txtai.index_seconds(builds[name]["texts"])
    separate = build_throughput(encoder, ROOT / "seeds", "separate")
    torch_derived = build_throughput(on_torch, ROOT / "seeds")
    torch_separate = build_throughput(on_torch, ROOT / "seeds", "separate")

    log("Cold starts...")
    cold, cold_mb = cold_start()
    cold_off, cold_off_mb = cold_start(reader=False)
    from peers import CACHE, _key

    txtai_cold, txtai_mb = txtai_cold_start(CACHE / f"txtai-{_key(encoder.fingerprint, *doc_ids, *contexts)}")

    rows = [
        "| Warm query latency, XQuAD, k=10 | p50 ms | p95 ms | p50 vs bare | p50 vs txtai |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (p50, p95) in stats.items():
        rows.append(f"| {name} | {p50:.1f} | {p95:.1f} | {p50 / bare50:.2f}x | {p50 / txtai50:.2f}x |")
    rows += ["", "| Where a seedqa search spends its time (mean of 100 questions) | ms | share |", "|---|---:|---:|"]
    total = parts.pop("search() total")
    for label, ms in sorted(parts.items(), key=lambda item: -item[1]):
        rows.append(f"| {label} | {ms:.1f} | {ms / total:.0%} |")
    rows.append(f"| **search() total** (formatting is extra) | {total:.1f} | |")
    rows += [
        "",
        "| Other measures | seedqa | txtai |",
        "|---|---:|---:|",
        *(
            f"| index build from scratch, {name} ({b['passages']} passages, model loaded) | {b['passages'] / b['seconds']:.1f} passages/s "
            f"(each sentence's vector pooled from its passage's pass{default_mark('derived')}) | {b['passages'] / b['txtai']:.1f} passages/s |"
            for name, b in builds.items()
        ),
        f"| the same for seeds/, every sentence embedded again on its own (`index.sentence_vectors = \"separate\"`{default_mark('separate')}) "
        f"| {separate['passages'] / separate['seconds']:.1f} passages/s | |",
        f"| seeds/ on torch (`embeddings.runtime = \"torch\"`): sentences pooled / embedded again "
        f"| {torch_derived['passages'] / torch_derived['seconds']:.1f} / {torch_separate['passages'] / torch_separate['seconds']:.1f} passages/s | |",
        f"| onnxruntime against torch: lowest cosine of {len(questions)} query vectors / of 5 seed articles' vectors; questions with the same top {K} "
        f"| {query_cosine:.7f} / {doc_cosine:.7f}; {same_top10}/{len(questions)} | |",
        f"| cold start: process start to first answer | {cold:.1f} s (`seedqa ask`, reader on: the model and the reader as exported graphs, no torch) | {txtai_cold:.1f} s (load saved index, search) |",
        f"| peak memory of that process | {cold_mb:.0f} MB | {txtai_mb:.0f} MB |",
        f"| the same with the reader off (`SEEDQA_SEARCH__READER=false`: questions embedded by the exported graph alone, no torch) | {cold_off:.1f} s, {cold_off_mb:.0f} MB | |",
        "",
        "| Tried to make it faster | p50 ms | kept? |",
        "|---|---:|---|",
        f"| a repeated question: query vector from the cache (1,024 kept) | {cached50:.1f} | yes: \"More results\", votes and re-asked questions skip the model |",
        f"| bare encode + search, query encoder in int8 (torch dynamic quantization) | {int8['int8_p50']:.1f} (torch fp32 {int8['fp32_p50']:.1f}) | "
        f"{'not yet' if int8['kept'] else 'no'}: Recall@1 {int8['fp32_r1']:.3f} → {int8['int8_r1']:.3f} on these {int8['n']} questions, "
        f"query vectors' cosine to fp32 {int8['cosine']:.3f}; on every XQuAD question: [int8 section](#make-it-fast-an-int8-query-encoder-checked-on-all-of-xquad) |",
        f"| questions waiting in the bot encoded in one batch, ms per question with {' / '.join(str(n) for n in batches)} per batch | "
        + " / ".join(f"{ms:.1f}" for ms in batches.values())
        + f" | yes: the bot encodes up to {MAX_BATCH} waiting questions together"
        + (f", {batches[1] / batches[MAX_BATCH]:.1f}x the questions per second of one at a time |" if MAX_BATCH in batches else " |"),
        *(
            f"| bare encode + search, the exported query graph in OpenVINO {openvino_version()} ({name}) | {o['p50']:.1f} (onnxruntime "
            f"{openvino['onnxruntime']['p50']:.1f}; p95 {o['p95']:.1f} / {openvino['onnxruntime']['p95']:.1f}) | {'yes' if o['kept'] else 'no'}: "
            f"lowest cosine to onnxruntime's vectors {o['cosine']:.7f}, the same top {K} for {o['same']}/{o['n']} questions |"
            for name, o in openvino.items()
            if name != "onnxruntime"
        ),
        f"| bare encode + search with 1 torch thread | {threads[1]:.1f} | no |",
        f"| bare encode + search with 2 torch threads (the default) | {threads[2]:.1f} | yes |",
    ]
    table = "\n".join(rows)
    print(table)
    elapsed = time.perf_counter() - started_all
    if args.write:

        lines = [
            "## Speed against peers",
            "",
            f"All figures from one run of one process, systems interleaved question by question ({len(questions)} XQuAD "
            f"questions, half English, half Vietnamese, each new to every system). txtai {version('txtai')}, hybrid, same model folder.",
            "",
            table,
            "",
            *provenance(minutes=elapsed / 60, machine_extra=f"torch {torch.__version__} ({torch.get_num_threads()} threads)"),
        ]
        log(f"Wrote {write_section('speed', lines)}")
    return 0


if __name__ == "__main__":
    np.random.seed(0)
    sys.exit(main())
