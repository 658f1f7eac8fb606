"""The Telegram bot: questions from a chat answered with cited passages.

Public API: `build_application` (the configured python-telegram-bot Application, for tests and
embedding), `run_bot` (serve until interrupted), `BotSettings`, `BotStartError`.
"""

from .errors import BotStartError
from .settings import BotSettings

__all__ = ["BotSettings", "BotStartError", "build_application", "run_bot"]


def __getattr__(name: str) -> object:
    # python-telegram-bot is imported only when the bot is used, not by `seedqa ask`.
    if name in ("build_application", "run_bot"):
        from . import app

        return getattr(app, name)
    raise AttributeError(name)
