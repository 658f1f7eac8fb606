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
