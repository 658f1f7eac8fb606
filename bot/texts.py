"""The bot's own words, in English and Vietnamese.

A reply speaks the language of the question it answers (a Vietnamese question typed without
diacritics is still Vietnamese); a command with no question uses the user's Telegram language.
Every string here is HTML-safe as written; values filled in are escaped by the caller.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["en", "vi"]

_TEXTS: dict[str, dict[Lang, str]] = {
    "start": {
        "en": (
            "<b>Hello!</b> I answer questions from {count} news articles, with the passage and "
            "where it comes from.\n\nAsk in English or Vietnamese, with or without diacritics, for example:\n"
            "• <i>Who met the Jeju governor?</i>\n• <i>Ai gặp Tỉnh trưởng Jeju?</i>\n• <i>ai gap tinh truong jeju</i>\n\n"
            "/sources lists the articles, /article N shows one, /help says more."
        ),
        "vi": (
            "<b>Xin chào!</b> Tôi trả lời câu hỏi dựa trên {count} bài báo, kèm đoạn trích và nguồn.\n\n"
            "Hỏi bằng tiếng Việt (có dấu hay không dấu đều được) hoặc tiếng Anh, ví dụ:\n"
            "• <i>Ai gặp Tỉnh trưởng Jeju?</i>\n• <i>ai gap tinh truong jeju</i>\n• <i>Who met the Jeju governor?</i>\n\n"
            "/sources liệt kê các bài báo, /article N hiện một bài, /help để biết thêm."
        ),
    },
    "help": {
        "en": (
            "<b>How to ask</b>\nIn a private chat, just type a question. In a group, use /ask <i>question</i>, "
            "reply to one of my messages, or mention me.\nIn any chat, type my name and a question to share an answer: "
            "<code>@{username} who met the Jeju governor?</code>\n\n"
            "Under each answer: <b>More results</b>, <b>Full article</b>, and 👍 / 👎 to tell us whether it helped.\n\n"
            "/sources: the articles I know\n/article N: read article N\n/ask <i>question</i>: ask (in groups)"
        ),
        "vi": (
            "<b>Cách hỏi</b>\nTrong chat riêng, chỉ cần gõ câu hỏi. Trong nhóm, dùng /ask <i>câu hỏi</i>, "
            "trả lời một tin nhắn của tôi, hoặc nhắc tên tôi.\nỞ bất kỳ chat nào, gõ tên tôi và câu hỏi để chia sẻ câu trả lời: "
            "<code>@{username} ai gặp tỉnh trưởng Jeju?</code>\n\n"
            "Dưới mỗi câu trả lời: <b>Thêm kết quả</b>, <b>Toàn bài</b>, và 👍 / 👎 để cho biết có hữu ích không.\n\n"
            "/sources: các bài báo tôi biết\n/article N: đọc bài N\n/ask <i>câu hỏi</i>: đặt câu hỏi (trong nhóm)"
        ),
    },
    "abstain": {
        "en": "The articles do not answer this. Try other words, or see /sources for what they cover.",
        "vi": "Các bài báo không trả lời câu hỏi này. Hãy thử cách hỏi khác, hoặc xem /sources để biết các bài nói về gì.",
    },
    "not_said": {
        "en": "The articles talk about this, but they do not say it.",
        "vi": "Các bài báo có nói về chủ đề này, nhưng không nêu điều bạn hỏi.",
    },
    "closest": {"en": "Show the closest passages ▸", "vi": "Xem các đoạn gần nhất ▸"},
    "closest_header": {
        "en": "The closest passages (they do not state the answer):",
        "vi": "Các đoạn gần nhất (không nêu câu trả lời):",
    },
    "answer": {"en": "Answer", "vi": "Trả lời"},
    "sources_title": {"en": "<b>Articles I know</b> ({count})", "vi": "<b>Các bài báo</b> ({count})"},
    "sources_hint": {"en": "Read one with /article N.", "vi": "Đọc một bài bằng /article N."},
    "article_usage": {
        "en": "Give the article's number from /sources, for example: /article 1",
        "vi": "Hãy ghi số của bài trong /sources, ví dụ: /article 1",
    },
    "article_missing": {
        "en": "There is no article {number}: /sources lists articles 1 to {count}.",
        "vi": "Không có bài số {number}: /sources liệt kê các bài từ 1 đến {count}.",
    },
    "ask_usage": {
        "en": "Put the question after the command, for example: /ask who met the Jeju governor?",
        "vi": "Hãy gõ câu hỏi sau lệnh, ví dụ: /ask ai gặp tỉnh trưởng Jeju?",
    },
    "bad_question": {
        "en": "Type a question in words, for example: who met the Jeju governor?",
        "vi": "Hãy gõ câu hỏi bằng chữ, ví dụ: ai gặp tỉnh trưởng Jeju?",
    },
    "not_text": {
        "en": "I can only read text. Type your question, for example: who met the Jeju governor?",
        "vi": "Tôi chỉ đọc được chữ. Hãy gõ câu hỏi, ví dụ: ai gặp tỉnh trưởng Jeju?",
    },
    "rate_limited": {
        "en": "You are asking faster than I can keep up. Please wait {seconds} s and ask again.",
        "vi": "Bạn hỏi hơi nhanh. Vui lòng đợi {seconds} giây rồi hỏi lại.",
    },
    "not_allowed": {
        "en": "Sorry, this bot is private. Ask its owner to add you.",
        "vi": "Xin lỗi, bot này chỉ dành cho một số người dùng. Hãy nhờ chủ bot thêm bạn vào.",
    },
    "error": {
        "en": "Sorry, something went wrong on my side. Please try again in a moment.",
        "vi": "Xin lỗi, đã có lỗi ở phía tôi. Vui lòng thử lại sau ít phút.",
    },
    "stale": {
        "en": "This button is from an older answer. Please ask the question again.",
        "vi": "Nút này thuộc về một câu trả lời cũ. Vui lòng hỏi lại.",
    },
    "no_more": {"en": "No more results.", "vi": "Không còn kết quả nào khác."},
    "thanks": {"en": "Thanks for the feedback!", "vi": "Cảm ơn bạn đã góp ý!"},
    "more": {"en": "More results ▸", "vi": "Thêm kết quả ▸"},
    "previous": {"en": "◂ Previous", "vi": "◂ Trước"},
    "full_article": {"en": "📄 Full article", "vi": "📄 Toàn bài"},
    "article_n": {"en": "📄 Full article {rank}", "vi": "📄 Toàn bài {rank}"},  # {rank}: the result it belongs to
    "paragraph": {"en": "paragraph", "vi": "đoạn"},
    "page": {"en": "results {first}–{last}", "vi": "kết quả {first}–{last}"},
    "inline_help": {"en": "How to ask", "vi": "Cách hỏi"},
    "inline_nothing": {"en": "The articles do not answer this", "vi": "Các bài báo không trả lời câu hỏi này"},
    "cmd_start": {"en": "What I know, with example questions", "vi": "Giới thiệu và câu hỏi mẫu"},
    "cmd_help": {"en": "How to ask", "vi": "Cách đặt câu hỏi"},
    "cmd_ask": {"en": "Ask a question (in groups)", "vi": "Đặt câu hỏi (trong nhóm)"},
    "cmd_sources": {"en": "The articles I know", "vi": "Các bài báo"},
    "cmd_article": {"en": "Read article N", "vi": "Đọc bài số N"},
}


def text(key: str, lang: Lang, **values: object) -> str:
    template = _TEXTS[key][lang]
    return template.format(**values) if values else template


def lang_of_user(language_code: str | None) -> Lang:
    """The user's Telegram language, for replies that answer no question (commands, notices)."""
    return "vi" if (language_code or "").lower().startswith("vi") else "en"
