"""The running bot follows its index: rebuilds land while people ask, and nobody's question is lost or answered twice."""

from __future__ import annotations

import gc
import html
import json
import logging
import re
import shutil
import sys
import threading
import time
import weakref
from pathlib import Path

import pytest

import bot.refresh
from bot_harness import running_bot
from fakes import SEEDS, FakeEncoder, build
from news_server import PAGES, NewsServer
from retrieval import store
from retrieval.search import Searcher
from retrieval.settings import SearchSettings

FAKE_ABSTAIN_BELOW = 0.1  # as in test_bot: the fake embedder's scores run lower than the real model's
USERS = 20
# Three articles that land one rebuild at a time; each answers one question nothing else does.
NEW_ARTICLES = [
    ("000-kien-giang-osaka.md", "Kiên Giang ký kết với tập đoàn Zentaro tại Osaka", "Tỉnh Kiên Giang đã ký biên bản hợp tác với tập đoàn Zentaro tại Osaka về nuôi trồng hải sản."),
    ("000-ca-mau-seoul.md", "Cà Mau mời gọi nhà đầu tư Seoul", "Đoàn công tác Cà Mau gặp Hiệp hội Doanh nghiệp Seoul để giới thiệu dự án điện gió Khánh Bình."),
    ("000-dong-thap-nagoya.md", "Đồng Tháp đưa sen sang Nagoya", "Sở Công Thương Đồng Tháp khai trương điểm bán sen Tháp Mười đầu tiên tại Nagoya."),
]


def plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def write_article(folder: Path, name: str, title: str, body: str) -> None:
    (folder / name).write_text(f"---\ntitle: {title}\ndate: 2024-10-0{len(list(folder.glob('000-*'))) + 1}\n---\n\n{body}\n", encoding="utf-8")


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, Searcher]:
    monkeypatch.setattr(bot.refresh, "WATCH_SECONDS", 0.05)
    articles, index = tmp_path / "articles", tmp_path / "index"
    shutil.copytree(SEEDS, articles)
    encoder = FakeEncoder()
    build(articles, index, encoder)
    settings = SearchSettings(abstain_below=FAKE_ABSTAIN_BELOW, abstain_below_other_language=FAKE_ABSTAIN_BELOW)
    return articles, index, Searcher(store.load(index), encoder, settings)


