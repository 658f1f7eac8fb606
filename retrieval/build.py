"""`seedqa index`: articles to a new index generation, embedding only what changed.

Embedding is the only slow step (about 5 passages a second on two cores), so everything before
it is cheap and decides whether it is needed: when the articles, the model and the chunker are
all as the current manifest records, the model is not even loaded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable

import numpy as np

from embeddings.encoder import Encoder
from embeddings.tokens import TokenCounter

from . import ann
from .articles import Article, load_folder
from .chunking import Chunk, ChunkerSettings, chunk_article, content_key
from .store import FORMAT_VERSION, Manifest, VectorCache, article_hash, corpus_hash, read_manifest, write_generation

log = logging.getLogger(__name__)

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
    ):
        return BuildReport(len(articles), len(chunks), sentence_count, 0, 0, True, None)

    cache = VectorCache(index_dir, model_fingerprint)
    # Passages and their sentences are embedded alike (document prompt with the article title);
    # the sentence vectors let search score and highlight the single best sentence.
    items: list[tuple[str, str, str]] = []  # (cache key, text, title)
    for chunk in chunks:
        items.append((chunk.content_hash, chunk.text, chunk.title))
        for sentence in chunk.sentence_texts():
            items.append((content_key(chunk.title, sentence), sentence, chunk.title))
    missing: dict[str, tuple[str, str]] = {}
    for key, text, title in items:
        if cache.get(key) is None:
            missing.setdefault(key, (text, title))
    reused = len({k for k, _, _ in items}) - len(missing)

    encoder: Encoder | None = None
    if missing:
        encoder = load_encoder()
        try:
            _embed_missing(encoder, missing, cache, progress)
        except BaseException:
            cache.save({k for k, _, _ in items})  # an interrupted build keeps what it embedded
            raise
    dimension = encoder.dimension if encoder is not None else int(cache.get(items[0][0]).shape[0])  # type: ignore[union-attr]

    passage_vectors = np.stack([cache.get(c.content_hash) for c in chunks]).astype(np.float32)
    sentence_keys = [content_key(c.title, s) for c in chunks for s in c.sentence_texts()]
    sentence_vectors = (
        np.stack([cache.get(k) for k in sentence_keys]).astype(np.float32) if sentence_keys else np.zeros((0, dimension), np.float32)
    )
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        model_id=model_id,
        model_fingerprint=model_fingerprint,
        dimension=dimension,
        chunker=chunker_record,
        corpus_hash=corpus,
        articles={a.source_file: article_hash(a) for a in articles},
        chunk_count=len(chunks),
        sentence_count=len(sentence_keys),
        built_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        versions=_versions(),
        vector_index=plan,
    )
    folder = write_generation(index_dir, manifest, articles, chunks, passage_vectors, sentence_vectors)
    cache.save({k for k, _, _ in items})
    return BuildReport(len(articles), len(chunks), len(sentence_keys), len(missing), reused, False, folder)


def _embed_missing(encoder: Encoder, missing: dict[str, tuple[str, str]], cache: VectorCache, progress: ProgressFactory | None) -> None:
    # Batches of 32 texts: large enough for the model's own batching, small enough that the
    # progress bar moves every few seconds and an interrupted build keeps most of its work.
    batch = 32
    keys = list(missing)
    bar = progress(len(keys), "Embedding passages") if progress else None
    try:
        for i in range(0, len(keys), batch):
            part = keys[i : i + batch]
            vectors = encoder.encode_documents([missing[k][0] for k in part], [missing[k][1] for k in part])
            for key, vector in zip(part, vectors):
                cache.put(key, vector)
            if bar:
                bar.advance(len(part))
    finally:
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

