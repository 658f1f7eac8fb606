"""News pages (HTML) as articles: the main text and its metadata, the site around it dropped.

A saved or fetched news page is mostly not the article: menus, "most read" boxes, related
links, counters, share buttons. trafilatura (the field's maintained extractor) finds the
article's own text and its title, date, author and canonical URL; what it returns then goes
through the same cleaning as a `.txt` article (retrieval.articles), so a chrome line that
slips through is caught by the rules already tuned on the seeds.

Pages come in the encodings Vietnamese sites still use: UTF-8 with or without a byte-order
mark, and windows-1258, declared in the HTTP header, in a <meta> tag, or not at all.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .articles import Article, ArticleError, parse_article
from .folding import fold

# A news article has at least one paragraph this long; a page whose longest line is shorter holds
# menus and notices only (each page in tests/pages has a paragraph of over 300 characters).
MIN_PARAGRAPH_CHARS = 80
# A lead shorter than this is a label or a kicker, not the article's opening paragraph.
MIN_LEAD_CHARS = 60
_LEAD_MARK = re.compile(r"\b(sapo|sapo_detail|detail-sapo|article__sapo|description|desc|lead|summary|chapeau|excerpt|intro|tomtat|tom-tat)\b|sapo")
# Containers a lead never sits in. Not "sidebar": VietNamNet's main column is "sidebar-1".
_OUTSIDE_ARTICLE = re.compile(r"^(nav|aside|footer)\b|\b(menu|related|relate|lienquan|tin-?lien-?quan|tin-?khac|other-news|others)\b")
_DATELINE_MARK = re.compile(r"date|time|ngay|publish|posted|thoigian|thoi-gian")
_DAY_MONTH_YEAR = re.compile(r"(?<!\d)(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?!\d)")
# A <meta charset> or http-equiv declaration sits in the page's head; browsers look this far.
META_SNIFF_BYTES = 4096
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True)
class PageText:
    """What the extractor found: enough to write the article as a readable file (retrieval.adding)."""

    title: str | None
    date: str | None  # YYYY-MM-DD, as trafilatura normalises it
    author: str | None
    site: str | None
    url: str | None
    body: str  # paragraphs, one per line


class PageError(ArticleError):
    """A page that holds no article; the message names it and says why."""


def decode(body: bytes, declared: str | None = None) -> str:
    """The page's text: a byte-order mark first, then the declared charset, then <meta>, then UTF-8, then a guess."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body.decode(encoding, errors="replace")
    sniffed = _META_CHARSET.search(body[:META_SNIFF_BYTES])
    for name in (declared, sniffed.group(1).decode("ascii", "ignore") if sniffed else None):
        encoding = _codec(name)
        if encoding:
            try:
                return body.decode(encoding)
            except UnicodeDecodeError:
                continue
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes  # an undeclared legacy encoding: rare, so imported only then

    best = from_bytes(body).best()
    return str(best) if best is not None else body.decode("cp1258", errors="replace")


def extract(html: str, url: str | None = None) -> PageText:
    """The article in a page; PageError when there is none (a section front, an error page)."""
    import trafilatura  # lxml and friends: only when a page is read
    from lxml import html as lxml_html

    try:
        tree = lxml_html.document_fromstring(html)
    except (ValueError, lxml_html.etree.ParserError):
        raise PageError("it is not an HTML page") from None
    found = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        # Only dates the page states as its own (meta tags, structured data, <time>): the extensive
        # search would take a date out of the text ("from 20 to 22 May") before the dateline.
        date_extraction_params={"extensive_search": False, "original_date": True},
        include_comments=False,  # readers' comments are not the article's claims
        include_tables=False,  # on news sites, tables are mostly layout and "other news" grids
        include_images=False,
        favor_recall=True,  # a body paragraph lost is an answer lost; chrome that slips through is cleaned below
    )
    body = (getattr(found, "text", None) or "").strip() if found is not None else ""
    if not any(len(line) >= MIN_PARAGRAPH_CHARS for line in body.splitlines()):
        # What an extractor returns from a page without an article: menu entries, a login notice.
        raise PageError("it has no article text (a section front, a login or error page?)")
    title = _clean(getattr(found, "title", None))
    lead = _lead(tree, title)
    if lead and fold(lead) not in fold(body):
        body = f"{lead}\n{body}"
    return PageText(
        title=title,
        date=_clean(getattr(found, "date", None)) or _dateline(tree) or _date_anywhere(html),
        author=_clean(getattr(found, "author", None)),
        site=_clean(getattr(found, "sitename", None)),
        url=_clean(getattr(found, "url", None)) or url,
        body=body,
    )


