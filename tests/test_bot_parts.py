"""The bot's pieces that need no Telegram: message formatting, button data, access checks."""

from __future__ import annotations

import pytest

from bot.access import Allowlist, RateLimiter
from bot.callbacks import CALLBACK_DATA_LIMIT, BadCallback, Callback, CallbackCodec
from bot.formatting import TELEGRAM_LIMIT, answer_message, article_messages, plain_pieces, result_block, size, sources_messages
from retrieval.articles import Article, Paragraph
from retrieval.search import ArticleRef, Result
from fake_bot_api import telegram_html_errors


def make_result(text: str, highlight: str, *, rank: int = 1, title: str = "Long An thăm Jeju", date: str | None = "24-04-2024") -> Result:
    start = text.index(highlight)
    return Result(
        rank=rank,
        score=0.7,
        text=text,
        highlight=highlight,
        article=ArticleRef("001_x", title, date, "001_x.txt"),
        paragraph=10,
        paragraphs=(9, 11),
        highlight_start=start,
        highlight_end=start + len(highlight),
    )


def make_article(paragraphs: list[str], title: str = "Một bài báo") -> Article:
    out, offset = [], 0
    for number, body in enumerate(paragraphs, start=1):
        out.append(Paragraph(number, body, offset, offset + len(body)))
        offset += len(body) + 2
    return Article("a1", "a1.txt", title, "17/04/2023", "2023-04-17", None, tuple(out))


def plain(html: str) -> str:
    import html as html_lib
    import re

    return html_lib.unescape(re.sub(r"<[^>]+>", "", html))


def test_result_shows_best_sentence_in_bold_and_a_full_citation() -> None:
    text = "Đoàn đến Jeju. Đoàn gặp Tỉnh trưởng tỉnh Jeju. Hai bên ký kết."
    block = result_block(make_result(text, "Đoàn gặp Tỉnh trưởng tỉnh Jeju."), "en")
    assert "<b>Đoàn gặp Tỉnh trưởng tỉnh Jeju.</b>" in block
    assert "Long An thăm Jeju" in block and "24-04-2024" in block and "001_x.txt" in block and "paragraph 10" in block
    assert "đoạn 10" in result_block(make_result(text, "Hai bên ký kết."), "vi")
    assert telegram_html_errors(block) is None


def test_article_text_that_looks_like_html_is_shown_as_text() -> None:
    text = 'Hacker <script>alert(1)</script> & </a> <b>not bold'
    result = make_result(text, "<b>not bold", title="<i>Title</i> & co")
    block = result_block(result, "en")
    assert telegram_html_errors(block) is None, block
    assert "<script>" not in block and "&lt;script&gt;" in block
    assert plain(block).startswith("1. Hacker <script>alert(1)</script> & </a> <b>not bold")


def test_long_passages_are_cut_around_the_best_sentence() -> None:
    filler = " ".join(f"câu{i} dài." for i in range(400))
    text = f"{filler} Câu trả lời nằm ở đây. {filler}"
    block = result_block(make_result(text, "Câu trả lời nằm ở đây."), "en")
    assert "<b>Câu trả lời nằm ở đây.</b>" in block
    assert size(block) < 1300 and block.count("…") == 2


def test_three_long_results_with_escaping_still_fit_one_message() -> None:
    nasty = "<&>" * 2000 + " Kết quả. " + "<&>" * 2000
    results = [make_result(nasty, "Kết quả.", rank=r) for r in (1, 2, 3)]
    message = answer_message(results, "vi")
    assert size(message) <= TELEGRAM_LIMIT and telegram_html_errors(message) is None
    assert message.count("<b>Kết quả.</b>") == 3


def test_a_long_article_is_split_into_valid_messages_without_losing_words() -> None:
    sentence = "Đoàn công tác tỉnh Long An <thăm> & làm việc tại Hàn Quốc. "
    paragraphs = [sentence * 30, sentence * 150, "x" * 9000, "🇻🇳" * 3000]  # one over 4096 alone, one a single "word"
    messages = article_messages(make_article(paragraphs), 3, "vi")
    assert len(messages) > 3
    for message in messages:
        assert size(message) <= TELEGRAM_LIMIT
        assert telegram_html_errors(message) is None, message[:200]
    joined = "".join(plain(m) for m in messages)
    assert joined.count("Hàn Quốc") == 180 and joined.count("x") >= 9000 and joined.count("🇻🇳") == 3000


def test_sources_list_numbers_articles_and_splits_when_long() -> None:
    articles = [make_article(["x"], title=f"Bài số {i} <b>") for i in range(400)]
    messages = sources_messages(articles, "en")
    assert len(messages) > 1 and all(size(m) <= TELEGRAM_LIMIT and telegram_html_errors(m) is None for m in messages)
    assert "400. Bài số 399 &lt;b&gt;" in messages[-1]


def test_plain_pieces_cut_at_sentences_first() -> None:
    text = "Một. Hai. Ba. Bốn."
    assert plain_pieces(text, 10) == ["Một. Hai.", "Ba. Bốn."]


def test_button_data_round_trips_within_64_bytes() -> None:
    codec = CallbackCodec("123456:secret")
    for callback in (Callback("page", "AbCdEfGh", 4), Callback("vote", "AbCdEfGh", -1), Callback("article", "x" * 16, 999999)):
        data = codec.encode(callback)
        assert len(data.encode()) <= CALLBACK_DATA_LIMIT
        assert codec.decode(data) == callback


@pytest.mark.parametrize("data", ["", "p:AbCdEfGh:1", "p:AbCdEfGh:2:AAAAAAAAAAA", "v:AbCdEfGh:1:" + "A" * 60, "garbage", "::::"])
def test_forged_or_oversized_button_data_is_refused(data: str) -> None:
    codec = CallbackCodec("123456:secret")
    with pytest.raises(BadCallback):
        codec.decode(data)


def test_tampering_with_signed_data_is_detected() -> None:
    codec = CallbackCodec("123456:secret")
    data = codec.encode(Callback("page", "AbCdEfGh", 1))
    with pytest.raises(BadCallback):
        codec.decode(data.replace("p:AbCdEfGh:1", "p:AbCdEfGh:7"))
    with pytest.raises(BadCallback):  # another bot's (another token's) buttons
        CallbackCodec("999:other").decode(data)


def test_rate_limit_allows_a_burst_then_says_how_long_to_wait() -> None:
    now = [1000.0]
    limiter = RateLimiter(3, 60, clock=lambda: now[0])
    assert [limiter.wait_seconds(7) for _ in range(3)] == [0, 0, 0]
    assert limiter.wait_seconds(7) == 60
    assert limiter.wait_seconds(8) == 0  # other users are not affected
    now[0] += 30
    assert limiter.wait_seconds(7) == 30
    now[0] += 30.5
    assert limiter.wait_seconds(7) == 0


def test_allowlist_serves_listed_users_and_chats_and_refuses_once() -> None:
    assert Allowlist([], []).allows(1, 1)
    allow = Allowlist([42], [-100])
    assert allow.allows(42, 5) and allow.allows(7, -100)
    assert not allow.allows(7, 7) and not allow.allows(None, None)
    assert allow.first_refusal(7) and not allow.first_refusal(7) and allow.first_refusal(8)
