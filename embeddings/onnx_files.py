"""The exported graph on disk: where it lives, what its record says, and whether it can be trusted.

Apart from embeddings.onnx_runtime (which imports torch to export) so that a process embedding
questions with the graph alone (embeddings.onnx_encoder) can check it without importing torch.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from .provision import _hash_with_stamp

log = logging.getLogger(__name__)

# Bump when the exported graph changes (onnx_runtime's wrapper, the opset, the files): older exports
# are then redone. 3: the weights live in their own file (WEIGHTS_FILE) beside the graph, and the
# graph also outputs the finished sentence embedding (2 was never released).
EXPORT_VERSION = 3
# Opset 17 has every operator Gemma's layers need and is read by every onnxruntime since 1.13.
OPSET = 17
# The check an export must pass, on vectors from the whole pipeline. Measured: >= 0.9999999 for
# EmbeddingGemma (float32 both ways; the difference is summation order). The issue asks 0.9999.
VERIFY_MIN_COSINE = 0.9999
MODEL_FILE = "model.onnx"
# The weights as the graph's external data. onnxruntime maps this file instead of parsing 1.2 GB of
# protobuf and copying it: measured on this project's 2-core machine, opening a session took 0.8 s
# instead of 3.2 s and peaked at 0.76 GB instead of 2.0 GB (a batch of 32 x 256 tokens included),
# with identical outputs and the same query time (34 ms).
WEIGHTS_FILE = "weights.bin"
RECORD_FILE = "export.json"


def runtime_dir(cache_dir: Path, fingerprint: str) -> Path:
    return Path(cache_dir) / "runtimes" / f"onnx-{fingerprint[:24]}-v{EXPORT_VERSION}"


def whole_graph_ready(cache_dir: Path, fingerprint: str) -> Path | None:
    """The verified export's graph when it may embed on its own (no torch needed to check: hashes and the record)."""
    folder = runtime_dir(cache_dir, fingerprint)
    if not verified(folder, fingerprint):
        return None
    record = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
    whole = record.get("whole_graph_min_cosine")
    return folder / MODEL_FILE if isinstance(whole, float) and whole >= VERIFY_MIN_COSINE else None


def verified(folder: Path, fingerprint: str) -> bool:
    """The cached export is for these weights and its files are the ones recorded (re-hashed if they were touched)."""
    try:
        record = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
        files = record["files"]
        same = all(_hash_with_stamp(folder / name, files[name], use_stamp=True)[0] == files[name]["sha256"] for name in (MODEL_FILE, WEIGHTS_FILE))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False
    if record.get("fingerprint") != fingerprint or not same:
        log.warning("The ONNX export at %s does not match its record; exporting it again.", folder)
        return False
    return True


# The reader as a graph of its own in the same folder (embeddings.onnx_reader), named by the
# reader file's sha256: its base weights are references into WEIGHTS_FILE, only the adapters and
# the head (~5 MB) are its own, so a new reader costs a small export, never a second copy.
READER_GRAPH = "reader-{sha}.onnx"
READER_RECORD = "reader-{sha}.json"
# The check a reader export must pass against the torch reader, both in float32, on probe pairs:
# the same spans and margins within this much (measured: 3e-5 on the logits; the refusal margins
# are set to 0.1, so a difference of 0.01 cannot move a decision but at the edge of a margin).
READER_MAX_MARGIN_DIFFERENCE = 0.01


def reader_graph_files(folder: Path, reader_sha256: str) -> tuple[Path, Path]:
    return folder / READER_GRAPH.format(sha=reader_sha256[:16]), folder / READER_RECORD.format(sha=reader_sha256[:16])


def reader_graph_ready(cache_dir: Path, fingerprint: str, reader_sha256: str) -> tuple[Path, dict] | None:
    """The verified reader graph for this reader file and its record, when the model's export is verified too."""
    folder = runtime_dir(cache_dir, fingerprint)
    graph, record_file = reader_graph_files(folder, reader_sha256)
    if not record_file.is_file() or not verified(folder, fingerprint):
        return None
    try:
        record = json.loads(record_file.read_text(encoding="utf-8"))
        file = record["file"]
        ok = (
            record["reader_sha256"] == reader_sha256
            and record["fingerprint"] == fingerprint
            and record["max_margin_difference"] <= READER_MAX_MARGIN_DIFFERENCE
            and record["same_spans"] is True
            and _hash_with_stamp(graph, file, use_stamp=True)[0] == file["sha256"]
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        log.warning("The reader's ONNX export at %s does not match its record; exporting it again.", graph)
        return None
    return graph, record
