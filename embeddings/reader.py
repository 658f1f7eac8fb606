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
import hashlib
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .provision import ModelUnavailable

# The artifact ships in the repository (small: adapters and a head, never the base model), with
# its sha256 beside the model's own hashes.
READER_FILE = Path(__file__).parent / "trained" / "embeddinggemma-300m-reader.safetensors"
READER_SHA256_FILE = Path(__file__).parent / "hashes" / "embeddinggemma-300m-reader.sha256"

# The linear layers of a Gemma 3 block; the adapters cover all of them (attention and MLP).
ADAPTED_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
# The joint input, in the style of EmbeddingGemma's own prompts ("task: ... | query: ").
PROMPT = "task: question answering | query: {question} | text: "

_ACTIVE = threading.local()
# Windows read in one forward pass: padding stays small when similar lengths go together, and
# 16 windows (~2,500 tokens) keep the activations well under 100 MB.
READ_BATCH = 16
# Characters a span may end with in the tokenizer's offsets but an answer should not.
ANSWER_TRIM = " \t\n,;:."


class ReaderUnavailable(ModelUnavailable):
    """The reader file is missing or altered; the message says what to do."""


class ReaderMismatch(ReaderUnavailable):
    """The reader was trained for other weights than the loaded model: search goes on without it."""


@dataclass(frozen=True)
class ReaderConfig:
    """The shape of a trained reader; stored in the artifact, so a file always loads as it was trained."""

    # Layers 0..exit_layer-1 run; the head reads the output of the last one (after the model's
    # final norm). 16 of 24: a read costs 2/3 of a full pass (BENCHMARKS.md, reader speed).
    exit_layer: int = 16
    # Adapters on layers adapt_from..exit_layer-1; training caches the input of layer adapt_from,
    # so a step runs only those layers.
    adapt_from: int = 10
    rank: int = 16
    alpha: float = 32.0
    max_question_tokens: int = 48
    max_passage_tokens: int = 192
    # Longest answer: 30 tokens holds every XQuAD answer but a handful of long clauses.
    max_answer_tokens: int = 30

    @property
    def scale(self) -> float:
        return self.alpha / self.rank


@dataclass(frozen=True)
class Reading:
    """What the reader found in one passage: the best span and how far it beats "no answer"."""

    start: int  # character offsets into the passage; start == end when the passage is empty
    end: int
    text: str
    margin: float  # best span score minus the no-answer score: > 0 means a span beats "nothing"


@dataclass
class Batch:
    """Token ids of question + passage pairs, and where each passage's tokens are."""

    input_ids: torch.Tensor  # (n, length), padded with the pad id
    attention_mask: torch.Tensor
    passage_range: list[tuple[int, int]]  # token positions [first, last) of the passage
    offsets: list[list[tuple[int, int]]] = field(default_factory=list)  # character span of each passage token


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


