"""Questions and documents embedded by the exported graph alone: onnxruntime and the tokenizers library, no torch.

Why: with the reader off, a process only embeds text, yet a start through sentence-transformers
spent 5.6 of its 9 s importing torch and sentence-transformers and loading torch weights that
onnxruntime then replaced (BENCHMARKS.md, speed: cold start). The exported graph ends in
sentence-transformers' own pooling, dense layers and normalisation (traced from its modules,
embeddings.onnx_runtime), and the tokenizers library reads the model's own tokenizer.json, so
nothing of the pipeline is rewritten here but the prompt in front of the text and the batching.
This path is taken only for an export whose record says these vectors matched the pipeline's.

Derived sentence vectors (index.sentence_vectors = "derived") pool a sentence's tokens through
torch modules, so `encode_passages` hands over to the full encoder, loaded on first use.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .encoder import DocumentPrompt, Encoder, _title_slot


def open_session(path: Path, threads: int | None = None) -> Any:
    """An onnxruntime session over the exported graph, its weights mapped from the file beside it."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


# Tokens (longest text x texts) per forward pass. On two cores onnxruntime embeds documents fastest
# in small batches: seeds/ sentences (59 tokens on average) went 10.1/s in batches of 16 texts,
# 13.6-14.5/s within 256-512 tokens, 12.3-12.7/s within 1,024, 10.8/s within 2,048; passages
# (~80-320 tokens) 5.6/s against 6.8-7.2/s. Sixteen waiting questions (~20 tokens) still go
# in one pass (22-23 ms each either way).
BATCH_TOKENS = 512


class LeanTokenizer:
    """The model's tokenizer.json with the truncation and padding side sentence-transformers applies."""

    def __init__(self, tokenizer: Any, max_length: int, pad_id: int, pad_left: bool) -> None:
        self._tokenizer = tokenizer
        self.max_length = max_length
        self._pad_id, self._pad_left = pad_id, pad_left

    @classmethod
    def load(cls, model_folder: Path, max_length: int) -> "LeanTokenizer":
        from tokenizers import Tokenizer

        path = Path(model_folder) / "tokenizer.json"
        if not path.is_file():
            raise OSError(f"no tokenizer.json in {model_folder}")
        tokenizer = Tokenizer.from_file(str(path))
        config_path = Path(model_folder) / "tokenizer_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
        pad = config.get("pad_token") or "<pad>"
        pad = pad if isinstance(pad, str) else str(pad.get("content", "<pad>"))  # older configs hold an AddedToken dict
        tokenizer.no_padding()
        limit = min(max_length, int(config.get("model_max_length", max_length)))
        tokenizer.enable_truncation(max_length=limit)
        return cls(tokenizer, limit, tokenizer.token_to_id(pad) or 0, config.get("padding_side", "right") == "left")

    def ids(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self._tokenizer.encode_batch(texts)]

    def pad(self, ids: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """input_ids and attention_mask for one batch, padded to its longest text."""
        width = max(len(x) for x in ids)
        input_ids = np.full((len(ids), width), self._pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, x in enumerate(ids):
            where = slice(width - len(x), width) if self._pad_left else slice(0, len(x))
            input_ids[row, where], mask[row, where] = x, 1
        return input_ids, mask

    def count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def with_offsets(self, texts: list[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
        """Ids and character offsets without special tokens (the reader adds its own): embeddings.reading.Tokenize."""
        return [(e.ids, e.offsets) for e in self._tokenizer.encode_batch(texts, add_special_tokens=False)]


def graph_vectors(session: Any, tokenizer: LeanTokenizer, texts: list[str], *, batch_size: int) -> np.ndarray:
    """The graph's finished embeddings; longest texts first, each batch at most batch_size texts and BATCH_TOKENS tokens."""
    ids = tokenizer.ids(texts)
    order = sorted(range(len(texts)), key=lambda i: -len(ids[i]))
    out: np.ndarray | None = None
    lo = 0
    while lo < len(order):
        hi = lo + 1  # sorted longest first, so the batch's width is its first text's length
        while hi < len(order) and hi - lo < batch_size and (hi - lo + 1) * len(ids[order[lo]]) <= BATCH_TOKENS:
            hi += 1
        idx = order[lo:hi]
        input_ids, mask = tokenizer.pad([ids[i] for i in idx])
        (vectors,) = session.run(["sentence_embedding"], {"input_ids": input_ids, "attention_mask": mask})
        if out is None:
            out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
        out[idx] = vectors
        lo = hi
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)


class OnnxEncoder:
    """embeddings.encoder.Encoder over the exported graph alone; `encode_passages` goes to the full encoder."""

    runtime = "onnx"

    def __init__(
        self,
        graph: Path,
        model_folder: Path,
        *,
        model_id: str,
        fingerprint: str,
        batch_size: int,
        full_encoder: Callable[[], Encoder],
        open_graph: Callable[[Path], Any] = open_session,
    ) -> None:
        """`open_graph` runs the graph: onnxruntime here; the benches measure other runtimes through it (bench/runtimes.py)."""
        folder = Path(model_folder)
        max_length = int(json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8")).get("max_seq_length", 512))
        prompts = json.loads((folder / "config_sentence_transformers.json").read_text(encoding="utf-8")).get("prompts", {})
        self._tokenizer = LeanTokenizer.load(folder, max_length)
        self._session = open_graph(graph)
        self._model_id, self._fingerprint, self._batch_size = model_id, fingerprint, batch_size
        self._query_prompt: str = prompts.get("query", "")
        self._document_prompt: str = prompts.get("document", "")
        self._titled: DocumentPrompt | None = _title_slot(self._document_prompt)
        self._dimension = int(next(o.shape[1] for o in self._session.get_outputs() if o.name == "sentence_embedding"))
        self._full_encoder = full_encoder
        self._full: Encoder | None = None
        self._full_lock = threading.Lock()  # the bot may add articles from two threads: one full encoder

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_seq_length(self) -> int:
        return self._tokenizer.max_length

    def count_tokens(self, text: str) -> int:
        return self._tokenizer.count(text)

    def transformer(self) -> None:
        """No torch weights here: the reader runs as its own exported graph (embeddings.onnx_reader)."""
        return None

    @property
    def lean_tokenizer(self) -> LeanTokenizer:
        """The tokenizer the reader's graph reads with: the model's own tokenizer.json, as here."""
        return self._tokenizer

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._vectors([self._query_prompt + t for t in texts])

    def encode_documents(self, texts: Sequence[str], titles: Sequence[str | None]) -> np.ndarray:
        prompts = [self._titled.render(title) if self._titled else self._document_prompt for title in titles]
        return self._vectors([p + t for p, t in zip(prompts, texts)])

    def encode_passages(self, texts: Sequence[str], titles: Sequence[str | None], sentences: Sequence[Sequence[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
        with self._full_lock:
            if self._full is None:
                self._full = self._full_encoder()
        return self._full.encode_passages(texts, titles, sentences)

    def _vectors(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dimension), dtype=np.float32)
        return np.ascontiguousarray(graph_vectors(self._session, self._tokenizer, texts, batch_size=self._batch_size), dtype=np.float32)
