"""Fixtures shared across test files: the real model's index is built once per session (about 20 s)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from embeddings.settings import EmbeddingsSettings
from retrieval.engine import open_engine, rebuild
from retrieval.search import Searcher
from retrieval.settings import ArticlesSettings, IndexSettings, SearchSettings

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("index")
    report = rebuild(ArticlesSettings(folder=REPO / "seeds"), IndexSettings(folder=folder), EmbeddingsSettings(), fetch_progress=False)
    assert report.articles == 5 and report.chunks > 0
    return folder


@pytest.fixture(scope="session")
def real_searcher(real_index_dir: Path) -> Searcher:
    opened = open_engine(ArticlesSettings(folder=REPO / "seeds"), IndexSettings(folder=real_index_dir), SearchSettings(), EmbeddingsSettings())
    assert opened.warnings == []
    return opened.searcher


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of the seed articles, for tests that change the corpus."""
    folder = tmp_path / "articles"
    shutil.copytree(REPO / "seeds", folder)
    return folder
