"""Text to unit vectors, with the model's own query and document prompts.

Retrieval models such as EmbeddingGemma are trained with different prompts for questions and
for passages; using the wrong one (or none) costs several points of recall, so the encoder
owns that choice and the rest of the project only says "query" or "document".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

log = logging.getLogger(__name__)


class Encoder(Protocol):
    """What retrieval needs from an embedding model."""

    @property
    def model_id(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_documents(self, texts: Sequence[str], titles: Sequence[str | None]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...

    def encode_passages(self, texts: Sequence[str], titles: Sequence[str | None], sentences: Sequence[Sequence[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]: ...


def encode_sentences_apart(
    encoder: Encoder, texts: Sequence[str], titles: Sequence[str | None], sentences: Sequence[Sequence[tuple[int, int]]]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """What `encode_passages` returns, with every sentence embedded on its own as a document (two passes of the model)."""
    passages = encoder.encode_documents(texts, titles)
    flat = encoder.encode_documents([t[a:b] for t, spans in zip(texts, sentences) for a, b in spans], [title for title, spans in zip(titles, sentences) for _ in spans])
    bounds = np.cumsum([0, *(len(spans) for spans in sentences)])
    return passages, [flat[bounds[i] : bounds[i + 1]] for i in range(len(texts))]


@dataclass(frozen=True)
class DocumentPrompt:
    """A document prompt with a title slot, such as EmbeddingGemma's `title: none | text: `."""

    template: str  # contains "{title}"
    empty_title: str = "none"

    def render(self, title: str | None) -> str:
        clean = " ".join((title or "").split()) or self.empty_title
        # The prompt uses " | " as its field separator; a title containing one would blur the fields.
        return self.template.replace("{title}", clean.replace("|", "/"))


def _title_slot(document_prompt: str | None) -> DocumentPrompt | None:
    if document_prompt and "title: none |" in document_prompt:
        return DocumentPrompt(document_prompt.replace("title: none |", "title: {title} |"))
    return None


