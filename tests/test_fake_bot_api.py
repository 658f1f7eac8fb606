"""The fake Bot API is only worth trusting if real python-telegram-bot accepts it end to end.

Every test talks to the server through PTB's own HTTPXRequest over real HTTP, so encoding,
response parsing and PTB's error mapping are exercised, not assumed.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
import warnings
from typing import Any

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResultArticle, InputTextMessageContent, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes,
                          InlineQueryHandler, MessageHandler, filters)

from fake_bot_api import BOT_USERNAME, GROUP_CHAT_ID, FakeBotAPI, UploadedFile, telegram_html_errors, utf16_len


@pytest.fixture
def api() -> Any:
    with FakeBotAPI() as server:
        yield server


def make_bot(api: FakeBotAPI, token: str | None = None) -> Bot:
    return Bot(token or api.token, base_url=api.base_url, base_file_url=api.base_file_url)


async def _with_bot(api: FakeBotAPI, body: Any, token: str | None = None) -> Any:
    async with make_bot(api, token) as bot:
        return await body(bot)


def run(api: FakeBotAPI, body: Any) -> Any:
    return asyncio.run(_with_bot(api, body))


KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:1"),
                                  InlineKeyboardButton("Docs", url="https://example.org")]])


def test_get_me_parses_into_a_bot_user(api: FakeBotAPI) -> None:
    me = run(api, lambda bot: bot.get_me())
    assert me.is_bot and me.username == BOT_USERNAME and me.can_read_all_group_messages is False
    with FakeBotAPI(can_read_all_group_messages=True) as reader:
        assert run(reader, lambda bot: bot.get_me()).can_read_all_group_messages is True


def test_send_and_edit_round_trip_with_html_and_keyboard(api: FakeBotAPI) -> None:
    async def body(bot: Bot) -> None:
        sent = await bot.send_message(42, "<b>Answer</b> &amp; more", parse_mode=ParseMode.HTML, reply_markup=KEYBOARD)
        assert sent.text == "Answer & more" and sent.reply_markup == KEYBOARD and sent.from_user.id == bot.id
        edited = await bot.edit_message_text("<i>Edited</i>", chat_id=42, message_id=sent.message_id, parse_mode="HTML")
        assert edited.text == "Edited" and edited.edit_date is not None and edited.reply_markup is None
        with pytest.raises(BadRequest, match="(?i)message is not modified"):
            await bot.edit_message_text("<i>Edited</i>", chat_id=42, message_id=sent.message_id, parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=42, message_id=999)
        assert await bot.edit_message_text("inline", inline_message_id="abc") is True

    run(api, body)
    (params,) = api.sent_messages(42)
    assert params["chat_id"] == 42 and params["parse_mode"] == "HTML"
    assert params["reply_markup"] == {"inline_keyboard": [[{"text": "More", "callback_data": "more:1"},
                                                           {"text": "Docs", "url": "https://example.org"}]]}
    assert [c.method for c in api.calls() if c.method != "getMe"] == ["sendMessage"] + ["editMessageText"] * 4
    assert "getMe" in api.request_paths[0] and api.token in api.request_paths[0]


def test_telegram_style_refusals(api: FakeBotAPI) -> None:
    async def body(bot: Bot) -> None:
        too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="é" * 32 + "x")]])  # 65 bytes
        with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
            await bot.send_message(42, "hi", reply_markup=too_long)
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(42, "a < b", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)message text is empty"):
            await bot.send_message(42, "")
        with pytest.raises(BadRequest, match="(?i)message is too long"):
            await bot.send_message(42, "😀" * 2049)  # 2049 code points, 4098 UTF-16 units
        await bot.send_message(42, "😀" * 2048)

    run(api, body)
    assert len(api.sent_messages()) == 1 and len([c for c in api.calls("sendMessage") if not c.ok]) == 4


def test_faults_map_to_ptb_errors_and_are_not_executed(api: FakeBotAPI) -> None:
    async def body(bot: Bot) -> None:
        api.rate_limit_next("sendMessage", retry_after=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PTB 22.2+ warns that retry_after will become a timedelta
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(42, "hi")
            retry = caught.value.retry_after
        assert (retry.total_seconds() if isinstance(retry, dtm.timedelta) else retry) == 1
        api.fail_next("sendmessage")  # method names are case-insensitive, as on Telegram
        with pytest.raises(TelegramError, match="(?i)Internal Server Error"):
            await bot.send_message(42, "hi")
        api.drop_next("sendMessage")
        with pytest.raises(NetworkError):
            await bot.send_message(42, "hi")
        api.delay_next("sendMessage", 0.5)
        with pytest.raises(TimedOut):
            await bot.send_message(42, "late", read_timeout=0.1)
        await bot.send_message(42, "ok")

    run(api, body)
    assert [f.kind for f in api.faults] == ["rate_limit", "fail", "drop", "delay"]
    api.wait_for("sendMessage", lambda p: p["text"] == "late")  # the delayed call still took effect
    assert [p["text"] for p in api.sent_messages()] == ["ok", "late"] or [p["text"] for p in api.sent_messages()] == ["late", "ok"]


def test_wrong_token_is_rejected(api: FakeBotAPI) -> None:
    async def body() -> None:
        with pytest.raises(InvalidToken):
            await _with_bot(api, lambda bot: bot.get_me(), token="999:wrong-token-wrong-token-wrong-token")

    asyncio.run(body())
    assert api.calls() == []


def test_json_and_multipart_bodies_are_decoded(api: FakeBotAPI) -> None:
    url = f"{api.base_url}{api.token}/SENDMESSAGE"
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}
    assert httpx.post(url, json={"chat_id": 5, "text": "123", "reply_markup": markup}).json()["ok"]
    form = {"chat_id": "5", "text": "héllo", "reply_markup": '{"inline_keyboard": []}'}
    assert httpx.post(url, data=form, files={"doc": ("a.txt", b"\x00\xffdata", "text/plain")}).json()["ok"]
    first, second = api.sent_messages(5)
    assert first == {"chat_id": 5, "text": "123", "reply_markup": markup}
    assert second["text"] == "héllo" and second["reply_markup"] == {"inline_keyboard": []}
    assert second["doc"] == UploadedFile("a.txt", b"\x00\xffdata", "text/plain")
    assert httpx.post(f"{api.base_url}{api.token}/noSuchMethod").status_code == 404


def test_commands_and_webhook_bookkeeping(api: FakeBotAPI) -> None:
    async def body(bot: Bot) -> None:
        await bot.set_my_commands([("start", "Start"), ("help", "Help")])
        await bot.set_my_commands([("start", "Bắt đầu")], language_code="vi")
        assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
        assert [c.description for c in await bot.get_my_commands(language_code="vi")] == ["Bắt đầu"]
        await bot.delete_my_commands(language_code="vi")
        assert await bot.get_my_commands(language_code="vi") == ()
        with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
            await bot.set_my_commands([("Start!", "x")])
        await bot.set_webhook("https://example.org/hook")
        assert (await bot.get_webhook_info()).url == "https://example.org/hook"
        await bot.delete_webhook()
        chat = await bot.get_chat(42)
        assert chat.id == 42 and chat.type == "private"
        assert await bot.send_chat_action(42, "typing") is True

    run(api, body)


def test_injected_text_gets_utf16_entities(api: FakeBotAPI) -> None:
    update = api.send_text("/start@seedqa_test_bot 😀 hi @someone_else", chat_type="group")
    message = update["message"]
    assert message["chat"]["id"] == GROUP_CHAT_ID
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 22},
                                   {"type": "mention", "offset": 29, "length": 13}]
    assert utf16_len("😀") == 2
    parsed = Update.de_json(update, make_bot(api))
    assert parsed.message.parse_entities() == {parsed.message.entities[0]: "/start@seedqa_test_bot",
                                               parsed.message.entities[1]: "@someone_else"}


def test_other_injected_updates_parse_in_ptb(api: FakeBotAPI) -> None:
    bot = make_bot(api)
    photo = Update.de_json(api.send_photo(caption="look"), bot).message
    voice = Update.de_json(api.send_voice(chat_type="supergroup"), bot).message
    assert photo.photo[-1].width == 800 and photo.caption == "look" and voice.voice.file_unique_id == "AgADvoice"
    assert voice.chat.type == "supergroup" and voice.message_id == 1 and photo.message_id == 1  # ids are per chat
    press = Update.de_json(api.press_button(api.send_text("q")["message"], "x"), bot).callback_query
    query = Update.de_json(api.inline_query("tết", offset="10"), bot).inline_query
    assert press.data == "x" and press.message.text == "q" and query.query == "tết" and query.offset == "10"


def test_get_updates_semantics(api: FakeBotAPI) -> None:
    first, second = api.send_text("one"), api.inline_query("two")

    async def body(bot: Bot) -> None:
        assert [u.update_id for u in await bot.get_updates()] == [first["update_id"], second["update_id"]]
        assert [u.update_id for u in await bot.get_updates(limit=1)] == [first["update_id"]]
        assert [u.update_id for u in await bot.get_updates(offset=second["update_id"])] == [second["update_id"]]
        assert await bot.get_updates(allowed_updates=["message"], timeout=0) == ()  # the inline query is filtered out
        third = api.send_text("three")
        assert [u.message.text for u in await bot.get_updates()] == ["three"]  # allowed_updates is remembered
        assert await bot.get_updates(offset=third["update_id"] + 1, allowed_updates=[]) == ()
        asyncio.get_running_loop().call_later(0.3, api.send_text, "late")
        started = time.monotonic()
        (late,) = await bot.get_updates(offset=third["update_id"] + 1, timeout=30)  # long poll, woken at once
        assert late.message.text == "late" and time.monotonic() - started < 1.5

    run(api, body)


def test_stop_is_prompt_while_a_client_long_polls() -> None:
    api = FakeBotAPI().start()

    async def body() -> float:
        async with make_bot(api) as bot:
            poll = asyncio.create_task(bot.get_updates(timeout=30, read_timeout=40))
            await asyncio.sleep(0.2)
            started = time.monotonic()
            await asyncio.to_thread(api.stop)
            assert await poll == ()
            return time.monotonic() - started

    assert asyncio.run(body()) < 1


def test_application_answers_every_kind_of_update(api: FakeBotAPI) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text("welcome", reply_markup=KEYBOARD)

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_html(f"<i>echo</i> {update.effective_message.text}", do_quote=True)

    async def sticker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text("text only, please")

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(f"pressed {update.callback_query.data}")

    async def inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        content = InputTextMessageContent(f"<b>{update.inline_query.query}</b>", parse_mode="HTML")
        await update.inline_query.answer([InlineQueryResultArticle("1", "result", content)])

    async def main() -> None:
        app: Application = ApplicationBuilder().token(api.token).base_url(api.base_url).base_file_url(api.base_file_url).build()
        app.add_handler(CommandHandler("start", start))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
        app.add_handler(MessageHandler(filters.Sticker.ALL, sticker))
        app.add_handler(CallbackQueryHandler(button))
        app.add_handler(InlineQueryHandler(inline))
        async with app:
            await app.updater.start_polling(poll_interval=0, timeout=1)
            await app.start()
            api.send_text("hello there")
            (echoed,) = await api.await_for("sendMessage", lambda p: p["text"] == "<i>echo</i> hello there")
            assert echoed.result["reply_to_message"]["text"] == "hello there"
            api.send_text("/start")
            api.send_text("/start@seedqa_test_bot", chat_type="group", user_id=2002)
            welcomes = await api.await_for("sendMessage", lambda p: p["text"] == "welcome", count=2)
            assert {c.params["chat_id"] for c in welcomes} == {1001, GROUP_CHAT_ID}
            private = next(c.result for c in welcomes if c.params["chat_id"] == 1001)
            api.press_button(private, "more:1")
            await api.await_for("answerCallbackQuery")
            await api.await_for("editMessageText", lambda p: p["text"] == "pressed more:1")
            api.inline_query("tết")
            (answer,) = await api.await_for("answerInlineQuery")
            assert answer.params["results"][0]["input_message_content"]["message_text"] == "<b>tết</b>"
            api.send_sticker()
            await api.await_for("sendMessage", lambda p: p["text"] == "text only, please")
            await app.updater.stop()
            await app.stop()

    asyncio.run(main())
    assert len(api.sent_messages()) == 4 and not api.faults
    assert all(c.ok for c in api.calls()), [c for c in api.calls() if not c.ok]
    assert [m["text"] for m in api.bot_messages(1001)] == ["echo hello there", "pressed more:1", "text only, please"]


def test_wait_for_times_out_with_a_readable_summary(api: FakeBotAPI) -> None:
    run(api, lambda bot: bot.send_message(7, "something else"))
    with pytest.raises(AssertionError, match=r"(?s)1 x sendMessage, got 0.*something else"):
        api.wait_for("sendMessage", lambda p: p["text"] == "never", timeout=0.2)


@pytest.mark.parametrize("text", ["<b>x</b> &amp; <a href=\"https://e.x/?a=1&amp;b=2\">l</a>", "plain > text",
                                  "<pre><code class=\"language-python\">x &lt; 1</code></pre>",
                                  "<span class=\"tg-spoiler\">s</span> &#128512; &#x1F600; &quot;"])
def test_html_check_accepts_telegram_html(text: str) -> None:
    assert telegram_html_errors(text) is None


@pytest.mark.parametrize("text", ["<b>x", "<script>", "a < b", "</b>", "<b><i>x</b></i>", "a & b", "&nbsp;",
                                  "<br/>", "<span>x</span>", "<b"])
def test_html_check_rejects_what_telegram_refuses(text: str) -> None:
    assert telegram_html_errors(text), text
