"""Retrieval: articles in, cited answers out.

Public API, each imported only when first used (sentence-transformers, FAISS and trafilatura are
heavy, and `seedqa config` needs none of them):
- `rebuild` (the index from the articles folder) and `open_engine` (a `Searcher` over it);
- `Searcher` with its `Answer`, `Result` and `BadQuestion`;
- `load_folder` and `Article`: the articles as cleaned for indexing;
- `add`, `Fetcher` and `Outcome`: news pages, saved pages and feeds into the articles folder;
- the settings sections `ArticlesSettings`, `IndexSettings`, `SearchSettings`.
"""

from __future__ import annotations

from importlib import import_module

_WHERE = {
    "rebuild": "engine",
    "open_engine": "engine",
    "Searcher": "search",
    "Answer": "search",
    "Result": "search",
    "BadQuestion": "search",
    "load_folder": "articles",
    "Article": "articles",
    "add": "adding",
    "Outcome": "adding",
    "Fetcher": "fetching",
    "ArticlesSettings": "settings",
    "IndexSettings": "settings",
    "SearchSettings": "settings",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> object:
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(name)
