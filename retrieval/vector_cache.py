"""Vectors by content hash for one model, kept between builds so unchanged text is never re-embedded.

Written as it is produced: every few hundred passages a shard file lands in the cache folder
(written to a temporary name, then renamed, so a shard is either whole or absent). A build
killed at any point, even by kill -9, loses at most the passages embedded since the last shard;
the next build finds the rest and embeds only what is missing. Reading is by shard, into the
caller's arrays, so a 100k-passage build never holds the cache and the index twice.

Layout: `<index>/cache/<model>/<sequence>-<pid>.npz`, each with `keys` and `vectors`. The one-file
cache of earlier versions (`<index>/cache/<model>.npz`) is read too, and replaced at the next
compaction.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np


class VectorCache:
    def __init__(self, index_dir: Path, model_fingerprint: str) -> None:
        stem = hashlib.sha256(model_fingerprint.encode()).hexdigest()[:16]
        self._legacy = index_dir / "cache" / f"{stem}.npz"
        self._folder = index_dir / "cache" / stem
        self._where: dict[str, Path] = {}  # key -> the shard holding it
        self.dimension: int | None = None  # of the cached vectors, when there are any
        for shard in self._shards():
            try:
                with np.load(shard, allow_pickle=False) as data:
                    keys = data["keys"].tolist()
                    # Shards carry their dimension, so a shard of gigabytes is not read for it (the one-file cache did not).
                    self.dimension = int(data["dimension"]) if "dimension" in data.files else int(data["vectors"].shape[1])
            except (OSError, ValueError, KeyError, EOFError, IndexError):
                continue  # a damaged shard only costs re-embedding its passages
            for key in keys:
                self._where[key] = shard
        self._pending_keys: list[str] = []
        self._pending_vectors: list[np.ndarray] = []
        self._sequence = time.time_ns()

    def __contains__(self, key: str) -> bool:
        return key in self._where

    def put(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Keep vectors until the next `flush` writes them to disk (and only then count them as cached)."""
        self._pending_keys.extend(keys)
        self._pending_vectors.append(np.asarray(vectors, dtype=np.float32))

    def flush(self) -> None:
        """Write what was put since the last flush as one shard."""
        if not self._pending_keys:
            return
        shard = self._write_shard(self._pending_keys, np.concatenate(self._pending_vectors))
        for key in self._pending_keys:
            self._where[key] = shard
        self.dimension = int(self._pending_vectors[0].shape[1])
        self._pending_keys, self._pending_vectors = [], []

    def fill(self, rows: dict[str, list[int]], out: np.ndarray) -> None:
        """Copy each key's vector into out[row] for its rows, one shard in memory at a time."""
        self.flush()
        by_shard: dict[Path, list[str]] = {}
        for key in rows:
            by_shard.setdefault(self._where[key], []).append(key)
        for shard, keys in by_shard.items():
            with np.load(shard, allow_pickle=False) as data:
                position = {k: i for i, k in enumerate(data["keys"].tolist())}
                vectors = data["vectors"]
                for key in keys:
                    out[rows[key]] = vectors[position[key]]

    def compact(self, keep: Iterable[str], parts: Sequence[tuple[Sequence[str], np.ndarray]]) -> None:
        """Replace every shard by shards holding only what the current corpus uses (`parts`: keys and their vectors).

        The cache would otherwise grow with every edit. One shard per part, so the index's
        arrays are written as they are, never joined into a copy. The new shards are complete
        on disk before any old one is removed, so a kill in between leaves duplicates, never a gap.
        """
        self.flush()
        wanted = set(keep)
        old = self._shards()
        where: dict[str, Path] = {}
        for part_keys, vectors in parts:
            chosen = [i for i, k in enumerate(part_keys) if k in wanted]
            if not chosen:
                continue
            keys = [part_keys[i] for i in chosen]
            shard = self._write_shard(keys, vectors[chosen] if len(chosen) < len(part_keys) else vectors)
            where.update(dict.fromkeys(keys, shard))
        if not where:
            return
        for path in old + list(self._folder.glob(".*.tmp.npz")):
            path.unlink(missing_ok=True)
        self._where = where

    def _shards(self) -> list[Path]:
        # Names starting with a dot are shards a killed build was still writing.
        shards = sorted(p for p in self._folder.glob("*.npz") if not p.name.startswith(".")) if self._folder.is_dir() else []
        return ([self._legacy] if self._legacy.is_file() else []) + shards

    def _write_shard(self, keys: Sequence[str], vectors: np.ndarray) -> Path:
        self._folder.mkdir(parents=True, exist_ok=True)
        self._sequence += 1
        final = self._folder / f"{self._sequence:020d}-{os.getpid()}.npz"
        tmp = self._folder / f".{final.stem}.tmp.npz"
        try:
            with open(tmp, "wb") as fh:
                np.savez(fh, keys=np.array(list(keys)), vectors=np.asarray(vectors, dtype=np.float32), dimension=np.array(vectors.shape[1]))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        return final
