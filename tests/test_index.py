"""The index on disk: rebuilt only when something changed, refused when it no longer fits the
model or settings, and never left broken by a failed or killed rebuild."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from fakes import SEEDS, FakeEncoder, FakeModel, build, install_fake_model
from retrieval import engine, store, vector_cache
from retrieval.articles import load_folder
from retrieval.build import BATCH_PASSAGES, NoArticles
from retrieval.chunking import ChunkerSettings
from retrieval.search import Searcher
from retrieval.settings import ArticlesSettings, IndexSettings, SearchSettings
from retrieval.store import IndexDamaged, IndexMismatch, IndexMissing, IndexProblem

REPO = Path(__file__).resolve().parent.parent
JEJU = "Ai đã gặp Tỉnh trưởng tỉnh Jeju?"
EDITED_SEED = "004_30aab13b458be4e6.txt"
ADDED_SENTENCE = " Hai bên hẹn gặp lại tại Long An vào mùa xuân năm sau."


def never_load() -> FakeEncoder:
    pytest.fail("the model was loaded although nothing needed embedding")


@pytest.fixture
def built(corpus: Path, tmp_path: Path) -> Path:
    index_dir = tmp_path / "index"
    build(corpus, index_dir, FakeEncoder())
    return index_dir


def edit_one_article(corpus: Path) -> None:
    path = corpus / EDITED_SEED
    text = path.read_text(encoding="utf-8")
    anchor = "giao lưu với doanh nghiệp CTP trên các lĩnh vực liên quan."
    assert anchor in text
    path.write_text(text.replace(anchor, anchor + ADDED_SENTENCE), encoding="utf-8")


def many_articles(folder: Path, count: int) -> Path:
    """`count` short articles of one passage each, all different: a corpus of many batches."""
    folder.mkdir(parents=True)
    for i in range(count):
        body = f"Tỉnh số {i} đón đoàn công tác thứ {i} đến thăm và làm việc. Hai bên ký {i} thỏa thuận hợp tác mới."
        (folder / f"{i:04d}.txt").write_text(f"Tin số {i}\n\n{body}\n", encoding="utf-8")
    return folder


def jeju_answers(index_dir: Path) -> bool:
    searcher = Searcher(store.load(index_dir), FakeEncoder(), SearchSettings())
    answer = searcher.search(JEJU)
    return not answer.abstained and "Nguyễn Văn Út" in answer.results[0].text


def test_manifest_records_what_built_the_index(corpus: Path, tmp_path: Path) -> None:
    encoder = FakeEncoder(model_id="fake/model-a", fingerprint="fp-a", dimension=256)
    chunker = ChunkerSettings(target_tokens=100, max_tokens=200)
    report = build(corpus, tmp_path / "index", encoder, chunker)
    manifest = store.load(tmp_path / "index").manifest
    assert manifest.model_id == "fake/model-a"
    assert manifest.model_fingerprint == "fp-a"
    assert manifest.dimension == 256
    assert manifest.chunker == {"target_tokens": 100, "max_tokens": 200}
    assert manifest.corpus_hash == store.corpus_hash(load_folder(corpus))
    assert sorted(manifest.articles) == sorted(p.name for p in SEEDS.glob("*.txt"))
    assert manifest.chunk_count == report.chunks and manifest.sentence_count == report.sentences
    assert {"faiss-cpu", "bm25s"} <= set(manifest.versions)
    assert report.embedded == len({c.content_hash for c in store.load(tmp_path / "index").chunks}) > 0 and report.reused == 0


def test_unchanged_rebuild_loads_no_model(built: Path, corpus: Path) -> None:
    """Nothing changed: the 1.2 GB model must not even be loaded, and the index stays as it was."""
    before = store.current_generation(built)
    report = build(corpus, built, FakeEncoder(), load_encoder=never_load)
    assert report.up_to_date and report.embedded == 0 and report.folder is None
    assert store.current_generation(built) == before


def test_forced_rebuild_reuses_every_vector(built: Path, corpus: Path) -> None:
    """--force writes a new generation, but cached vectors still spare the model."""
    before = store.current_generation(built)
    report = build(corpus, built, FakeEncoder(), load_encoder=never_load, force=True)
    assert not report.up_to_date and report.embedded == 0 and report.reused > 0
    assert store.current_generation(built) not in (None, before)
    assert jeju_answers(built)


def test_editing_one_article_embeds_only_its_changed_texts(built: Path, corpus: Path) -> None:
    edit_one_article(corpus)
    encoder = FakeEncoder()
    report = build(corpus, built, encoder)
    assert not report.up_to_date
    assert report.embedded == 1  # the passage holding the new sentence
    assert report.reused > 10 * report.embedded
    edited = next(a for a in load_folder(corpus) if a.source_file == EDITED_SEED)
    assert encoder.documents and all(text in edited.text for text in encoder.documents)
    assert any("mùa xuân năm sau" in c.text for c in store.load(built).chunks)


@pytest.mark.parametrize("kind", ["derived", "separate"])
def test_every_sentence_vector_is_its_own_sentences(corpus: Path, tmp_path: Path, kind: str) -> None:
    """The sentence vectors go from the cache to the index file row by row: each row must be its sentence's."""
    build(corpus, tmp_path / "index", FakeEncoder(), sentence_kind=kind)
    stored = store.load(tmp_path / "index")
    texts = [c.text[s.start : s.end] for c in stored.chunks for s in c.sentences]
    assert len(texts) == len(stored.sentence_vectors) > 50
    assert np.allclose(stored.sentence_vectors, FakeEncoder().encode_documents(texts, [None] * len(texts)), atol=1e-6)


