"""The index on disk: FAISS vectors, passages as JSON, and a manifest that says what built them.

Layout of the index folder:
    CURRENT                  name of the generation in use, replaced atomically
    generations/<name>/      manifest.json, chunks.jsonl, articles.json, passages.faiss, sentences.npy
    cache/<model>/*.npz      vectors by content hash, so unchanged passages are never re-embedded (retrieval.vector_cache)
    placements/<model>/*.npz sentences embedded apart at read time to place the reader's window (retrieval.placements)

A rebuild writes a new generation and only then points CURRENT at it (os.replace is atomic),
so a rebuild killed at any moment leaves the previous index in use. Nothing is pickled: JSON,
NumPy arrays loaded with allow_pickle=False, and FAISS's own format.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import faiss
import numpy as np

from . import ann
from .articles import Article, Paragraph
from .chunking import Chunk, Span

# Bump whenever the files' layout OR what chunking produces from the same text changes (for
# example the sentence splitter): the manifest compares chunker settings, not chunker code, so
# this number is what makes `seedqa index` rebuild an index cut by older code.
# 2: the sentence splitter no longer treats lower-case accented letters as sentence starts.
FORMAT_VERSION = 2
CURRENT = "CURRENT"
GENERATIONS = "generations"


class IndexProblem(Exception):
    """Base for index problems a user can fix; the message is one sentence saying how."""


class IndexMissing(IndexProblem):
    pass


class IndexDamaged(IndexProblem):
    pass


class IndexMismatch(IndexProblem):
    pass


@dataclass(frozen=True)
class Manifest:
    format_version: int
    model_id: str
    model_fingerprint: str
    dimension: int
    chunker: dict[str, Any]
    corpus_hash: str
    articles: dict[str, str]  # source file -> sha256 of its cleaned text
    chunk_count: int
    sentence_count: int
    built_at: str
    versions: dict[str, str]
    # What holds the passage vectors (retrieval.ann's plan: exact, HNSW or IVF and their settings).
    # Absent from manifests written before it existed, which were all exact.
    vector_index: dict[str, Any] = field(default_factory=lambda: dict(ann.EXACT))
    # How the sentence vectors were made (retrieval.build.SentenceVectors). Absent from manifests
    # written before sentences were derived from their passage's pass, which embedded them apart.
    sentence_vectors: str = "separate"

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Manifest":
        data = json.loads(text)
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


# Writes the sentence vectors as a float32 .npy at the path given, in the index's sentence order;
# how a large build streams them to disk instead of handing write_generation an array.
SentenceWriter = Callable[[Path], None]


@dataclass
class StoredIndex:
    manifest: Manifest
    articles: dict[str, Article]
    chunks: list[Chunk]
    passages: faiss.Index
    sentence_vectors: np.ndarray  # one row per sentence, chunk by chunk, in order; memory-mapped, read-only
    sentence_owner: np.ndarray  # row -> chunk position
    folder: Path  # the generation: <index>/generations/<name>

    @property
    def index_dir(self) -> Path:
        """The index folder the generation belongs to (where its caches live)."""
        return self.folder.parent.parent


def corpus_hash(articles: Iterable[Article]) -> str:
    digest = hashlib.sha256()
    for article in sorted(articles, key=lambda a: a.source_file):
        # The URL only when there is one, so indexes of articles without URLs keep their hash.
        url = f"\x00{article.url}" if article.url else ""
        digest.update(f"{article.source_file}\x00{article.title}\x00{article.date}{url}\x00{article.text}\x01".encode())
    return digest.hexdigest()


def article_hash(article: Article) -> str:
    return hashlib.sha256(f"{article.title}\x00{article.date}\x00{article.text}".encode()).hexdigest()


def current_generation(index_dir: Path) -> Path | None:
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    folder = index_dir / GENERATIONS / name
    return folder if name and folder.is_dir() else None


def read_manifest(index_dir: Path) -> Manifest | None:
    folder = current_generation(index_dir)
    if folder is None:
        return None
    try:
        return Manifest.from_json((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_generation(
    index_dir: Path,
    manifest: Manifest,
    articles: list[Article],
    chunks: list[Chunk],
    passage_vectors: np.ndarray,
    sentence_vectors: np.ndarray | SentenceWriter,
) -> Path:
    """Write a complete new generation, switch CURRENT to it, then remove older ones."""
    generations = index_dir / GENERATIONS
    generations.mkdir(parents=True, exist_ok=True)
    with _writer_lock(index_dir):
        # Under the lock no other build is live, so any staging folder is a killed build's leftover.
        for leftover in generations.glob(".building-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=".building-", dir=generations))
        try:
            index = ann.build(manifest.vector_index, passage_vectors, manifest.dimension)
            faiss.write_index(index, str(staging / "passages.faiss"))
            del index  # an approximate index of a large corpus is gigabytes; free it before the rest is written
            if callable(sentence_vectors):
                sentence_vectors(staging / "sentences.npy")
            else:
                with open(staging / "sentences.npy", "wb") as fh:
                    np.save(fh, np.ascontiguousarray(sentence_vectors, dtype=np.float32), allow_pickle=False)
                    fh.flush()
                    os.fsync(fh.fileno())
            _write_text(staging / "chunks.jsonl", "".join(json.dumps(_chunk_record(c), ensure_ascii=False) + "\n" for c in chunks))
            _write_text(staging / "articles.json", json.dumps([_article_record(a) for a in articles], ensure_ascii=False))
            _write_text(staging / "manifest.json", manifest.to_json())  # written last: its presence marks a complete generation
            name = f"{manifest.built_at.replace(':', '').replace('-', '')}-{manifest.corpus_hash[:8]}-{os.getpid()}"
            final = generations / name
            os.replace(staging, final)
            _fsync_dir(generations)
            _atomic_write_text(index_dir / CURRENT, name + "\n")
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        for old in generations.iterdir():
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)
        return final


@contextlib.contextmanager
def _writer_lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time (two `seedqa index` runs would otherwise delete each other's work).
    flock is released by the kernel when the process dies, so a killed build never leaves it held."""
    with open(index_dir / ".lock", "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def load(index_dir: Path) -> StoredIndex:
    folder = current_generation(index_dir)
    if folder is None:
        raise IndexMissing(f"No index at {index_dir}: run `seedqa index` to build it.")
    try:
        manifest = Manifest.from_json((folder / "manifest.json").read_text(encoding="utf-8"))
        if manifest.format_version != FORMAT_VERSION:
            raise IndexMismatch(f"The index at {index_dir} was written by another version of seedqa: run `seedqa index` to rebuild it.")
        articles = {a.id: a for a in (_article_from(r) for r in json.loads((folder / "articles.json").read_text(encoding="utf-8")))}
        with open(folder / "chunks.jsonl", encoding="utf-8") as fh:
            chunks = [_chunk_from(json.loads(line)) for line in fh if line.strip()]
        passages = ann.prepare(faiss.read_index(str(folder / "passages.faiss")), manifest.vector_index)
        # Mapped, not read: a search reads the rows of its few candidates, and a 100k-passage index
        # holds 1.9 GB of sentence vectors. A rebuild may delete the file; the mapping keeps it readable.
        sentence_vectors = np.load(folder / "sentences.npy", mmap_mode="r", allow_pickle=False)
    except IndexProblem:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexDamaged(f"The index at {index_dir} is damaged ({type(exc).__name__}): run `seedqa index` to rebuild it.") from exc
    owner = np.repeat(np.arange(len(chunks)), [len(c.sentences) for c in chunks])
    if (
        passages.ntotal != len(chunks)
        or passages.d != manifest.dimension
        or len(chunks) != manifest.chunk_count
        or sentence_vectors.shape != (len(owner), manifest.dimension)
    ):
        raise IndexDamaged(f"The index at {index_dir} is incomplete (its parts disagree): run `seedqa index` to rebuild it.")
    return StoredIndex(manifest, articles, chunks, passages, sentence_vectors, owner, folder)


def _chunk_record(chunk: Chunk) -> dict[str, Any]:
    record = asdict(chunk)
    record["sentences"] = [[s.start, s.end] for s in chunk.sentences]
    return record


def _chunk_from(record: dict[str, Any]) -> Chunk:
    record = dict(record)
    record["sentences"] = tuple(Span(s, e) for s, e in record["sentences"])
    return Chunk(**record)


def _article_record(article: Article) -> dict[str, Any]:
    record = asdict(article)
    record["paragraphs"] = [asdict(p) for p in article.paragraphs]
    return record


def _article_from(record: dict[str, Any]) -> Article:
    record = dict(record)
    record["paragraphs"] = tuple(Paragraph(**p) for p in record["paragraphs"])
    return Article(**record)


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _write_text(tmp, text)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
