"""RSS and Atom feeds as lists of article links, through feedparser (which copes with the broken feeds sites serve)."""

from __future__ import annotations

from dataclasses import dataclass


class FeedError(ValueError):
    """Not a feed: one sentence naming it."""


@dataclass(frozen=True)
class FeedEntry:
    url: str
    title: str | None
    published: str | None  # YYYY-MM-DD when the feed gives a date


def parse_feed(body: bytes, source: str) -> list[FeedEntry]:
    """The entries that link to a page, in the feed's order; FeedError when it is not RSS or Atom at all.

    feedparser reads malformed feeds leniently and flags them (bozo); a feed with entries is used
    even if flagged, since sites often serve a stray ampersand, and only one with none is refused.
    """
    import feedparser  # only `seedqa add` and the bot's refresh read feeds

    parsed = feedparser.parse(body, response_headers={"content-location": source})  # relative links resolve against the feed
    if not parsed.get("version") and not parsed.entries:
        raise FeedError(f"{source} is not an RSS or Atom feed (it does not parse as one): check the feed's address.")
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for entry in parsed.entries:
        link = entry.get("link") or next((l.get("href") for l in entry.get("links", []) if l.get("href")), None)
        if not link or link in seen:
            continue
        seen.add(link)
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = f"{stamp.tm_year:04d}-{stamp.tm_mon:02d}-{stamp.tm_mday:02d}" if stamp else None
        entries.append(FeedEntry(link, (entry.get("title") or "").strip() or None, published))
    return entries


def looks_like_feed(body: bytes) -> bool:
    """An XML document whose root is rss, feed or RDF: what a FILE argument or a text/xml response holds."""
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<rss", b"<feed")):
        return True
    return head.startswith(b"<?xml") and any(tag in head for tag in (b"<rss", b"<feed", b"<rdf:rdf"))
