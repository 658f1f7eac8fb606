"""A reader: the embedding model's own layers, run over a question and a passage together, point at the answer or at nothing.

Similarity can say a passage is about the question's topic, not that it holds the answer: a
near miss (the Jeju governor's office is named, his name is not) scores as high as a real
answer. A reader that must point at an answer span, SQuAD 2.0 style, ties "answerable" to
finding the span: the no-answer score is the start/end logits of the first token, and a
question is answered only when some span beats it.

No reader model can be downloaded here, so this one is trained on top of the EmbeddingGemma
already in memory (`training/train_reader.py`): LoRA adapters on a few middle layers plus a
two-number head per token, a few MB. The reader uses the lower layers as they are and exits
early (`ReaderConfig.exit_layer`), which makes a read cost two thirds of an embedding of the
same text. The adapters are forward hooks that act only in a thread that is reading
(`_ACTIVE`), so the one copy of the model keeps embedding queries exactly as before, in any
thread, while the reader uses it.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .reading import (
    READER_FILE,
    READER_SHA256_FILE,
    Pairs,
    ReaderConfig,
    ReaderMismatch,
    ReaderUnavailable,
    Reading,
    SpecialTokens,
    Tokenize,
    file_sha256,
    in_batches,
    open_artifact,
    pair_rows,
    readings,
)

__all__ = ["READER_FILE", "READER_SHA256_FILE", "Reader", "ReaderConfig", "ReaderMismatch", "ReaderUnavailable", "Reading", "encode_pairs", "file_sha256", "reading", "run_layers", "save"]

# The linear layers of a Gemma 3 block; the adapters cover all of them (attention and MLP).
ADAPTED_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")

_ACTIVE = threading.local()


class LoraAdapters(nn.Module):
    """Low-rank updates for the adapted layers, applied by forward hooks while `reading()` is active."""

    def __init__(self, config: ReaderConfig, layers: nn.ModuleList) -> None:
        super().__init__()
        self.config = config
        self.a = nn.ParameterDict()
        self.b = nn.ParameterDict()
        self._targets: dict[str, nn.Linear] = {}
        for index in range(config.adapt_from, config.exit_layer):
            for name, module in layers[index].named_modules():
                if name.rsplit(".", 1)[-1] in ADAPTED_MODULES and isinstance(module, nn.Linear):
                    key = f"{index}_{name.replace('.', '_')}"
                    # B starts at zero: an untrained adapter leaves the model exactly as it was.
                    self.a[key] = nn.Parameter(torch.randn(config.rank, module.in_features) / module.in_features**0.5)
                    self.b[key] = nn.Parameter(torch.zeros(module.out_features, config.rank))
                    self._targets[key] = module
        self._handles: list[Any] = []

    def attach(self) -> None:
        for key, module in self._targets.items():
            self._handles.append(module.register_forward_hook(self._hook(key)))

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, key: str):  # noqa: ANN202 - a torch hook
        a, b, scale = self.a[key], self.b[key], self.config.scale

        def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> torch.Tensor | None:
            if not getattr(_ACTIVE, "on", False):
                return None
            x = inputs[0]
            return output + (x.to(a.dtype) @ a.T @ b.T).to(output.dtype) * scale

        return hook


class _Exit(Exception):
    def __init__(self, hidden: torch.Tensor) -> None:
        self.hidden = hidden


@contextlib.contextmanager
def reading() -> Iterator[None]:
    """Turn the adapters on for this thread only."""
    before = getattr(_ACTIVE, "on", False)
    _ACTIVE.on = True
    try:
        yield
    finally:
        _ACTIVE.on = before


def run_layers(model: nn.Module, stop: int, *, input_ids: torch.Tensor | None = None, inputs_embeds: torch.Tensor | None = None, attention_mask: torch.Tensor) -> torch.Tensor:
    """The hidden states after layer `stop - 1`, without running the layers above it.

    The model's own forward builds the bidirectional masks and rotary positions; a hook on the
    last wanted layer ends the pass there, so no copy of the model's internals is kept here.
    """

    def stop_here(module: nn.Module, inputs: Any, output: Any) -> None:
        raise _Exit(output[0] if isinstance(output, tuple) else output)

    handle = model.layers[stop - 1].register_forward_hook(stop_here)
    try:
        model(input_ids=input_ids, inputs_embeds=inputs_embeds, attention_mask=attention_mask, use_cache=False)
    except _Exit as done:
        return done.hidden
    finally:
        handle.remove()
    raise RuntimeError("the model did not run its layers")  # pragma: no cover - every Gemma forward runs them


class ReaderHead(nn.Module):
    """Start and end logits for every token, on the model's final norm of the exit layer."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.span = nn.Linear(hidden_size, 2)

    def forward(self, norm: nn.Module, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.span(norm(hidden).to(self.span.weight.dtype))
        return logits[..., 0], logits[..., 1]


def bf16_is_fast() -> bool:
    """bfloat16 halves a read on CPUs with native support (AVX512-BF16, AMX) and slows others down."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # noqa: BLE001 - an older torch without the probe: stay in fp32
        return False


def hf_tokenize(tokenizer: Any) -> Tokenize:
    """A transformers tokenizer as reading.Tokenize."""

    def tokenize(texts: list[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
        encoded = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True)
        return list(zip(encoded["input_ids"], encoded["offset_mapping"]))

    return tokenize


def special_tokens(tokenizer: Any) -> SpecialTokens:
    return SpecialTokens(tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)


def encode_pairs(tokenizer: Any, config: ReaderConfig, questions: Sequence[str], passages: Sequence[str]) -> Pairs:
    """reading.pair_rows with a transformers tokenizer."""
    return pair_rows(hf_tokenize(tokenizer), special_tokens(tokenizer), config, questions, passages)


class Reader:
    """A trained reader attached to a loaded model; `read` is safe to call from one thread at a time."""

    def __init__(self, model: nn.Module, tokenizer: Any, config: ReaderConfig, adapters: LoraAdapters, head: ReaderHead, meta: dict[str, Any]) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.adapters = adapters
        self.head = head
        self.meta = meta
        self.bf16 = bf16_is_fast()
        self.artifact_sha256: str | None = None  # set when loaded from a verified file
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model: nn.Module, tokenizer: Any, fingerprint: str, path: Path | None = None, sha256_file: Path | None = None) -> "Reader":
        """Verify the file against its pinned sha256, check it was trained for this model, attach it."""
        from safetensors import safe_open

        artifact = open_artifact(fingerprint, path, sha256_file)
        with safe_open(str(artifact.path), framework="pt") as handle:
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        reader = cls.attach(model, tokenizer, artifact.config, tensors, artifact.meta)
        reader.artifact_sha256 = artifact.sha256
        return reader

    @classmethod
    def attach(cls, model: nn.Module, tokenizer: Any, config: ReaderConfig, tensors: dict[str, torch.Tensor] | None = None, meta: dict[str, Any] | None = None) -> "Reader":
        adapters = LoraAdapters(config, model.layers)
        head = ReaderHead(model.config.hidden_size)
        if tensors is not None:
            adapters.load_state_dict({k[len("adapters.") :]: v.float() for k, v in tensors.items() if k.startswith("adapters.")})
            head.load_state_dict({k[len("head.") :]: v.float() for k, v in tensors.items() if k.startswith("head.")})
        adapters.attach()
        return cls(model, tokenizer, config, adapters, head, meta or {})

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """What the artifact stores, in fp16 (half the size; the read runs in bf16 or fp32 anyway)."""
        out = {f"adapters.{k}": v.detach().half().contiguous() for k, v in self.adapters.state_dict().items()}
        out.update({f"head.{k}": v.detach().float().contiguous() for k, v in self.head.state_dict().items()})
        return out

    def logits(self, pairs: Pairs) -> tuple[np.ndarray, np.ndarray]:
        """Start and end logits of every token, as float32 arrays."""
        with torch.inference_mode(), reading(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            hidden = run_layers(self.model, self.config.exit_layer, input_ids=torch.from_numpy(pairs.input_ids), attention_mask=torch.from_numpy(pairs.attention_mask))
            start, end = self.head(self.model.norm, hidden)
        return start.float().numpy(), end.float().numpy()

    def read(self, questions: Sequence[str], passages: Sequence[str]) -> list[Reading]:
        """One Reading per (question, passage) pair, in batches of similar length."""
        return in_batches(passages, lambda idx: self._read_batch([questions[i] for i in idx], [passages[i] for i in idx]))

    def _read_batch(self, questions: list[str], passages: list[str]) -> list[Reading]:
        pairs = encode_pairs(self.tokenizer, self.config, questions, passages)
        with self._lock:
            start, end = self.logits(pairs)
        return readings(passages, pairs, start, end, self.config)


def save(reader: Reader, path: Path, meta: dict[str, Any], sha256_file: Path) -> str:
    """Write the artifact and its pinned sha256; returns the hash."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {**meta, "config": asdict(reader.config)}
    save_file(reader.state_tensors(), str(path), metadata={"seedqa_reader": json.dumps(meta, ensure_ascii=False)})
    digest = file_sha256(path)
    sha256_file.write_text(f"{digest}  {path.name}\n")
    return digest


