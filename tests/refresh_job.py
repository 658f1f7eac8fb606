"""The bot's feed refresh as tests run it: `seedqa add` over a feed, then the index rebuilt, with the fake model.

Run as its own process by tests/test_refresh.py (bot.refresh_minutes starts a command; this is
that command, with the embedding model replaced by tests/fakes.py's).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fakes import FakeEncoder, build
from retrieval.adding import add
from retrieval.fetching import Fetcher


def main(feed: str, articles: str, index: str) -> int:
    with Fetcher(timeout=10) as fetcher:
        outcomes = add([feed], Path(articles), fetcher)
    for outcome in outcomes:
        print(f"{outcome.status}: {outcome.message}")
    build(Path(articles), Path(index), FakeEncoder())
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
