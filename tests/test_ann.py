"""The vector index type: exact for small corpora, approximate above a size, recorded in the manifest.

An approximate index may only change which passages become candidates, never their scores, so
every type must reconstruct exact vectors after a write and a read; and a stored index must come
back as the type (and search effort) it was built with, or `seedqa index` must rebuild it.
"""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from fakes import FakeEncoder, FakeModel, build, install_fake_model
from retrieval import ann, engine, store
from retrieval.search import Searcher
from retrieval.settings import ArticlesSettings, IndexSettings, SearchSettings
from retrieval.store import IndexDamaged

JEJU = "Ai đã gặp Tỉnh trưởng tỉnh Jeju?"
APPROXIMATE = ("hnsw", "ivf")


def clustered(n: int, dimension: int = 48, clusters: int = 200, seed: int = 0) -> np.ndarray:
    """Unit vectors around random centres, like sentence embeddings' topical neighbourhoods."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dimension))
    points = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, dimension))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def round_trip(index: faiss.Index, tmp_path: Path) -> faiss.Index:
    path = tmp_path / "passages.faiss"
    faiss.write_index(index, str(path))
    return faiss.read_index(str(path))


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> FakeModel:
    return install_fake_model(monkeypatch)


def index_settings(folder: Path, **options: object) -> IndexSettings:
    return IndexSettings(folder=folder, **options)  # type: ignore[arg-type]


def test_auto_is_exact_below_the_threshold_and_hnsw_from_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ann.choose("auto", ann.AUTO_EXACT_BELOW - 1)["type"] == "exact"
    assert ann.choose("auto", ann.AUTO_EXACT_BELOW)["type"] == "hnsw"
    monkeypatch.setattr(ann, "AUTO_EXACT_BELOW", 100)
    assert ann.choose("auto", 99) == ann.EXACT
    assert ann.choose("auto", 100)["type"] == "hnsw"
    assert ann.choose("auto", 0) == ann.EXACT


def test_a_forced_type_is_built_at_any_size_but_an_empty_corpus() -> None:
    assert ann.choose("exact", 10_000_000) == ann.EXACT
    assert ann.choose("hnsw", 10)["type"] == "hnsw"
    assert ann.choose("ivf", 10) == {"type": "ivf", "lists": 1, "probes": 1}
    assert ann.choose("ivf", 0) == ann.EXACT  # nothing to train lists on
    big = ann.choose("ivf", 1_000_000)
    assert big["lists"] == 2000 and big["lists"] >= big["probes"] >= ann.IVF_MIN_PROBES


@pytest.mark.parametrize("kind", APPROXIMATE)
def test_approximate_recall_against_exact(kind: str) -> None:
    vectors = clustered(12_000)
    queries = clustered(200, seed=1)
    exact = ann.build(ann.EXACT, vectors, vectors.shape[1])
    approximate = ann.build(ann.choose(kind, len(vectors)), vectors, vectors.shape[1])  # type: ignore[arg-type]
    _, truth = exact.search(queries, 10)
    _, found = approximate.search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found.tolist(), truth.tolist())])
    assert recall >= 0.9, f"{kind} recall@10 {recall:.3f}"


@pytest.mark.parametrize("kind", ("exact", *APPROXIMATE))
def test_exact_vectors_come_back_after_write_and_read(kind: str, tmp_path: Path) -> None:
    """search.py scores candidates from reconstruct(): it must hold for every type, after loading."""
    vectors = clustered(3_000)
    plan = ann.choose(kind, len(vectors))  # type: ignore[arg-type]
    loaded = ann.prepare(round_trip(ann.build(plan, vectors, vectors.shape[1]), tmp_path), plan)
    for position in (0, 1234, len(vectors) - 1):
        np.testing.assert_array_equal(loaded.reconstruct(position), vectors[position])


@pytest.mark.parametrize("kind", APPROXIMATE)
def test_search_effort_comes_from_the_plan_not_the_file(kind: str, tmp_path: Path) -> None:
    vectors = clustered(3_000)
    plan = ann.choose(kind, len(vectors))  # type: ignore[arg-type]
    index = ann.build(plan, vectors, vectors.shape[1])
    if kind == "hnsw":
        index.hnsw.efSearch = 3
    else:
        index.nprobe = 1
    loaded = ann.prepare(round_trip(index, tmp_path), plan)
    effort = loaded.hnsw.efSearch if kind == "hnsw" else loaded.nprobe
    assert effort == (plan["ef_search"] if kind == "hnsw" else plan["probes"])


def test_an_index_of_another_type_than_the_plan_is_refused(tmp_path: Path) -> None:
    vectors = clustered(500)
    with pytest.raises(ValueError, match="IndexFlatIP"):
        ann.prepare(round_trip(ann.build(ann.EXACT, vectors, vectors.shape[1]), tmp_path), ann.choose("hnsw", 500))


@pytest.mark.parametrize("kind", APPROXIMATE)
def test_the_stored_type_round_trips_through_the_store(kind: str, corpus: Path, tmp_path: Path) -> None:
    build(corpus, tmp_path / "index", FakeEncoder(), vector_index=kind)
    stored = store.load(tmp_path / "index")
    assert stored.manifest.vector_index == ann.choose(kind, stored.manifest.chunk_count)  # type: ignore[arg-type]
    assert isinstance(stored.passages, faiss.IndexHNSWFlat if kind == "hnsw" else faiss.IndexIVFFlat)
    answer = Searcher(stored, FakeEncoder(), SearchSettings()).search(JEJU)
    assert not answer.abstained and "Nguyễn Văn Út" in answer.results[0].text


def test_auto_builds_hnsw_above_a_lowered_threshold(monkeypatch: pytest.MonkeyPatch, corpus: Path, tmp_path: Path) -> None:
    monkeypatch.setattr(ann, "AUTO_EXACT_BELOW", 5)
    report = build(corpus, tmp_path / "index", FakeEncoder())
    assert report.chunks >= 5
    assert store.load(tmp_path / "index").manifest.vector_index["type"] == "hnsw"


def test_a_manifest_from_before_the_choice_reads_as_exact(corpus: Path, tmp_path: Path) -> None:
    """Indexes built before the type was recorded were all IndexFlatIP: they load, and are not rebuilt."""
    build(corpus, tmp_path / "index", FakeEncoder())
    folder = store.current_generation(tmp_path / "index")
    assert folder is not None
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    del manifest["vector_index"]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert store.load(tmp_path / "index").manifest.vector_index == ann.EXACT
    assert build(corpus, tmp_path / "index", FakeEncoder(), load_encoder=lambda: pytest.fail("re-embedded")).up_to_date


def test_a_manifest_that_disagrees_with_the_file_is_damaged(corpus: Path, tmp_path: Path) -> None:
    build(corpus, tmp_path / "index", FakeEncoder())
    folder = store.current_generation(tmp_path / "index")
    assert folder is not None
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["vector_index"] = ann.choose("hnsw", manifest["chunk_count"])
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexDamaged, match="seedqa index"):
        store.load(tmp_path / "index")


def test_changing_the_type_rebuilds_without_re_embedding(corpus: Path, tmp_path: Path, installed: FakeModel) -> None:
    articles = ArticlesSettings(folder=corpus)
    embeddings = engine.EmbeddingsSettings(cache_dir=tmp_path / "models")
    index_dir = tmp_path / "index"
    engine.rebuild(articles, index_settings(index_dir), embeddings, fetch_progress=False)
    loads = installed.loads
    report = engine.rebuild(articles, index_settings(index_dir, vector_index="hnsw"), embeddings, fetch_progress=False)
    assert not report.up_to_date and report.embedded == 0 and installed.loads == loads
    assert store.load(index_dir).manifest.vector_index["type"] == "hnsw"
    assert engine.rebuild(articles, index_settings(index_dir, vector_index="hnsw"), embeddings, fetch_progress=False).up_to_date
    # auto at this size builds what exact builds: nothing to do
    engine.rebuild(articles, index_settings(index_dir, vector_index="exact"), embeddings, fetch_progress=False)
    assert engine.rebuild(articles, index_settings(index_dir), embeddings, fetch_progress=False).up_to_date


def test_opening_an_index_of_another_type_warns_and_still_answers(corpus: Path, tmp_path: Path, installed: FakeModel) -> None:
    build(corpus, tmp_path / "index", FakeEncoder(), vector_index="hnsw")
    opened = engine.open_engine(
        ArticlesSettings(folder=corpus),
        index_settings(tmp_path / "index"),
        SearchSettings(),
        engine.EmbeddingsSettings(model="fake/hashed-bow", cache_dir=tmp_path / "models"),
        fetch_progress=False,
    )
    assert any("HNSW" in w and "seedqa index" in w for w in opened.warnings)
    assert "Nguyễn Văn Út" in opened.searcher.search(JEJU).results[0].text


def test_the_setting_accepts_only_known_types() -> None:
    assert IndexSettings().vector_index == "auto"
    with pytest.raises(ValueError):
        IndexSettings(vector_index="annoy")  # type: ignore[arg-type]
