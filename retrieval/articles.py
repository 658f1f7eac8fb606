"""Articles read from a folder and cleaned of the website around them.

News pages saved as text carry their site with them: navigation letters, font-size buttons,
visit counters, rating widgets, "Other news" lists of unrelated headlines, a login-timeout
notice. Left in, they become passages that answer questions the article never addressed
(an "Other news" headline about a state visit would be cited as if the article said it), so
cleaning happens before anything is indexed, and only what is left is searchable.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from .folding import fold, normalize

log = logging.getLogger(__name__)

ARTICLE_SUFFIXES = (".txt", ".md", ".html", ".htm")
PAGE_SUFFIXES = (".html", ".htm")

# A line this short is a widget or share-button letter ("x", "+", "aa", "sct"), never prose.
MIN_LINE_CHARS = 4
# A first line up to this long and without a closing full stop reads as a headline.
MAX_TITLE_CHARS = 200
# Lines in capitals up to this long are headings and labels ("TIN MỚI", a portal's name); a
# paragraph in capitals would be longer, and news sites do not set body text that way.
MAX_CAPS_LABEL_CHARS = 100
# Derived titles (when the article has no headline) are cut to fit a citation line on a phone.
DERIVED_TITLE_CHARS = 120

# Everything after one of these headings is the site's list of other stories, not the article.
_TRAILING_SECTIONS = {
    fold(s)
    for s in (
        "Other news", "Related news", "More news", "Read more", "See also",
        "Những tin mới hơn", "Những tin cũ hơn", "Tin mới hơn", "Tin cũ hơn", "Tin khác", "Tin liên quan",
        "Bài viết liên quan", "Các tin khác", "Tin cùng chuyên mục", "Xem thêm", "Đọc thêm",
    )
}
# Whole lines that are site widgets, matched on the folded, lower-cased line.
_CHROME_LINES = [
    re.compile(p)
    for p in (
        r"^tong so diem cua bai viet la",  # rating widget
        r"^click de danh gia bai viet",
        r"danh gia bai viet$",
        r"^ban da khong su dung site",  # login-timeout notice
        r"thoi gian cho: ?\d+ giay",
        r"^thong ke truy cap",  # visit counter, with or without a colon, as a list item or not
        r"^[-•·]?\s*(dang truy cap|dang online|truc tuyen|hom nay|hom qua|tuan nay|thang hien tai|tong luot truy cap|luot truy cap|luot xem)\s*:?\s*[\d.,]+$",
        # A portal's footer: licence, owner, address, contacts, copyright, reprint notice.
        r"^(giay phep( so)?\b|co quan chu quan\s*:|chiu trach nhiem( chinh| xuat ban| noi dung)?\s*:|ban quyen\b|copyright\b|©|ghi ro nguon\b)",
        r"^(dia chi|dien thoai|email|e-mail|fax|hotline)\s*:",
        r"^[•·▪►]",  # bulleted sidebar entries
        r"^(top|back to top|len dau trang|in bai viet|print|share|chia se|tweet|email)$",
        r"^(font size|co chu)\b",
    )
]
_DATE = re.compile(r"(?<!\d)(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}))?(?!\d)")
# A header line that is only a date, optionally with weekday and time: "Thứ hai - 17/04/2023 15:13".
_DATE_LINE = re.compile(
    r"^(?:(?:thu\s+\w+|chu nhat|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\s*[-,]?\s*)?"
    r"\d{1,2}[/.-]\d{1,2}[/.-]\d{4}(?:\s*[-,]?\s*\d{1,2}:\d{2}(?::\d{2})?)?(?:\s*\(?gmt[+-]\d+\)?)?$"
)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\b")
_SOURCE_LINE = re.compile(r"^(?:nguon(?: tin)?|theo|tac gia|source|author|by)\s*:\s*\S")
_SENTENCE_END = re.compile(r"[.!?…:;]\s*[\"”’)»]?$")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


@dataclass(frozen=True)
class Paragraph:
    number: int  # 1-based, as a reader would count the article's paragraphs
    text: str
    start: int  # character offsets into Article.text
    end: int


@dataclass(frozen=True)
class Article:
    id: str
    source_file: str
    title: str
    date: str | None  # as written in the article
    date_iso: str | None  # when the written date is a full day, month and year
    byline: str | None
    paragraphs: tuple[Paragraph, ...] = field(repr=False)
    # Where the article was published, when known (`seedqa add`, a saved page's canonical link,
    # or `url:` in a text file's front matter): citations link to it.
    url: str | None = None

    @property
    def text(self) -> str:
        return "\n\n".join(p.text for p in self.paragraphs)


class ArticleError(ValueError):
    """A file that cannot become an article; the message names the file and why."""


def load_folder(folder: Path) -> list[Article]:
    """Every article in the folder, in file-name order; a bad file is named in a warning and skipped."""
    articles: list[Article] = []
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES)
    stems = Counter(p.stem for p in paths)
    for path in paths:
        try:
            # The id is the stem ("001_ba54...") unless news.txt and news.md share it: then the
            # whole file name, so neither article's passages are cut from the other's text.
            article = load_file(path)
            articles.append(article if stems[path.stem] == 1 else replace(article, id=path.name))
        except ArticleError as exc:
            log.warning("%s", exc)
    return articles


def load_file(path: Path) -> Article:
    if path.suffix.lower() in PAGE_SUFFIXES:
        from .pages import load_page  # trafilatura and lxml: imported only for saved pages

        return load_page(path)
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ArticleError(f"Skipped {path.name}: it is not UTF-8 text; save it as UTF-8 to index it.") from None
    except OSError as exc:
        raise ArticleError(f"Skipped {path.name}: it could not be read ({exc.strerror}).") from None
    return parse_article(raw, article_id=path.stem, source_file=path.name)


def parse_article(raw: str, *, article_id: str, source_file: str) -> Article:
    text = normalize(raw).replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    meta, text = front_matter(text)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    lines = [line for line in lines if line]
    title = meta.get("title")
    written_date = meta.get("date")
    byline = meta.get("source") or meta.get("author")

    body: list[str] = []
    trailing_caps: str | None = None
    for line in lines:
        folded = fold(line).strip()
        if folded.rstrip(":") in _TRAILING_SECTIONS and body:
            break
        if len(line) < MIN_LINE_CHARS and not line.isdigit():
            continue
        if any(p.search(folded) for p in _CHROME_LINES):
            continue
        if _DATE_LINE.match(folded):
            written_date = written_date or line
            continue
        if line.startswith("#") and title is None and not body:
            title = line.lstrip("#").strip()
            continue
        if _SOURCE_LINE.match(folded):
            byline = byline or line.partition(":")[2].strip()
            continue
        if title is None and not body and len(line) <= MAX_TITLE_CHARS and not _SENTENCE_END.search(line):
            title = line
            continue
        if title is not None and line == title:
            continue  # the headline repeated under the date
        if _is_caps_label(line):
            trailing_caps = line  # "TIN MỚI", "ỨNG DỤNG", a portal's name: box headings and labels, never prose
            continue
        trailing_caps = None
        body.append(line)

    if body and _looks_like_byline(body[-1]):
        # The reporter's name closing the article, even when the page's metadata named an author.
        last = body.pop()
        byline = byline or last
    elif byline is None and trailing_caps and _looks_like_byline(trailing_caps):
        byline = trailing_caps  # the name in capitals after the last paragraph ("NGỌC PHÚC")
    if not body:
        raise ArticleError(f"Skipped {source_file}: it has no article text left after cleaning.")
    if title is None:
        title = _derived_title(body[0])
    if written_date is None:
        found = _DATE.search(body[0])
        written_date = found.group(0) if found else None

    paragraphs: list[Paragraph] = []
    offset = 0
    for number, line in enumerate(body, start=1):
        paragraphs.append(Paragraph(number=number, text=line, start=offset, end=offset + len(line)))
        offset += len(line) + 2
    return Article(
        id=article_id,
        source_file=source_file,
        title=title,
        date=written_date,
        date_iso=_iso_date(written_date),
        byline=byline,
        paragraphs=tuple(paragraphs),
        url=meta.get("url") or None,
    )


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """Optional `---` block with `title:`, `date:`, `source:`, `url:` lines: articles written by hand, and `seedqa add`'s files."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta: dict[str, str] = {}
    for line in match.group(1).splitlines():
        key, sep, value = line.partition(":")
        if sep and value.strip():
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, text[match.end() :]


