"""The promises of the README, kept with the real EmbeddingGemma model (fetched and verified on first use).

These run in CI too: a fake embedder can show that the plumbing works, but only the real model
shows that an English question finds a Vietnamese passage and that the targets hold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from retrieval.evaluation import Report, evaluate, read_questions
from retrieval.search import Searcher

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = REPO / "tests" / "eval" / "questions.jsonl"
# The reader issue's targets, per language group: hit@1 >= 0.95, hit@3 = 1.00, at least 15 of 16
# unanswerable questions refused and at most 1 of 85 answerable ones. Met (2026-12-07, the reader
# with adapters on layers 8-15 over derived sentence vectors): hit@1 1.000 / 0.967 / 0.960
# (en / vi / vi-noaccent), hit@3, answerable refusals (1 of 85: en-001, whose answer is in the
# third passage, which the reader no longer reads; search.reader_passages). Not yet (strict xfail
# below): the reader refuses 14 of 16, 13 reading three passages, 11 without the name rule
# (retrieval/names.py; BENCHMARKS.md, reader); the floor holds what was measured.
HIT1, HIT3 = 0.95, 1.0
UNANSWERABLE_REFUSED_FLOOR, UNANSWERABLE_REFUSED_TARGET, ANSWERABLE_REFUSED_AT_MOST = 14, 15, 1
JEJU = ["who met the Jeju governor?", "ai gặp tỉnh trưởng Jeju?", "ai gap tinh truong jeju"]


@pytest.fixture(scope="module")
def index_dir(real_index_dir: Path) -> Path:
    return real_index_dir


@pytest.fixture(scope="module")
def searcher(real_searcher: Searcher) -> Searcher:
    return real_searcher


@pytest.fixture(scope="module")
def report(searcher: Searcher) -> Report:
    return evaluate(searcher, read_questions(QUESTIONS))


@pytest.mark.parametrize("question", JEJU)
def test_jeju_question_is_answered_from_seed_001_in_every_language(searcher: Searcher, question: str) -> None:
    answer = searcher.search(question)
    assert not answer.abstained
    best = answer.results[0]
    assert best.article.source_file == "001_ba5425dd328a78c0.txt"
    assert "Nguyễn Văn Út" in best.text and "Tỉnh trưởng tỉnh Jeju" in best.text
    assert "Tỉnh trưởng tỉnh Jeju" in best.highlight
    assert best.paragraph == 10


def test_off_topic_question_is_abstained(searcher: Searcher) -> None:
    assert searcher.search("What is the capital of France?").abstained


def test_eval_set_is_big_enough_and_covers_every_group() -> None:
    questions = read_questions(QUESTIONS)
    langs = {q.lang for q in questions}
    assert len(questions) >= 80 and {"en", "vi", "vi-noaccent"} <= langs
    assert sum(not q.answerable for q in questions) >= 10


@pytest.mark.parametrize("lang", ["en", "vi", "vi-noaccent"])
def test_ranking_targets_per_language(report: Report, lang: str) -> None:
    group = report.by_lang[lang].as_dict()
    misses = [m["id"] for m in report.misses if m["id"].split("-")[0] in {"en": "en", "vi": "vi", "vi-noaccent": "vin"}[lang]]
    assert group["hit@1"] >= HIT1, f"{lang} hit@1 {group['hit@1']} < {HIT1}; misses: {misses}"
    assert group["hit@3"] >= HIT3, f"{lang} hit@3 {group['hit@3']} < {HIT3}"


def test_answerable_questions_are_not_refused(report: Report) -> None:
    refused = [m["id"] for m in report.misses if m["problem"] == "abstained"]
    assert len(refused) <= ANSWERABLE_REFUSED_AT_MOST, f"answerable questions refused: {refused}"


def test_unanswerable_questions_are_mostly_refused(report: Report) -> None:
    answered = [m["id"] for m in report.misses if m["problem"] == "answered an unanswerable question"]
    assert report.overall.unanswerable - len(answered) >= UNANSWERABLE_REFUSED_FLOOR, f"answered: {answered}"


@pytest.mark.xfail(strict=True, reason="target not met yet: the reader refuses 14 of 16 unanswerable questions, 15 wanted")
def test_unanswerable_questions_reach_the_target(report: Report) -> None:
    answered = [m["id"] for m in report.misses if m["problem"] == "answered an unanswerable question"]
    assert report.overall.unanswerable - len(answered) >= UNANSWERABLE_REFUSED_TARGET, f"answered: {answered}"


def test_cli_reads_questions_from_stdin_and_writes_json_lines(index_dir: Path) -> None:
    """`seedqa ask --json` with no question: one JSON object per input line, the model loaded once."""
    env = os.environ | {"SEEDQA_INDEX__FOLDER": str(index_dir), "SEEDQA_ARTICLES__FOLDER": str(REPO / "seeds")}
    done = subprocess.run(
        [sys.executable, "-m", "seedqa.cli", "ask", "--json", "-k", "2"],
        input="\n".join(JEJU) + "\n", capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["question"] for line in lines] == [" ".join(q.split()) for q in JEJU]
    for line in lines:
        assert line["abstained"] is False and len(line["results"]) == 2
        top = line["results"][0]
        assert set(top) == {"rank", "score", "text", "highlight", "article", "paragraph"}
        assert "answer" in line
        assert top["article"]["source_file"] == "001_ba5425dd328a78c0.txt" and "Nguyễn Văn Út" in top["text"]


def test_passages_embedded_with_their_sentences_keep_their_own_vectors(searcher: Searcher) -> None:
    """One pass gives the passage vector (as embedding it alone does) and each sentence's vector."""
    encoder = searcher.encoder
    chunks = searcher.index.chunks[:4]
    texts, titles = [c.text for c in chunks], [c.title for c in chunks]
    passages, sentences = encoder.encode_passages(texts, titles, [[(s.start, s.end) for s in c.sentences] for c in chunks])
    alone = encoder.encode_documents(texts, titles)
    assert float((passages * alone).sum(axis=1).min()) > 0.9999
    assert [len(s) for s in sentences] == [len(c.sentences) for c in chunks]
    # Each sentence's vector is nearest to its own passage's vector among these passages.
    for i, vectors in enumerate(sentences):
        assert all(int(np.argmax(passages @ v)) == i for v in vectors)


