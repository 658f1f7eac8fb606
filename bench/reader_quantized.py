"""The reader's graph quantized, or run by OpenVINO: is a faster read worth the answers it changes?

Why: the reader adds ~300 ms to a question on a 2-core AMD EPYC (BENCHMARKS.md, reader), over
issue 11's 200 ms, and its time is matrix products over ~250 tokens in layers 0-15. onnxruntime
can run those products in int8: dynamically quantized MatMuls (weights int8, activations
quantized per call, per tensor), or weights in 8- or 4-bit blocks with int8 compute
(MatMulNBits). OpenVINO runs the same graph unchanged, in float32 or, on CPUs with native
bfloat16, in bf16 (bench/runtimes.py). Each variant is made here from the exported float32 reader graph
(embeddings/onnx_runtime.export_reader; start `seedqa ask` once to export it) and read on the
same held-out XQuAD windows as training/train_reader.py's figures, against the float32 graph:
answer F1/EM, decisions at margin 0, how many spans and decisions change, and the time per
window read in batches (as a bench run reads) and one at a time (as most questions are read).

Run from the repository root, alone (about 10 minutes on two cores with the default limit):
    .venv/bin/python bench/reader_quantized.py [--limit N] [--write]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "training")]
for key, value in {"TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}.items():
    os.environ.setdefault(key, value)

import numpy as np  # noqa: E402

from embeddings.onnx_encoder import LeanTokenizer  # noqa: E402
from embeddings.onnx_files import reader_graph_ready  # noqa: E402
from embeddings.onnx_reader import OnnxReader  # noqa: E402
from embeddings.provision import resolve_model  # noqa: E402
from embeddings.reading import Reading, SpecialTokens, open_artifact  # noqa: E402
from embeddings.settings import DEFAULT_MODEL, default_cache_dir  # noqa: E402
from embeddings.tokens import load_token_counter  # noqa: E402
from qa_data import Example, examples, xquad_questions  # noqa: E402
from report import percentiles, provenance, write_section  # noqa: E402
from runtimes import OpenVinoSession, openvino_version  # noqa: E402
from retrieval.evaluation import answer_f1, exact_match  # noqa: E402
from retrieval.settings import SearchSettings  # noqa: E402
from retrieval.windows import WINDOW_TOKENS  # noqa: E402
from xquad import READER_FORMS as FORMS  # noqa: E402

# Windows read one at a time per form for the latency column: a question is read one window at a
# time unless the reader is unsure (1.85 windows per seed question, BENCHMARKS.md, reader).
SINGLE_READS = 16
# Adopted only if it is faster and reads as the float32 graph does: the same span in 99% of
# windows and no answer/refusal decision changed in more than 1% (XQuAD's test set resolves
# about 0.3%).
MIN_SAME_SPANS = 0.99
MAX_FLIPPED = 0.01
# Faster means at least 10% less time per window read alone: on a shared two-core machine the p50
# of 16 reads moves by several percent between two runs of the same graph (OpenVINO float32
# read 2% faster than onnxruntime on 2026-12-07 in one run and 10% slower in another).
MAX_TIME_SHARE = 0.9


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def dynamic(per_channel: bool) -> Callable[[Path, Path], None]:
    def make(source: Path, out: Path) -> None:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(source), str(out), op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8, per_channel=per_channel, use_external_data_format=True, extra_options={"MatMulConstBOnly": True})

    return make


def blocks(bits: int, size: int) -> Callable[[Path, Path], None]:
    def make(source: Path, out: Path) -> None:
        import onnx
        from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer  # needs onnx_ir (the bench extra)

        # accuracy_level 4: activations quantized to int8 per block, the products in int8.
        config = DefaultWeightOnlyQuantConfig(block_size=size, is_symmetric=True, accuracy_level=4, bits=bits)
        quantizer = MatMulNBitsQuantizer(onnx.load(str(source)), bits=bits, block_size=size, is_symmetric=True, accuracy_level=4, algo_config=config)
        quantizer.process()
        quantizer.model.save_model_to_file(str(out), use_external_data_format=True)

    return make


def openvino(precision: str) -> Callable[[Path, Path], OpenVinoSession]:
    def make(source: Path, out: Path) -> OpenVinoSession:
        return OpenVinoSession(source, precision)  # the graph as exported: nothing written to out

    return make


# A variant writes a graph to `out`, or returns a session that runs the float32 graph another way.
VARIANTS: dict[str, Callable[[Path, Path], OpenVinoSession | None] | None] = {
    "float32 (shipped)": None,
    "int8 MatMuls, per tensor (quantize_dynamic)": dynamic(per_channel=False),
    "int8 MatMuls, per channel (quantize_dynamic)": dynamic(per_channel=True),
    "8-bit weights in blocks of 32, int8 products (MatMulNBits)": blocks(8, 32),
    "4-bit weights in blocks of 32, int8 products (MatMulNBits)": blocks(4, 32),
    "float32 graph in OpenVINO (f32)": openvino("f32"),
    "float32 graph in OpenVINO (bf16 where the CPU has it)": openvino("bf16"),
}


def read_all(reader: OnnxReader, items: list[Example]) -> tuple[list[Reading], float, float]:
    """Readings of every window (in batches), ms per window so, and the p50 ms of one window read alone."""
    reader.read([items[0].question], [items[0].passage])  # the first run plans the graph
    started = time.perf_counter()
    got = reader.read([e.question for e in items], [e.passage for e in items])
    batched = (time.perf_counter() - started) * 1000 / len(items)
    alone = []
    for e in items[:SINGLE_READS]:
        started = time.perf_counter()
        reader.read([e.question], [e.passage])
        alone.append((time.perf_counter() - started) * 1000)
    return got, batched, percentiles(alone)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=96, help="held-out windows per question form (564 each at most)")
    parser.add_argument("--only", nargs="+", type=int, metavar="N", help="measure only these variants besides float32 (1-%d, in the order of the table)" % (len(VARIANTS) - 1))
    parser.add_argument("--write", action="store_true", help="rewrite this section of BENCHMARKS.md")
    args = parser.parse_args()
    began = time.time()

    source, fingerprint = resolve_model(DEFAULT_MODEL, default_cache_dir(), progress=False)
    artifact = open_artifact(fingerprint)
    ready = reader_graph_ready(default_cache_dir(), fingerprint, artifact.sha256)
    if ready is None:
        sys.exit("The reader has no exported graph yet: run `.venv/bin/seedqa ask 'who met the Jeju governor?'` once, then this again.")
    graph, record = ready
    tokenizer = LeanTokenizer.load(Path(source), 1 << 16)
    shipped = OnnxReader.open(graph, record, tokenizer, artifact)
    count = load_token_counter(source)
    settings = SearchSettings()
    # The refusal margins the searcher applies: Vietnamese questions (with or without diacritics) and the rest.
    margins = {form: settings.reader_margin(form != "en") for form in FORMS}
    variants = {name: make for i, (name, make) in enumerate(VARIANTS.items()) if make is None or args.only is None or i in args.only}
    windows = {form: examples(xquad_questions("test", (form,)), count, random.Random(1), budget=WINDOW_TOKENS)[: args.limit] for form in FORMS}

    rows: list[tuple[str, str, list[str]]] = []
    base: dict[str, list[Reading]] = {}
    scratch = Path(tempfile.mkdtemp(prefix="seedqa-quantized-"))
    verdicts: dict[str, bool] = {}
    shipped_alone = 0.0
    try:
        for name, make in variants.items():
            reader = shipped
            if make is not None:
                out = scratch / "reader.onnx"
                try:
                    session = make(graph, out)
                except ImportError as exc:
                    log(f"{name}: skipped ({exc}; pip install -e '.[bench]')")
                    continue
                if session is None:
                    reader = OnnxReader.open(out, record, tokenizer, artifact)
                else:
                    reader = OnnxReader(session, tokenizer, SpecialTokens(**record["special_tokens"]), artifact)
            same_all, flipped_all, alone_all = [], [], []
            for form, items in windows.items():
                got, batched, alone = read_all(reader, items)
                alone_all.append(alone)
                answerable = [(g, e) for g, e in zip(got, items) if e.answer is not None]
                misses = [g for g, e in zip(got, items) if e.answer is None]
                figures = [
                    f"{batched:.0f} / {alone:.0f}",
                    f"{np.mean([answer_f1(g.text, e.answer_texts) for g, e in answerable]):.3f}",
                    f"{np.mean([exact_match(g.text, e.answer_texts) for g, e in answerable]):.3f}",
                    f"{np.mean([g.margin > 0 for g, _ in answerable]):.3f}",
                    f"{np.mean([g.margin <= 0 for g in misses]):.3f}",
                    f"{np.mean([g.margin < margins[form] for g, _ in answerable]):.3f} / {np.mean([g.margin < margins[form] for g in misses]):.3f}",
                ]
                if make is None:
                    base[form] = got
                    figures += ["", ""]
                else:
                    same = [(a.start, a.end) == (b.start, b.end) for a, b in zip(base[form], got)]
                    flipped = [(a.margin > 0) != (b.margin > 0) for a, b in zip(base[form], got)]
                    difference = np.array([abs(a.margin - b.margin) for a, b in zip(base[form], got)])
                    same_all += same
                    flipped_all += flipped
                    figures += [f"{np.mean(same):.3f} ({sum(flipped)})", f"{difference.mean():.2f} / {np.quantile(difference, 0.95):.2f}"]
                rows.append((name, form, figures))
                log(f"{name}, {form}: " + " | ".join(figures))
            if make is None:
                shipped_alone = float(np.mean(alone_all))
            else:
                verdicts[name] = np.mean(alone_all) <= MAX_TIME_SHARE * shipped_alone and np.mean(same_all) >= MIN_SAME_SPANS and np.mean(flipped_all) <= MAX_FLIPPED
                for extra in scratch.iterdir():  # the graph and its weights file
                    extra.unlink()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    lines = [
        "## Reader: its graph quantized, or run by OpenVINO",
        "",
        f"The exported reader graph (float32) in onnxruntime, copies quantized by onnxruntime, and the float32 graph in OpenVINO {openvino_version()}, read on the same held-out XQuAD windows (training/train_reader.py's: each question's answer window and a near miss derived from it; the first {args.limit} per question form). *At the refusal margins*: the share refused at the searcher's configured margins ({settings.reader_min_margin} Vietnamese, {settings.reader_min_margin_other_language} English). *Same span*: windows whose span is the float32 graph's (in brackets, answer/refusal decisions at margin 0 that changed). Time: ms per window read in batches of up to 16 / p50 of {SINGLE_READS} windows read one at a time.",
        "",
        "| Graph | Questions | ms per window: batched / alone | answer F1 | answer EM | answerable kept (margin 0) | near misses refused (margin 0) | at the refusal margins: answerable / near misses refused | same span (decisions at 0 changed) | margin difference mean / p95 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *[f"| {name} | {form} | " + " | ".join(figures) + " |" for name, form, figures in rows],
        "",
        "Kept only if one window alone reads at least 10% faster and as the float32 graph reads (the same span in at least 99% of windows, at most 1% of decisions changed): "
        + "; ".join(f"{name}: {'yes' if ok else 'no'}" for name, ok in verdicts.items())
        + ".",
        "",
        *provenance(minutes=(time.time() - began) / 60),
    ]
    print("\n".join(lines))
    if args.write:
        write_section("reader-quantized", lines)


if __name__ == "__main__":
    main()
