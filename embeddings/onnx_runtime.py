"""The embedding model's transformer run by onnxruntime: the same vectors, about twice as fast on a CPU.

On two cores, torch spends most of a question's time in framework overhead around small
matrix products; onnxruntime runs the same graph with fused kernels (BENCHMARKS.md, speed).
The graph is exported here, on this machine, from the weights already verified by
embeddings.provision, never downloaded, and kept in the cache beside the model with the
sha256 of its file. It is re-hashed when its size or modification time change, like the
model's files, and a file that no longer matches is refused and exported again.

An export is used only if it gives the model's own vectors: before it is kept, a few probe
texts are embedded both ways through the whole sentence-transformers pipeline (pooling, dense
layers, normalisation) and every cosine must reach VERIFY_MIN_COSINE. Otherwise (an
architecture the export does not cover, onnxruntime missing) the encoder stays on torch and
says why once.

Only the transformer is replaced; tokenisation, prompts, pooling, the dense layers and the
derived sentence vectors stay sentence-transformers' own code, so there is one pipeline. The
graph also ends in those modules, traced, as a second output: a process that only embeds text
can then run it without torch (embeddings.onnx_encoder), once the export has checked that those
vectors, from the tokenizers library's ids, are the pipeline's too.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch  # this module is imported only when the encoder, which loads torch anyway, asks for it

from .onnx_files import (
    MODEL_FILE,
    OPSET,
    READER_MAX_MARGIN_DIFFERENCE,
    RECORD_FILE,
    VERIFY_MIN_COSINE,
    WEIGHTS_FILE,
    reader_graph_files,
    reader_graph_ready,
    runtime_dir,
    verified,
)
from .provision import _hash_with_stamp

log = logging.getLogger(__name__)

PROBES = (
    "task: search result | query: ai gặp tỉnh trưởng Jeju?",
    "task: search result | query: who met the Jeju governor?",
    "title: none | text: Đoàn công tác tỉnh Long An do Chủ tịch UBND tỉnh Nguyễn Văn Út làm trưởng đoàn đã có buổi thăm và làm việc với Tỉnh trưởng tỉnh Jeju.",
)


class OnnxUnavailable(Exception):
    """Why the encoder stays on torch; one sentence."""


def onnx_transformer(st_model: Any, fingerprint: str, cache_dir: Path, *, threads: int | None = None) -> "OnnxTransformer":
    """An OnnxTransformer for the sentence-transformers model's transformer, exported on first use and verified."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise OnnxUnavailable("onnxruntime is not installed (pip install onnxruntime)") from None
    folder = runtime_dir(cache_dir, fingerprint)
    transformer = st_model[0].auto_model
    with _lock(folder.parent / f".{folder.name}.lock"):
        if not verified(folder, fingerprint):
            _export(st_model, fingerprint, folder)
    return OnnxTransformer(folder / MODEL_FILE, transformer.config, threads=threads)


class OnnxTransformer(torch.nn.Module):
    """Stands in for the transformers model inside sentence-transformers' Transformer module (so it must be a Module)."""

    def __init__(self, path: Path, config: Any, *, threads: int | None = None) -> None:
        from .onnx_encoder import open_session

        super().__init__()
        self._session = open_session(path, threads or torch.get_num_threads())
        self.config = config

    def forward(self, input_ids: Any = None, attention_mask: Any = None, **_: Any) -> dict[str, Any]:
        feeds = {"input_ids": _int64(input_ids), "attention_mask": _int64(attention_mask)}
        (hidden,) = self._session.run(["last_hidden_state"], feeds)
        return {"last_hidden_state": torch.from_numpy(hidden)}


def _int64(tensor: Any) -> np.ndarray:
    array = tensor.cpu().numpy() if hasattr(tensor, "cpu") else np.asarray(tensor)
    return np.ascontiguousarray(array, dtype=np.int64)


