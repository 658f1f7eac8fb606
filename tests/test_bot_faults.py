"""Telegram misbehaving: 5xx, 429, timeouts, dropped connections. Every question still gets exactly one answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from fake_bot_api import FakeBotAPI
from retrieval.search import Searcher
from test_bot import JEJU_VI, running_bot, searcher, index_dir  # noqa: F401 - fixtures

ANSWER = "Nguyễn Văn Út"


def answers_to(api: FakeBotAPI, chat_id: int) -> list[str]:
    return [m["text"] for m in api.sent_messages(chat_id)]


@pytest.mark.parametrize(
    ("inject", "kinds"),
    [
        (lambda api: api.fail_next("sendMessage", status=500, times=2), ["fail", "fail"]),
        (lambda api: api.fail_next("sendMessage", status=502), ["fail"]),
        (lambda api: api.drop_next("sendMessage"), ["drop"]),
        (lambda api: api.rate_limit_next("sendMessage", retry_after=1), ["rate_limit"]),
        (lambda api: (api.fail_next("getUpdates", status=500), api.drop_next("getUpdates")), ["fail", "drop"]),
        (lambda api: api.fail_next("sendChatAction", status=500, times=5), ["fail"] * 4),
    ],
    ids=["500-twice", "502", "dropped", "429", "polling-500-and-drop", "typing-fails"],
)
def test_a_fault_costs_time_not_the_answer(searcher: Searcher, tmp_path: Path, inject: object, kinds: list[str]) -> None:
    with running_bot(searcher, tmp_path) as bot:
        inject(bot.api)  # type: ignore[operator]
        bot.api.send_text(JEJU_VI)
        bot.api.wait_for("sendMessage", lambda p: p["chat_id"] == 1001, timeout=15)
        assert sorted(f.kind for f in bot.api.faults) == sorted(kinds)
        replies = answers_to(bot.api, 1001)
        assert len(replies) == 1 and ANSWER in replies[0]


def test_a_reply_whose_response_times_out_is_not_sent_twice(searcher: Searcher, tmp_path: Path) -> None:
    """Telegram got the message but its response was lost: resending would show the answer twice."""
    with running_bot(searcher, tmp_path, request_timeout_seconds=0.5) as bot:
        bot.api.delay_next("sendMessage", 1.5)
        bot.api.send_text(JEJU_VI)
        bot.api.wait_for("sendMessage", lambda p: p["chat_id"] == 1001)
        bot.api.send_text("/start")  # the bot is still serving; by now a duplicate would have been sent
        bot.api.wait_for("sendMessage", lambda p: "/sources" in p["text"])
        replies = answers_to(bot.api, 1001)
        assert sum(ANSWER in r for r in replies) == 1
        assert not any("something went wrong" in r for r in replies)


def test_many_users_with_faults_all_get_exactly_one_answer(searcher: Searcher, tmp_path: Path) -> None:
    users = range(2001, 2013)
    with running_bot(searcher, tmp_path) as bot:
        bot.api.fail_next("sendMessage", status=500, times=3)
        bot.api.drop_next("sendMessage", times=2)
        bot.api.rate_limit_next("sendMessage", retry_after=1, times=2)
        for user in users:
            bot.api.send_text(JEJU_VI, user_id=user)
        for user in users:
            bot.api.wait_for("sendMessage", lambda p, u=user: p["chat_id"] == u, timeout=20)
        assert len(bot.api.faults) == 7
        for user in users:
            replies = answers_to(bot.api, user)
            assert len(replies) == 1 and ANSWER in replies[0], user


def test_when_telegram_keeps_failing_the_bot_gives_up_on_that_reply_and_keeps_running(searcher: Searcher, tmp_path: Path) -> None:
    with running_bot(searcher, tmp_path) as bot:
        bot.api.fail_next("sendMessage", status=500, times=8)  # the answer and the apology both fail
        bot.api.send_text(JEJU_VI)
        bot.api.wait_for("getUpdates", count=3)
        import time

        deadline = time.monotonic() + 20
        while len(bot.api.faults) < 8 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(bot.api.faults) == 8
        assert ANSWER in bot.ask(JEJU_VI, user_id=3003)["text"]
