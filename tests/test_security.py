"""Secrets and access: the token stays out of logs, the allowlist and rate limit hold everywhere,
nothing on disk is unpickled, and a broken index stops the bot with a sentence."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from bot.callbacks import CallbackCodec
from fake_bot_api import GROUP_CHAT_ID
from fakes import FakeModel
from retrieval import store
from retrieval.search import Searcher
from seedqa.cli import main
from test_bot import JEJU_VI, TOKEN, button, index_dir, running_bot, searcher  # noqa: F401 - fixtures
from test_cli import indexed, model, workspace  # noqa: F401 - fixtures

ANSWER = "Nguyễn Văn Út"
LOUD_LOGGERS = ("httpx", "httpcore", "telegram", "bot", "")


def test_token_is_never_logged_even_with_every_logger_at_debug(searcher: Searcher, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with running_bot(searcher, tmp_path) as bot:
        for name in LOUD_LOGGERS:  # as someone debugging would set them, after the bot started
            logging.getLogger(name).setLevel(logging.DEBUG)
        bot.api.fail_next("sendMessage", status=500)  # a retry is logged too
        assert ANSWER in bot.ask(JEJU_VI)["text"]
        try:
            raise RuntimeError(f"request to {bot.api.base_url}{TOKEN}/sendMessage failed")
        except RuntimeError:
            logging.getLogger("bot").exception("failure with the token in the exception")
    secret_part = TOKEN.split(":")[1]
    assert any(secret_part in path for path in bot.api.request_paths)
    assert "HTTP Request" in caplog.text and "<secret>" in caplog.text  # httpx did log the URLs, masked
    for record in caplog.records:
        formatted = logging.Formatter().format(record)
        assert secret_part not in formatted, formatted[:300]
    for name in LOUD_LOGGERS[:-1]:
        logging.getLogger(name).setLevel(logging.NOTSET)


def test_allowlist_holds_for_messages_buttons_and_inline_queries(searcher: Searcher, tmp_path: Path) -> None:
    group = {"chat_type": "supergroup"}
    with running_bot(searcher, tmp_path, allowed_user_ids=[42]) as bot:
        answer = bot.ask(f"/ask {JEJU_VI}", user_id=42, **group)
        assert ANSWER in answer["text"]
        message = bot.api.bot_messages(GROUP_CHAT_ID)[-1]
        queries_before = len(searcher.encoder.queries)  # type: ignore[attr-defined]
        bot.api.press_button(message, button(answer, "▸"), user_id=666)
        refusal = bot.api.wait_for("answerCallbackQuery")[0].params
        assert "private" in refusal["text"] and refusal["show_alert"]
        bot.api.send_text(f"/ask {JEJU_VI}", user_id=666, **group)
        bot.api.inline_query(JEJU_VI, user_id=666)
        bot.api.press_button(message, button(answer, "👍"), user_id=666)
        assert "text" not in bot.api.wait_for("answerCallbackQuery", count=2)[1].params  # told once; now only the spinner stops
        assert ANSWER in bot.ask(f"/ask {JEJU_VI} nhe", user_id=42, **group)["text"]  # the member is still served
        assert len(searcher.encoder.queries) == queries_before + 1  # type: ignore[attr-defined]
        assert not bot.api.calls("editMessageText") and not bot.api.calls("answerInlineQuery")
        assert len(bot.replies(GROUP_CHAT_ID)) == 2  # the stranger's /ask got neither a search nor a second notice
    assert not (tmp_path / "feedback.sqlite3").exists() or "666" not in (tmp_path / "feedback.sqlite3").read_bytes().decode("latin-1")


def test_rate_limit_holds_for_buttons_and_inline_queries(searcher: Searcher, tmp_path: Path) -> None:
    with running_bot(searcher, tmp_path, rate_limit_questions=2) as bot:
        answer = bot.ask(JEJU_VI)
        message = bot.api.bot_messages(1001)[-1]
        bot.api.inline_query(JEJU_VI)
        assert bot.api.wait_for("answerInlineQuery")[0].params["results"]
        bot.api.press_button(message, button(answer, "▸"))
        throttled = bot.api.wait_for("answerCallbackQuery")[0].params
        assert "đợi" in throttled["text"]
        bot.api.inline_query(JEJU_VI + " nua")
        inline = bot.api.wait_for("answerInlineQuery", count=2)[1].params
        assert inline["results"] == [] and "giây" in inline["button"]["text"]
        assert not bot.api.calls("editMessageText")


def test_a_pickle_planted_in_the_index_is_refused_without_running(indexed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    generation = store.current_generation(indexed)
    assert generation is not None
    with open(generation / "sentences.npy", "wb") as fh:
        np.save(fh, np.array([Payload()], dtype=object), allow_pickle=True)
    assert main(["ask", "ai gap tinh truong jeju"]) == 1
    err = capsys.readouterr().err
    assert "damaged" in err and "`seedqa index`" in err and "Traceback" not in err
    assert not marker.exists()


@pytest.mark.parametrize("damage", ["truncated", "missing", "other-model"])
def test_a_broken_index_stops_the_bot_with_one_sentence(indexed: Path, model: FakeModel, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    import bot.app

    monkeypatch.setattr(bot.app, "run_bot", lambda settings, searcher: pytest.fail("the bot must not start"))
    monkeypatch.setenv("SEEDQA_BOT__TOKEN", TOKEN)
    generation = store.current_generation(indexed)
    assert generation is not None
    if damage == "truncated":
        faiss_file = generation / "passages.faiss"
        faiss_file.write_bytes(faiss_file.read_bytes()[:100])
        expect = "damaged"
    elif damage == "missing":
        (generation / "chunks.jsonl").unlink()
        expect = "damaged"
    else:
        monkeypatch.setenv("SEEDQA_EMBEDDINGS__MODEL", "another/model")
        expect = "another/model"
    loads_before = model.loads
    assert main(["bot"]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert expect in err and "`seedqa index`" in err and "Traceback" not in err
    assert model.loads == loads_before  # refused before the model was loaded


def test_button_data_signed_by_another_token_is_not_accepted() -> None:
    ours, theirs = CallbackCodec(TOKEN), CallbackCodec("987654:" + "B" * 35)
    from bot.callbacks import BadCallback, Callback

    with pytest.raises(BadCallback):
        ours.decode(theirs.encode(Callback("vote", "abcdefgh", 1)))
