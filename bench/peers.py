"""The systems seedqa is compared with, each over the same documents and, where it embeds, the same model.

- plain dense: the model's query and document prompts, one vector per document, exact inner
  product in FAISS. This is also the "bare model + FAISS" loop of the speed benchmark.
- BM25: bm25s with its defaults over diacritic-folded tokens (what a lexical baseline would do
  for Vietnamese typed with or without accents).
- txtai: `txtai.Embeddings` in hybrid mode (its BM25 plus dense, its own fusion) loading the
  same model folder through sentence-transformers, so it gets the same prompts; installed with
  the `bench` extra, not needed by seedqa itself.

Each exposes `search(question, k) -> list of document ids, best first`.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Protocol, Sequence

import bm25s
import faiss
import numpy as np

from embeddings.encoder import Encoder
from retrieval.folding import folded_tokens

CACHE = Path(__file__).resolve().parent.parent / ".seedqa" / "bench"


class Peer(Protocol):
    name: str

    def search(self, question: str, k: int) -> list[str]: ...


def _key(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


class PlainDense:
    name = "plain dense (same model, FAISS exact)"

    def __init__(self, encoder: Encoder, ids: Sequence[str], texts: Sequence[str]) -> None:
        self.encoder, self.ids = encoder, list(ids)
        cached = CACHE / f"plain-{_key(encoder.fingerprint, *texts)}.npy"
        if cached.exists():
            vectors = np.load(cached, allow_pickle=False)
        else:
            vectors = encoder.encode_documents(list(texts), [None] * len(texts))
            cached.parent.mkdir(parents=True, exist_ok=True)
            np.save(cached, vectors, allow_pickle=False)
        self.index = faiss.IndexFlatIP(vectors.shape[1])
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    def search(self, question: str, k: int) -> list[str]:
        _, rows = self.index.search(self.encoder.encode_queries([question]), k)
        return [self.ids[i] for i in rows[0] if i >= 0]

    def search_vector(self, query: np.ndarray, k: int) -> list[str]:
        _, rows = self.index.search(query[None, :], k)
        return [self.ids[i] for i in rows[0] if i >= 0]


class BM25:
    name = "BM25 (bm25s, folded tokens)"

    def __init__(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        self.ids = list(ids)
        self.index = bm25s.BM25()
        self.index.index([folded_tokens(t) for t in texts], show_progress=False)
        self.vocabulary = {t for text in texts for t in folded_tokens(text)}

    def search(self, question: str, k: int) -> list[str]:
        terms = [t for t in folded_tokens(question) if t in self.vocabulary]
        scores = self.index.get_scores(terms) if terms else np.zeros(len(self.ids))
        return [self.ids[i] for i in np.argsort(-scores, kind="stable")[:k] if scores[i] > 0]


class Txtai:
    name = "txtai hybrid (same model)"

    def __init__(self, model_folder: str, fingerprint: str, ids: Sequence[str], texts: Sequence[str]) -> None:
        from txtai import Embeddings  # the bench extra

        self.ids = list(ids)
        # Defaults otherwise: txtai's own BM25 settings and hybrid weights, as a user would get them.
        self.config = {"path": model_folder, "method": "sentence-transformers", "hybrid": True, "content": False, "gpu": False}
        self.embeddings = Embeddings(dict(self.config))
        cached = CACHE / f"txtai-{_key(fingerprint, *ids, *texts)}"
        if cached.is_dir():
            self.embeddings.load(str(cached))
        else:
            self.embeddings.index([(i, text, None) for i, text in zip(ids, texts)])
            cached.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=cached.parent))  # renamed into place only once complete
            self.embeddings.save(str(staging))
            staging.rename(cached)

    def index_seconds(self, texts: Sequence[str]) -> float:
        """Time txtai takes to index these texts from scratch (nothing cached), model already loaded."""
        import time

        from txtai import Embeddings

        fresh = Embeddings(dict(self.config))
        fresh.index([("warm", "x", None)])  # loads the model, which is not indexing time
        started = time.perf_counter()
        fresh.index([(str(i), text, None) for i, text in enumerate(texts)])
        return time.perf_counter() - started

    def search(self, question: str, k: int) -> list[str]:
        return [str(i) for i, _ in self.embeddings.search(question, k)]