def test_the_cache_drops_stale_vectors_and_leaves_full_shards_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Editing one article of a large corpus must not rewrite its whole vector cache, nor keep the old text's vectors."""
    monkeypatch.setattr(vector_cache, "COMPACT_ROWS", 16)
    corpus, index_dir = many_articles(tmp_path / "articles", 40), tmp_path / "index"
    build(corpus, index_dir, FakeEncoder())

    def shards() -> dict[str, int]:
        return {p.name: p.stat().st_ino for p in (index_dir / "cache").rglob("*.npz")}

    def cached_rows() -> int:
        return sum(len(np.load(p)["keys"]) for p in (index_dir / "cache").rglob("*.npz"))

    first, rows = shards(), cached_rows()
    assert len(first) >= 7 and rows == 40 * 3  # a passage and its two sentences per article
    (corpus / "0007.txt").write_text("Tin số 7\n\nCảng biển mới khai trương hôm nay. Tàu đầu tiên cập bến lúc sáng.\n", encoding="utf-8")
    assert build(corpus, index_dir, FakeEncoder()).embedded == 1
    assert cached_rows() == rows  # the old article's three vectors are gone, the new one's are in
    assert len(set(first.items()) & set(shards().items())) >= len(first) - 2  # only the shards that held the old text (its passage, its sentences) were rewritten
    assert build(corpus, index_dir, FakeEncoder(), force=True, load_encoder=never_load).embedded == 0


@pytest.mark.parametrize(
    "change",
    [
        {"encoder": FakeEncoder(fingerprint="fake-fp-2")},
        {"encoder": FakeEncoder(model_id="fake/other-model")},
        {"chunker": ChunkerSettings(target_tokens=60, max_tokens=320)},
    ],
    ids=["other-weights", "other-model", "other-chunker"],
)
def test_new_model_or_chunker_rebuilds(built: Path, corpus: Path, change: dict[str, Any]) -> None:
    report = build(corpus, built, change.get("encoder", FakeEncoder()), change.get("chunker"))
    assert not report.up_to_date
    manifest = store.load(built).manifest
    assert (manifest.model_fingerprint, manifest.model_id, manifest.chunker["target_tokens"]) != ("fake-fp-1", "fake/hashed-bow", 120)


