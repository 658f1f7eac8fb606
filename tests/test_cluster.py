"""`seedqa index --ray`: embedding on a Ray cluster (the optional `cluster` extra), here a local Ray instance.

scripts/test installs the extra, so CI runs these; a checkout without it skips them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from embeddings.cluster import ClusterUnavailable, connect
from embeddings.settings import EmbeddingsSettings
from retrieval import store
from retrieval.engine import rebuild
from retrieval.settings import ArticlesSettings, IndexSettings

REPO = Path(__file__).resolve().parent.parent


def test_without_the_extra_the_user_is_told_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(ClusterUnavailable, match=r"pip install -e '\.\[cluster\]'"):
        connect("local")


def test_a_ray_build_keeps_sentence_vectors_derived(tmp_path: Path) -> None:
    index = IndexSettings(folder=tmp_path / "index", sentence_vectors="separate", ray_address="local")
    with pytest.raises(ClusterUnavailable, match="sentence_vectors"):
        rebuild(ArticlesSettings(folder=REPO / "seeds"), index, EmbeddingsSettings(), fetch_progress=False)


@pytest.mark.model
def test_the_index_built_on_a_local_ray_instance_equals_the_local_build(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    seeds = ArticlesSettings(folder=REPO / "seeds")
    here = rebuild(seeds, IndexSettings(folder=tmp_path / "here", sentence_vectors="derived"), EmbeddingsSettings(), fetch_progress=False)
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        report = rebuild(seeds, IndexSettings(folder=tmp_path / "ray", sentence_vectors="derived"), EmbeddingsSettings(), fetch_progress=False, ray_address="local")
    finally:
        ray.shutdown()
    assert report.embedded == report.chunks == here.chunks > 0
    local, remote = store.load(tmp_path / "here"), store.load(tmp_path / "ray")
    assert [c.text for c in remote.chunks] == [c.text for c in local.chunks]
    passages = lambda index: index.passages.reconstruct_n(0, index.passages.ntotal)  # noqa: E731
    # The same model on the same CPU: equal up to float rounding in differently padded batches.
    assert float(np.min(np.sum(passages(local) * passages(remote), axis=1))) > 0.99999
    assert float(np.min(np.sum(local.sentence_vectors * remote.sentence_vectors, axis=1))) > 0.99999
