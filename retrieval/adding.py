"""`seedqa add URL|FILE|FEED...`: news pages and feeds written into the articles folder as readable files.

The folder stays the one source of truth: each article added becomes a Markdown file with
front matter (title, date, source, URL) and its paragraphs, which `seedqa index` reads like
any hand-written article and a person can read, fix or delete. Nothing is indexed from the
network directly, so a rebuild never depends on a site still being up.

An article is added once: a URL already in the folder (after redirects, and the page's own
canonical URL) is skipped without fetching again, and so is the same text under another URL
(sites publish one story at several addresses). Each source that fails is reported in one
line and the others still go in.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .articles import ArticleError, front_matter, load_folder, parse_article
from .feeds import FeedError, looks_like_feed, parse_feed
from .fetching import FetchError, Fetcher
from .folding import fold
from .pages import PageError, as_text, decode, extract

# File names: date, then the headline folded to ASCII, cut so a listing stays readable.
SLUG_CHARS = 60
# Tracking parameters that make one article look like many URLs.
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|zarsrc|mc_cid|mc_eid)$", re.IGNORECASE)

Status = Literal["added", "skipped", "failed"]


@dataclass(frozen=True)
class Outcome:
    source: str  # the URL or file as given (or a feed's entry)
    status: Status
    message: str  # one line for the user
    file: Path | None = None


def add(sources: Sequence[str], folder: Path, fetcher: Fetcher, *, report: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Add every source; report (if given) hears each outcome as it happens, so a long feed shows progress."""
    folder.mkdir(parents=True, exist_ok=True)
    known = _Known.of(folder)
    outcomes: list[Outcome] = []

    def note(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if report:
            report(outcome)

    for source in sources:
        for outcome in _add_one(source, folder, fetcher, known):
            note(outcome)
    return outcomes


def canonical_url(url: str) -> str:
    """The form URLs are compared in: no fragment, no tracking parameters, host lower-cased, no trailing slash."""
    parts = urlsplit(url.strip())
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, query, ""))


def is_url(source: str) -> bool:
    return urlsplit(source).scheme in ("http", "https")


class _Known:
    """What the folder already holds: URLs and article texts (hashed)."""

    def __init__(self, urls: set[str], texts: dict[str, str]) -> None:
        self.urls = urls
        self.texts = texts  # sha256 of the cleaned text -> the file holding it

    @classmethod
    def of(cls, folder: Path) -> "_Known":
        urls: set[str] = set()
        texts: dict[str, str] = {}
        for article in load_folder(folder):
            if article.url:
                urls.add(canonical_url(article.url))
            texts[_text_hash(article.text)] = article.source_file
        for path in folder.iterdir():  # the addresses pages were added from, which Article does not keep
            if path.suffix.lower() in (".md", ".txt"):  # the files `seedqa add` writes, and hand-written ones
                try:
                    meta, _ = front_matter(path.read_text(encoding="utf-8-sig"))
                except (OSError, UnicodeDecodeError):
                    continue
                if meta.get("added_from"):
                    urls.add(canonical_url(meta["added_from"]))
        return cls(urls, texts)


def _add_one(source: str, folder: Path, fetcher: Fetcher, known: _Known) -> Iterable[Outcome]:
    if is_url(source):
        if canonical_url(source) in known.urls:
            yield Outcome(source, "skipped", f"{source}: already added.")
            return
        try:
            fetched = fetcher.get(source)
        except FetchError as exc:
            yield Outcome(source, "failed", str(exc))
            return
        if fetched.is_feed or looks_like_feed(fetched.body):
            yield from _add_feed(fetched.body, source, folder, fetcher, known)
            return
        yield _add_page(decode(fetched.body, fetched.charset), source, fetched.url, folder, known)
        return
    path = Path(source).expanduser()
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        yield Outcome(source, "failed", f"{source}: no such file, and not an http(s):// address.")
        return
    except OSError as exc:
        yield Outcome(source, "failed", f"{source}: could not be read ({exc.strerror}).")
        return
    if path.suffix.lower() in (".xml", ".rss", ".atom") or looks_like_feed(body):
        yield from _add_feed(body, source, folder, fetcher, known)
    elif path.suffix.lower() in (".txt", ".md"):
        yield _add_text(body, path, folder, known)
    else:  # a saved page, whatever its name says
        yield _add_page(decode(body), source, None, folder, known)


def _add_feed(body: bytes, source: str, folder: Path, fetcher: Fetcher, known: _Known) -> Iterable[Outcome]:
    try:
        entries = parse_feed(body, source)
    except FeedError as exc:
        yield Outcome(source, "failed", str(exc))
        return
    if not entries:
        yield Outcome(source, "skipped", f"{source}: the feed lists no articles.")
    for entry in entries:
        yield from _add_one(entry.url, folder, fetcher, known)


def _add_page(html: str, source: str, fetched_from: str | None, folder: Path, known: _Known) -> Outcome:
    try:
        page = extract(html, fetched_from)
    except PageError as exc:
        return Outcome(source, "failed", f"{source}: {exc}; nothing was added.")
    urls = {canonical_url(u) for u in (source if is_url(source) else None, fetched_from, page.url) if u}
    if urls & known.urls:
        return Outcome(source, "skipped", f"{source}: already added.")
    text = as_text(page, added_from=source if is_url(source) else fetched_from)
    return _write(text, source, urls, folder, known, title=page.title, day=page.date)


def _add_text(body: bytes, path: Path, folder: Path, known: _Known) -> Outcome:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Outcome(str(path), "failed", f"{path}: it is not UTF-8 text; save it as UTF-8 and add it again.")
    return _write(text, str(path), set(), folder, known, title=None, day=None)


def _write(text: str, source: str, urls: set[str], folder: Path, known: _Known, *, title: str | None, day: str | None) -> Outcome:
    try:
        article = parse_article(text, article_id="new", source_file=source)
    except ArticleError:
        return Outcome(source, "failed", f"{source}: it has no article text left after cleaning; nothing was added.")
    digest = _text_hash(article.text)
    if digest in known.texts:
        return Outcome(source, "skipped", f"{source}: the same article is already in {known.texts[digest]} (under another address).")
    name = _free_name(folder, day or article.date_iso or date.today().isoformat(), title or article.title)
    tmp = folder / f".{name}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, folder / name)  # a reader of the folder sees the whole file or none
    known.urls |= urls
    known.texts[digest] = name
    return Outcome(source, "added", f"{source}: added as {name} ({article.title}).", folder / name)


def _free_name(folder: Path, day: str, title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", fold(title).lower()).strip("-")[:SLUG_CHARS].rstrip("-") or "article"
    stem = f"{day[:10]}-{slug}"
    name, n = f"{stem}.md", 2
    while (folder / name).exists():
        name, n = f"{stem}-{n}.md", n + 1
    return name


def _text_hash(text: str) -> str:
    return hashlib.sha256(" ".join(fold(text).lower().split()).encode()).hexdigest()

