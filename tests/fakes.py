"""A tiny stand-in for the embedding model, so retrieval can be tested in milliseconds.

Vectors are signed, hashed bags of diacritic-folded words in 256 buckets (64 let an English
question collide its way up to the abstention threshold): texts sharing words point the same
way and unrelated texts are near-orthogonal, enough for ranking and abstention to behave as
they do with a real model. Calls are recorded so tests can prove work was skipped.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from embeddings.encoder import encode_sentences_apart
from retrieval.build import BuildReport, build_index
from retrieval.chunking import ChunkerSettings
from retrieval.folding import folded_tokens


def count_words(text: str) -> int:
    """Whitespace words: a token counter whose answers are easy to check by eye."""
    return len(text.split())


def count_pieces(text: str) -> int:
    """Like a subword tokenizer, a long "word" costs several tokens (one per 5 characters)."""
    return sum(math.ceil(len(word) / 5) for word in text.split())


class FakeEncoder:
    """Implements embeddings.encoder.Encoder without torch."""

    def __init__(self, model_id: str = "fake/hashed-bow", fingerprint: str = "fake-fp-1", dimension: int = 256) -> None:
        self._model_id, self._fingerprint, self._dimension = model_id, fingerprint, dimension
        self.documents: list[str] = []  # every document text encoded, in order
        self.queries: list[str] = []
        self.query_batches: list[list[str]] = []  # each encode_queries call's texts

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    @property
    def dimension(self) -> int:
        return self._dimension

    def count_tokens(self, text: str) -> int:
        return count_words(text)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries.extend(texts)
        self.query_batches.append(list(texts))
        return self._encode(texts)

    def encode_documents(self, texts: Sequence[str], titles: Sequence[str | None]) -> np.ndarray:
        assert len(texts) == len(titles), "one title per document"
        self.documents.extend(texts)
        return self._encode(texts)

    def encode_passages(self, texts: Sequence[str], titles: Sequence[str | None], sentences: Sequence[Sequence[tuple[int, int]]]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Bag-of-words vectors have no context to derive from: each sentence is encoded as a document."""
        return encode_sentences_apart(self, texts, titles, sentences)

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in folded_tokens(text):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[row, h % self._dimension] += 1.0 if (h >> 40) & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm:
                out[row] /= norm
        return out


SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def build(articles: Path, index_dir: Path, encoder: FakeEncoder, chunker: ChunkerSettings | None = None, **options: Any) -> BuildReport:
    """build_index as `seedqa index` calls it, with the fake model in place of the real one."""
    return build_index(
        articles_folder=articles,
        index_dir=index_dir,
        chunker=chunker or ChunkerSettings(),
        model_id=encoder.model_id,
        model_fingerprint=encoder.fingerprint,
        count_tokens=count_words,
        load_encoder=options.pop("load_encoder", lambda: encoder),
        # The one-pass path (what a Ray build uses); the default, sentences embedded apart, is
        # the same for a bag-of-words fake and runs with the real model in tests/test_real_model.py.
        sentence_kind=options.pop("sentence_kind", "derived"),
        **options,
    )


@dataclass
class FakeModel:
    """What retrieval.engine finds "installed" once install_fake_model has replaced the real one."""

    fingerprint: str = "fake-fp-1"
    dimension: int = 256
    loads: int = 0


def install_fake_model(monkeypatch: Any) -> FakeModel:
    """Route the engine's model resolution, loading and token counting to the fake, never to disk or network."""
    from retrieval import engine

    model = FakeModel()

    def resolve_model(name: str, cache_dir: Path, *, progress: bool = True) -> tuple[str, str]:
        return name, model.fingerprint

    def load_encoder(embeddings: Any, source: str, fingerprint: str, *, reader: bool = False) -> FakeEncoder:
        model.loads += 1
        return FakeEncoder(model_id=embeddings.model, fingerprint=fingerprint, dimension=model.dimension)

    monkeypatch.setattr(engine, "resolve_model", resolve_model)
    monkeypatch.setattr(engine, "load_encoder", load_encoder)
    monkeypatch.setattr(engine, "load_token_counter", lambda source: count_words)
    return model


@dataclass(frozen=True)
class FakeReading:
    start: int
    end: int
    text: str
    margin: float


class FakeReader:
    """Implements retrieval.search.PassageReader without a model: it "finds" the answers it is told.

    For a question containing one of `answers`' keys (folded), a passage holding that key's
    answer yields the answer's span with margin +5; anything else yields "no answer" (-40, below any threshold). Calls
    are recorded, so tests can check what was read and how it was batched.
    """

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.calls: list[list[tuple[str, str]]] = []

    def read(self, questions: Sequence[str], passages: Sequence[str]) -> list[FakeReading]:
        self.calls.append(list(zip(questions, passages)))
        out = []
        for question, passage in zip(questions, passages):
            found = next((a for key, a in self.answers.items() if " ".join(folded_tokens(key)) in " ".join(folded_tokens(question)) and a in passage), None)
            if found is None:
                out.append(FakeReading(0, 0, "", -40.0))
            else:
                at = passage.index(found)
                out.append(FakeReading(at, at + len(found), found, 5.0))
        return out
