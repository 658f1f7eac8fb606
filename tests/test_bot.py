"""The bot end to end: the real python-telegram-bot Application, over real HTTP, against a fake Bot API.

Only Telegram's servers are replaced (tests/fake_bot_api.py, on 127.0.0.1): updates go in
through getUpdates, and every assertion is on what the bot actually sent back. The engine is
the real one over the seed articles; the embedding model is the small fake, except for the
Jeju test at the end, which uses the real model.
"""

from __future__ import annotations

import html
import logging
import re
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bot.app import WEBHOOK_PATH, check_settings
from bot.callbacks import Callback
from bot.errors import BotStartError
from bot.settings import BotSettings
from retrieval import store
from retrieval.search import Searcher
from retrieval.settings import SearchSettings
from bot_harness import TOKEN, running_bot
from fake_bot_api import BOT_USERNAME, GROUP_CHAT_ID, FakeBotAPI, telegram_html_errors
from fakes import SEEDS, FakeEncoder, build

JEJU_VI = "ai gap tinh truong jeju"
# The fake embedder matches words, not meaning, so its English question carries the names.
JEJU_EN = "When did Nguyễn Văn Út meet the governor of Jeju?"
# The fake embedder's scores run lower than the real model's; these keep its answers and refusals apart.
FAKE_ABSTAIN_BELOW, STRICT_ABSTAIN_BELOW = 0.1, 0.3


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bot") / "index"
    build(SEEDS, folder, FakeEncoder())
    return folder


@pytest.fixture
def searcher(index_dir: Path) -> Searcher:
    return Searcher(store.load(index_dir), FakeEncoder(), SearchSettings(abstain_below=FAKE_ABSTAIN_BELOW, abstain_below_other_language=FAKE_ABSTAIN_BELOW))


@pytest.fixture
def strict_searcher(index_dir: Path) -> Searcher:
    return Searcher(store.load(index_dir), FakeEncoder(), SearchSettings(abstain_below=STRICT_ABSTAIN_BELOW, abstain_below_other_language=STRICT_ABSTAIN_BELOW))


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    markup = message.get("reply_markup") or {}
    return [(b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row]


def button(message: dict[str, Any], label: str) -> str:
    return next(data for text, data in buttons(message) if label in text)


def plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text))


# -- answering ---------------------------------------------------------------------------------


def test_private_question_gets_the_cited_passage_with_buttons(searcher: Searcher, tmp_path: Path) -> None:
    with running_bot(searcher, tmp_path) as bot:
        reply = bot.ask(JEJU_VI)
        assert reply["parse_mode"] == "HTML" and telegram_html_errors(reply["text"]) is None
        assert "Nguyễn Văn Út" in reply["text"]
        bold = re.findall(r"<b>(.*?)</b>", reply["text"], re.S)
        assert any("Jeju" in b for b in bold[1:]), "the best sentence is in bold"
        assert "001_ba5425dd328a78c0.txt" in reply["text"] and "đoạn" in reply["text"]
        labels = [text for text, _ in buttons(reply)]
        assert "Thêm kết quả ▸" in labels and "👍" in labels and "👎" in labels
        assert any(label.startswith("📄") for label in labels)
        # "typing…" was shown before the answer came
        actions = bot.api.calls("sendChatAction")
        assert actions and actions[0].params["action"] == "typing"
        assert actions[0].time <= bot.api.calls("sendMessage")[0].time


def test_replies_speak_the_language_of_the_question(searcher: Searcher, strict_searcher: Searcher, tmp_path: Path) -> None:
    with running_bot(searcher, tmp_path) as bot:
        english = bot.ask(JEJU_EN)
        assert "paragraph" in english["text"] and "More results ▸" in [t for t, _ in buttons(english)]
    with running_bot(strict_searcher, tmp_path) as bot:
        nothing_en = bot.ask("What is the capital of France?")
        assert "do not answer" in nothing_en["text"] and "/sources" in nothing_en["text"]
        nothing_vi = bot.ask("giá vàng hôm nay bao nhiêu")
        assert "không trả lời" in nothing_vi["text"] and "/sources" in nothing_vi["text"]


def test_html_in_a_question_cannot_break_the_reply(searcher: Searcher, tmp_path: Path) -> None:
    with running_bot(searcher, tmp_path) as bot:
        for question in ['<b>ai gap</b> tinh truong </a> jeju <script>alert(1)</script>', "*ai* _gap_ [tinh](http://x) `jeju`", "a < b & c > d"]:
            reply = bot.ask(question)
            assert telegram_html_errors(reply["text"]) is None
            assert "something went wrong" not in reply["text"]
        assert all(call.ok for call in bot.api.calls("sendMessage"))


