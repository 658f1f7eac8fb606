"""Vectors by content hash for one model, kept between builds so unchanged text is never re-embedded.

Written as it is produced: every few hundred passages a shard file lands in the cache folder
(written to a temporary name, then renamed, so a shard is either whole or absent). A build
killed at any point, even by kill -9, loses at most the passages embedded since the last shard;
the next build finds the rest and embeds only what is missing. Reading is by shard, into the
caller's array or straight into the index's file, so a 100k-passage build never holds the cache
and the index twice, nor its 1.9 GB of sentence vectors at all.

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

# Vectors per shard when the cache is compacted (96 MB of float32 at 768 dimensions): large enough
# that a 100k-passage corpus (about 720k passage and sentence vectors) lives in ~23 files, small
# enough that compaction holds only two shards' worth in memory.
COMPACT_ROWS = 32_768

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
        for shard, keys in self._by_shard(rows).items():
            with np.load(shard, allow_pickle=False) as data:
                position = {k: i for i, k in enumerate(data["keys"].tolist())}
                vectors = data["vectors"]
                for key in keys:
                    out[rows[key]] = vectors[position[key]]

    def write_npy(self, rows: dict[str, list[int]], path: Path, count: int, dimension: int) -> None:
        """Write a float32 .npy of `count` rows, each key's vector at its rows, straight to disk.

        The sentence vectors of a 100k-passage corpus are 1.9 GB; filled into an array they made up
        half of the build's 3.8 GB peak (BENCHMARKS.md, build a large archive). Positional writes
        go through the page cache, which the kernel can flush and drop, so memory holds one shard
        at a time. Runs of rows that are consecutive in both the shard and the file (a passage's
        sentences) go in one write.
        """
        by_shard = self._by_shard(rows)
        row_bytes = dimension * 4
        with open(path, "wb") as fh:
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False, "shape": (count, dimension)}
            np.lib.format.write_array_header_1_0(fh, header)
            start = fh.tell()
            fh.truncate(start + count * row_bytes)
            fh.flush()
            for shard, keys in by_shard.items():
                with np.load(shard, allow_pickle=False) as data:
                    position = {k: i for i, k in enumerate(data["keys"].tolist())}
                    vectors = np.ascontiguousarray(data["vectors"], dtype="<f4")
                if vectors.shape[1] != dimension:
                    raise ValueError(f"cached vectors have {vectors.shape[1]} dimensions, not {dimension}")
                pairs = sorted((row, position[key]) for key in keys for row in rows[key])
                run = 0
                for i in range(1, len(pairs) + 1):
                    if i < len(pairs) and pairs[i][0] == pairs[i - 1][0] + 1 and pairs[i][1] == pairs[i - 1][1] + 1:
                        continue
                    row, first = pairs[run]
                    os.pwrite(fh.fileno(), vectors[first : first + i - run].tobytes(), start + row * row_bytes)
                    run = i
            os.fsync(fh.fileno())

    def compact(self, keep: Iterable[str]) -> None:
        """Drop what the current corpus no longer uses and fold small shards together, one shard in memory at a time.

        The cache would otherwise grow with every edit, and a large build leaves hundreds of
        small shards. A shard of between half and all of COMPACT_ROWS that holds only wanted keys
        (none already kept) stays as it is, so an edit to a large corpus rewrites only what
        changed; larger ones (the one-file caches of earlier versions) are split, so no later
        read holds more than one shard's worth. New shards are complete on disk before any old
        one is removed, so a kill in between leaves duplicates, never a gap.
        """
        self.flush()
        wanted = set(keep)
        old = self._shards()
        where: dict[str, Path] = {}
        rewrite: list[Path] = []
        for shard in old:
            keys = self._keys(shard)
            if keys is not None and COMPACT_ROWS // 2 <= len(keys) <= COMPACT_ROWS and shard != self._legacy and all(k in wanted and k not in where for k in keys):
                where.update(dict.fromkeys(keys, shard))
            else:
                rewrite.append(shard)
        if not rewrite:
            return
        kept = set(where.values())
        pending_keys: list[str] = []
        pending: list[np.ndarray] = []

        def write() -> None:
            if pending_keys:
                shard = self._write_shard(pending_keys, np.concatenate(pending))
                where.update(dict.fromkeys(pending_keys, shard))
                pending_keys.clear()
                pending.clear()

        queued: set[str] = set()
        for shard in rewrite:
            try:
                with np.load(shard, allow_pickle=False) as data:
                    keys, vectors = data["keys"].tolist(), data["vectors"]
            except (OSError, ValueError, KeyError, EOFError, IndexError):
                continue  # a damaged shard: its passages are embedded again when next needed
            chosen: list[int] = []
            for i, key in enumerate(keys):
                if key in wanted and key not in where and key not in queued:
                    queued.add(key)
                    chosen.append(i)
            while chosen:
                room = COMPACT_ROWS - len(pending_keys)
                part, chosen = chosen[:room], chosen[room:]
                pending_keys.extend(keys[i] for i in part)
                pending.append(np.asarray(vectors[part], dtype=np.float32))
                if len(pending_keys) >= COMPACT_ROWS:
                    write()
        write()
        for path in old + list(self._folder.glob(".*.tmp.npz")):
            if path not in kept:
                path.unlink(missing_ok=True)
        self._where = where

    def _by_shard(self, rows: dict[str, list[int]]) -> dict[Path, list[str]]:
        """The keys wanted, grouped by the shard holding them (after writing out what is pending)."""
        self.flush()
        by_shard: dict[Path, list[str]] = {}
        for key in rows:
            by_shard.setdefault(self._where[key], []).append(key)
        return by_shard

    def _keys(self, shard: Path) -> list[str] | None:
        try:
            with np.load(shard, allow_pickle=False) as data:
                return data["keys"].tolist()
        except (OSError, ValueError, KeyError, EOFError, IndexError):
            return None

    def _shards(self) -> list[Path]:
        # Names starting with a dot are shards a killed build was still writing.
        shards = sorted(p for p in self._folder.glob("*.npz") if not p.name.startswith(".")) if self._folder.is_dir() else []
        return ([self._legacy] if self._legacy.is_file() else []) + shards

    def _write_shard(self, keys: Sequence[str], vectors: np.ndarray) -> Path:
        self._sequence += 1
        arrays = {"keys": np.array(list(keys)), "vectors": np.asarray(vectors, dtype=np.float32), "dimension": np.array(vectors.shape[1])}
        return write_shard(self._folder, self._sequence, arrays, durable=True)


def write_shard(folder: Path, sequence: int, arrays: dict[str, np.ndarray], *, durable: bool) -> Path:
    """Write `<folder>/<sequence>-<pid>.npz` whole or not at all: to a dot-name first, then renamed.

    Several processes may write one folder (a build and a bot, two `seedqa ask`); the pid keeps
    their names apart and readers skip dot-names. `durable` syncs the file to disk before the
    rename, for what costs minutes to make again (embedded passages), not for a cache of one pass.
    """
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{sequence:020d}-{os.getpid()}.npz"
    tmp = folder / f".{final.stem}.tmp.npz"
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final
