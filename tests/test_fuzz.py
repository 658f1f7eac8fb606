"""Arbitrary Unicode in, no exception out: cleaning, chunking, folding and the reply formatter.

Every message the formatter produces must also be Telegram HTML that Telegram accepts (only
its tags, balanced; every entity escaped) and at most 4096 UTF-16 units long, whatever the
article or question held.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.formatting import TELEGRAM_LIMIT, answer_message, article_messages, inline_description, inline_title, size, sources_messages
from fake_bot_api import telegram_html_errors
from fakes import count_words
from retrieval.articles import ArticleError, parse_article
from retrieval.chunking import ChunkerSettings, chunk_article
from retrieval.folding import fold, folded_tokens, normalize
from retrieval.search import ArticleRef, Result

# Text as people and websites produce it, plus what breaks parsers: markup, entities, controls,
# zero-width and right-to-left marks, surrogate-range emoji, decomposed diacritics.
TRICKY = st.sampled_from(["<", ">", "&", "&amp;", "<b>", "</a>", "<script>", "\n", "\n\n", "\r\n", "\u200b", "\u202e", "\u0301", "🇻🇳", "Đ", ". ", "*", "_", "`", "\x00", "\ufeff"])
TEXT = st.lists(st.one_of(st.text(min_size=0, max_size=40), TRICKY), max_size=60).map("".join)
LONG_TEXT = st.lists(st.one_of(st.text(min_size=0, max_size=400), TRICKY), max_size=40).map("".join)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_sendable(message: str) -> None:
    assert size(message) <= TELEGRAM_LIMIT
    assert telegram_html_errors(message) is None, message[:300]


@FUZZ
@given(raw=LONG_TEXT)
def test_cleaning_and_chunking_never_raise(raw: str) -> None:
    try:
        article = parse_article(raw, article_id="fuzz", source_file="fuzz.txt")
    except ArticleError:
        return  # an empty or unusable file is reported and skipped, by design
    for chunk in chunk_article(article, ChunkerSettings(target_tokens=20, max_tokens=40), count_words):
        assert count_words(chunk.text) <= 40
        assert chunk.text == article.text[chunk.start : chunk.end]


@FUZZ
@given(text=TEXT)
def test_folding_never_raises_and_is_stable(text: str) -> None:
    folded = fold(normalize(text))
    assert fold(folded) == folded
    folded_tokens(text)


@FUZZ
@given(raw=LONG_TEXT, number=st.integers(1, 9999))
def test_every_article_message_is_valid_telegram_html(raw: str, number: int) -> None:
    try:
        article = parse_article(raw, article_id="fuzz", source_file="fuzz <&>.txt")
    except ArticleError:
        return
    for lang in ("en", "vi"):
        messages = article_messages(article, number, lang)
        assert messages
        for message in messages:
            assert_sendable(message)
    for message in sources_messages([article] * 50, "en"):
        assert_sendable(message)


@st.composite
def results(draw: st.DrawFn) -> list[Result]:
    out = []
    for rank in range(1, draw(st.integers(1, 5)) + 1):
        text = draw(LONG_TEXT) or "x"
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        ref = ArticleRef("a", draw(TEXT) or "t", draw(st.one_of(st.none(), TEXT)), draw(TEXT) or "f.txt")
        out.append(Result(rank, 0.5, text, text[start:end], ref, draw(st.integers(1, 500)), (1, 2), start, end))
    return out


@FUZZ
@given(found=results(), question=st.one_of(st.none(), TEXT))
def test_every_answer_message_is_valid_telegram_html(found: list[Result], question: str | None) -> None:
    for lang in ("en", "vi"):
        assert_sendable(answer_message(found, lang, first_rank=found[0].rank, question=question))
        for result in found:
            assert len(inline_title(result)) <= 100 and len(inline_description(result, lang)) <= 200
