"""The reader run as an exported graph in onnxruntime: answers read without torch in the process.

Why: with the reader on, a start paid for torch and sentence-transformers (imports 4.6 s, torch
weights 2.2 s of an 8.8 s cold start, BENCHMARKS.md, speed) only to run the reader. The reader
is the model's first layers with low-rank adapters and a two-number head, so it exports like
the model itself (embeddings.onnx_runtime.export_reader): its graph shares the model's weights
file, holds only the adapters and the head of its own, and was checked against the torch
reader before it was kept. Pairing the question with the passage and picking the span are
embeddings.reading's, as for the torch reader.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .onnx_encoder import LeanTokenizer, open_session
from .reading import Artifact, Reading, SpecialTokens, in_batches, pair_rows, readings


class OnnxReader:
    """embeddings.reader.Reader's `read` over the exported reader graph; safe to call from several threads."""

    bf16 = False  # the graph runs in float32

    def __init__(self, session: Any, tokenizer: LeanTokenizer, special: SpecialTokens, artifact: Artifact) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._special = special
        self.config = artifact.config
        self.meta = artifact.meta
        self.artifact_sha256 = artifact.sha256

    @classmethod
    def open(cls, graph: Path, record: dict, tokenizer: LeanTokenizer, artifact: Artifact, *, threads: int | None = None) -> "OnnxReader":
        """The reader graph's session; the special tokens are the ones the export was checked with."""
        special = SpecialTokens(**record["special_tokens"])
        return cls(open_session(graph, threads), tokenizer, special, artifact)

    def read(self, questions: Sequence[str], passages: Sequence[str]) -> list[Reading]:
        """One Reading per (question, passage) pair, in batches of similar length."""
        return in_batches(passages, lambda idx: self._read_batch([questions[i] for i in idx], [passages[i] for i in idx]))

    def _read_batch(self, questions: list[str], passages: list[str]) -> list[Reading]:
        pairs = pair_rows(self._tokenizer.with_offsets, self._special, self.config, questions, passages)
        start, end = self._session.run(["start_logits", "end_logits"], {"input_ids": pairs.input_ids, "attention_mask": pairs.attention_mask})
        return readings(passages, pairs, start, end, self.config)
