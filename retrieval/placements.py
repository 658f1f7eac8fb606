"""Sentence vectors embedded apart for placing the reader's window, kept on disk beside the index.

An index with derived sentence vectors places the reader's window in a passage longer than one
window by embedding that passage's sentences apart when a question first reads it (Searcher.
_reading_centre): one more pass of the model, which doubles that question's time (BENCHMARKS.md,
reader: p95 461-501 ms with every placement new, 177-221 ms with placements kept, on a Zen 5
EPYC). A running bot keeps them in memory; kept here as well, they survive a restart, and every
`seedqa ask` (a new process each time) finds the ones earlier questions paid for.

A vector embedded apart depends only on the sentence, its title and the model, so it is keyed
as the build keys such vectors (`content_key`) and stays valid across rebuilds; the folder is
per model. Layout: `<index>/placements/<model>/<sequence>-<pid>.npz`, each with `keys` and
`vectors`, written to a temporary name and renamed, so a shard is whole or absent and processes
sharing the folder (the bot, `seedqa ask`) never see each other's half-written files. It is a
cache: a shard that cannot be read or written costs only the pass it would have saved.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .vector_cache import write_shard

log = logging.getLogger(__name__)

# Shards a folder may hold before they are folded into one (by the next process to read them, or
# by the one writing them): one is written per passage placed, so a busy bot would otherwise leave
# thousands of small files.
MERGE_SHARDS = 64
# Vectors kept when shards are folded, the newest: 32,768 is ~100 MB of float32 at 768 dimensions,
# about what the in-memory placement cache holds at its size (4,096 passages of ~8 sentences;
# retrieval/search.py). It also bounds the store's memory in a long-running bot.
MOST_VECTORS = 32_768


class PlacementStore:
    """The placement vectors of one model under one index folder, read on first use."""

    def __init__(self, index_dir: Path, model_fingerprint: str) -> None:
        self._folder = index_dir / "placements" / hashlib.sha256(model_fingerprint.encode()).hexdigest()[:16]
        self._vectors: dict[str, np.ndarray] | None = None
        self._files: list[Path] = []  # the shards holding them: read at first use, or written since
        self._lock = threading.Lock()
        self._sequence = time.time_ns()
        self._warned = False

    def get(self, keys: Sequence[str]) -> np.ndarray | None:
        """The vectors of all the keys, one row each; None unless every one is kept."""
        with self._lock:
            vectors = self._loaded()
            rows = [vectors.get(key) for key in keys]
        if not rows or any(row is None for row in rows):
            return None
        return np.stack(rows)

    def put(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Keep a passage's vectors, in memory and in a new shard on disk."""
        vectors = np.asarray(vectors, dtype=np.float32)
        with self._lock:
            loaded = self._loaded()
            for key, row in zip(keys, vectors):
                loaded.pop(key, None)  # newest last, so folding keeps it
                loaded[key] = row
            try:
                self._files.append(self._write(list(keys), vectors))
                if len(self._files) > MERGE_SHARDS:  # a bot running for weeks: fold what it wrote too
                    self._fold()
            except OSError as exc:  # a read-only or full disk: placement still works, only not across restarts
                if not self._warned:
                    log.warning("Could not keep sentence placements in %s (%s); they are embedded again after a restart.", self._folder, exc)
                    self._warned = True

    def _loaded(self) -> dict[str, np.ndarray]:
        """Every kept vector (read once; shards folded when there are many). The caller holds the lock."""
        if self._vectors is not None:
            return self._vectors
        self._vectors = {}
        for shard in self._shards():
            try:
                with np.load(shard, allow_pickle=False) as data:
                    self._vectors.update(zip(data["keys"].tolist(), np.asarray(data["vectors"], dtype=np.float32)))
                self._files.append(shard)
            except (OSError, ValueError, KeyError, EOFError, IndexError):
                continue  # damaged or removed by another process folding them: only costs re-embedding
        if len(self._files) > MERGE_SHARDS:
            try:
                self._fold()
            except OSError:
                pass
        return self._vectors

    def _fold(self) -> None:
        """Replace the shards this process knows by one of the newest MOST_VECTORS, in memory too. The caller holds the lock.

        Shards another process wrote since are left alone; the next process to read them folds them.
        """
        assert self._vectors is not None
        keys = list(self._vectors)[-MOST_VECTORS:]  # dicts keep insertion order: oldest first
        self._vectors = {key: self._vectors[key] for key in keys}
        folded = self._write(keys, np.stack([self._vectors[key] for key in keys]))
        for shard in self._files:
            shard.unlink(missing_ok=True)
        self._files = [folded]

    def _shards(self) -> list[Path]:
        # Names starting with a dot are shards still being written.
        return sorted(p for p in self._folder.glob("*.npz") if not p.name.startswith(".")) if self._folder.is_dir() else []

    def _write(self, keys: list[str], vectors: np.ndarray) -> Path:
        self._sequence += 1
        return write_shard(self._folder, self._sequence, {"keys": np.array(keys), "vectors": vectors}, durable=False)
