"""`seedqa index`: articles to a new index generation, embedding only what changed.

Embedding is the only slow step (about 5 passages a second on two cores), so everything before
it is cheap and decides whether it is needed: when the articles, the model and the chunker are
all as the current manifest records, the model is not even loaded.
"""

from __future__ import annotations

import logging
from functools import partial
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from collections.abc import Iterable, Iterator
from typing import Callable, Protocol

import numpy as np

from embeddings.encoder import Encoder, encode_sentences_apart
from embeddings.tokens import TokenCounter

from . import ann
from .articles import Article, load_folder
from .chunking import Chunk, ChunkerSettings, chunk_article, content_key
from .store import FORMAT_VERSION, Manifest, article_hash, corpus_hash, read_manifest, write_generation
from .settings import SentenceVectors
from .vector_cache import VectorCache

log = logging.getLogger(__name__)

# Passages per model call. The encoder sorts them by length, and so does the build (the
# shortest first), so a batch pads little; 32 keeps the progress bar moving every few seconds.
BATCH_PASSAGES = 32
# Passages per cache shard: a build killed by kill -9 loses at most this many (a minute or two of
# work on two cores); a 100k-passage build writes ~400 shards, folded into two when it finishes.
SHARD_PASSAGES = 256

ProgressFactory = Callable[[int, str], "Progress"]


class Progress:
    """Where a long step reports how far it got; the CLI plugs a progress bar in."""

    def advance(self, n: int) -> None:  # pragma: no cover - trivial default
        pass

    def close(self) -> None:  # pragma: no cover - trivial default
        pass


class NoArticles(Exception):
    """The articles folder is missing or holds nothing indexable; the message says which folder."""


@dataclass(frozen=True)
class BuildReport:
    articles: int
    chunks: int
    sentences: int
    embedded: int  # texts that had to go through the model
    reused: int  # texts whose vectors came from the cache
    up_to_date: bool
    folder: Path | None


def load_articles(folder: Path) -> list[Article]:
    if not folder.is_dir():
        raise NoArticles(f"The articles folder {folder} does not exist: set articles.folder in config.toml or SEEDQA_ARTICLES__FOLDER.")
    articles = load_folder(folder)
    if not articles:
        raise NoArticles(f"No readable *.txt or *.md articles in {folder}: add some, then run `seedqa index` again.")
    return articles


def chunk_corpus(articles: list[Article], chunker: ChunkerSettings, count_tokens: TokenCounter) -> list[Chunk]:
    return [chunk for article in articles for chunk in chunk_article(article, chunker, count_tokens)]


def build_index(
    *,
    articles_folder: Path,
    index_dir: Path,
    chunker: ChunkerSettings,
    model_id: str,
    model_fingerprint: str,
    count_tokens: TokenCounter,
    load_encoder: Callable[[], Encoder],
    progress: ProgressFactory | None = None,
    force: bool = False,
    vector_index: ann.VectorIndex = "auto",
    sentence_kind: SentenceVectors = "separate",
    cluster: Cluster | None = None,
) -> BuildReport:
    articles = load_articles(articles_folder)
    chunks = chunk_corpus(articles, chunker, count_tokens)
    plan = ann.choose(vector_index, len(chunks))
    corpus = corpus_hash(articles)
    chunker_record = chunker.model_dump(mode="json", include=set(ChunkerSettings.model_fields))
    current = read_manifest(index_dir)
    sentence_count = sum(len(c.sentences) for c in chunks)
    if (
        not force
        and current is not None
        and current.format_version == FORMAT_VERSION
        and current.model_id == model_id
        and current.model_fingerprint == model_fingerprint
        and current.chunker == chunker_record
        and current.corpus_hash == corpus
        and current.vector_index == plan  # another index type (or its settings) is rebuilt from cached vectors
        and current.sentence_vectors == sentence_kind
    ):
        return BuildReport(len(articles), len(chunks), sentence_count, 0, 0, True, None)

    cache = VectorCache(index_dir, model_fingerprint)
    derived = sentence_kind == "derived"
    sentence_keys = [[*_sentence_keys(chunk, derived)] for chunk in chunks]
    todo: dict[str, int] = {}  # passage key -> a chunk with that content, for passages not fully cached
    for i, chunk in enumerate(chunks):
        if chunk.content_hash not in todo and (chunk.content_hash not in cache or any(k not in cache for k in sentence_keys[i])):
            todo[chunk.content_hash] = i
    passages = len({c.content_hash for c in chunks})

    encoder: Encoder | None = None
    if todo:
        pending = [chunks[i] for i in todo.values()], [sentence_keys[i] for i in todo.values()]
        if cluster is not None:
            if not derived:
                raise ValueError("A Ray build derives sentence vectors from their passages: set index.sentence_vectors = \"derived\" to build on Ray.")
            _embed(lambda texts, titles, spans: cluster.embed(texts, titles, spans, batch=BATCH_PASSAGES), *pending, cache, progress)
        else:
            encoder = load_encoder()
            _embed(partial(_embed_here, encoder, derived=derived), *pending, cache, progress)
    dimension = encoder.dimension if encoder is not None else int(cache.dimension or 0)
    del encoder  # the model (1.3 GB) is freed before the index's arrays are filled

    # The passage vectors (the ANN index is built from them) are filled from the cache one shard at
    # a time; the sentence vectors, five times as many, go from the cache straight to the index's file.
    passage_vectors = np.zeros((len(chunks), dimension), np.float32)
    cache.fill(_rows(c.content_hash for c in chunks), passage_vectors)
    flat_keys = [k for keys in sentence_keys for k in keys]
    del sentence_keys
    sentence_rows = _rows(flat_keys)
    write_sentences = lambda path: cache.write_npy(sentence_rows, path, len(flat_keys), dimension)  # noqa: E731
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model_id=model_id,
        model_fingerprint=model_fingerprint,
        dimension=dimension,
        chunker=chunker_record,
        corpus_hash=corpus,
        articles={a.source_file: article_hash(a) for a in articles},
        chunk_count=len(chunks),
        sentence_count=len(flat_keys),
        built_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        versions=_versions(),
        vector_index=plan,
        sentence_vectors=sentence_kind,
    )
    folder = write_generation(index_dir, manifest, articles, chunks, passage_vectors, write_sentences)
    del passage_vectors, sentence_rows
    cache.compact([c.content_hash for c in chunks] + flat_keys)
    return BuildReport(len(articles), len(chunks), len(flat_keys), len(todo), passages - len(todo), False, folder)