def test_no_articles_names_the_folder(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NoArticles, match="empty"):
        build(empty, tmp_path / "index", FakeEncoder())
    with pytest.raises(NoArticles, match="does not exist"):
        build(tmp_path / "missing", tmp_path / "index", FakeEncoder())


def test_nothing_in_the_index_is_a_pickle(built: Path, corpus: Path) -> None:
    """Loading a pickle runs code; the index folder may come from anywhere, so it holds none."""
    edit_one_article(corpus)
    build(corpus, built, FakeEncoder())  # a second build also writes the vector cache again
    files = [p for p in built.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} >= {".npy", ".npz", ".faiss", ".json", ".jsonl"}
    for path in files:
        assert path.suffix not in {".pkl", ".pickle"}
        head = path.read_bytes()[:2]
        assert not (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")), f"{path} looks pickled"
        if path.suffix == ".npy":
            assert np.load(path, allow_pickle=False).dtype == np.float32
        elif path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                assert {k: data[k].dtype.kind for k in data.files} == {"keys": "U", "vectors": "f", "dimension": "i"}
        elif path.suffix in {".json", ".jsonl"}:
            for line in path.read_text(encoding="utf-8").splitlines() if path.suffix == ".jsonl" else [path.read_text(encoding="utf-8")]:
                json.loads(line)


# --- problems a user can fix: each one sentence that says to run `seedqa index` ---------------


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> FakeModel:
    return install_fake_model(monkeypatch)


def open_with(corpus: Path, index_dir: Path, model: str = "fake/hashed-bow", **index: Any) -> engine.OpenedEngine:
    from embeddings.settings import EmbeddingsSettings

    return engine.open_engine(
        ArticlesSettings(folder=corpus),
        IndexSettings(folder=index_dir, **index),
        SearchSettings(),
        EmbeddingsSettings(model=model, cache_dir=index_dir.parent / "models"),
        fetch_progress=False,
    )


def assert_fix_is_named(problem: IndexProblem) -> None:
    message = str(problem)
    assert "seedqa index" in message and "\n" not in message


def test_open_engine_answers_with_a_matching_index(built: Path, corpus: Path, installed: FakeModel) -> None:
    opened = open_with(corpus, built)
    assert opened.warnings == []
    assert "Nguyễn Văn Út" in opened.searcher.search(JEJU).results[0].text


@pytest.mark.parametrize(
    "setup, match",
    [
        (lambda m: {"model": "fake/other-model"}, "fake/other-model"),
        (lambda m: {"target_tokens": 60}, "chunking"),
        (lambda m: setattr(m, "fingerprint", "fake-fp-2") or {}, "other weights"),
        (lambda m: setattr(m, "dimension", 128) or {}, "128"),
    ],
    ids=["model", "chunker", "weights", "dimension"],
)
def test_index_from_another_model_or_chunker_is_refused(
    built: Path, corpus: Path, installed: FakeModel, setup: Callable[[FakeModel], dict[str, Any]], match: str
) -> None:
    """Vectors from another model rank passages at random; refusing says why and what to run."""
    options = setup(installed)
    with pytest.raises(IndexMismatch, match=match) as caught:
        open_with(corpus, built, **options)
    assert_fix_is_named(caught.value)


def test_mismatch_is_found_before_the_model_is_loaded(built: Path, corpus: Path, installed: FakeModel) -> None:
    """A wrong model name or chunker costs a fraction of a second, not a model load."""
    with pytest.raises(IndexMismatch):
        open_with(corpus, built, model="fake/other-model")
    with pytest.raises(IndexMismatch):
        open_with(corpus, built, target_tokens=60)
    assert installed.loads == 0


def test_changed_articles_give_a_warning_not_an_error(built: Path, corpus: Path, installed: FakeModel) -> None:
    edit_one_article(corpus)
    opened = open_with(corpus, built)
    assert len(opened.warnings) == 1 and "seedqa index" in opened.warnings[0]
    assert not opened.searcher.search(JEJU).abstained


def test_missing_index_says_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing) as caught:
        store.load(tmp_path / "nowhere")
    assert_fix_is_named(caught.value)