def _export(st_model: Any, fingerprint: str, folder: Path) -> None:
    """Export into a staging folder, check the vectors, then move it into place (a killed export leaves nothing used)."""

    transformer = st_model[0].auto_model
    started = time.perf_counter()
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        wrapper = _MaskedTransformer(transformer, list(st_model)[1:]).eval()
        sample = st_model.tokenizer(list(PROBES), padding=True, return_tensors="pt")
        with torch.inference_mode(False), torch.no_grad(), _quiet_export():
            torch.onnx.export(
                wrapper,
                (sample["input_ids"], sample["attention_mask"]),
                str(staging / MODEL_FILE),
                input_names=["input_ids", "attention_mask"],
                output_names=["last_hidden_state", "sentence_embedding"],
                dynamic_axes={
                    **{name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "last_hidden_state")},
                    "sentence_embedding": {0: "batch"},
                },
                opset_version=OPSET,
                dynamo=False,  # the TorchScript exporter handles Gemma's layers as they are; the dynamo one needs onnxscript
            )
        _move_weights_out(staging / MODEL_FILE)
        cosine = _agreement(st_model, OnnxTransformer(staging / MODEL_FILE, transformer.config))
        if cosine < VERIFY_MIN_COSINE:
            raise OnnxUnavailable(f"the exported graph gives other vectors than the model (cosine {cosine:.6f} < {VERIFY_MIN_COSINE})")
        whole = _whole_graph_agreement(st_model, staging)
        files = {name: _hash_with_stamp(staging / name, None, use_stamp=False)[1] for name in (MODEL_FILE, WEIGHTS_FILE)}
        record = {
            "fingerprint": fingerprint,
            "files": files,
            "min_cosine": cosine,
            # The graph's own sentence_embedding, with the tokenizers library's ids, agrees with the
            # pipeline: embeddings.onnx_encoder may then embed without torch. None: it could not be checked.
            "whole_graph_min_cosine": whole,
            "torch": torch.__version__,
            "opset": OPSET,
        }
        (staging / RECORD_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
        for older in folder.parent.glob(f"onnx-{fingerprint[:24]}-v*"):
            if older != folder:  # an export for an earlier EXPORT_VERSION: 1.2 GB nothing reads any more
                shutil.rmtree(older, ignore_errors=True)
    except OnnxUnavailable:
        raise
    except Exception as exc:  # an architecture the exporter cannot trace: torch still works
        raise OnnxUnavailable(f"the model could not be exported to ONNX ({type(exc).__name__}: {exc})") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("Exported %s to ONNX in %.0f s (vectors agree to cosine %.7f).", fingerprint[:12], time.perf_counter() - started, cosine)


def _move_weights_out(path: Path) -> None:
    """Rewrite the exported graph with its weights in WEIGHTS_FILE beside it (the exporter inlines them below 2 GB)."""
    import onnx

    graph = onnx.load(str(path))
    onnx.save_model(graph, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=WEIGHTS_FILE, size_threshold=1024)


def _agreement(st_model: Any, candidate: OnnxTransformer) -> float:
    """The lowest cosine between the pipeline's vectors with torch and with the candidate, over PROBES."""
    module = st_model[0]
    reference = st_model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True)
    original = module.auto_model
    try:
        module.model = candidate
        exported = st_model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True)
    finally:
        module.model = original
    return float(np.min(np.sum(reference * exported, axis=1)))


def _whole_graph_agreement(st_model: Any, folder: Path) -> float | None:
    """The lowest cosine between the pipeline's vectors and the graph's sentence_embedding fed by the tokenizers library."""
    from .onnx_encoder import LeanTokenizer, graph_vectors, open_session

    try:
        tokenizer = LeanTokenizer.load(Path(st_model.tokenizer.name_or_path), int(st_model.max_seq_length))
    except OSError:
        return None  # no tokenizer.json: questions keep going through sentence-transformers
    reference = st_model.encode(list(PROBES), normalize_embeddings=True, convert_to_numpy=True)
    vectors = graph_vectors(open_session(folder / MODEL_FILE), tokenizer, list(PROBES), batch_size=len(PROBES))
    return float(np.min(np.sum(reference * vectors, axis=1)))


# Question and passage pairs the exported reader must read as the torch reader does: English and
# Vietnamese with and without diacritics, an answer present and one absent.
READER_PROBES = (
    ("who met the Jeju governor?", PROBES[2].split("| text: ", 1)[1]),
    ("ai gap tinh truong jeju", PROBES[2].split("| text: ", 1)[1]),
    ("Có bao nhiêu doanh nghiệp Hàn Quốc đầu tư vào tỉnh?", "Tỉnh có 1.100 doanh nghiệp Nhật Bản đang hoạt động, nhiều nhất ở khu công nghiệp Long Hậu."),
)
# Weights the reader graph may hold of its own (adapters and head: ~5 MB in float32); more means the
# base weights were not found in the model's weights file and would be copied.
READER_OWN_BYTES = 64 * 1024 * 1024


