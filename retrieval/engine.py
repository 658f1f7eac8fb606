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
    """The model as configured; reader says whether the reader will run too.

    Once the model's ONNX export exists and was checked, text is embedded by the graph alone
    (embeddings.onnx_encoder): no torch is imported and no torch weights loaded. With the reader
    on, that needs the reader's own exported graph as well (embeddings.onnx_reader, exported at
    the first start with the reader); until then the reader runs on the torch weights.
    """
    runtime = embeddings.runtime
    if runtime == "auto":
        runtime = "torch" if reader else "onnx"
    if Path(source).is_dir():
        # A local folder needs no hub; without this, transformers may still try the network and wait.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        graph_only = embeddings.runtime != "torch" and embeddings.device == "cpu"
        if graph_only and (not reader or _reader_graph(embeddings, fingerprint) is not None):
            lean = _graph_encoder(embeddings, source, fingerprint)
            if lean is not None:
                return lean
    return _sentence_transformers_encoder(embeddings, source, fingerprint, runtime=runtime, keep_torch=reader)


def _reader_graph(embeddings: EmbeddingsSettings, fingerprint: str) -> tuple[Path, dict] | None:
    """The exported graph of the reader file in the repository, if one was exported and checked."""
    from embeddings.onnx_files import reader_graph_ready
    from embeddings.reading import ReaderUnavailable, open_artifact

    try:
        artifact = open_artifact(fingerprint)
    except ReaderUnavailable:  # load_reader says what is wrong with the file
        return None
    return reader_graph_ready(embeddings.cache_dir, fingerprint, artifact.sha256)


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
    reader = load_reader(encoder, embeddings, fingerprint, warnings) if search.reader else None
    return OpenedEngine(Searcher(stored, encoder, search, reader), warnings)


def load_reader(encoder: Encoder, embeddings: EmbeddingsSettings, fingerprint: str, warnings: list[str]) -> PassageReader | None:
    """The trained reader on the encoder's own model; None (with a warning) when it was trained for other weights.

    A missing or altered reader file raises ReaderUnavailable: answers would silently change.
    With the graph-only encoder the reader is its exported graph; with the torch encoder it is
    the torch reader, exported on the way (once per reader file) so that later starts need no
    torch, and read through that export at once, so every start reads the same way.
    """
    from embeddings.reading import ReaderMismatch, open_artifact

    lean_tokenizer = getattr(encoder, "lean_tokenizer", None)  # the graph-only encoder, chosen because the reader's graph is ready
    transformer = getattr(encoder, "transformer", None)
    weights = transformer() if lean_tokenizer is None and transformer is not None else None
    if lean_tokenizer is None and weights is None:  # not a transformers model, or one without its torch weights: nothing to read with
        return None
    try:
        artifact = open_artifact(fingerprint)
    except ReaderMismatch as exc:
        warnings.append(str(exc))
        return None
    if lean_tokenizer is not None:
        from embeddings.onnx_files import reader_graph_ready
        from embeddings.onnx_reader import OnnxReader

        ready = reader_graph_ready(embeddings.cache_dir, fingerprint, artifact.sha256)
        if ready is None:
            warnings.append("The reader's exported graph went missing while starting, so answers are not read: start again to export it anew.")
            return None
        return OnnxReader.open(*ready, lean_tokenizer, artifact)
    from embeddings.reader import Reader  # torch-heavy: only when the reader runs on torch

    model, tokenizer = weights
    reader = Reader.load(model, tokenizer, fingerprint)
    if embeddings.runtime == "torch" or embeddings.device != "cpu":
        return reader
    return _exported_reader(reader, embeddings, fingerprint, artifact, Path(tokenizer.name_or_path))


def _exported_reader(reader: PassageReader, embeddings: EmbeddingsSettings, fingerprint: str, artifact: object, model_folder: Path) -> PassageReader:
    """The reader read through its exported graph, exported now if this reader file has none; the torch reader if that fails."""
    try:
        from embeddings.onnx_encoder import LeanTokenizer
        from embeddings.onnx_reader import OnnxReader
        from embeddings.onnx_runtime import OnnxUnavailable, export_reader
    except ImportError as exc:  # onnxruntime or tokenizers missing: torch reads
        log.warning("Reading answers with torch: %s.", exc)
        return reader
    try:
        graph, record = export_reader(reader, fingerprint, embeddings.cache_dir)
        return OnnxReader.open(graph, record, LeanTokenizer.load(model_folder, 1 << 16), artifact)  # type: ignore[arg-type]
    except (OnnxUnavailable, OSError) as exc:
        log.warning("Reading answers with torch: %s.", exc)
        return reader