"""The real bot, polling a fake Bot API server from its own thread, as `seedqa bot` would run it.

Shared by the bot's tests and by bench/bot_load.py: the test (or benchmark) thread injects
updates and waits for what the bot sends, while the bot runs its own event loop.
"""

from __future__ import annotations

import asyncio
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from bot.app import build_application, started, stopping, webhook_options
from bot.handlers import SeedQABot
from bot.settings import BotSettings
from fake_bot_api import DEFAULT_TOKEN, GROUP_CHAT_ID, FakeBotAPI
from retrieval.search import Searcher

TOKEN = DEFAULT_TOKEN


class RunningBot:
    def __init__(self, api: FakeBotAPI, seedqa: SeedQABot) -> None:
        self.api = api
        self.seedqa = seedqa

    def ask(self, question: str, **who: Any) -> dict[str, Any]:
        """Send a message and return the bot's next sendMessage to that chat."""
        chat_id = self._chat_of(who)
        before = len(self.api.sent_messages(chat_id))
        self.api.send_text(question, **who)
        return self.api.wait_for("sendMessage", lambda p: p["chat_id"] == chat_id, count=before + 1)[before].params

    def replies(self, chat_id: int = 1001) -> list[dict[str, Any]]:
        return self.api.sent_messages(chat_id)

    @staticmethod
    def _chat_of(who: dict[str, Any]) -> int:
        if who.get("chat_id") is not None:
            return int(who["chat_id"])
        return GROUP_CHAT_ID if who.get("chat_type", "private") != "private" else int(who.get("user_id", 1001))


@contextmanager
def running_bot(
    searcher: Searcher,
    tmp_path: Path,
    *,
    api: FakeBotAPI | None = None,
    index_dir: Path | None = None,
    refresh_command: list[str] | None = None,
    **overrides: Any,
) -> Iterator[RunningBot]:
    """The bot polling the fake server from its own thread and event loop, as `seedqa bot` runs it;
    with index_dir it follows that index's new generations."""
    api = api or FakeBotAPI()
    with api:
        settings = BotSettings(token=TOKEN, base_url=api.base_url, base_file_url=api.base_file_url, feedback_db=tmp_path / "feedback.sqlite3", **overrides)
        app, seedqa = build_application(settings, searcher, index_dir=index_dir, refresh_command=refresh_command)
        ready, stop = threading.Event(), threading.Event()
        failure: list[BaseException] = []

        async def serve() -> None:
            async with app:
                await started(app, seedqa)
                if settings.mode == "webhook":
                    await app.updater.start_webhook(**webhook_options(settings))  # type: ignore[union-attr]
                else:
                    await app.updater.start_polling(poll_interval=0, timeout=1)  # type: ignore[union-attr]
                await app.start()
                ready.set()
                while not stop.is_set():
                    await asyncio.sleep(0.02)
                await app.updater.stop()  # type: ignore[union-attr]
                await app.stop()
                await stopping(seedqa)
            seedqa.close()

        def thread_main() -> None:
            try:
                asyncio.run(serve())
            except BaseException as exc:  # surfaced in the test's thread below
                failure.append(exc)
                ready.set()

        thread = threading.Thread(target=thread_main, daemon=True)
        thread.start()
        assert ready.wait(20), "the bot did not start"
        try:
            if failure:
                raise failure[0]
            yield RunningBot(api, seedqa)
        finally:
            stop.set()
            thread.join(20)
        if failure:
            raise failure[0]