def export_reader(reader: Any, fingerprint: str, cache_dir: Path) -> tuple[Path, dict]:
    """The reader (embeddings.reader.Reader) as a graph beside the model's export, sharing its weights file; checked, then kept.

    Raises OnnxUnavailable (the torch reader then keeps reading) when the model has no verified
    export to share, or the graph does not read as the torch reader does.
    """
    folder = runtime_dir(cache_dir, fingerprint)
    sha = reader.artifact_sha256
    if sha is None:
        raise OnnxUnavailable("the reader was not loaded from a verified file")
    graph_file, record_file = reader_graph_files(folder, sha)
    with _lock(folder.parent / f".{folder.name}.lock"):
        ready = reader_graph_ready(cache_dir, fingerprint, sha)
        if ready is not None:
            return ready
        if not verified(folder, fingerprint):
            raise OnnxUnavailable("the model has no verified ONNX export to share its weights with yet")
        started = time.perf_counter()
        staging = Path(tempfile.mkdtemp(prefix=".reader.", dir=folder.parent))
        partial = folder / f".{graph_file.name}.partial"
        try:
            _trace_reader(reader, staging / "reader.onnx")
            own = _share_weights(staging / "reader.onnx", folder, partial)
            if own > READER_OWN_BYTES:
                raise OnnxUnavailable(f"the reader graph would hold {own / 1e6:.0f} MB of its own weights instead of sharing the model's")
            difference, same_spans, special = _reader_agreement(reader, partial)
            if not same_spans or difference > READER_MAX_MARGIN_DIFFERENCE:
                raise OnnxUnavailable(f"the exported reader reads otherwise than the torch reader (margins differ by {difference:.4f}, same spans: {same_spans})")
            os.replace(partial, graph_file)
            record = {
                "reader_sha256": sha,
                "fingerprint": fingerprint,
                "file": _hash_with_stamp(graph_file, None, use_stamp=False)[1],
                "max_margin_difference": difference,
                "same_spans": same_spans,
                "special_tokens": special,
                "torch": torch.__version__,
                "opset": OPSET,
            }
            record_file.with_suffix(".partial").write_text(json.dumps(record, indent=1), encoding="utf-8")
            os.replace(record_file.with_suffix(".partial"), record_file)
            for older in folder.glob("reader-*"):
                if older not in (graph_file, record_file):  # the graph of a reader file no longer in use
                    older.unlink(missing_ok=True)
        except OnnxUnavailable:
            raise
        except Exception as exc:  # an architecture the exporter cannot trace: the torch reader still reads
            raise OnnxUnavailable(f"the reader could not be exported to ONNX ({type(exc).__name__}: {exc})") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            partial.unlink(missing_ok=True)
    log.info("Exported the reader to ONNX in %.0f s (margins agree within %.5f).", time.perf_counter() - started, difference)
    return graph_file, record


def _trace_reader(reader: Any, path: Path) -> None:
    from .reader import encode_pairs, reading

    questions, passages = zip(*READER_PROBES)
    pairs = encode_pairs(reader.tokenizer, reader.config, list(questions), list(passages))
    wrapper = _ReaderGraph(reader).eval()
    with torch.inference_mode(False), torch.no_grad(), _quiet_export(), reading():
        torch.onnx.export(
            wrapper,
            (torch.from_numpy(pairs.input_ids), torch.from_numpy(pairs.attention_mask)),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["start_logits", "end_logits"],
            dynamic_axes={name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "start_logits", "end_logits")},
            opset_version=OPSET,
            dynamo=False,
        )