def test_more_results_edits_the_message_and_previous_comes_back(searcher: Searcher, tmp_path: Path) -> None:
    with running_bot(searcher, tmp_path) as bot:
        bot.ask(JEJU_EN)
        message = bot.api.bot_messages(1001)[-1]
        first_page = bot.replies()[-1]["text"]
        bot.api.press_button(message, button(bot.replies()[-1], "More results"))
        edit = bot.api.wait_for("editMessageText")[0].params
        assert edit["message_id"] == message["message_id"] and telegram_html_errors(edit["text"]) is None
        assert "<b>4.</b>" in edit["text"] and "results 4–6" in edit["text"] and "<b>1.</b>" not in edit["text"]
        bot.api.press_button(bot.api.bot_messages(1001)[-1], button(edit, "Previous"))
        back = bot.api.wait_for("editMessageText", count=2)[1].params
        assert plain(back["text"]).startswith(plain(first_page)[:80])
        assert len(bot.api.wait_for("answerCallbackQuery", count=2)) == 2  # every tap is acknowledged


def test_full_article_button_sends_the_cleaned_article(searcher: Searcher, tmp_path: Path) -> None:
    with running_bot(searcher, tmp_path) as bot:
        reply = bot.ask(JEJU_VI)
        data = next(d for t, d in buttons(reply) if t.startswith("📄"))
        bot.api.press_button(bot.api.bot_messages(1001)[-1], data)
        article = bot.api.wait_for("sendMessage", count=2)[1].params
        assert "[1]" in article["text"] and "001_ba5425dd328a78c0.txt" in article["text"]
        assert "Những tin mới hơn" not in article["text"]  # cleaned: the site's lists are gone


def test_feedback_is_kept_with_the_question_and_what_was_shown(searcher: Searcher, tmp_path: Path) -> None:
    with running_bot(searcher, tmp_path) as bot:
        reply = bot.ask(JEJU_EN)
        bot.api.press_button(bot.api.bot_messages(1001)[-1], button(reply, "👎"), user_id=1001)
        ack = bot.api.wait_for("answerCallbackQuery", lambda p: "text" in p)[0].params
        assert "Thanks" in ack["text"]
    with sqlite3.connect(tmp_path / "feedback.sqlite3") as db:
        rows = db.execute("SELECT user_id, question, vote, shown FROM feedback").fetchall()
    assert len(rows) == 1
    user_id, question, vote, shown = rows[0]
    assert (user_id, question, vote) == (1001, JEJU_EN, -1)
    assert "Nguyễn Văn Út" in shown and "001_ba5425dd328a78c0" in shown


def test_forged_and_stale_buttons_get_a_polite_notice(searcher: Searcher, tmp_path: Path) -> None:
    with running_bot(searcher, tmp_path) as bot:
        reply = bot.ask(JEJU_EN)
        message = bot.api.bot_messages(1001)[-1]
        genuine = button(reply, "More results")
        forged = genuine.replace(":1:", ":9:")
        stale = bot.seedqa.codec.encode(Callback("page", "gone1234", 1))  # signed, but no such answer
        for data in (forged, stale, "x" * 64, ""):
            bot.api.press_button(message, data)
        notices = bot.api.wait_for("answerCallbackQuery", count=4)
        assert all("older answer" in call.params.get("text", "") and call.params.get("show_alert") for call in notices)
        assert not bot.api.calls("editMessageText") and len(bot.replies()) == 1


# -- commands ----------------------------------------------------------------------------------


def test_commands_are_registered_in_english_and_vietnamese(searcher: Searcher, tmp_path: Path) -> None:
    with running_bot(searcher, tmp_path) as bot:
        calls = bot.api.calls("setMyCommands")
        by_lang = {c.params.get("language_code"): [cmd["command"] for cmd in c.params["commands"]] for c in calls}
        assert set(by_lang) == {None, "vi"}
        assert all(set(cmds) == {"start", "help", "ask", "sources", "article"} for cmds in by_lang.values())