def test_an_added_news_page_is_answered_with_its_url_after_the_switch(real_index_dir: Path, searcher: Searcher, tmp_path: Path) -> None:
    """`seedqa add` of a live page, an incremental rebuild, and the running searcher switched to it (as the bot does)."""
    import shutil

    from news_server import NewsServer
    from retrieval import store
    from retrieval.adding import add
    from retrieval.engine import rebuild
    from retrieval.fetching import Fetcher
    from retrieval.settings import ArticlesSettings, IndexSettings
    from embeddings.settings import EmbeddingsSettings

    articles, index = tmp_path / "articles", tmp_path / "index"
    shutil.copytree(REPO / "seeds", articles)
    shutil.copytree(real_index_dir, index)  # with its vector cache: only the new article is embedded
    with NewsServer() as site, Fetcher() as fetcher:
        [added] = add([site.url("09-lao-dong-goesan.html")], articles, fetcher)
    assert added.status == "added"
    report = rebuild(ArticlesSettings(folder=articles), IndexSettings(folder=index), EmbeddingsSettings(), fetch_progress=False)
    assert report.articles == 6 and report.reused > 0
    switched = searcher.with_index(store.load(index))
    answer = switched.search("How many seasonal workers will Thanh Hoa send to Goesan?")
    assert not answer.abstained
    assert answer.results[0].article.url == "https://www.tinhanviet.kr/news/articleView.html?idxno=18452"
    assert any("350" in r.text for r in answer.results)  # the passage with the number among those shown
    assert searcher.search("who met the Jeju governor?").results[0].article.source_file == "001_ba5425dd328a78c0.txt"  # the old one still answers
