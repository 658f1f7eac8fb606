"""Answers and articles as Telegram HTML messages that read well on a phone.

Telegram refuses a message over 4096 characters or with a tag left open, and a refused reply is
a user left without an answer. So everything is built from complete blocks (a result, a
paragraph) whose text is escaped before any tag is added, and long text is cut only between
blocks, or inside plain text at sentence and then word boundaries, never inside a tag or an entity.
"""

from __future__ import annotations

import re
from html import escape
from typing import Callable, Sequence
from urllib.parse import urlsplit

from retrieval.articles import Article
from retrieval.search import AnswerSpan, Result

from .texts import Lang, text

# Telegram's limit on a message's text (sendMessage, editMessageText).
TELEGRAM_LIMIT = 4096
# A passage shown in chat is cut to about this many characters from its best sentence's paragraph
# on: three results then fit one message (so "More results" can edit it in place) and a phone
# screen shows about a whole result; "Full article" has the rest.
PASSAGE_CHARS = 600
# Each part of a citation line (title, date, file name) is cut to this: two lines on a phone.
CITATION_PART_CHARS = 150
# A question repeated above an inline answer is cut to this (Telegram allows 256 in inline mode).
QUESTION_CHARS = 300
# The answer line is a name, a number or a short phrase; a longer span is cut to this.
ANSWER_CHARS = 200
# Telegram shows about this much of an inline result's title and description.
INLINE_TITLE_CHARS = 100
INLINE_DESCRIPTION_CHARS = 200
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")
_ELLIPSIS = "…"


def size(message: str) -> int:
    """Length as Telegram counts it: UTF-16 code units, so an emoji counts two."""
    return len(message.encode("utf-16-le")) // 2


def citation(result: Result, lang: Lang) -> str:
    """Title, date, where it comes from and the paragraph; with a URL, the title links to the page and its site is named."""
    ref = result.article
    date = f" · {escape(_shorten(ref.date, CITATION_PART_CHARS))}" if ref.date else ""
    title = link(f"<i>{escape(_shorten(ref.title, CITATION_PART_CHARS))}</i>", ref.url)
    source = escape(_shorten(site(ref.url) or ref.source_file, CITATION_PART_CHARS))
    return f"📰 {title}{date} · {source}, {text('paragraph', lang)} {result.paragraph}"


def link(html: str, url: str | None) -> str:
    """html inside a link to url; only web addresses become links (an article's `url:` line is the user's text)."""
    if not url or urlsplit(url).scheme not in ("http", "https"):
        return html
    return f'<a href="{escape(url, quote=True)}">{html}</a>'


def site(url: str | None) -> str | None:
    """The host a citation names for an article with a URL ("baolongan.vn"), without "www."."""
    if not url:
        return None
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.") or None


def result_block(result: Result, lang: Lang, *, passage_chars: int = PASSAGE_CHARS) -> str:
    """One result: the passage with its best sentence in bold, then the citation line."""
    before, best, after = _window(result, passage_chars)
    body = f"{escape(before)}<b>{escape(best)}</b>{escape(after)}"
    return f"<b>{result.rank}.</b> {body}\n{citation(result, lang)}"


def answer_line(answer: AnswerSpan, lang: Lang) -> str:
    """The reader's answer, first thing in the reply, with the number of the result it cites."""
    cite = f" [{answer.result}]" if answer.result else ""
    return f"💡 {text('answer', lang)}: <b>{escape(_shorten(answer.text, ANSWER_CHARS))}</b>{cite}"


