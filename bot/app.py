"""The bot assembled: settings checked, handlers registered, polling or a webhook run.

Everything a user can get wrong before the first update (no token, a mangled token, a webhook
without its secret, a token Telegram refuses, no network) stops the start with one sentence
that says what to do. The token never reaches a log line: httpx logs request URLs, which carry
it, so its logger stays at WARNING, and every log record is masked as it is made anyway.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from retrieval.search import Searcher

from .errors import BotStartError
from .feedback import FeedbackStore
from .handlers import SeedQABot
from .refresh import IndexRefresher
from .retry import RetryingRateLimiter
from .settings import BotSettings
from .texts import text

log = logging.getLogger(__name__)

# What @BotFather hands out: the bot's numeric id, a colon, and a 35-character secret.
TOKEN_FORMAT = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
# Telegram's own limit is 64 KiB of "secret_token" characters from [A-Za-z0-9_-], 1-256 long.
WEBHOOK_SECRET_FORMAT = re.compile(r"^[A-Za-z0-9_-]{16,256}$")
# A 429 from Telegram is retried this many times, waiting what it says, before giving up.
MAX_RETRIES_AFTER_429 = 3
# The webhook server's path; webhook_url must end up here (a TLS proxy maps the public URL to it).
WEBHOOK_PATH = "telegram"
COMMANDS = ("start", "help", "ask", "sources", "article")
# Loggers that could print a request URL (and so the token) at DEBUG or INFO.
_URL_LOGGERS = ("httpx", "httpcore")


def check_settings(settings: BotSettings) -> str:
    """The token, once the settings are known to be usable."""
    if settings.token is None or not settings.token.get_secret_value().strip():
        raise BotStartError("No bot token: create a bot with @BotFather, then `export SEEDQA_BOT__TOKEN=<the token>` and run `seedqa bot` again.")
    token = settings.token.get_secret_value().strip()
    if not TOKEN_FORMAT.match(token):
        raise BotStartError("SEEDQA_BOT__TOKEN does not look like a bot token (digits, a colon, then about 35 letters): copy it again from @BotFather.")
    if settings.mode == "webhook":
        if settings.webhook_secret is None or not WEBHOOK_SECRET_FORMAT.match(settings.webhook_secret.get_secret_value()):
            raise BotStartError(
                "Webhook mode needs a secret: export SEEDQA_BOT__WEBHOOK_SECRET=<16-256 letters, digits, _ or -> so only Telegram can post updates."
            )
        if not settings.webhook_url or not settings.webhook_url.startswith("https://"):
            raise BotStartError("Webhook mode needs bot.webhook_url, the public https:// address Telegram will post updates to.")
    return token


def build_application(
    settings: BotSettings,
    searcher: Searcher,
    *,
    index_dir: Path | None = None,
    refresh_command: Sequence[str] | None = None,
) -> tuple[Application[Any, Any, Any, Any, Any, Any], SeedQABot]:
    """The bot over searcher; with index_dir it follows that index's new generations, and with
    refresh_command (`seedqa add` over the feeds) it also runs that every bot.refresh_minutes."""
    token = check_settings(settings)
    protect_logs(token, settings.webhook_secret.get_secret_value() if settings.webhook_secret else "")
    seedqa = SeedQABot(settings, searcher, secret=token, feedback=FeedbackStore(settings.feedback_db))
    if index_dir is not None:
        seedqa.refresher = IndexRefresher(seedqa, index_dir, refresh_minutes=settings.refresh_minutes, refresh_command=refresh_command)
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        # Citations link to their articles; a preview card of the first would push the answer off the screen.
        .defaults(Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .concurrent_updates(True)  # one slow search must not hold up /start for someone else
        .rate_limiter(RetryingRateLimiter(max_retries_after_429=MAX_RETRIES_AFTER_429))
        .connect_timeout(settings.request_timeout_seconds)
        .read_timeout(settings.request_timeout_seconds)
        .write_timeout(settings.request_timeout_seconds)
        .post_init(lambda application: started(application, seedqa))
        .post_stop(lambda application: stopping(seedqa))
        .post_shutdown(lambda application: _close(seedqa))
        .build()
    )
    app.add_handler(TypeHandler(Update, seedqa.gate), group=-1)
    app.add_handler(CommandHandler("start", seedqa.on_start))
    app.add_handler(CommandHandler("help", seedqa.on_help))
    app.add_handler(CommandHandler("ask", seedqa.on_ask))
    app.add_handler(CommandHandler("sources", seedqa.on_sources))
    app.add_handler(CommandHandler("article", seedqa.on_article))
    app.add_handler(CallbackQueryHandler(seedqa.on_button))
    app.add_handler(InlineQueryHandler(seedqa.on_inline_query))
    new_private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    app.add_handler(MessageHandler(new_private & filters.TEXT & ~filters.COMMAND, seedqa.on_private_text))
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, seedqa.on_group_text))
    app.add_handler(MessageHandler(new_private & filters.COMMAND, seedqa.on_unknown_command))
    app.add_handler(MessageHandler(new_private & ~filters.TEXT & ~filters.StatusUpdate.ALL, seedqa.on_not_text))
    app.add_error_handler(seedqa.on_error)
    return app, seedqa


async def started(app: Application[Any, Any, Any, Any, Any, Any], seedqa: SeedQABot) -> None:
    """Once serving: announce the commands, then start following the index (and the feeds)."""
    await announce(app, seedqa)
    if seedqa.refresher is not None:
        seedqa.refresher.start()


async def stopping(seedqa: SeedQABot) -> None:
    if seedqa.refresher is not None:
        await seedqa.refresher.stop()


async def announce(app: Application[Any, Any, Any, Any, Any, Any], seedqa: SeedQABot) -> None:
    """Register the commands in both languages and say what the bot will see in groups."""
    for lang, code in (("en", None), ("vi", "vi")):
        commands = [BotCommand(name, text(f"cmd_{name}", lang)) for name in COMMANDS]
        await app.bot.set_my_commands(commands, language_code=code)
    bot = app.bot
    if bot.can_read_all_group_messages:
        log.info("@%s has privacy mode off: it receives every group message, and answers only /ask, replies to it and mentions.", bot.username)
    else:
        log.info(
            "@%s has privacy mode on: in groups Telegram sends it only commands, replies to it and mentions, which is all it answers.",
            bot.username,
        )
    log.info("@%s is ready: %d articles, %d passages.", bot.username, len(seedqa.articles), len(seedqa.searcher.index.chunks))


def run_bot(settings: BotSettings, searcher: Searcher, *, index_dir: Path | None = None, refresh_command: Sequence[str] | None = None) -> None:
    """Serve until interrupted: long polling by default, or a webhook when configured."""
    app, _ = build_application(settings, searcher, index_dir=index_dir, refresh_command=refresh_command)
    try:
        if settings.mode == "webhook":
            app.run_webhook(**webhook_options(settings))
        else:
            app.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        raise BotStartError("Telegram refused the token: check SEEDQA_BOT__TOKEN against @BotFather (/mybots, API Token).") from None
    except NetworkError as exc:
        raise BotStartError(f"Could not reach the Bot API at {settings.base_url} ({exc}): check the network or bot.base_url.") from None


def webhook_options(settings: BotSettings) -> dict[str, Any]:
    """Where the webhook server listens and what it tells Telegram; updates without the secret get 403."""
    assert settings.webhook_secret is not None and settings.webhook_url is not None  # check_settings saw to it
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": WEBHOOK_PATH,
        "webhook_url": settings.webhook_url,
        "secret_token": settings.webhook_secret.get_secret_value(),
        "allowed_updates": Update.ALL_TYPES,
    }


def protect_logs(*secrets: str) -> None:
    """Keep URL-logging libraries quiet, and mask the secrets in every log record from now on.

    The mask is applied where records are made, not in a handler, so it holds for handlers added
    later (a test's log capture, a library's own) and for every logger and level.
    """
    for name in _URL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    _SECRETS.update(s for s in secrets if s)
    if not isinstance(logging.getLogRecordFactory(), _MaskingFactory):
        logging.setLogRecordFactory(_MaskingFactory(logging.getLogRecordFactory()))


_SECRETS: set[str] = set()


class _MaskingFactory:
    def __init__(self, make: Callable[..., logging.LogRecord]) -> None:
        self._make = make

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self._make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call; logging reports it itself later
            return record
        masked = _mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = _mask(logging.Formatter().formatException(record.exc_info))
        return record


def _mask(text: str) -> str:
    for secret in _SECRETS:
        text = text.replace(secret, "<secret>")
    return text


async def _close(seedqa: SeedQABot) -> None:
    seedqa.close()
