"""The hand-written eval sets (tests/eval) can score what they claim to.

An answerable question whose expected answer is not in the text the searcher indexes (a byline,
a posting time: the cleaner keeps them out of the passages) can never be answered, and would
count against every reader; a duplicated id hides a question from the per-question report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.articles import load_folder
from retrieval.folding import fold

REPO = Path(__file__).resolve().parent.parent
EVAL = REPO / "tests" / "eval"
FILES = sorted(EVAL.glob("*.jsonl"))
ARTICLES = {a.source_file: a for a in load_folder(REPO / "seeds")}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_ids_are_unique_across_every_set() -> None:
    ids = [row["id"] for path in FILES for row in _rows(path)]
    assert len(FILES) >= 5
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_expected_answer_is_in_the_indexed_text_of_its_article(path: Path) -> None:
    for row in _rows(path):
        assert row["lang"] in ("en", "vi", "vi-noaccent"), row["id"]
        if row["lang"] == "vi-noaccent":
            assert fold(row["question"]) == row["question"], f"{row['id']} has diacritics"
        if not row["answer_contains"]:
            assert row.get("source") is None or row["source"] in ARTICLES, row["id"]
            continue
        text = ARTICLES[row["source"]].text
        missing = [answer for answer in row["answer_contains"] if answer not in text]
        assert not missing, f"{row['id']}: {missing} not in the indexed text of {row['source']}"