def wait_until(condition, seconds: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_twenty_people_asking_while_three_rebuilds_land_are_each_answered_exactly_once(corpus: tuple[Path, Path, Searcher], tmp_path: Path) -> None:
    articles, index, searcher = corpus
    questions = ["Ai đã gặp tỉnh trưởng Jeju?", "Long An hợp tác với Jeju về gì?", "Tazmo đầu tư ở đâu?", "Quảng Ninh Nhật Bản"]
    asked: dict[int, int] = {}
    with running_bot(searcher, tmp_path, index_dir=index, rate_limit_questions=1000) as running:
        api = running.api
        for round_number in range(len(NEW_ARTICLES) + 1):
            rebuild = None
            if round_number < len(NEW_ARTICLES):  # this round's rebuild lands while its questions are in flight
                write_article(articles, *NEW_ARTICLES[round_number])
                rebuild = threading.Thread(target=build, args=(articles, index, FakeEncoder()))
            for user in range(USERS):
                api.send_text(questions[(user + round_number) % len(questions)], user_id=5000 + user)
                asked[5000 + user] = asked.get(5000 + user, 0) + 1
                if rebuild is not None and user == USERS // 2:
                    rebuild.start()
            for user, count in asked.items():
                api.wait_for("sendMessage", lambda p, user=user: p["chat_id"] == user, count=count, timeout=60)
            if rebuild is not None:
                rebuild.join()
                wait_until(lambda n=round_number: running.seedqa.refresher is not None and running.seedqa.refresher.swaps == n + 1)
        # The last article is answerable in the running bot: no restart.
        reply = running.ask("Đồng Tháp khai trương điểm bán sen Tháp Mười ở Nagoya", user_id=7000)
        time.sleep(0.5)  # any late duplicate would have arrived by now
        sent = {user: len(api.sent_messages(user)) for user in asked}
    assert sent == asked  # every question answered, none twice
    assert "Nagoya" in plain(reply["text"]) and "Tháp Mười" in plain(reply["text"])


def test_new_articles_are_listed_and_old_buttons_open_the_same_article_after_a_swap(corpus: tuple[Path, Path, Searcher], tmp_path: Path) -> None:
    articles, index, searcher = corpus
    with running_bot(searcher, tmp_path, index_dir=index) as running:
        reply = running.ask("Ai đã gặp tỉnh trưởng Jeju?")
        data = next(b["callback_data"] for row in reply["reply_markup"]["inline_keyboard"] for b in row if b["text"].startswith("📄"))
        shown = running.api.bot_messages(1001)[-1]
        first_title = searcher.search("Ai đã gặp tỉnh trưởng Jeju?").results[0].article.title
        write_article(articles, *NEW_ARTICLES[0])  # sorts first: every article's number in /sources moves by one
        build(articles, index, FakeEncoder())
        wait_until(lambda: running.seedqa.refresher is not None and running.seedqa.refresher.swaps == 1)
        running.api.send_text("/sources")
        sources = plain(running.api.wait_for("sendMessage", lambda p: "Osaka" in p["text"])[0].params["text"])
        assert sources.index(NEW_ARTICLES[0][1]) < sources.index(first_title)
        before = len(running.api.sent_messages(1001))
        running.api.press_button(shown, data)
        opened = running.api.wait_for("sendMessage", lambda p: p["chat_id"] == 1001, count=before + 1)[before].params["text"]
    assert first_title in plain(opened)


def test_the_old_index_is_freed_after_a_swap(corpus: tuple[Path, Path, Searcher], tmp_path: Path) -> None:
    articles, index, searcher = corpus
    with running_bot(searcher, tmp_path, index_dir=index) as running:
        refresher = running.seedqa.refresher
        assert refresher is not None
        write_article(articles, *NEW_ARTICLES[0])
        build(articles, index, FakeEncoder())
        wait_until(lambda: refresher.swaps == 1)
        running.ask("Kiên Giang Zentaro Osaka")
        first = weakref.ref(running.seedqa.searcher)
        write_article(articles, *NEW_ARTICLES[1])
        build(articles, index, FakeEncoder())
        wait_until(lambda: refresher.swaps == 2)
        running.ask("Cà Mau điện gió Khánh Bình")
        gc.collect()
        assert first() is None  # nothing kept the replaced index alive


def test_an_unusable_new_index_is_logged_and_the_bot_keeps_answering(corpus: tuple[Path, Path, Searcher], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    articles, index, searcher = corpus
    with running_bot(searcher, tmp_path, index_dir=index) as running:
        refresher = running.seedqa.refresher
        assert refresher is not None
        with caplog.at_level(logging.WARNING, logger="bot.refresh"):
            build(articles, index, FakeEncoder(fingerprint="other-weights"), force=True)  # another model's vectors
            wait_until(lambda: "another model" in caplog.text)
        assert refresher.swaps == 0
        assert "Nguyễn Văn Út" in running.ask("Ai đã gặp tỉnh trưởng Jeju?")["text"]


def test_refresh_minutes_adds_from_the_feed_and_the_article_is_answerable_within_a_minute(corpus: tuple[Path, Path, Searcher], tmp_path: Path) -> None:
    """bot.refresh_minutes: the feed is re-read in another process, indexed, and the bot switches with no restart."""
    articles, index, searcher = corpus
    expected = {e["file"]: e for e in json.loads((PAGES / "expected.json").read_text(encoding="utf-8"))}
    page = expected[sorted(n for n in expected if n.startswith("06"))[0]]
    job = Path(__file__).with_name("refresh_job.py")
    with NewsServer() as site:
        command = [sys.executable, str(job), site.url("feed.rss"), str(articles), str(index)]
        with running_bot(searcher, tmp_path, index_dir=index, refresh_command=command, refresh_minutes=0.01) as running:
            started = time.monotonic()
            refresher = running.seedqa.refresher
            assert refresher is not None
            wait_until(lambda: refresher.swaps >= 1, seconds=60)
            reply = running.ask(page["paragraphs"][0][:120])
            took = time.monotonic() - started
    assert took < 60
    assert page["url"] in reply["text"]  # the citation links to the article's page
