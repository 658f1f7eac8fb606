"""What the bot does with each kind of update: questions, commands, buttons, inline queries.

Searching runs on one worker thread, off the event loop: encoding a question takes ~0.1 s of
CPU, and on the loop it would stall every other chat for that long. One thread, because the
model already uses every core for a single question; two at once would only take turns slower.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, TelegramError, TimedOut
from telegram.ext import ApplicationHandlerStop, ContextTypes

from retrieval.articles import Article
from retrieval.search import Answer, BadQuestion, Result, Searcher

from . import formatting
from .access import Allowlist, RateLimiter
from .callbacks import BadCallback, Callback, CallbackCodec
from .feedback import FeedbackStore
from .settings import BotSettings
from .texts import Lang, lang_of_user, text

if TYPE_CHECKING:
    from .refresh import IndexRefresher

log = logging.getLogger(__name__)

# Answers whose buttons still work; older ones get the "ask again" notice. At ~1 KB each, 10k
# answers is ~10 MB, and a button is rarely pressed more than a day after its answer.
MAX_SHOWN_ANSWERS = 10_000
# "More results" stops after this many results: past 15, readers rephrase rather than page on.
MAX_RESULTS = 15
# Telegram's limit on an inline query's text, and how many results one may carry usefully.
INLINE_RESULTS = 5
# Inline results are per-user (is_personal) and cached this long by Telegram: same text, same answer.
INLINE_CACHE_SECONDS = 60
# Most questions encoded in one batch when they pile up behind a search. Per question, a batch of
# 16 costs 45 ms against 90 one at a time (bench/speed.py, BENCHMARKS.md); 32 saves another 6%
# but makes the first answers of a pile wait twice as long.
MAX_BATCH = 16

Context = ContextTypes.DEFAULT_TYPE


@dataclass
class ShownAnswer:
    question: str
    lang: Lang
    chat_id: int
    shown: dict[int, dict[str, object]]  # rank -> the result as shown, for the feedback record
    refused: bool = False  # the reply said the articles do not say it; its button shows the closest passages
    # The articles behind the message's "Article n" buttons, by id: a button's value is a position
    # here, so it opens the same article after the index is refreshed and /sources renumbered.
    article_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Served:
    """What the bot answers from, swapped as one: a question uses one of these from start to finish."""

    searcher: Searcher
    articles: list[Article]  # as /sources lists and numbers them
    numbers: dict[str, int]  # article id -> its number in /sources

    @classmethod
    def of(cls, searcher: Searcher) -> "Served":
        articles = sorted(searcher.index.articles.values(), key=lambda a: (a.source_file, a.id))
        return cls(searcher, articles, {a.id: n for n, a in enumerate(articles, start=1)})


class SeedQABot:
    def __init__(self, settings: BotSettings, searcher: Searcher, *, secret: str, feedback: FeedbackStore) -> None:
        self.settings = settings
        self.served = Served.of(searcher)
        self.refresher: IndexRefresher | None = None  # set by bot.app when the bot follows its index
        self.codec = CallbackCodec(secret)
        self.feedback = feedback
        self.allowlist = Allowlist(settings.allowed_user_ids, settings.allowed_chat_ids)
        self.limiter = RateLimiter(settings.rate_limit_questions, settings.rate_limit_seconds)
        self._shown: OrderedDict[str, ShownAnswer] = OrderedDict()
        self._search_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seedqa-search")
        # Questions handed to the search thread and not yet encoded. Whichever search reaches the
        # thread first encodes all of them in one batch (Searcher.prepare); the others then find
        # their vectors cached. Appended on the event loop, drained on the search thread (deque
        # appends and pops are thread-safe).
        self._waiting: deque[str] = deque()

    @property
    def searcher(self) -> Searcher:
        return self.served.searcher

    @property
    def articles(self) -> list[Article]:
        return self.served.articles

    def swap(self, searcher: Searcher) -> None:
        """Answer from another index from now on (bot.refresh). One assignment: a question sees the old or the new, never a mix."""
        self.served = Served.of(searcher)

    def close(self) -> None:
        self._search_thread.shutdown(wait=False, cancel_futures=True)

    # -- gate ---------------------------------------------------------------------------------

    async def gate(self, update: Update, context: Context) -> None:
        """Runs before every handler: strangers get one polite refusal, then silence; no search runs."""
        user, chat = update.effective_user, update.effective_chat
        if self.allowlist.allows(user.id if user else None, chat.id if chat else None):
            return
        log.info("refused an update from user %s in chat %s (not in the allowlist)", user.id if user else None, chat.id if chat else None)
        if self.allowlist.first_refusal(user.id if user else None):
            lang = lang_of_user(user.language_code if user else None)
            if update.callback_query:
                await update.callback_query.answer(text("not_allowed", lang), show_alert=True)
            elif update.inline_query:
                await update.inline_query.answer([], cache_time=0, is_personal=True)
            elif update.effective_message and chat:
                await context.bot.send_message(chat.id, text("not_allowed", lang))
        elif update.callback_query:
            await update.callback_query.answer()
        raise ApplicationHandlerStop

    # -- questions ----------------------------------------------------------------------------

    async def on_private_text(self, update: Update, context: Context) -> None:
        assert update.message is not None and update.message.text is not None
        await self._answer(update.message, update.message.text, context)

    async def on_group_text(self, update: Update, context: Context) -> None:
        """In groups the bot answers only when addressed: a reply to it, or a mention."""
        message = update.message
        assert message is not None and message.text is not None
        question = self._addressed_question(message, context)
        if question is not None:
            await self._answer(message, question, context)

    async def on_ask(self, update: Update, context: Context) -> None:
        message = update.message
        assert message is not None
        question = " ".join(context.args or []).strip()
        if not question:
            await message.reply_html(text("ask_usage", self._user_lang(update)))
            return
        await self._answer(message, question, context)

    async def _answer(self, message: Message, question: str, context: Context) -> None:
        user_id = message.from_user.id if message.from_user else message.chat.id
        served = self.served  # this question is answered from this index to the end, whatever lands meanwhile
        lang: Lang = "vi" if served.searcher.is_vietnamese(question) else "en"
        wait = self.limiter.wait_seconds(user_id)
        if wait:
            await message.reply_html(text("rate_limited", lang, seconds=wait))
            return
        await self._typing(context, message.chat.id)
        try:
            answer = await self._search(question, self.settings.results_per_message, served=served)
        except BadQuestion:
            await message.reply_html(text("bad_question", lang))
            return
        quote = message.chat.type != ChatType.PRIVATE  # in a group, show which question is answered
        if answer.abstained and answer.topic_present:
            # The topic is there, the fact is not: say so plainly, and keep the closest passages one tap away.
            answer_id = self._remember(ShownAnswer(answer.question, lang, message.chat.id, {}, refused=True))
            button = InlineKeyboardButton(text("closest", lang), callback_data=self.codec.encode(Callback("page", answer_id, 0)))
            await message.reply_html(text("not_said", lang), reply_markup=InlineKeyboardMarkup([[button]]), do_quote=quote)
            return
        if answer.abstained:
            await message.reply_html(text("abstain", lang), do_quote=quote)
            return
        shown: dict[int, dict[str, object]] = {r.rank: r.to_json() for r in answer.results}
        if answer.answer:
            shown[0] = {"answer": answer.answer.to_json()}  # rank 0: the answer line, so feedback records what was stated
        shown_answer = ShownAnswer(answer.question, lang, message.chat.id, shown)
        answer_id = self._remember(shown_answer)
        body = formatting.answer_message(answer.results, lang, answer=answer.answer)
        await message.reply_html(body, reply_markup=self._keyboard(answer_id, shown_answer, answer.results, served, page=0), do_quote=quote)

    # -- commands -----------------------------------------------------------------------------

    async def on_start(self, update: Update, context: Context) -> None:
        assert update.message is not None
        lang = self._user_lang(update)
        if context.args and context.args[0] == "help":  # deep link from the inline "How to ask" button
            await self.on_help(update, context)
            return
        await update.message.reply_html(text("start", lang, count=len(self.articles)))

    async def on_help(self, update: Update, context: Context) -> None:
        assert update.message is not None
        await update.message.reply_html(text("help", self._user_lang(update), username=context.bot.username))

    async def on_sources(self, update: Update, context: Context) -> None:
        assert update.message is not None
        for part in formatting.sources_messages(self.articles, self._user_lang(update)):
            await update.message.reply_html(part)

    async def on_article(self, update: Update, context: Context) -> None:
        assert update.message is not None
        lang = self._user_lang(update)
        args = context.args or []
        if len(args) != 1 or not args[0].isdecimal() or len(args[0]) > 6:
            await update.message.reply_html(text("article_usage", lang))
            return
        await self._send_article(update.message.chat.id, int(args[0]), lang, context)

    async def on_unknown_command(self, update: Update, context: Context) -> None:
        await self.on_help(update, context)

    async def on_not_text(self, update: Update, context: Context) -> None:
        assert update.message is not None
        await update.message.reply_html(text("not_text", self._user_lang(update)))

    async def _send_article(self, chat_id: int, number: int, lang: Lang, context: Context) -> None:
        served = self.served
        if not 1 <= number <= len(served.articles):
            await context.bot.send_message(chat_id, text("article_missing", lang, number=number, count=len(served.articles)), parse_mode=ParseMode.HTML)
            return
        for part in formatting.article_messages(served.articles[number - 1], number, lang):
            await context.bot.send_message(chat_id, part, parse_mode=ParseMode.HTML)

    # -- buttons ------------------------------------------------------------------------------

    async def on_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        assert query is not None
        lang = lang_of_user(query.from_user.language_code)
        try:
            callback = self.codec.decode(query.data)
        except BadCallback as exc:
            log.info("ignored a button press with bad data from user %s: %s", query.from_user.id, exc)
            await query.answer(text("stale", lang), show_alert=True)
            return
        shown = self._shown.get(callback.answer_id)
        message = query.message
        if shown is None or message is None or message.chat.id != shown.chat_id:
            await query.answer(text("stale", lang), show_alert=True)
            return
        if callback.action == "vote":
            await self._vote(query.from_user.id, shown, callback)
            await query.answer(text("thanks", shown.lang))
        elif callback.action == "article":
            served = self.served
            article_id = shown.article_ids[callback.value] if 0 <= callback.value < len(shown.article_ids) else None
            if article_id not in served.numbers:  # removed from the articles since the answer was shown
                await query.answer(text("stale", lang), show_alert=True)
                return
            await query.answer()
            await self._send_article(shown.chat_id, served.numbers[article_id], shown.lang, context)
        else:
            await self._turn_page(update, context, shown, callback)

    async def _turn_page(self, update: Update, context: Context, shown: ShownAnswer, callback: Callback) -> None:
        query = update.callback_query
        assert query is not None
        per_page = self.settings.results_per_message
        page = callback.value
        if page < 0 or page * per_page >= MAX_RESULTS:
            await query.answer(text("no_more", shown.lang))
            return
        wait = self.limiter.wait_seconds(query.from_user.id)
        if wait:
            await query.answer(text("rate_limited", shown.lang, seconds=wait), show_alert=True)
            return
        # An answer already shown is paged without refusing again; a refusal's button asks for exactly this.
        served = self.served
        answer = await self._search(shown.question, min((page + 1) * per_page, MAX_RESULTS), abstain=False, served=served)
        results = answer.results[page * per_page : (page + 1) * per_page]
        if not results:
            await query.answer(text("no_more", shown.lang))
            return
        await query.answer()
        shown.shown.update({r.rank: r.to_json() for r in results})
        first_page = page == 0
        body = formatting.answer_message(
            results,
            shown.lang,
            first_rank=results[0].rank,
            answer=answer.answer if first_page and not shown.refused else None,
            header=text("closest_header", shown.lang) if shown.refused else None,
        )
        try:
            await query.edit_message_text(body, parse_mode=ParseMode.HTML, reply_markup=self._keyboard(callback.answer_id, shown, results, served, page=page))
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():  # a double tap shows the same page again: fine
                raise

    async def _vote(self, user_id: int, shown: ShownAnswer, callback: Callback) -> None:
        record = [shown.shown[rank] for rank in sorted(shown.shown)]
        await asyncio.to_thread(
            self.feedback.record, user_id=user_id, chat_id=shown.chat_id, question=shown.question, vote=1 if callback.value > 0 else -1, shown=record
        )

    def _keyboard(self, answer_id: str, shown: ShownAnswer, results: list[Result], served: Served, *, page: int) -> InlineKeyboardMarkup:
        encode = lambda action, value: self.codec.encode(Callback(action, answer_id, value))  # noqa: E731
        lang = shown.lang
        articles: list[InlineKeyboardButton] = []
        seen: set[str] = set()
        for r in results:
            if r.article.id in seen or r.article.id not in served.numbers:
                continue
            seen.add(r.article.id)
            if r.article.id not in shown.article_ids:
                shown.article_ids.append(r.article.id)
            position = shown.article_ids.index(r.article.id)
            articles.append(InlineKeyboardButton(text("article_n", lang, rank=r.rank), callback_data=encode("article", position)))
        if len(articles) == 1:
            articles[0] = InlineKeyboardButton(text("full_article", lang), callback_data=articles[0].callback_data)
        paging = [InlineKeyboardButton(text("previous", lang), callback_data=encode("page", page - 1))] if page > 0 else []
        if (page + 1) * self.settings.results_per_message < MAX_RESULTS:
            paging.append(InlineKeyboardButton(text("more", lang), callback_data=encode("page", page + 1)))
        votes = [InlineKeyboardButton("👍", callback_data=encode("vote", 1)), InlineKeyboardButton("👎", callback_data=encode("vote", -1))]
        return InlineKeyboardMarkup([row for row in (paging, articles, votes) if row])

    # -- inline mode --------------------------------------------------------------------------

    async def on_inline_query(self, update: Update, context: Context) -> None:
        query = update.inline_query
        assert query is not None
        question = query.query.strip()
        lang_user = lang_of_user(query.from_user.language_code)
        help_button = InlineQueryResultsButton(text=text("inline_help", lang_user), start_parameter="help")
        if not any(ch.isalnum() for ch in question):
            await query.answer([], button=help_button, cache_time=INLINE_CACHE_SECONDS, is_personal=True)
            return
        served = self.served
        lang: Lang = "vi" if served.searcher.is_vietnamese(question) else "en"
        wait = self.limiter.wait_seconds(query.from_user.id)
        if wait:
            button = InlineQueryResultsButton(text=text("rate_limited", lang, seconds=wait)[:64], start_parameter="help")
            await query.answer([], button=button, cache_time=0, is_personal=True)
            return
        answer = await self._search(question, INLINE_RESULTS, served=served)
        if answer.abstained:
            button = InlineQueryResultsButton(text=text("inline_nothing", lang), start_parameter="help")
            await query.answer([], button=button, cache_time=INLINE_CACHE_SECONDS, is_personal=True)
            return
        results = [
            InlineQueryResultArticle(
                id=str(r.rank),
                title=formatting.inline_title(r, answer.answer),
                description=formatting.inline_description(r, lang),
                input_message_content=InputTextMessageContent(
                    formatting.answer_message([r], lang, question=answer.question, answer=answer.answer if answer.answer and answer.answer.result == r.rank else None),
                    parse_mode=ParseMode.HTML,
                ),
            )
            for r in answer.results
        ]
        await query.answer(results, button=help_button, cache_time=INLINE_CACHE_SECONDS, is_personal=True)

    # -- errors -------------------------------------------------------------------------------

    async def on_error(self, update: object, context: Context) -> None:
        """Log with enough context to find the update; tell the user briefly; keep running."""
        where = ""
        if isinstance(update, Update):
            user, chat = update.effective_user, update.effective_chat
            where = f" (update {update.update_id}, user {user.id if user else None}, chat {chat.id if chat else None})"
        log.error("error while handling an update%s", where, exc_info=context.error)
        if not isinstance(update, Update):
            return
        if isinstance(context.error, TimedOut):
            return  # the reply may well have arrived; an apology on top would make two answers
        lang = lang_of_user(update.effective_user.language_code if update.effective_user else None)
        try:
            if update.callback_query:
                await update.callback_query.answer(text("error", lang), show_alert=True)
            elif update.effective_chat and update.effective_message:
                await context.bot.send_message(update.effective_chat.id, text("error", lang))
        except TelegramError:
            log.warning("could not tell the user about the error either", exc_info=True)

    # -- helpers ------------------------------------------------------------------------------

    async def _search(self, question: str, k: int, *, served: Served, abstain: bool = True) -> Answer:
        loop = asyncio.get_running_loop()
        self._waiting.append(question)
        return await loop.run_in_executor(self._search_thread, partial(self._search_batched, served.searcher, question, k, abstain))

    def _search_batched(self, searcher: Searcher, question: str, k: int, abstain: bool = True) -> Answer:
        """On the search thread: encode every waiting question together, then search this one.

        When the bot is idle the batch is this question alone and nothing changes. Under load,
        questions pile up behind the one being searched, and one forward pass for the pile costs
        far less than one per question (BENCHMARKS.md, bot load), so the queue drains faster.
        """
        batch: list[str] = []
        while self._waiting and len(batch) < MAX_BATCH:
            batch.append(self._waiting.popleft())
        if len(batch) > 1:
            searcher.prepare(batch)
        return searcher.search(question, k, abstain=abstain)

    def _remember(self, shown: ShownAnswer) -> str:
        answer_id = secrets.token_urlsafe(6)  # 8 characters; a restart cannot reuse an old button's id
        self._shown[answer_id] = shown
        while len(self._shown) > MAX_SHOWN_ANSWERS:
            self._shown.popitem(last=False)
        return answer_id

    def _addressed_question(self, message: Message, context: Context) -> str | None:
        """The question in a group message addressed to the bot (mention removed), or None."""
        username = (context.bot.username or "").lower()
        raw = message.text or ""
        mentioned = False
        question = raw
        for entity, value in message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION]).items():
            is_me = (entity.type == MessageEntity.MENTION and value.lower() == f"@{username}") or (
                entity.type == MessageEntity.TEXT_MENTION and entity.user is not None and entity.user.id == context.bot.id
            )
            if is_me:
                mentioned = True
                question = question.replace(value, " ")
        replied = message.reply_to_message is not None and message.reply_to_message.from_user is not None and message.reply_to_message.from_user.id == context.bot.id
        if not (mentioned or replied):
            return None
        return " ".join(question.split())

    async def _typing(self, context: Context, chat_id: int) -> None:
        try:
            await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
        except TelegramError:  # a missing "typing…" is no reason to drop the answer
            log.debug("sendChatAction failed", exc_info=True)

    @staticmethod
    def _user_lang(update: Update) -> Lang:
        return lang_of_user(update.effective_user.language_code if update.effective_user else None)