@pytest.mark.parametrize("damage", ["truncate-faiss", "drop-sentences", "truncate-sentences", "bad-manifest", "old-format"])
def test_damaged_index_says_to_rebuild(built: Path, damage: str) -> None:
    folder = store.current_generation(built)
    assert folder is not None
    if damage == "truncate-faiss":
        data = (folder / "passages.faiss").read_bytes()
        (folder / "passages.faiss").write_bytes(data[: len(data) // 2])
    elif damage == "drop-sentences":
        vectors = np.load(folder / "sentences.npy")
        np.save(folder / "sentences.npy", vectors[:-1])
    elif damage == "truncate-sentences":
        data = (folder / "sentences.npy").read_bytes()
        (folder / "sentences.npy").write_bytes(data[: len(data) - 100])
    elif damage == "bad-manifest":
        (folder / "manifest.json").write_text("{not json", encoding="utf-8")
    else:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        manifest["format_version"] = 999
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexProblem) as caught:
        store.load(built)
    assert isinstance(caught.value, (IndexDamaged, IndexMismatch))
    assert_fix_is_named(caught.value)


# --- a rebuild that fails or is killed leaves the previous index in use -----------------------


def test_failed_write_keeps_the_previous_index(built: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = store.load(built).manifest
    edit_one_article(corpus)

    def disk_full(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(vector_cache.os, "pwrite", disk_full)  # fails writing the sentence vectors, after passages.faiss
    with pytest.raises(OSError, match="No space left"):
        build(corpus, built, FakeEncoder())
    monkeypatch.undo()
    after = store.load(built).manifest
    assert after.corpus_hash == before.corpus_hash and after.built_at == before.built_at
    assert jeju_answers(built)
    assert not [p.name for p in (built / store.GENERATIONS).iterdir() if p.name.startswith(".building-")]


class InterruptedEncoder(FakeEncoder):
    """Ctrl-C arrives while the third batch of passages is being embedded."""

    def __init__(self) -> None:
        super().__init__()
        self.passages = 0

    def encode_passages(self, texts: Any, titles: Any, sentences: Any) -> tuple[np.ndarray, list[np.ndarray]]:
        if self.passages >= 2 * BATCH_PASSAGES:
            raise KeyboardInterrupt
        self.passages += len(texts)
        return super().encode_passages(texts, titles, sentences)


def test_interrupted_build_keeps_what_it_embedded(tmp_path: Path) -> None:
    """Embedding takes minutes on a laptop; Ctrl-C must not throw away the batches already done."""
    corpus = many_articles(tmp_path / "articles", 100)
    index_dir = tmp_path / "index"
    interrupted = InterruptedEncoder()
    with pytest.raises(KeyboardInterrupt):
        build(corpus, index_dir, interrupted)
    assert interrupted.passages == 2 * BATCH_PASSAGES
    with pytest.raises(IndexMissing):
        store.load(index_dir)  # nothing half-built is served
    encoder = FakeEncoder()
    report = build(corpus, index_dir, encoder)
    assert report.reused == 2 * BATCH_PASSAGES
    assert report.embedded + report.reused == build(corpus, tmp_path / "fresh", FakeEncoder()).embedded
    assert store.load(index_dir).manifest.chunk_count == report.chunks


KILLED_BUILD = textwrap.dedent(
    """
    import sys, time
    sys.path[:0] = [{repo!r}, {tests!r}]
    from pathlib import Path
    import faiss
    from fakes import FakeEncoder, build

    class SlowEncoder(FakeEncoder):
        def encode_documents(self, texts, titles):
            if {phase!r} == "encoding":
                print("ready", flush=True)
                time.sleep(60)
            return super().encode_documents(texts, titles)

    real_write = faiss.write_index

    def slow_write(index, path):
        real_write(index, path)
        if {phase!r} == "writing":
            print("ready", flush=True)
            time.sleep(60)

    faiss.write_index = slow_write
    build(Path({corpus!r}), Path({index!r}), SlowEncoder())
    print("finished", flush=True)
    """
)


def kill_when_ready(script: str, stage: str, check: Callable[[], bool] | None = None) -> None:
    """Run a build script until it prints "ready" (it then stalls), check what is on disk, and kill -9 it."""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.strip() == "ready", f"the build did not reach {stage}: {line!r} {proc.stderr.read() if proc.stderr else ''}"
        if check is not None:
            assert check()
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("phase", ["encoding", "writing"])
def test_sigkill_during_rebuild_keeps_the_previous_index(built: Path, corpus: Path, phase: str) -> None:
    """kill -9 (or a power cut) in the middle of `seedqa index`: questions still get answers."""
    before = store.load(built).manifest
    edit_one_article(corpus)
    script = KILLED_BUILD.format(repo=str(REPO), tests=str(REPO / "tests"), phase=phase, corpus=str(corpus), index=str(built))
    check = (lambda: any(p.name.startswith(".building-") for p in (built / store.GENERATIONS).iterdir())) if phase == "writing" else None
    kill_when_ready(script, phase, check)
    after = store.load(built).manifest
    assert after.corpus_hash == before.corpus_hash and after.built_at == before.built_at
    assert jeju_answers(built)
    # The next rebuild completes and serves the edited articles.
    report = build(corpus, built, FakeEncoder())
    assert not report.up_to_date
    assert store.load(built).manifest.corpus_hash == store.corpus_hash(load_folder(corpus))
    assert jeju_answers(built)
    # ...and the killed build's staging folder does not stay on disk forever.
    assert not any(p.name.startswith(".building-") for p in (built / store.GENERATIONS).iterdir())


RESUMED_BUILD = textwrap.dedent(
    """
    import sys, time
    sys.path[:0] = [{repo!r}, {tests!r}]
    from pathlib import Path
    from retrieval import build as build_module
    from fakes import FakeEncoder, build

    build_module.SHARD_PASSAGES = build_module.BATCH_PASSAGES  # a shard per batch, so the test stays small

    class SlowEncoder(FakeEncoder):
        batches = 0

        def encode_passages(self, texts, titles, sentences):
            if self.batches == 3:
                print("ready", flush=True)
                time.sleep(60)
            self.batches += 1
            return super().encode_passages(texts, titles, sentences)

    build(Path({corpus!r}), Path({index!r}), SlowEncoder())
    """
)


def test_a_build_killed_mid_embedding_resumes_with_what_is_missing(tmp_path: Path) -> None:
    """kill -9 during a long first build: the next build embeds only the passages not yet written."""
    corpus = many_articles(tmp_path / "articles", 5 * BATCH_PASSAGES)
    index_dir = tmp_path / "index"
    script = RESUMED_BUILD.format(repo=str(REPO), tests=str(REPO / "tests"), corpus=str(corpus), index=str(index_dir))
    kill_when_ready(script, "its fourth batch")
    with pytest.raises(IndexMissing):
        store.load(index_dir)
    encoder = FakeEncoder()
    report = build(corpus, index_dir, encoder)
    assert report.reused == 3 * BATCH_PASSAGES and report.embedded == report.chunks - 3 * BATCH_PASSAGES
    fresh = build(corpus, tmp_path / "fresh", FakeEncoder())
    resumed, whole = store.load(index_dir), store.load(tmp_path / "fresh")
    assert np.array_equal(resumed.sentence_vectors, whole.sentence_vectors)
    assert np.array_equal(resumed.passages.reconstruct_n(0, resumed.passages.ntotal), whole.passages.reconstruct_n(0, whole.passages.ntotal))
    assert fresh.embedded == report.chunks
    # The finished build folded its small shards into one.
    assert len(list((index_dir / "cache").rglob("*.npz"))) == 1