def page_article(html: str, *, article_id: str, source_file: str, url: str | None = None) -> Article:
    """A page as an Article, cleaned by the same rules as a text file."""
    try:
        page = extract(html, url)
    except PageError as exc:
        raise PageError(f"Skipped {source_file}: {exc}.") from None
    return parse_article(as_text(page), article_id=article_id, source_file=source_file)


def load_page(path: Path) -> Article:
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"Skipped {path.name}: it could not be read ({exc.strerror}).") from None
    return page_article(decode(body), article_id=path.stem, source_file=path.name)


def as_text(page: PageText, *, added_from: str | None = None) -> str:
    """The page as an article file: front matter (title, date, author, site, URL), then one paragraph per line pair.

    This is the form `seedqa add` writes into the articles folder, readable and editable by hand;
    added_from is the address it was added from, when that is not the page's own URL, so adding
    it again is recognised without fetching it.
    """
    added_from = added_from if added_from != page.url else None
    meta = {"title": page.title, "date": page.date, "author": page.author, "site": page.site, "url": page.url, "added_from": added_from}
    lines = ["---"] + [f"{key}: {_one_line(value)}" for key, value in meta.items() if value] + ["---", ""]
    paragraphs = [" ".join(line.split()) for line in page.body.splitlines()]
    return "\n".join(lines) + "\n\n".join(p for p in paragraphs if p) + "\n"


def _lead(tree: Any, title: str | None) -> str | None:
    """The article's lead (sapo): news sites set it apart from the body container, where extractors miss it.

    The first element marked as a lead (class sapo, description, lead, summary...) after the headline,
    long enough to be a paragraph, and not inside navigation or a list of other stories.
    """
    headline = None
    for h1 in tree.iter("h1"):
        if title and " ".join(h1.text_content().split()) == title:
            headline = h1
            break
    after_headline = headline is None
    for element in tree.iter():
        if element is headline:
            after_headline = True
            continue
        if not after_headline or not isinstance(element.tag, str):
            continue
        marks = f"{element.get('class', '')} {element.get('id', '')} {element.get('data-role', '')}".lower()
        if not _LEAD_MARK.search(marks) or any(_OUTSIDE_ARTICLE.search(f"{a.tag} {a.get('class', '')}".lower()) for a in element.iterancestors()):
            continue
        text = " ".join(element.text_content().split())
        if len(text) >= MIN_LEAD_CHARS:
            return text
    return None


def _dateline(tree: Any) -> str | None:
    """The date in the page's dateline element ("Thứ năm, 23/05/2024 - 08:40"), as YYYY-MM-DD."""
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        marks = f"{element.tag} {element.get('class', '')} {element.get('id', '')}".lower()
        if not _DATELINE_MARK.search(marks):
            continue
        found = _DAY_MONTH_YEAR.search(" ".join(element.text_content().split()))
        if found:
            day, month, year = (int(g) for g in found.groups())
            if 1 <= day <= 31 and 1 <= month <= 12:
                return f"{year:04d}-{month:02d}-{day:02d}"
    return None


def _date_anywhere(html: str) -> str | None:
    """Last resort: htmldate's extensive search through the whole page."""
    from htmldate import find_date

    try:
        return find_date(html, extensive_search=True, original_date=True)
    except Exception:  # htmldate parses untrusted markup; no date is better than no article
        return None


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


def _clean(value: object) -> str | None:
    text = " ".join(str(value).split()) if value else ""
    return text or None


def _one_line(value: str) -> str:
    return " ".join(value.split())