def test_start_help_sources_and_article(searcher: Searcher, tmp_path: Path) -> None:
    with running_bot(searcher, tmp_path) as bot:
        start_en = bot.ask("/start")
        assert "5 news articles" in start_en["text"] and "Who met the Jeju governor?" in start_en["text"] and "ai gap tinh truong jeju" in start_en["text"]
        start_vi = bot.ask("/start", user_id=2002, language_code="vi")
        assert "Xin chào" in start_vi["text"]
        assert f"@{BOT_USERNAME}" in bot.ask("/help")["text"]
        sources = bot.ask("/sources")["text"]
        assert [n for n in range(1, 6) if f"\n{n}. " in sources] == [1, 2, 3, 4, 5]
        assert "2023" in sources  # dates shown
        assert "[1]" in bot.ask("/article 2")["text"]
        assert "no article 999" in bot.ask("/article 999")["text"]
        assert "/article 1" in bot.ask("/article two; DROP TABLE")["text"]
        assert "/article 1" in bot.ask("/article")["text"]
        assert "How to ask" in bot.ask("/nonsense")["text"]
        assert all(call.ok for call in bot.api.calls("sendMessage"))


def test_a_reply_longer_than_telegram_allows_is_split_on_boundaries(searcher: Searcher, tmp_path: Path) -> None:
    articles = sorted(searcher.index.articles.values(), key=lambda a: (a.source_file, a.id))
    number, longest = max(enumerate(articles, start=1), key=lambda pair: len(pair[1].text))
    assert len(longest.text) > 4096, "the seeds hold an article longer than one message"
    with running_bot(searcher, tmp_path) as bot:
        bot.api.send_text(f"/article {number}")
        parts = [c.params["text"] for c in bot.api.wait_for("sendMessage", count=2, timeout=10)]
        assert all(len(p.encode("utf-16-le")) // 2 <= 4096 and telegram_html_errors(p) is None for p in parts)
        shown = "".join(plain(p) for p in parts)
        for paragraph in longest.paragraphs:
            assert paragraph.text in shown
        assert all(call.ok for call in bot.api.calls("sendMessage"))


# -- groups, inline mode, other input ----------------------------------------------------------


def test_in_groups_only_ask_replies_and_mentions_are_answered(searcher: Searcher, tmp_path: Path) -> None:
    group = {"chat_type": "supergroup", "user_id": 3003}
    with running_bot(searcher, tmp_path) as bot:
        bot.api.send_text(JEJU_VI, **group)  # people talking among themselves
        assert "Nguyễn Văn Út" in bot.ask(f"/ask@{BOT_USERNAME} {JEJU_VI}", **group)["text"]
        by_mention = bot.ask(f"@{BOT_USERNAME} {JEJU_EN}", **group)
        assert "Nguyễn Văn Út" in by_mention["text"]
        assert by_mention.get("reply_parameters", {}).get("message_id") or by_mention.get("reply_to_message_id")
        answer = bot.api.bot_messages(GROUP_CHAT_ID)[-1]
        assert "Nguyễn Văn Út" in bot.ask(JEJU_EN, reply_to_message=answer, **group)["text"]
        assert "/ask who met" in bot.ask("/ask", **group)["text"]
        assert len(bot.replies(GROUP_CHAT_ID)) == 4  # the first message got no reply


def test_privacy_mode_is_read_from_getme_and_explained(searcher: Searcher, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    with running_bot(searcher, tmp_path, api=FakeBotAPI(can_read_all_group_messages=True)):
        pass
    assert "privacy mode off" in caplog.text
    caplog.clear()
    with running_bot(searcher, tmp_path):
        pass
    assert "privacy mode on" in caplog.text


def test_inline_mode_offers_results_to_send(searcher: Searcher, tmp_path: Path) -> None:
    with running_bot(searcher, tmp_path) as bot:
        bot.api.inline_query(JEJU_EN)
        answer = bot.api.wait_for("answerInlineQuery")[0].params
        results = answer["results"]
        assert 1 <= len(results) <= 5 and all(r["type"] == "article" for r in results)
        content = results[0]["input_message_content"]
        assert content["parse_mode"] == "HTML" and telegram_html_errors(content["message_text"]) is None
        assert "Nguyễn Văn Út" in content["message_text"] and JEJU_EN in content["message_text"]
        assert results[0]["title"] and "paragraph" in results[0]["description"]
        bot.api.inline_query("   ")
        empty = bot.api.wait_for("answerInlineQuery", count=2)[1].params
        assert empty["results"] == [] and empty["button"]["start_parameter"] == "help"


def test_stickers_photos_and_voice_get_a_hint(searcher: Searcher, tmp_path: Path) -> None:
    with running_bot(searcher, tmp_path) as bot:
        bot.api.send_sticker()
        bot.api.send_photo(caption="look")
        bot.api.send_voice()
        hints = bot.api.wait_for("sendMessage", count=3)
        assert all("only read text" in c.params["text"] for c in hints)


# -- access, limits, errors --------------------------------------------------------------------


def test_allowlist_refuses_strangers_once_and_never_searches_for_them(searcher: Searcher, tmp_path: Path) -> None:
    encoder = searcher.encoder
    assert isinstance(encoder, FakeEncoder)
    with running_bot(searcher, tmp_path, allowed_user_ids=[42]) as bot:
        bot.api.send_text(JEJU_EN, user_id=666)
        bot.api.send_text(JEJU_EN, user_id=666)
        bot.api.inline_query(JEJU_EN, user_id=666)
        assert "private" in bot.api.wait_for("sendMessage")[0].params["text"]
        assert "Nguyễn Văn Út" in bot.ask(JEJU_EN, user_id=42)["text"]
        assert len(bot.replies(666)) == 1
        assert encoder.queries == [JEJU_EN]  # only the allowed user's question was encoded


def test_rate_limit_answers_politely_and_searches_no_more(searcher: Searcher, tmp_path: Path) -> None:
    with running_bot(searcher, tmp_path, rate_limit_questions=2) as bot:
        bot.ask(JEJU_EN)
        bot.ask(JEJU_EN)
        third = bot.ask(JEJU_EN)
        assert "faster than I can keep up" in third["text"] and re.search(r"wait \d+ s", third["text"])
        assert "Nguyễn Văn Út" in bot.ask(JEJU_EN, user_id=5005)["text"]  # others unaffected


def test_an_error_is_logged_with_context_the_user_told_and_the_bot_keeps_going(
    searcher: Searcher, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_search = searcher.search
    calls = {"n": 0}

    def flaky(question: str, k: int | None = None, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("disk on fire")
        return real_search(question, k, **kw)

    monkeypatch.setattr(searcher, "search", flaky)
    with running_bot(searcher, tmp_path) as bot:
        assert "something went wrong" in bot.ask(JEJU_EN)["text"]
        assert "Nguyễn Văn Út" in bot.ask(JEJU_EN)["text"]
    assert "disk on fire" in caplog.text and "user 1001" in caplog.text


def test_token_never_appears_in_logs(searcher: Searcher, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with running_bot(searcher, tmp_path) as bot:
        bot.ask(JEJU_EN)
    assert any(TOKEN in path for path in bot.api.request_paths)  # it was used on every request...
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text  # ...and never logged


def test_a_slow_search_does_not_hold_up_other_chats(searcher: Searcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The search runs on a worker thread and updates run concurrently: /start is not queued behind it."""
    real_search = searcher.search
    release = threading.Event()

    def slow(question: str, k: int | None = None, **kw: Any) -> Any:
        release.wait(10)
        return real_search(question, k, **kw)

    monkeypatch.setattr(searcher, "search", slow)
    with running_bot(searcher, tmp_path) as bot:
        bot.api.send_text(JEJU_VI, user_id=1001)
        assert "Hello" in bot.ask("/start", user_id=2002)["text"]
        assert bot.replies(1001) == []  # still searching
        release.set()
        assert "Nguyễn Văn Út" in bot.api.wait_for("sendMessage", lambda p: p["chat_id"] == 1001)[0].params["text"]


def test_questions_that_pile_up_behind_a_search_are_encoded_together(searcher: Searcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Under load the queue drains by batches: one forward pass for every waiting question, and each still gets its own answer."""
    encoder = searcher.encoder
    assert isinstance(encoder, FakeEncoder)
    real_search = searcher.search
    release = threading.Event()

    def first_is_slow(question: str, k: int | None = None, **kw: Any) -> Any:
        if question == JEJU_VI:
            release.wait(10)
        return real_search(question, k, **kw)

    monkeypatch.setattr(searcher, "search", first_is_slow)
    waiting = {2002: "Tazmo", 3003: "Long An Jeju", 4004: "Quảng Ninh Nhật Bản"}
    with running_bot(searcher, tmp_path) as bot:
        bot.api.send_text(JEJU_VI, user_id=1001)
        bot.api.wait_for("sendChatAction", lambda p: p["chat_id"] == 1001)
        for user_id, question in waiting.items():
            bot.api.send_text(question, user_id=user_id)
        for user_id in waiting:
            bot.api.wait_for("sendChatAction", lambda p, user_id=user_id: p["chat_id"] == user_id)
        time.sleep(0.3)  # from the typing action to the search queue is a few milliseconds
        release.set()
        replies = {user_id: bot.api.wait_for("sendMessage", lambda p, user_id=user_id: p["chat_id"] == user_id)[0].params["text"] for user_id in [1001, *waiting]}
    assert "Nguyễn Văn Út" in replies[1001]
    assert len(encoder.query_batches) == 2, encoder.query_batches  # the slow one alone, then the three together
    assert len(encoder.query_batches[1]) == 3
    for user_id, question in waiting.items():
        alone = real_search(question, 3)
        assert alone.results and plain(alone.results[0].highlight) in plain(replies[user_id])


def test_telegram_flood_limits_are_waited_out_and_the_answer_sent_once(searcher: Searcher, tmp_path: Path) -> None:
    with running_bot(searcher, tmp_path) as bot:
        bot.api.rate_limit_next("sendMessage", retry_after=1)
        reply = bot.ask(JEJU_VI)
        assert "Nguyễn Văn Út" in reply["text"]
        assert [f.kind for f in bot.api.faults] == ["rate_limit"]
        assert len(bot.replies()) == 1


def test_webhook_mode_serves_updates_that_carry_the_secret_and_refuses_others(searcher: Searcher, tmp_path: Path) -> None:
    import json
    import socket
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    secret = "s3cret-" + "x" * 20
    settings = {"mode": "webhook", "webhook_url": "https://bot.example.org/telegram", "webhook_port": port, "webhook_secret": secret}
    with running_bot(searcher, tmp_path, **settings) as bot:
        registered = bot.api.wait_for("setWebhook")[0].params
        assert registered["url"] == "https://bot.example.org/telegram" and registered["secret_token"] == secret
        update = {"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": 1001, "type": "private"}, "from": {"id": 1001, "is_bot": False, "first_name": "Lan"}, "text": JEJU_VI}}

        def post(headers: dict[str, str]) -> int:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/{WEBHOOK_PATH}", json.dumps(update).encode(), {"Content-Type": "application/json", **headers})
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    return response.status
            except urllib.error.HTTPError as exc:
                return exc.code

        assert post({}) == 403 and post({"X-Telegram-Bot-Api-Secret-Token": "wrong"}) == 403
        assert post({"X-Telegram-Bot-Api-Secret-Token": secret}) == 200
        assert "Nguyễn Văn Út" in bot.api.wait_for("sendMessage")[0].params["text"]
        assert len(bot.replies()) == 1  # the refused posts were not answered


# -- starting --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        (BotSettings(), "No bot token"),
        (BotSettings(token="hello"), "does not look like a bot token"),
        (BotSettings(token=TOKEN, mode="webhook", webhook_url="https://bot.example.org/t"), "SEEDQA_BOT__WEBHOOK_SECRET"),
        (BotSettings(token=TOKEN, mode="webhook", webhook_secret="s" * 20), "webhook_url"),
    ],
)
def test_unusable_settings_stop_the_start_with_one_sentence(settings: BotSettings, says: str) -> None:
    with pytest.raises(BotStartError, match=says):
        check_settings(settings)


def test_seedqa_bot_without_token_exits_1_with_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from seedqa.cli import main

    monkeypatch.delenv("SEEDQA_BOT__TOKEN", raising=False)
    assert main(["bot"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("seedqa: No bot token") and "\n" not in err and "Traceback" not in err


def test_a_token_telegram_refuses_stops_the_start_with_one_sentence(searcher: Searcher, tmp_path: Path) -> None:
    from bot.app import run_bot

    with FakeBotAPI(token="999:" + "A" * 35) as api:  # accepts only another token
        settings = BotSettings(token=TOKEN, base_url=api.base_url, base_file_url=api.base_file_url, feedback_db=tmp_path / "f.sqlite3")
        with pytest.raises(BotStartError, match="refused the token"):
            run_bot(settings, searcher)


# -- with the real model -----------------------------------------------------------------------


@pytest.mark.model
@pytest.mark.parametrize("question", ["who met the Jeju governor?", JEJU_VI])
def test_jeju_question_in_telegram_with_the_real_model(real_searcher: Searcher, tmp_path: Path, question: str) -> None:
    with running_bot(real_searcher, tmp_path) as bot:  # the real model and its default threshold
        reply = bot.ask(question)
        assert "Nguyễn Văn Út" in reply["text"] and "001_ba5425dd328a78c0.txt" in reply["text"]
        assert telegram_html_errors(reply["text"]) is None