def _sentence_keys(chunk: Chunk, derived: bool) -> list[str]:
    """Cache keys of a passage's sentence vectors.

    A derived vector depends on the whole passage (its tokens were read in context), so it is
    keyed by the passage and the sentence's place in it; a separately embedded one depends only
    on the sentence and the title, and is shared by every passage that holds the sentence.
    """
    if derived:
        return [f"{chunk.content_hash}@{s.start}-{s.end}" for s in chunk.sentences]
    return [content_key(chunk.title, sentence) for sentence in chunk.sentence_texts()]


def _rows(keys: Iterable[str]) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = {}
    for row, key in enumerate(keys):
        rows.setdefault(key, []).append(row)
    return rows


Embedded = Iterator[tuple[list[int], np.ndarray, list[np.ndarray]]]  # (rows, passage vectors, sentence vectors per passage)


class Cluster(Protocol):
    """Where passages can be embedded instead of in this process (embeddings.cluster on Ray)."""

    def embed(self, texts: list[str], titles: list[str], spans: list[list[tuple[int, int]]], *, batch: int) -> Embedded: ...


def _embed_here(encoder: Encoder, texts: list[str], titles: list[str], spans: list[list[tuple[int, int]]], derived: bool) -> Embedded:
    for lo in range(0, len(texts), BATCH_PASSAGES):
        rows = list(range(lo, min(lo + BATCH_PASSAGES, len(texts))))
        part_texts, part_titles, part_spans = texts[lo : rows[-1] + 1], titles[lo : rows[-1] + 1], spans[lo : rows[-1] + 1]
        embed = encoder.encode_passages if derived else partial(encode_sentences_apart, encoder)
        passage_vectors, sentence_vectors = embed(part_texts, part_titles, part_spans)
        yield rows, passage_vectors, list(sentence_vectors)


def _embed(embedded: Callable[[list[str], list[str], list[list[tuple[int, int]]]], Embedded], chunks: list[Chunk], sentence_keys: list[list[str]], cache: VectorCache, progress: ProgressFactory | None) -> None:
    """Embed passages (and their sentences) in batches of similar length, writing them to the cache as they come."""
    order = sorted(range(len(chunks)), key=lambda i: len(chunks[i].text))
    bar = progress(len(chunks), "Embedding passages") if progress else None
    unflushed = 0
    try:
        results = embedded([chunks[i].text for i in order], [chunks[i].title for i in order], [[(s.start, s.end) for s in chunks[i].sentences] for i in order])
        for rows, passage_vectors, sentence_vectors in results:
            part = [order[r] for r in rows]
            keys = [chunks[i].content_hash for i in part] + [k for i in part for k in sentence_keys[i]]
            flat = [np.asarray(passage_vectors, dtype=np.float32), *(np.asarray(v, dtype=np.float32).reshape(-1, passage_vectors.shape[1]) for v in sentence_vectors)]
            cache.put(keys, np.concatenate(flat))
            unflushed += len(part)
            if unflushed >= SHARD_PASSAGES:
                cache.flush()
                unflushed = 0
            if bar:
                bar.advance(len(part))
    finally:
        cache.flush()  # on Ctrl-C too: the batches already embedded are kept
        if bar:
            bar.close()


def _versions() -> dict[str, str]:
    out: dict[str, str] = {}
    for name in ("seedqa", "sentence-transformers", "transformers", "torch", "faiss-cpu", "bm25s"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out

