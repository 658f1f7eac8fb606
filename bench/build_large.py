"""A 100k-passage build: peak memory, time, and a resume after kill -9.

Why: `seedqa index` must build a large archive on one machine without holding it all in memory
twice, and a build killed at any point (kill -9, a power cut) must resume with only what is
missing. This runs the real build code (retrieval.build.build_index: chunking, the vector
cache's shards, the FAISS index, the generation on disk) over a generated corpus of 100k
passages, in a child process whose peak memory is read from the kernel.

What it does not do is run the model over 100k passages: that is about 7 hours on two cores
(bench/speed.py gives the model's passages/s). The child embeds with a stand-in that returns
random unit vectors instantly, and the report adds the real model's measured memory (loaded and
embedding a batch) to the pipeline's peak, and projects the time from the measured throughput.
Both are labelled as such.

The corpus: XQuAD's 240 Vietnamese paragraphs, recombined into articles of five paragraphs,
each paragraph given a numbered first sentence so no two passages are the same text.

Run from the repository root:
    nice -n 19 .venv/bin/python bench/build_large.py [--passages 100000] [--write]
About 15 minutes on two cores (each of its three builds chunks 100k passages with the real
tokenizer); the corpus (~0.3 GB) and indexes go to .seedqa/bench/large/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for key, value in (("TOKENIZERS_PARALLELISM", "false"), ("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_OFFLINE", "1")):
    os.environ.setdefault(key, value)

import numpy as np  # noqa: E402

from report import provenance, write_section  # noqa: E402

WORK = ROOT / ".seedqa" / "bench" / "large"
XQUAD = Path("/work/shared/data/xquad/xquad.vi.json")
PARAGRAPHS_PER_ARTICLE = 5
DIMENSION = 768


class StandInEncoder:
    """Random unit vectors at once, so 100k passages measure the pipeline, not the model."""

    model_id = "bench/stand-in"
    fingerprint = "bench-stand-in-1"
    dimension = DIMENSION

    def __init__(self, slow_after: int | None = None) -> None:
        self.texts = 0  # passages and sentences embedded so far (the default build embeds both as documents)
        self.slow_after = slow_after  # announce "ready" and stall there, so the parent can kill -9

    def _stall_when_due(self) -> None:
        if self.slow_after is not None and self.texts >= self.slow_after:
            print("ready", flush=True)
            time.sleep(3600)

    def _vectors(self, texts: list[str]) -> np.ndarray:
        """One vector per text, seeded by the text: a resumed build gets what the whole one got, so the two indexes can be compared."""
        v = np.stack([np.random.default_rng(zlib.crc32(t.encode("utf-8"))).standard_normal(DIMENSION) for t in texts]).astype(np.float32) if texts else np.zeros((0, DIMENSION), np.float32)
        self.texts += len(texts)
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._vectors(list(texts))

    def encode_documents(self, texts: list[str], titles: list[str | None]) -> np.ndarray:
        self._stall_when_due()
        return self._vectors(list(texts))

    def encode_passages(self, texts: list[str], titles: list[str | None], sentences: list[list[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
        self._stall_when_due()
        return self._vectors(list(texts)), [self._vectors([t[a:b] for a, b in spans]) for t, spans in zip(texts, sentences)]

    def count_tokens(self, text: str) -> int:
        return len(text.split())


def write_corpus(folder: Path, passages: int) -> None:
    if (folder / "done").is_file() and (folder / "done").read_text() == str(passages):
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    paragraphs = [p["context"] for a in json.loads(XQUAD.read_text(encoding="utf-8"))["data"] for p in a["paragraphs"]]
    rng = random.Random(7)
    for n in range(passages // PARAGRAPHS_PER_ARTICLE):
        body = "\n\n".join(f"Tin số {n}-{i}: cập nhật lần {rng.randrange(10**6)}. {rng.choice(paragraphs)}" for i in range(PARAGRAPHS_PER_ARTICLE))
        (folder / f"{n:06d}.txt").write_text(f"Bản tin số {n}\n\n{body}\n", encoding="utf-8")
    (folder / "done").write_text(str(passages))


def child(articles: Path, index: Path, slow_after: int | None) -> None:
    """One build in this process; prints its report and peak memory as JSON."""
    from embeddings.provision import resolve_model
    from embeddings.settings import DEFAULT_MODEL, default_cache_dir
    from embeddings.tokens import load_token_counter
    from retrieval.build import build_index
    from retrieval.chunking import ChunkerSettings

    source, _ = resolve_model(DEFAULT_MODEL, default_cache_dir(), progress=False)
    encoder = StandInEncoder(slow_after)
    at_load: list[float] = []  # what the build holds when it loads the model: the model's memory comes on top of this

    def load() -> StandInEncoder:
        at_load.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return encoder

    started = time.time()
    report = build_index(
        articles_folder=articles,
        index_dir=index,
        chunker=ChunkerSettings(),
        model_id=encoder.model_id,
        model_fingerprint=encoder.fingerprint,
        count_tokens=load_token_counter(source),  # the real tokenizer: chunking is part of the cost
        load_encoder=load,  # type: ignore[arg-type]
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": time.time() - started, "chunks": report.chunks, "sentences": report.sentences, "embedded": report.embedded, "reused": report.reused, "peak_mb": peak, "at_load_mb": at_load[0] if at_load else 0.0}), flush=True)


def run_child(articles: Path, index: Path, slow_after: int | None = None) -> dict:
    cmd = [sys.executable, __file__, "--child", str(articles), str(index)] + (["--slow-after", str(slow_after)] if slow_after is not None else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def killed_child(articles: Path, index: Path, slow_after: int) -> float:
    """Start a build, kill -9 it once it has embedded `slow_after` passages; seconds it ran."""
    started = time.time()
    proc = subprocess.Popen([sys.executable, __file__, "--child", str(articles), str(index), "--slow-after", str(slow_after)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", line
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return time.time() - started


def model_memory() -> float:
    """Peak MB of a process that loads the model as `seedqa index` does and embeds one batch as the default build does.

    `seedqa index` loads the encoder of retrieval.engine.load_encoder with the default settings
    (onnxruntime, the torch weights let go) and embeds each batch of 32 passages, then their
    sentences apart (index.sentence_vectors = "separate").
    """
    code = (
        "import resource, sys; sys.path.insert(0, %r)\n"
        "from embeddings.encoder import encode_sentences_apart\n"
        "from embeddings.provision import resolve_model\n"
        "from embeddings.settings import EmbeddingsSettings\n"
        "from retrieval.engine import load_encoder\n"
        "settings = EmbeddingsSettings()\n"
        "source, fp = resolve_model(settings.model, settings.cache_dir, progress=False)\n"
        "e = load_encoder(settings, source, fp)\n"
        "text = 'Đoàn công tác tỉnh Long An thăm và làm việc với Thị trưởng thành phố. ' * 8\n"
        "encode_sentences_apart(e, [text] * 32, ['Tin'] * 32, [[(0, 70), (70, 140)]] * 32)\n"
        "print(e.runtime)\n"
    ) % str(ROOT)
    # Measured by /usr/bin/time from outside: a child forked from this process (by then holding two
    # 100k indexes) would report this process's memory in its own ru_maxrss.
    out = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-c", code], capture_output=True, text=True, check=True)
    runtime = out.stdout.strip().splitlines()[-1]
    assert runtime == "onnx", f"the build's encoder runs on {runtime}, not onnxruntime"
    return int(out.stderr.strip().splitlines()[-1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--model-passages-per-second", type=float, default=0.0, help="the real model's build throughput to project from (bench/speed.py); 0: not projected")
    parser.add_argument("--write", action="store_true", help="rewrite the section in BENCHMARKS.md")
    parser.add_argument("--child", nargs=2, type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--slow-after", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.slow_after)
        return 0

    t0 = time.time()
    articles = WORK / f"articles-{args.passages}"
    write_corpus(articles, args.passages)
    whole, resumed = WORK / "index-whole", WORK / "index-resumed"
    for folder in (whole, resumed):
        shutil.rmtree(folder, ignore_errors=True)
    print("building in one go...", file=sys.stderr, flush=True)
    one = run_child(articles, whole)
    half = args.passages // 2
    print(f"building again, killed with kill -9 after {half:,} texts (passages and sentences)...", file=sys.stderr, flush=True)
    killed_after = killed_child(articles, resumed, half)
    again = run_child(articles, resumed)
    from retrieval import store

    a, b = store.load(whole), store.load(resumed)
    same = a.manifest.chunk_count == b.manifest.chunk_count and np.array_equal(a.sentence_vectors, b.sentence_vectors)
    model_mb = model_memory()

    lines = [
        "## Build a large archive: 100k passages, streamed, resumed after kill -9",
        "",
        f"The real build code over {one['chunks']:,} passages ({one['sentences']:,} sentences) of a generated corpus",
        "(XQuAD's Vietnamese paragraphs recombined into articles of five), in a child process. The model is",
        "replaced by a stand-in that returns random vectors at once (100k passages through the real",
        "model take hours on two cores), so the pipeline's own time and memory are measured; the model's",
        "memory is measured apart and added.",
        "",
        "| | Figure |",
        "|---|---|",
        f"| Pipeline time, one go (chunking with the real tokenizer, cache shards, HNSW, generation) | {one['seconds']:.0f} s |",
        f"| Pipeline peak memory (stand-in vectors) | {one['peak_mb']:,.0f} MB |",
        f"| Real model loaded as `seedqa index` loads it (onnxruntime) and embedding a batch of 32 passages and their sentences (measured apart) | {model_mb:,.0f} MB |",
        f"| Peak memory of the build when it loads the model (chunks, cache index) | {one['at_load_mb']:,.0f} MB |",
        f"| Peak memory, projected: the larger of the pipeline's peak and (build at model load + model); the model is released before the index is written; both processes count the interpreter, so an upper bound | ≤ {max(one['peak_mb'], one['at_load_mb'] + model_mb):,.0f} MB |",
        f"| Killed with kill -9 after {half:,} texts were embedded (passages and sentences; {killed_after:.0f} s in), then run again | embedded {again['embedded']:,}, reused {again['reused']:,} ({again['seconds']:.0f} s) |",
        f"| The resumed index equals the one built in one go | {'yes' if same else 'NO'} |",
    ]
    if args.model_passages_per_second:
        hours = one["chunks"] / args.model_passages_per_second / 3600
        lines.append(f"| Embedding time with the real model, projected from {args.model_passages_per_second:.1f} passages/s (bench/speed.py) | {hours:.1f} h |")
    lines += ["", *provenance(minutes=(time.time() - t0) / 60)]
    print("\n".join(lines))
    if args.write:
        write_section("build-large", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
