"""Embedding throughput in-process and through Ray on this machine, and what N workers would give.

Why: `seedqa index --ray` (embeddings/cluster.py) is for archives one machine cannot embed in
reasonable time. This machine has two cores, so a local Ray instance holds one worker: the run
measures what Ray costs (start-up, moving batches between processes) against embedding in the
build's own process, on the same passages with the same runtime. It cannot measure a cluster;
the projection for N workers is one worker's measured steady rate times N, labelled as such
(each worker embeds its batches independently; the driver only hands out passages and writes
vectors, which the 100k-passage build measures at well over the model's rate: bench/build_large.py).

Passages: XQuAD's 240 Vietnamese paragraphs (public, the same as bench/xquad.py), each with its
sentence spans, embedded as `seedqa index --ray` does (derived sentence vectors, ONNX runtime).

Run from the repository root (needs the cluster extra: .venv/bin/pip install -e '.[cluster]'):
    .venv/bin/python bench/cluster.py [--passages N] [--write]
About 8 minutes on two cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for key, value in (("TOKENIZERS_PARALLELISM", "false"), ("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_OFFLINE", "1"), ("RAY_DEDUP_LOGS", "0")):
    os.environ.setdefault(key, value)

import numpy as np  # noqa: E402

from embeddings.cluster import ClusterModel, embed_on_ray  # noqa: E402
from embeddings.provision import resolve_model  # noqa: E402
from embeddings.settings import EmbeddingsSettings  # noqa: E402
from report import provenance, write_section  # noqa: E402
from retrieval.build import BATCH_PASSAGES  # noqa: E402
from retrieval.chunking import split_sentences  # noqa: E402
from retrieval.engine import load_encoder  # noqa: E402
from xquad import DEFAULT_DATA, load_xquad, log  # noqa: E402

WORKERS = (1, 2, 4, 8, 16, 64)


def passages(limit: int | None) -> tuple[list[str], list[str], list[list[tuple[int, int]]]]:
    """XQuAD's paragraphs, shortest first as the build orders them (little padding per batch)."""
    contexts, _ = load_xquad(DEFAULT_DATA)
    texts = sorted(contexts, key=len)[:limit] if limit else sorted(contexts, key=len)
    spans = [[(s.start, s.end) for s in split_sentences(t)] for t in texts]
    return texts, ["none"] * len(texts), spans


def in_process(texts: list[str], titles: list[str], spans: list[list[tuple[int, int]]]) -> tuple[float, float, np.ndarray]:
    """(model load seconds, embedding seconds, passage vectors): the build's own loop, batch by batch."""
    embeddings = EmbeddingsSettings(runtime="onnx")
    source, fingerprint = resolve_model(embeddings.model, embeddings.cache_dir, progress=False)
    started = time.perf_counter()
    encoder = load_encoder(embeddings, source, fingerprint)
    loaded = time.perf_counter() - started
    encoder.encode_passages(texts[:4], titles[:4], spans[:4])  # warm-up: the first call pays onnxruntime's allocations
    started = time.perf_counter()
    out = []
    for lo in range(0, len(texts), BATCH_PASSAGES):
        vectors, _ = encoder.encode_passages(texts[lo : lo + BATCH_PASSAGES], titles[lo : lo + BATCH_PASSAGES], spans[lo : lo + BATCH_PASSAGES])
        out.append(vectors)
    return loaded, time.perf_counter() - started, np.concatenate(out)


def through_ray(texts: list[str], titles: list[str], spans: list[list[tuple[int, int]]]) -> tuple[float, float, float, np.ndarray, int]:
    """(Ray start seconds, seconds to the first batch back, seconds for the rest, passage vectors, passages in the first batch), one worker."""
    import ray

    embeddings = EmbeddingsSettings(runtime="onnx")
    _, fingerprint = resolve_model(embeddings.model, embeddings.cache_dir, progress=False)
    spec = ClusterModel(embeddings.model, fingerprint, str(embeddings.cache_dir), embeddings.device, embeddings.batch_size, "onnx")
    started = time.perf_counter()
    ray.init(num_cpus=os.cpu_count() or 2, include_dashboard=False, log_to_driver=False)
    try:
        ray_started = time.perf_counter() - started
        started = time.perf_counter()
        first, first_rows, vectors = None, 0, None
        for rows, passage_vectors, _ in embed_on_ray("local", spec, texts, titles, spans, batch=BATCH_PASSAGES, workers=1):
            if first is None:
                first = time.perf_counter() - started
                first_rows = len(rows)
                vectors = np.zeros((len(texts), passage_vectors.shape[1]), dtype=np.float32)  # the model's dimension
            vectors[rows] = passage_vectors
        total = time.perf_counter() - started
    finally:
        ray.shutdown()
    assert first is not None and vectors is not None
    return ray_started, first, total - first, vectors, first_rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, help="only the N shortest paragraphs (a quick trial)")
    parser.add_argument("--write", action="store_true", help="replace the cluster section of BENCHMARKS.md")
    args = parser.parse_args()
    started = time.perf_counter()
    texts, titles, spans = passages(args.passages)
    n = len(texts)
    log(f"{n} passages, in-process first")
    load_s, local_s, local_vectors = in_process(texts, titles, spans)
    local_rate = n / local_s
    log(f"in-process: model {load_s:.1f} s, {local_rate:.2f} passages/s")
    ray_start_s, first_s, rest_s, ray_vectors, first_rows = through_ray(texts, titles, spans)
    steady = (n - first_rows) / rest_s if rest_s > 0 else float("nan")
    overall = n / (first_s + rest_s)
    log(f"ray: start {ray_start_s:.1f} s, first batch {first_s:.1f} s, then {steady:.2f} passages/s")
    cosine = float(np.min(np.sum(local_vectors * ray_vectors, axis=1)))

    lines = [
        f"{n} XQuAD paragraphs embedded as `seedqa index` does (passage and derived sentence vectors, ONNX runtime, batches of {BATCH_PASSAGES}), "
        f"in the build's process and through a local Ray instance with one worker (this machine's two cores hold one; a worker takes two).",
        "",
        "| | passages/s | start-up before the first vectors | whole run |",
        "|---|---:|---:|---:|",
        f"| In-process (model loaded) | {local_rate:.2f} | model load {load_s:.1f} s | {local_s:.0f} s + load |",
        f"| Ray, 1 worker, steady (after its first batch) | {steady:.2f} | Ray {ray_start_s:.1f} s, then {first_s:.1f} s to the first batch (the actor loads the model) | {first_s + rest_s:.0f} s ({overall:.2f} passages/s overall) |",
        "",
        f"Ray's steady rate is {steady / local_rate:.2f}x the in-process rate on the same two cores (the driver, Ray's object store and the worker share them); "
        f"vectors through Ray equal the local ones (lowest cosine {cosine:.7f}).",
        "",
        "Projected, not measured: N workers of this kind (two cores each), one worker's steady rate times N, "
        "plus the start-up above once (workers load the model in parallel):",
        "",
        "| Workers | passages/s | 100k passages | 1M passages |",
        "|---:|---:|---:|---:|",
    ]
    for workers in WORKERS:
        rate = steady * workers
        lines.append(f"| {workers} | {rate:.1f} | {(100_000 / rate + first_s) / 3600:.1f} h | {(1_000_000 / rate + first_s) / 3600:.1f} h |")
    table = "\n".join(lines)
    print(table)
    if args.write:
        section = ["## Ray (embedding in-process vs through Ray; projection for N workers)", "", table, "", *provenance(minutes=(time.perf_counter() - started) / 60)]
        log(f"Wrote {write_section('cluster', section)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