class SentenceTransformerEncoder:
    """A sentence-transformers model on the CPU (or a configured device), loaded once.

    With runtime="onnx" its transformer runs in onnxruntime (embeddings.onnx_runtime: the same
    vectors, faster on a CPU); keep_torch keeps the torch weights as well, for the reader.
    """

    def __init__(
        self,
        source: str,
        *,
        model_id: str,
        fingerprint: str,
        device: str = "cpu",
        batch_size: int = 16,
        runtime: str = "torch",
        cache_dir: Path | None = None,
        keep_torch: bool = True,
    ) -> None:
        from sentence_transformers import SentenceTransformer  # heavy import, paid only when a model is needed

        self._model = SentenceTransformer(source, device=device)
        self._model_id = model_id
        self._fingerprint = fingerprint
        self._batch_size = batch_size
        self._torch_transformer = self._model[0].auto_model
        self.runtime = "torch"
        if runtime == "onnx" and device == "cpu" and cache_dir is not None:
            self._use_onnx(cache_dir, keep_torch=keep_torch)
        prompts = getattr(self._model, "prompts", {}) or {}
        self._query_prompt: str | None = prompts.get("query")
        self._document_prompt: str | None = prompts.get("document")
        self._titled = _title_slot(self._document_prompt)

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def dimension(self) -> int:
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        return int(getter())

    @property
    def max_seq_length(self) -> int:
        return int(self._model.max_seq_length)

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=False)["input_ids"])

    def transformer(self) -> tuple[Any, Any] | None:
        """The torch transformer and tokenizer inside: the reader runs these same weights, never a second copy.

        None when the encoder runs in onnxruntime and was told not to keep the torch weights."""
        if self._torch_transformer is None:
            return None
        return self._torch_transformer, self._model.tokenizer

    def _use_onnx(self, cache_dir: Path, *, keep_torch: bool) -> None:
        from .onnx_runtime import OnnxUnavailable, onnx_transformer

        try:
            exported = onnx_transformer(self._model, self._fingerprint, cache_dir)
        except OnnxUnavailable as exc:
            log.warning("Embedding with torch: %s.", exc)
            return
        self._model[0].model = exported
        self.runtime = "onnx"
        if not keep_torch:
            self._torch_transformer = None  # its weights are freed; the ONNX graph holds its own

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(list(texts), prompt=self._query_prompt)

    def encode_documents(self, texts: Sequence[str], titles: Sequence[str | None]) -> np.ndarray:
        if self._titled is None:
            return self._encode(list(texts), prompt=self._document_prompt)
        # One prompt per distinct title: sentence-transformers takes a single prompt per call.
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        groups: dict[str, list[int]] = {}
        for i, title in enumerate(titles):
            groups.setdefault(self._titled.render(title), []).append(i)
        for prompt, idx in groups.items():
            out[idx] = self._encode([texts[i] for i in idx], prompt=prompt)
        return out

    def encode_passages(self, texts: Sequence[str], titles: Sequence[str | None], sentences: Sequence[Sequence[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Passage vectors, and for each passage one vector per (start, end) sentence span in it.

        Embedding every sentence again on its own cost over half of an index build (BENCHMARKS.md,
        speed). Here a sentence's vector is the mean of its tokens' states in the passage's single
        forward pass, put through the model's own dense layers and normalisation: the pooling the
        model applies to a whole text, applied to the sentence's part of it. Only the sentence's
        own tokens: pooling the prompt's tokens in as well (as a text embedded alone has them)
        lost 0.014 XQuAD Recall@1 in English and seed hit@1 in Vietnamese; without them nothing
        was lost (BENCHMARKS.md, speed).
        """
        import torch

        model = self._model
        tokenizer = model.tokenizer
        prompts = [self._titled.render(t) if self._titled else (self._document_prompt or "") for t in titles]
        passage_out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        sentence_out: list[np.ndarray] = [np.zeros((len(s), self.dimension), dtype=np.float32) for s in sentences]
        modules = list(model)
        pooling = next((i for i, m in enumerate(modules) if type(m).__name__ == "Pooling"), None)
        if pooling is None or getattr(modules[pooling], "pooling_mode", "mean") != "mean":
            # A model that does not mean-pool its tokens cannot pool a sentence's share of them.
            return encode_sentences_apart(self, texts, titles, sentences)
        heads = modules[pooling + 1 :]  # EmbeddingGemma: Dense, Dense, Normalize
        order = sorted(range(len(texts)), key=lambda i: len(prompts[i]) + len(texts[i]))  # similar lengths, little padding
        for lo in range(0, len(order), self._batch_size):
            idx = order[lo : lo + self._batch_size]
            full = [prompts[i] + texts[i] for i in idx]
            batch = tokenizer(full, padding=True, truncation=True, max_length=self.max_seq_length, return_offsets_mapping=True, return_tensors="pt")
            offsets = batch.pop("offset_mapping").tolist()
            features = {k: v.to(model.device) for k, v in batch.items()}
            with torch.inference_mode():
                out = model.forward(features)
                tokens = out["token_embeddings"]
                passage_out[idx] = out["sentence_embedding"].float().cpu().numpy()
                pooled, owners = [], []
                for j, i in enumerate(idx):
                    shift = len(prompts[i])
                    for n, (start, end) in enumerate(sentences[i]):
                        inside = [t for t, (a, b) in enumerate(offsets[j]) if features["attention_mask"][j, t] and b > a and b > shift + start and a < shift + end]
                        if inside:
                            pooled.append(tokens[j, inside].mean(dim=0))
                            owners.append((i, n))
                        else:  # cut off by the model's length limit: embed it on its own
                            sentence_out[i][n] = self._encode([texts[i][start:end]], prompt=prompts[i] or None)[0]
                if pooled:
                    head = {"sentence_embedding": torch.stack(pooled)}
                    for module in heads:
                        head = module(head)
                    vectors = head["sentence_embedding"].float().cpu().numpy()
                    for (i, n), vector in zip(owners, vectors):
                        sentence_out[i][n] = vector
        return passage_out, sentence_out

    def _encode(self, texts: list[str], *, prompt: str | None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            prompt=prompt,
            batch_size=self._batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