def _is_caps_label(line: str) -> bool:
    """A line in capitals with no lower-case letter at all, short of a paragraph: a heading or a label."""
    return len(line) <= MAX_CAPS_LABEL_CHARS and any(c.isalpha() for c in line) and not any(c.islower() for c in line)


def _looks_like_byline(line: str) -> bool:
    """A closing line of two to five capitalised words, optionally with an affiliation in brackets."""
    if len(line) > 80 or _SENTENCE_END.search(line.split("(")[0].strip()):
        return False
    words = line.split("(")[0].split()
    return 2 <= len(words) <= 5 and all(w[:1].isupper() for w in words)


def _derived_title(lead: str) -> str:
    first = re.split(r"(?<=[.!?])\s+", lead, maxsplit=1)[0].rstrip(".")
    if len(first) <= DERIVED_TITLE_CHARS:
        return first
    return first[:DERIVED_TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",;:-–") + "…"


def _iso_date(written: str | None) -> str | None:
    if not written:
        return None
    iso = _ISO_DATE.match(written.strip())
    if iso:  # as trafilatura and feeds give it: YYYY-MM-DD
        try:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3))).isoformat()
        except ValueError:
            return None
    found = _DATE.search(written)
    if not found or not found.group(3):
        return None
    try:
        return date(int(found.group(3)), int(found.group(2)), int(found.group(1))).isoformat()
    except ValueError:
        return None
