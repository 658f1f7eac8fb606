"""The onnxruntime copy of the model: exported here, verified, and giving the model's own vectors and rankings."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from embeddings.onnx_files import MODEL_FILE, RECORD_FILE, WEIGHTS_FILE, reader_graph_files, reader_graph_ready, runtime_dir
from embeddings.onnx_files import verified as _verified
from embeddings.provision import _hash_with_stamp


def _fake_export(folder: Path, fingerprint: str) -> None:
    folder.mkdir(parents=True)
    (folder / MODEL_FILE).write_bytes(b"graph")
    (folder / WEIGHTS_FILE).write_bytes(b"weights")
    files = {name: _hash_with_stamp(folder / name, None, use_stamp=False)[1] for name in (MODEL_FILE, WEIGHTS_FILE)}
    (folder / RECORD_FILE).write_text(json.dumps({"fingerprint": fingerprint, "files": files}), encoding="utf-8")


def test_an_export_is_trusted_only_for_its_weights_and_its_recorded_file(tmp_path: Path) -> None:
    folder = runtime_dir(tmp_path, "a" * 64)
    _fake_export(folder, "a" * 64)
    assert _verified(folder, "a" * 64)
    assert not _verified(folder, "b" * 64)  # another model's export
    (folder / WEIGHTS_FILE).write_bytes(b"weights, altered")  # size and mtime change: re-hashed, refused
    assert not _verified(folder, "a" * 64)
    assert hashlib.sha256(b"weights").hexdigest() == json.loads((folder / RECORD_FILE).read_text())["files"][WEIGHTS_FILE]["sha256"]
    (folder / WEIGHTS_FILE).write_bytes(b"weights")
    assert _verified(folder, "a" * 64)  # put back as it was: hashed again and trusted
    (folder / MODEL_FILE).write_bytes(b"graph, altered")
    assert not _verified(folder, "a" * 64)
    (folder / MODEL_FILE).write_bytes(b"graph")
    os.remove(folder / WEIGHTS_FILE)  # a graph without its weights
    assert not _verified(folder, "a" * 64)


def test_a_missing_or_damaged_record_means_export_again(tmp_path: Path) -> None:
    folder = runtime_dir(tmp_path, "a" * 64)
    _fake_export(folder, "a" * 64)
    (folder / RECORD_FILE).write_text("{not json", encoding="utf-8")
    assert not _verified(folder, "a" * 64)
    os.remove(folder / RECORD_FILE)
    assert not _verified(folder, "a" * 64)


def _fake_reader_export(folder: Path, fingerprint: str, reader_sha: str, **record: object) -> Path:
    graph, record_file = reader_graph_files(folder, reader_sha)
    graph.write_bytes(b"reader graph")
    base = {
        "reader_sha256": reader_sha,
        "fingerprint": fingerprint,
        "file": _hash_with_stamp(graph, None, use_stamp=False)[1],
        "max_margin_difference": 2e-5,
        "same_spans": True,
        "special_tokens": {"bos": 2, "eos": 1, "pad": 0},
    }
    record_file.write_text(json.dumps(base | record), encoding="utf-8")
    return graph


def test_a_reader_graph_is_used_only_for_its_reader_file_its_model_and_a_passed_check(tmp_path: Path) -> None:
    model, reader = "a" * 64, "c" * 64
    folder = runtime_dir(tmp_path, model)
    _fake_export(folder, model)
    graph = _fake_reader_export(folder, model, reader)
    assert reader_graph_ready(tmp_path, model, reader) is not None
    assert reader_graph_ready(tmp_path, model, "d" * 64) is None  # another reader file: export it anew
    graph.write_bytes(b"reader graph, altered")
    assert reader_graph_ready(tmp_path, model, reader) is None
    _fake_reader_export(folder, model, reader, max_margin_difference=0.5)  # read otherwise than the torch reader
    assert reader_graph_ready(tmp_path, model, reader) is None
    _fake_reader_export(folder, model, reader, same_spans=False)
    assert reader_graph_ready(tmp_path, model, reader) is None
    _fake_reader_export(folder, model, reader)
    (folder / WEIGHTS_FILE).write_bytes(b"weights, altered")  # the weights it points into changed
    assert reader_graph_ready(tmp_path, model, reader) is None


@pytest.mark.model
def test_onnx_gives_the_models_vectors_and_rankings(tmp_path: Path) -> None:
    """The export passes its own check, and queries, documents and derived sentence vectors agree with torch.

    With the reader off the encoder is the graph alone (embeddings.onnx_encoder) for questions and
    documents, and hands derived sentence vectors to sentence-transformers on onnxruntime.
    """
    from embeddings.provision import resolve_model
    from embeddings.settings import EmbeddingsSettings
    from retrieval.engine import load_encoder

    settings = EmbeddingsSettings()
    source, fingerprint = resolve_model(settings.model, settings.cache_dir, progress=False)
    fast = load_encoder(settings.model_copy(update={"runtime": "onnx"}), source, fingerprint)
    slow = load_encoder(settings.model_copy(update={"runtime": "torch"}), source, fingerprint)
    assert fast.runtime == "onnx" and slow.runtime == "torch"
    assert fast.transformer() is None  # its torch weights were let go: one copy of the model in memory
    questions = ["who met the Jeju governor?", "ai gặp tỉnh trưởng Jeju?", "ai gap tinh truong jeju"]
    assert np.min(np.sum(fast.encode_queries(questions) * slow.encode_queries(questions), axis=1)) >= 0.9999
    seeds = sorted((Path(__file__).resolve().parent.parent / "seeds").glob("*.txt"))
    texts = [p.read_text(encoding="utf-8")[:1200] for p in seeds]
    spans = [[(0, 200), (200, 600)] for _ in texts]
    fast_passages, fast_sentences = fast.encode_passages(texts, ["Long An"] * len(texts), spans)
    slow_passages, slow_sentences = slow.encode_passages(texts, ["Long An"] * len(texts), spans)
    assert np.min(np.sum(fast_passages * slow_passages, axis=1)) >= 0.9999
    assert min(float(np.min(np.sum(a * b, axis=1))) for a, b in zip(fast_sentences, slow_sentences)) >= 0.9999
    titles = [None, "Long An | Jeju", *["Tin tức"] * (len(texts) - 2)]
    assert np.min(np.sum(fast.encode_documents(texts, titles) * slow.encode_documents(texts, titles), axis=1)) >= 0.9999
    ranking = lambda encoder: np.argsort(-(encoder.encode_documents(texts, titles) @ encoder.encode_queries(questions).T), axis=0)  # noqa: E731
    assert (ranking(fast) == ranking(slow)).all()
    assert fast.count_tokens(texts[0]) == slow.count_tokens(texts[0])


@pytest.mark.model
def test_a_question_with_the_reader_off_needs_no_torch() -> None:
    """The start a user waits for: with the reader off, answering a question imports neither torch nor sentence-transformers."""
    code = (
        "import sys, json\n"
        "from embeddings.provision import resolve_model\n"
        "from embeddings.settings import EmbeddingsSettings\n"
        "from retrieval.engine import load_encoder\n"
        "s = EmbeddingsSettings()\n"
        "source, fp = resolve_model(s.model, s.cache_dir, progress=False)\n"
        "load_encoder(s, source, fp)  # exports on first use (that start does load torch)\n"
        "print(json.dumps(sorted(m for m in ('torch', 'sentence_transformers') if m in sys.modules)))\n"
    )
    repo = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], cwd=repo, check=True, capture_output=True, text=True)
    out = subprocess.run([sys.executable, "-c", code.replace("load_encoder(s, source, fp)", "e = load_encoder(s, source, fp); e.encode_queries(['ai gặp tỉnh trưởng Jeju?'])")], cwd=repo, check=True, capture_output=True, text=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
