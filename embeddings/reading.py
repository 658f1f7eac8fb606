"""What every runtime of the reader shares, without torch: the artifact, the joint input, the best span.

The reader runs either on the torch model (embeddings.reader, which also trains it) or as an
exported graph in onnxruntime (embeddings.onnx_reader, which needs no torch at all). Both must
read the same artifact the same way, build the same token rows from a question and a passage,
and pick the same span from the same logits, so those parts live here, once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .provision import ModelUnavailable

# The artifact ships in the repository (small: adapters and a head, never the base model), with
# its sha256 beside the model's own hashes.
READER_FILE = Path(__file__).parent / "trained" / "embeddinggemma-300m-reader.safetensors"
READER_SHA256_FILE = Path(__file__).parent / "hashes" / "embeddinggemma-300m-reader.sha256"
# The joint input, in the style of EmbeddingGemma's own prompts ("task: ... | query: ").
PROMPT = "task: question answering | query: {question} | text: "
# Characters a span may end with in the tokenizer's offsets but an answer should not.
ANSWER_TRIM = " \t\n,;:."
# Windows read in one forward pass: padding stays small when similar lengths go together, and
# 16 windows (~2,500 tokens) keep the activations well under 100 MB.
READ_BATCH = 16


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
    # so a step runs only those layers. 8 (eight layers) against 10: held-out answer F1 up in every
    # question form (vi-noaccent 0.415 -> 0.477), XQuAD test near misses refused at equal shares of
    # answerable refused up for en and vi, the same read time; training a third longer
    # (BENCHMARKS.md, reader history, 2026-12-07).
    adapt_from: int = 8
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
class Pairs:
    """Token ids of question + passage pairs, and where each passage's tokens are."""

    input_ids: np.ndarray  # (n, length) int64, padded with the pad id
    attention_mask: np.ndarray
    passage_range: list[tuple[int, int]]  # token positions [first, last) of the passage
    offsets: list[list[tuple[int, int]]] = field(default_factory=list)  # character span of each passage token


@dataclass(frozen=True)
class SpecialTokens:
    bos: int
    eos: int
    pad: int


# Texts to (token ids, character offsets) without special tokens: the tokenizer of either runtime.
Tokenize = Callable[[list[str]], list[tuple[list[int], list[tuple[int, int]]]]]


def pair_rows(tokenize: Tokenize, special: SpecialTokens, config: ReaderConfig, questions: Sequence[str], passages: Sequence[str]) -> Pairs:
    """[bos] prompt+question, passage tokens, [eos]; position 0 is where "no answer" points."""
    prefixes = tokenize([PROMPT.format(question=" ".join(q.split())) for q in questions])
    encoded = tokenize(list(passages))
    rows: list[list[int]] = []
    ranges: list[tuple[int, int]] = []
    offsets: list[list[tuple[int, int]]] = []
    for (prefix, _), (ids, spans) in zip(prefixes, encoded):
        prefix = prefix[: config.max_question_tokens]
        ids, spans = ids[: config.max_passage_tokens], spans[: config.max_passage_tokens]
        first = 1 + len(prefix)
        rows.append([special.bos, *prefix, *ids, special.eos])
        ranges.append((first, first + len(ids)))
        offsets.append([(int(s), int(e)) for s, e in spans])
    length = max(len(r) for r in rows)
    input_ids = np.full((len(rows), length), special.pad, dtype=np.int64)
    mask = np.zeros((len(rows), length), dtype=np.int64)
    for i, row in enumerate(rows):
        input_ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return Pairs(input_ids, mask, ranges, offsets)


def best_spans(start: np.ndarray, end: np.ndarray, ranges: Sequence[tuple[int, int]], max_answer_tokens: int) -> list[tuple[int, int, float]]:
    """For each row: (first token, last token, best span score minus the no-answer score)."""
    out: list[tuple[int, int, float]] = []
    for row, (first, last) in enumerate(ranges):
        if last <= first:
            out.append((first, first, float("-inf")))
            continue
        s, e = start[row, first:last].astype(np.float32), end[row, first:last].astype(np.float32)
        n = s.shape[0]
        i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        scores = np.where((j < i) | (j - i >= max_answer_tokens), -np.inf, s[:, None] + e[None, :])
        a, b = divmod(int(np.argmax(scores)), n)
        null = float(start[row, 0]) + float(end[row, 0])
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


def readings(passages: Sequence[str], pairs: Pairs, start: np.ndarray, end: np.ndarray, config: ReaderConfig) -> list[Reading]:
    """The best span of each passage as characters of it, with its margin over "no answer"."""
    out: list[Reading] = []
    spans = best_spans(start, end, pairs.passage_range, config.max_answer_tokens)
    for text, offsets, (first, _), (a, b, margin) in zip(passages, pairs.offsets, pairs.passage_range, spans):
        char_start, char_end = span_characters(text, offsets, a - first, b - first)
        out.append(Reading(char_start, char_end, text[char_start:char_end], margin))
    return out


def in_batches(passages: Sequence[str], read_batch: Callable[[list[int]], list[Reading]]) -> list[Reading]:
    """read_batch over groups of similar length (little padding), the results in the passages' order."""
    out: list[Reading | None] = [None] * len(passages)
    order = sorted(range(len(passages)), key=lambda i: len(passages[i]))
    for lo in range(0, len(order), READ_BATCH):
        idx = order[lo : lo + READ_BATCH]
        for i, reading in zip(idx, read_batch(idx)):
            out[i] = reading
    return [r for r in out if r is not None]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Artifact:
    """A reader file that matched its pinned sha256 and was trained for the loaded weights."""

    path: Path
    sha256: str
    config: ReaderConfig
    meta: dict[str, Any]


def open_artifact(fingerprint: str, path: Path | None = None, sha256_file: Path | None = None) -> Artifact:
    """Verify the file against its pinned sha256 and check it was trained for this model (one-sentence errors)."""
    from safetensors import safe_open

    path = path or READER_FILE
    sha256_file = sha256_file or READER_SHA256_FILE
    if not path.is_file():
        raise ReaderUnavailable(f"The reader file {path} is missing: restore it with `git checkout -- embeddings/trained`, or set search.reader = false.")
    expected = sha256_file.read_text().split()[0] if sha256_file.is_file() else None
    digest = file_sha256(path)
    if expected is None or digest != expected:
        raise ReaderUnavailable(
            f"The reader file {path} does not match its sha256 in {sha256_file.name}: restore it (`git checkout -- embeddings/trained`) "
            "or retrain it with `scripts/train-reader`."
        )
    with safe_open(str(path), framework="numpy") as handle:
        meta = json.loads(handle.metadata()["seedqa_reader"])
    if meta.get("base_fingerprint") != fingerprint:
        raise ReaderMismatch(
            f"The reader was trained for {meta.get('base_model')}, not the embedding model now loaded, so answers are not read "
            "and the similarity rule decides: set search.reader = false to silence this, or train a reader for this model."
        )
    return Artifact(path, digest, ReaderConfig(**meta["config"]), meta)
