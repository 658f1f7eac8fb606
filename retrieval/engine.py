"""The retrieval engine put together from settings: what `seedqa index`, `ask`, `eval` and the bot share.

Opening a searcher checks the index against the configured model before the model is loaded,
so a mismatch costs a fraction of a second and says what to do, instead of returning
passages ranked by vectors from another model.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
import os
from pathlib import Path

from embeddings.cluster import ClusterModel, ClusterUnavailable
from embeddings.encoder import Encoder, SentenceTransformerEncoder
from embeddings.provision import ModelUnavailable, resolve_model
from embeddings.settings import EmbeddingsSettings
from embeddings.tokens import load_token_counter

from . import ann, store
from .build import BuildReport, Embedded, ProgressFactory, build_index, load_articles
from .chunking import ChunkerSettings
from .search import PassageReader, Searcher
from .settings import ArticlesSettings, IndexSettings, SearchSettings
from .store import IndexMismatch, corpus_hash

log = logging.getLogger(__name__)


@dataclass
class OpenedEngine:
    searcher: Searcher
    warnings: list[str] = field(default_factory=list)


def load_encoder(embeddings: EmbeddingsSettings, source: str, fingerprint: str, *, reader: bool = False) -> Encoder:
    """The model as configured; reader says whether the reader will run on its torch weights (embeddings.runtime = auto).

    Without the reader, once the model's ONNX export exists and was checked, text is embedded by
    the graph alone (embeddings.onnx_encoder): no torch is imported and no torch weights loaded.
    """
    runtime = embeddings.runtime
    if runtime == "auto":
        runtime = "torch" if reader else "onnx"
    if Path(source).is_dir():
        # A local folder needs no hub; without this, transformers may still try the network and wait.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        if runtime == "onnx" and not reader and embeddings.device == "cpu":
            lean = _graph_encoder(embeddings, source, fingerprint)
            if lean is not None:
                return lean
    return _sentence_transformers_encoder(embeddings, source, fingerprint, runtime=runtime, keep_torch=reader)


def _graph_encoder(embeddings: EmbeddingsSettings, source: str, fingerprint: str) -> Encoder | None:
    from embeddings.onnx_files import whole_graph_ready

    graph = whole_graph_ready(embeddings.cache_dir, fingerprint)
    if graph is None:  # not exported yet (the first start exports it) or exported without the whole-graph check
        return None
    try:
        from embeddings.onnx_encoder import OnnxEncoder

        full = lambda: _sentence_transformers_encoder(embeddings, source, fingerprint, runtime="onnx", keep_torch=False)  # noqa: E731
        return OnnxEncoder(graph, Path(source), model_id=embeddings.model, fingerprint=fingerprint, batch_size=embeddings.batch_size, full_encoder=full)
    except Exception as exc:  # onnxruntime or tokenizers missing, an unreadable config: sentence-transformers still works
        log.warning("Embedding through sentence-transformers: the exported graph could not be opened on its own (%s: %s).", type(exc).__name__, exc)
        return None


def _sentence_transformers_encoder(embeddings: EmbeddingsSettings, source: str, fingerprint: str, *, runtime: str, keep_torch: bool) -> SentenceTransformerEncoder:
    try:
        return SentenceTransformerEncoder(
            source,
            model_id=embeddings.model,
            fingerprint=fingerprint,
            device=embeddings.device,
            batch_size=embeddings.batch_size,
            runtime=runtime,
            cache_dir=embeddings.cache_dir,
            keep_torch=keep_torch,
        )
    except ModelUnavailable:
        raise
    except Exception as exc:  # sentence-transformers raises many kinds for a bad folder or id
        raise ModelUnavailable(
            f"Could not load the embedding model {embeddings.model!r} ({type(exc).__name__}: {exc}): "
            "set embeddings.model to a sentence-transformers model id or folder."
        ) from exc


def rebuild(
    articles: ArticlesSettings,
    index: IndexSettings,
    embeddings: EmbeddingsSettings,
    *,
    progress: ProgressFactory | None = None,
    fetch_progress: bool = True,
    force: bool = False,
    ray_address: str | None = None,
) -> BuildReport:
    address = ray_address or index.ray_address
    if address and index.sentence_vectors != "derived":
        raise ClusterUnavailable('A Ray build derives sentence vectors from their passages: set index.sentence_vectors = "derived" to build on Ray.')
    source, fingerprint = resolve_model(embeddings.model, embeddings.cache_dir, progress=fetch_progress)
    cluster = None
    if address:
        runtime = "torch" if embeddings.runtime == "torch" else "onnx"  # a build has no reader: auto means onnx
        model = ClusterModel(embeddings.model, fingerprint, str(embeddings.cache_dir), embeddings.device, embeddings.batch_size, runtime)
        cluster = RayCluster(address, model, index.ray_workers)
    return build_index(
        articles_folder=articles.folder,
        index_dir=index.folder,
        chunker=ChunkerSettings.model_validate(index.model_dump(include=set(ChunkerSettings.model_fields))),
        model_id=embeddings.model,
        model_fingerprint=fingerprint,
        count_tokens=load_token_counter(source),
        load_encoder=lambda: load_encoder(embeddings, source, fingerprint),
        progress=progress,
        force=force,
        vector_index=index.vector_index,
        sentence_kind=index.sentence_vectors,
        cluster=cluster,
    )


@dataclass(frozen=True)
class RayCluster:
    """retrieval.build.Cluster on Ray (embeddings.cluster, the optional `cluster` extra)."""

    address: str
    model: ClusterModel
    workers: int | None = None

    def embed(self, texts: list[str], titles: list[str], spans: list[list[tuple[int, int]]], *, batch: int) -> Embedded:
        from embeddings.cluster import embed_on_ray  # Ray is imported only when a build uses it

        return embed_on_ray(self.address, self.model, texts, titles, spans, batch=batch, workers=self.workers)


def open_engine(
    articles: ArticlesSettings,
    index: IndexSettings,
    search: SearchSettings,
    embeddings: EmbeddingsSettings,
    *,
    fetch_progress: bool = True,
) -> OpenedEngine:
    stored = store.load(index.folder)
    manifest = stored.manifest
    chunker = index.model_dump(mode="json", include=set(ChunkerSettings.model_fields))
    if manifest.model_id != embeddings.model:
        raise IndexMismatch(
            f"The index was built with the model {manifest.model_id!r}, but embeddings.model is {embeddings.model!r}: run `seedqa index` to rebuild it."
        )
    if manifest.chunker != chunker:
        raise IndexMismatch("The index was built with other chunking settings than index.* now says: run `seedqa index` to rebuild it.")
    source, fingerprint = resolve_model(embeddings.model, embeddings.cache_dir, progress=fetch_progress)
    if manifest.model_fingerprint != fingerprint:
        raise IndexMismatch(
            f"The index was built with other weights of {embeddings.model!r} than the ones now installed: run `seedqa index` to rebuild it."
        )
    encoder = load_encoder(embeddings, source, fingerprint, reader=search.reader)
    if encoder.dimension != manifest.dimension:
        raise IndexMismatch(
            f"The index holds {manifest.dimension}-dimensional vectors but the model makes {encoder.dimension}: run `seedqa index` to rebuild it."
        )
    warnings: list[str] = []
    wanted = ann.choose(index.vector_index, manifest.chunk_count)
    if manifest.vector_index != wanted:  # still searches correctly, only not the way the settings ask
        warnings.append(
            f"The index searches with {ann.describe(manifest.vector_index)}, but index.vector_index = {index.vector_index!r} asks for "
            f"{ann.describe(wanted)}: run `seedqa index` to rebuild it (no re-embedding needed)."
        )
    try:
        if corpus_hash(load_articles(articles.folder)) != manifest.corpus_hash:
            warnings.append(f"The articles in {articles.folder} changed since the index was built: run `seedqa index` to include the changes.")
    except Exception as exc:  # the index still answers from what it holds
        warnings.append(f"Could not compare the index with {articles.folder} ({exc}).")
    reader = load_reader(encoder, fingerprint, warnings) if search.reader else None
    return OpenedEngine(Searcher(stored, encoder, search, reader), warnings)


def load_reader(encoder: Encoder, fingerprint: str, warnings: list[str]) -> PassageReader | None:
    """The trained reader on the encoder's own model; None (with a warning) when it was trained for other weights.

    A missing or altered reader file raises ReaderUnavailable: answers would silently change.
    """
    transformer = getattr(encoder, "transformer", None)
    if transformer is None:  # not a transformers model: nothing for the reader to run on
        return None
    from embeddings.reader import Reader, ReaderMismatch  # torch-heavy: only when the reader is on

    weights = transformer()
    if weights is None:  # runs in onnxruntime without its torch weights (embeddings.runtime = "onnx" was not asked with the reader)
        return None
    model, tokenizer = weights
    try:
        return Reader.load(model, tokenizer, fingerprint)
    except ReaderMismatch as exc:
        warnings.append(str(exc))
        return None