def answer_message(
    results: Sequence[Result],
    lang: Lang,
    *,
    first_rank: int = 1,
    question: str | None = None,
    answer: AnswerSpan | None = None,
    header: str | None = None,
) -> str:
    """One page of results as one message, shrinking passages if escaping ever made it too long."""
    for chars in (PASSAGE_CHARS, PASSAGE_CHARS // 2, PASSAGE_CHARS // 4):
        blocks = [f"❓ <i>{escape(_shorten(question, QUESTION_CHARS))}</i>"] if question else []
        blocks += [answer_line(answer, lang)] if answer else []
        blocks += [f"<i>{escape(header)}</i>"] if header else []
        blocks += [result_block(r, lang, passage_chars=chars) for r in results]
        if first_rank > 1 and results:
            blocks.append(f"<i>{text('page', lang, first=first_rank, last=results[-1].rank)}</i>")
        message = "\n\n".join(blocks)
        if size(message) <= TELEGRAM_LIMIT:
            return message
    return pack(blocks)[0]


def article_messages(article: Article, number: int, lang: Lang) -> list[str]:
    """The cleaned article, numbered paragraphs so a citation's "paragraph N" can be found, split to fit."""
    date = f" · {escape(article.date)}" if article.date else ""
    source = escape(article.url) if article.url else escape(article.source_file)
    header = f"<b>{number}. {link(escape(article.title), article.url)}</b>\n<i>{source}{date}</i>"
    blocks = [header]
    for paragraph in article.paragraphs:
        pieces = plain_pieces(f"[{paragraph.number}] {paragraph.text}", TELEGRAM_LIMIT)
        blocks.extend(escape(piece) for piece in pieces)
    return pack(blocks)


def sources_messages(articles: Sequence[Article], lang: Lang) -> list[str]:
    lines = [text("sources_title", lang, count=len(articles))]
    for number, article in enumerate(articles, start=1):
        date = f" — {escape(article.date)}" if article.date else ""
        lines.append(f"{number}. {escape(article.title)}{date}")
    lines.append(f"<i>{text('sources_hint', lang)}</i>")
    return pack(lines, separator="\n")


def inline_title(result: Result, answer: AnswerSpan | None = None) -> str:
    """The answer when this result holds it ("Nguyễn Văn Út"), else the result's best sentence."""
    if answer is not None and answer.result == result.rank:
        return _shorten(answer.text, INLINE_TITLE_CHARS)
    return _shorten(result.highlight, INLINE_TITLE_CHARS)


def inline_description(result: Result, lang: Lang) -> str:
    date = f" · {result.article.date}" if result.article.date else ""
    return _shorten(f"{result.article.title}{date} · {text('paragraph', lang)} {result.paragraph}", INLINE_DESCRIPTION_CHARS)


def pack(blocks: Sequence[str], *, separator: str = "\n\n", limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Complete HTML blocks joined into as few messages as fit; a block is never cut.

    Callers make each block fit on its own (plain_pieces); one that still does not is an error
    here rather than a message Telegram would refuse.
    """
    for block in blocks:
        if size(block) > limit:
            raise ValueError(f"a block of {size(block)} characters cannot fit a Telegram message")
    return _greedy(blocks, separator, lambda message: size(message) <= limit)


def plain_pieces(plain: str, limit: int) -> list[str]:
    """Plain text cut so that each piece, once HTML-escaped, fits `limit`: at sentences, then words."""
    if size(escape(plain)) <= limit:
        return [plain]
    return _greedy(_units(plain, limit), " ", lambda piece: size(escape(piece)) <= limit)


def _greedy(items: Sequence[str], separator: str, fits: Callable[[str], bool]) -> list[str]:
    """Items joined in order while the joined text fits; then a new one is started."""
    out: list[str] = []
    current = ""
    for item in items:
        candidate = f"{current}{separator}{item}" if current else item
        if fits(candidate):
            current = candidate
        else:
            if current:
                out.append(current)
            current = item
    if current:
        out.append(current)
    return out


def _units(plain: str, limit: int) -> list[str]:
    """Sentences; a sentence too long alone becomes words; a word too long alone becomes slices."""
    units: list[str] = []
    for sentence in _SENTENCE_END.split(plain):
        if size(escape(sentence)) <= limit:
            units.append(sentence)
            continue
        for word in sentence.split():
            while size(escape(word)) > limit:
                cut = limit // 6  # an escaped character is at most 6 long ("&quot;")
                units.append(word[:cut])
                word = word[cut:]
            units.append(word)
    return [u for u in units if u]


def _window(result: Result, chars: int) -> tuple[str, str, str]:
    """The best sentence with context around it, cut at words, marked with ….

    Context before it comes only from its own paragraph: earlier paragraphs pushed the answer
    down the screen, while what follows it usually continues the same account.
    """
    before = result.text[: result.highlight_start]
    before = before.rpartition("\n")[2]  # earlier paragraphs dropped
    best = result.text[result.highlight_start : result.highlight_end]
    after = result.text[result.highlight_end :]
    if len(best) >= chars:
        return "", _shorten(best, chars), ""
    room = chars - len(best)
    keep_before = min(len(before), room // 2 if len(after) > room - room // 2 else room - len(after))
    keep_after = min(len(after), room - keep_before)
    if keep_before < len(before):
        cut = before[len(before) - keep_before :]
        before = _ELLIPSIS + cut.split(" ", 1)[-1] if " " in cut else _ELLIPSIS
    if keep_after < len(after):
        cut = after[:keep_after]
        after = (cut.rsplit(" ", 1)[0] if " " in cut else "") + _ELLIPSIS
    return before, best, after


def _shorten(value: str, chars: int) -> str:
    value = " ".join(value.split())
    if len(value) <= chars:
        return value
    cut = value[: chars - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut) + _ELLIPSIS