def _share_weights(path: Path, folder: Path, out: Path) -> int:
    """Point every weight of the traced reader that the model's weights file holds, byte for byte, at that file.

    The exporter names (and transposes) weights its own way in each export, so they are matched by
    content, not by name. Returns the bytes the reader keeps of its own (the adapters, the head).
    """
    import hashlib

    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(folder / MODEL_FILE), load_external_data=False)
    where: dict[tuple[int, tuple[int, ...], str], tuple[int, int]] = {}
    with open(folder / WEIGHTS_FILE, "rb") as weights:
        for tensor in model.graph.initializer:
            external = {entry.key: entry.value for entry in tensor.external_data}
            if "length" not in external:
                continue
            offset, length = int(external.get("offset", 0)), int(external["length"])
            weights.seek(offset)
            where[(tensor.data_type, tuple(tensor.dims), hashlib.sha256(weights.read(length)).hexdigest())] = (offset, length)
    graph = onnx.load(str(path))
    own = 0
    for tensor in graph.graph.initializer:
        raw = tensor.raw_data or numpy_helper.to_array(tensor).tobytes()
        found = where.get((tensor.data_type, tuple(tensor.dims), hashlib.sha256(raw).hexdigest()))
        if found is None:
            own += len(raw)
            continue
        tensor.ClearField("raw_data")
        tensor.data_location = onnx.TensorProto.EXTERNAL
        del tensor.external_data[:]
        for key, value in (("location", WEIGHTS_FILE), ("offset", str(found[0])), ("length", str(found[1]))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
    onnx.save_model(graph, str(out))
    return own


def _reader_agreement(reader: Any, graph: Path) -> tuple[float, bool, dict[str, int]]:
    """Largest margin difference and whether every span is the same: torch reader (float32) vs the graph with the lean tokenizer."""
    from .onnx_encoder import LeanTokenizer, open_session
    from .reader import encode_pairs, special_tokens
    from .reading import pair_rows, readings

    questions, passages = (list(x) for x in zip(*READER_PROBES))
    special = special_tokens(reader.tokenizer)
    lean = LeanTokenizer.load(Path(reader.tokenizer.name_or_path), 1 << 16)  # the reader cuts its own lengths
    ours = pair_rows(lean.with_offsets, special, reader.config, questions, passages)
    theirs = encode_pairs(reader.tokenizer, reader.config, questions, passages)
    if not np.array_equal(ours.input_ids, theirs.input_ids) or ours.offsets != theirs.offsets:
        raise OnnxUnavailable("the tokenizers library splits the reader's probes otherwise than transformers")
    was = reader.bf16
    reader.bf16 = False
    try:
        expected = readings(passages, theirs, *reader.logits(theirs), reader.config)
    finally:
        reader.bf16 = was
    start, end = open_session(graph).run(["start_logits", "end_logits"], {"input_ids": ours.input_ids, "attention_mask": ours.attention_mask})
    got = readings(passages, ours, start, end, reader.config)
    difference = max(abs(a.margin - b.margin) for a, b in zip(expected, got))
    same = all((a.start, a.end) == (b.start, b.end) for a, b in zip(expected, got))
    return float(difference), same, {"bos": special.bos, "eos": special.eos, "pad": special.pad}


class _ReaderGraph(torch.nn.Module):
    """The reader's forward for tracing: layers 0..exit_layer-1 with the adapters on, the final norm, the head.

    The model's own forward runs over its first exit_layer layers only (the layer list is cut for
    the trace and restored); its last_hidden_state is then the exit layer's output after the final
    norm, which is what the torch reader's head reads (embeddings.reader.ReaderHead).
    """

    def __init__(self, reader: Any) -> None:
        super().__init__()
        self.model = reader.model
        self.adapters = reader.adapters  # registered here so the trace sees them as weights, not constants
        self.span = reader.head.span
        self.exit_layer = reader.config.exit_layer
        self.window = int(getattr(reader.model.config, "sliding_window", 0) or 0)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        masks = _bidirectional_masks(attention_mask, self.window)
        layers = self.model.layers
        self.model.layers = layers[: self.exit_layer]
        try:
            hidden = self.model(input_ids=input_ids, attention_mask=masks, use_cache=False).last_hidden_state
        finally:
            self.model.layers = layers
        logits = self.span(hidden)
        return logits[..., 0], logits[..., 1]


def _bidirectional_masks(attention_mask: torch.Tensor, window: int) -> dict[str, torch.Tensor]:
    """Gemma 3's per-layer-type masks from plain tensor operations, which the exporter can trace."""
    tokens = attention_mask.shape[1]
    real = attention_mask[:, None, None, :].bool()
    lowest = torch.finfo(torch.float32).min
    masks = {"full_attention": torch.where(real, 0.0, lowest).to(torch.float32).expand(-1, 1, tokens, tokens)}
    if window:
        position = torch.arange(tokens)
        near = (position[:, None] - position[None, :]).abs() < window
        masks["sliding_attention"] = torch.where(real & near[None, None], 0.0, lowest).to(torch.float32)
    return masks


class _MaskedTransformer(torch.nn.Module):
    """The transformer with its attention masks built from plain tensor operations, so the exporter can trace them.

    transformers builds Gemma's masks with vmap'd functions the ONNX exporter cannot follow;
    Gemma3 accepts ready masks per layer type instead. EmbeddingGemma attends both ways: full
    layers see every real token, sliding layers those closer than the window
    (transformers' _bidirectional_window_overlay).

    A second output runs sentence-transformers' own modules after the transformer (pooling,
    dense layers, normalisation) on the token states, so a question can be embedded by the graph
    alone, without torch in the process (embeddings.onnx_encoder).
    """

    def __init__(self, transformer: Any, heads: list[Any]) -> None:
        super().__init__()
        self.transformer = transformer
        self.heads = torch.nn.ModuleList(heads)
        self.window = int(getattr(transformer.config, "sliding_window", 0) or 0)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        masks = _bidirectional_masks(attention_mask, self.window)
        hidden = self.transformer(input_ids=input_ids, attention_mask=masks).last_hidden_state
        features = {"token_embeddings": hidden, "attention_mask": attention_mask}
        for head in self.heads:
            features = head(features)
        return hidden, features["sentence_embedding"]


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    """One export at a time per cache (the bot and `seedqa index` may start together)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """The exporter warns about every traced branch of the model; they are expected here."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
