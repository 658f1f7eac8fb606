"""The bad-input catalogue: each input through the real bot (fake Bot API over HTTP) and through `seedqa ask`.

Every one gets a clear reply, no exception reaches the error handler, and the bot keeps serving.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from pathlib import Path

import pytest

from fake_bot_api import telegram_html_errors
from retrieval.search import Searcher
from seedqa.cli import main
from test_bot import JEJU_VI, index_dir, running_bot, searcher  # noqa: F401 - fixtures
from test_cli import indexed, model, workspace  # noqa: F401 - fixtures

ANSWER = "Nguyễn Văn Út"
JEJU_ACCENTED = "Ai đã gặp Tỉnh trưởng tỉnh Jeju?"
ZERO_WIDTH_AND_RTL = "ai\u200b gap \u200dtinh\u202e truong\u200f jeju\ufeff"
LONG = ("ai gap tinh truong jeju " * 500)[:10_000]


@pytest.fixture
def no_handler_errors(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.ERROR, logger="bot")
    return caplog


def assert_clean(caplog: pytest.LogCaptureFixture) -> None:
    assert "error while handling" not in caplog.text


@pytest.mark.parametrize(
    ("message", "expect"),
    [
        ("", "only read text"),  # Telegram delivers an empty text as no text at all
        ("   \n\t  ", "question in words"),
        ("😀🎉👍", "question in words"),
        ("…?!", "question in words"),
        (LONG, ANSWER),
        (ZERO_WIDTH_AND_RTL, ANSWER),
        ("/start junk <b> 123", "Hello"),
        ("/help please </a>", "How to ask"),
        ("/sources ; DROP TABLE feedback", "Articles I know"),
        ("/article 1 2", "/article 1"),
        ("/article -1", "/article 1"),
        ("/article 99999999999999", "/article 1"),
        ("/article 999", "no article 999"),
        ("/ask 😀", "question in words"),
        ("/ask", "/ask who met"),
    ],
    ids=["empty", "whitespace", "emoji", "punctuation", "10k-chars", "zero-width-rtl", "start-junk", "help-junk", "sources-junk", "article-two-args", "article-negative", "article-huge", "article-999", "ask-emoji", "ask-empty"],
)
def test_bad_input_gets_a_clear_reply_through_the_bot(searcher: Searcher, tmp_path: Path, no_handler_errors: pytest.LogCaptureFixture, message: str, expect: str) -> None:
    with running_bot(searcher, tmp_path) as bot:
        reply = bot.ask(message)
        assert expect in reply["text"] and telegram_html_errors(reply["text"]) is None
        assert ANSWER in bot.ask(JEJU_VI)["text"]  # still serving
    assert_clean(no_handler_errors)


def test_decomposed_vietnamese_gets_the_same_reply_as_composed(searcher: Searcher, tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", JEJU_ACCENTED)
    assert nfd != JEJU_ACCENTED
    with running_bot(searcher, tmp_path) as bot:
        composed = bot.ask(JEJU_ACCENTED)["text"]
        decomposed = bot.ask(nfd)["text"]
    assert ANSWER in composed and decomposed == composed


# -- the same through `seedqa ask` ------------------------------------------------------------


def ask_json(capsys: pytest.CaptureFixture[str], question: str) -> dict[str, object]:
    assert main(["ask", "--json", question]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("question", ["   ", "😀🎉👍", "…?!"])
def test_ask_refuses_a_question_without_words_in_one_line(indexed: Path, capsys: pytest.CaptureFixture[str], question: str) -> None:
    assert main(["ask", question]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("seedqa: ") and captured.err.count("\n") == 1
    assert "Traceback" not in captured.err


def test_ask_handles_long_zero_width_and_decomposed_questions(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    composed = ask_json(capsys, JEJU_ACCENTED)
    assert ask_json(capsys, unicodedata.normalize("NFD", JEJU_ACCENTED))["results"] == composed["results"]
    plain = ask_json(capsys, "ai gap tinh truong jeju")
    assert ask_json(capsys, ZERO_WIDTH_AND_RTL)["results"] == plain["results"]
    long = ask_json(capsys, LONG)
    assert len(str(long["question"])) == 1000  # cut to search.max_question_chars, then searched