def encode_pairs(tokenizer: Any, config: ReaderConfig, questions: Sequence[str], passages: Sequence[str]) -> Batch:
    """[bos] prompt+question, passage tokens, [eos]; position 0 is where "no answer" points."""
    prefixes = tokenizer([PROMPT.format(question=" ".join(q.split())) for q in questions], add_special_tokens=False)["input_ids"]
    encoded = tokenizer(list(passages), add_special_tokens=False, return_offsets_mapping=True)
    rows: list[list[int]] = []
    ranges: list[tuple[int, int]] = []
    offsets: list[list[tuple[int, int]]] = []
    for prefix, ids, spans in zip(prefixes, encoded["input_ids"], encoded["offset_mapping"]):
        prefix = prefix[: config.max_question_tokens]
        ids, spans = ids[: config.max_passage_tokens], spans[: config.max_passage_tokens]
        first = 1 + len(prefix)
        rows.append([tokenizer.bos_token_id, *prefix, *ids, tokenizer.eos_token_id])
        ranges.append((first, first + len(ids)))
        offsets.append([(int(s), int(e)) for s, e in spans])
    length = max(len(r) for r in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    input_ids = torch.full((len(rows), length), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for i, row in enumerate(rows):
        input_ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return Batch(input_ids, mask, ranges, offsets)


def best_spans(start: torch.Tensor, end: torch.Tensor, ranges: Sequence[tuple[int, int]], max_answer_tokens: int) -> list[tuple[int, int, float]]:
    """For each row: (first token, last token, best span score minus the no-answer score)."""
    out: list[tuple[int, int, float]] = []
    for row, (first, last) in enumerate(ranges):
        if last <= first:
            out.append((first, first, float("-inf")))
            continue
        s, e = start[row, first:last].float(), end[row, first:last].float()
        scores = s[:, None] + e[None, :]
        n = scores.shape[0]
        i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
        scores = scores.masked_fill((j < i) | (j - i >= max_answer_tokens), float("-inf"))
        flat = int(torch.argmax(scores))
        a, b = divmod(flat, n)
        null = float(start[row, 0] + end[row, 0])
        out.append((first + a, first + b, float(scores[a, b]) - null))
    return out


def span_characters(text: str, offsets: Sequence[tuple[int, int]], first: int, last: int) -> tuple[int, int]:
    """Character offsets of passage tokens first..last, without the space and punctuation around them.

    Sentencepiece offsets include the space before a word, and a span may end on a comma or a
    full stop; the answer shown to people has neither.
    """
    if not offsets:
        return 0, 0
    start, end = offsets[first][0], offsets[last][1]
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1] in ANSWER_TRIM:
        end -= 1
    return start, end


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model: nn.Module, tokenizer: Any, fingerprint: str, path: Path | None = None, sha256_file: Path | None = None) -> "Reader":
        """Verify the file against its pinned sha256, check it was trained for this model, attach it."""
        from safetensors import safe_open

        path = path or READER_FILE
        sha256_file = sha256_file or READER_SHA256_FILE
        if not path.is_file():
            raise ReaderUnavailable(f"The reader file {path} is missing: restore it with `git checkout -- embeddings/trained`, or set search.reader = false.")
        expected = sha256_file.read_text().split()[0] if sha256_file.is_file() else None
        if expected is None or file_sha256(path) != expected:
            raise ReaderUnavailable(
                f"The reader file {path} does not match its sha256 in {sha256_file.name}: restore it (`git checkout -- embeddings/trained`) "
                "or retrain it with `scripts/train-reader`."
            )
        with safe_open(str(path), framework="pt") as handle:
            meta = json.loads(handle.metadata()["seedqa_reader"])
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}
        if meta.get("base_fingerprint") != fingerprint:
            raise ReaderMismatch(
                f"The reader was trained for {meta.get('base_model')}, not the embedding model now loaded, so answers are not read "
                "and the similarity rule decides: set search.reader = false to silence this, or train a reader for this model."
            )
        config = ReaderConfig(**meta["config"])
        return cls.attach(model, tokenizer, config, tensors, meta)

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

    def logits(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        with reading(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            hidden = run_layers(self.model, self.config.exit_layer, input_ids=batch.input_ids, attention_mask=batch.attention_mask)
            return self.head(self.model.norm, hidden)

    def read(self, questions: Sequence[str], passages: Sequence[str]) -> list[Reading]:
        """One Reading per (question, passage) pair, in batches of similar length."""
        out: list[Reading | None] = [None] * len(passages)
        order = sorted(range(len(passages)), key=lambda i: len(passages[i]))
        for lo in range(0, len(order), READ_BATCH):
            idx = order[lo : lo + READ_BATCH]
            for i, reading in zip(idx, self._read_batch([questions[i] for i in idx], [passages[i] for i in idx])):
                out[i] = reading
        return [r for r in out if r is not None]

    def _read_batch(self, questions: list[str], passages: list[str]) -> list[Reading]:
        batch = encode_pairs(self.tokenizer, self.config, questions, passages)
        with self._lock, torch.inference_mode():
            start, end = self.logits(batch)
        out: list[Reading] = []
        spans = best_spans(start, end, batch.passage_range, self.config.max_answer_tokens)
        for text, offsets, (first, _), (a, b, margin) in zip(passages, batch.offsets, batch.passage_range, spans):
            char_start, char_end = span_characters(text, offsets, a - first, b - first)
            out.append(Reading(char_start, char_end, text[char_start:char_end], margin))
        return out


def save(reader: Reader, path: Path, meta: dict[str, Any], sha256_file: Path) -> str:
    """Write the artifact and its pinned sha256; returns the hash."""
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {**meta, "config": asdict(reader.config)}
    save_file(reader.state_tensors(), str(path), metadata={"seedqa_reader": json.dumps(meta, ensure_ascii=False)})
    digest = file_sha256(path)
    sha256_file.write_text(f"{digest}  {path.name}\n")
    return digest


