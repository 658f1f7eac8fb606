"""Pages and feeds fetched over HTTP for `seedqa add`, with the limits a crawler owes everyone.

A timeout on every step and on the whole download, a size limit checked while the body
streams (a 50 MB "page" is refused at the limit, not after it has been read), a bounded
number of redirects, and a User-Agent that says what is asking. Anything that goes wrong is
a FetchError with one sentence naming the URL and what to do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.message import Message
from importlib.metadata import PackageNotFoundError, version

import httpx

# A news page is 50-500 KB and a feed rarely over 1 MB; 5 MB leaves room for inlined images
# and scripts while a wrongly linked video or archive is refused early.
MAX_BYTES = 5_000_000
# Seconds for the whole exchange: connect, redirects, and the body. Slow government portals
# answer in 2-8 s; 20 s is patient without letting one dead host stall a feed of fifty links.
TIMEOUT_SECONDS = 20.0
# Browsers allow 20; news sites use one or two (http -> https, a tracking hop).
MAX_REDIRECTS = 5
HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml", "application/feed+json")


def _user_agent() -> str:
    try:
        ours = version("seedqa")
    except PackageNotFoundError:
        ours = "dev"
    return f"seedqa/{ours} (question answering over news articles; fetches pages a user added) httpx/{httpx.__version__}"


USER_AGENT = _user_agent()


class FetchError(Exception):
    """One sentence: which URL, what went wrong, what to do."""


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects: the address the body came from
    content_type: str  # media type only, lower case ("text/html")
    charset: str | None  # as the server declared it
    body: bytes

    @property
    def is_feed(self) -> bool:
        return self.content_type in FEED_TYPES or (self.content_type == "text/plain" and self.body.lstrip()[:5] == b"<?xml")


class Fetcher:
    """One HTTP client for a whole `seedqa add` run (connections are reused across a feed's pages)."""

    def __init__(self, *, timeout: float = TIMEOUT_SECONDS, max_bytes: int = MAX_BYTES, transport: httpx.BaseTransport | None = None) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._client = httpx.Client(
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,application/rss+xml,application/atom+xml,application/xml;q=0.9,*/*;q=0.1"},
            transport=transport,
        )

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, url: str) -> Fetched:
        """The body of url if it is a web page or a feed within the limits; FetchError otherwise."""
        deadline = time.monotonic() + self.timeout
        try:
            with self._client.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise FetchError(f"{url} answered HTTP {response.status_code}: check the address, or try again later.")
                media, charset = _content_type(response.headers.get("content-type", ""))
                if media and media not in HTML_TYPES + FEED_TYPES + ("text/plain",):
                    raise FetchError(f"{url} is {media}, not a web page or a feed: give the address of the article's page.")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchError(f"{url} is {int(declared) / 1e6:.0f} MB, over the {self.max_bytes / 1e6:.0f} MB limit for a page: is it really an article?")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(f"{url} is over the {self.max_bytes / 1e6:.0f} MB limit for a page: is it really an article?")
                    if time.monotonic() > deadline:
                        raise httpx.ReadTimeout("deadline")
                    chunks.append(chunk)
                return Fetched(str(response.url), media or "text/html", charset, b"".join(chunks))
        except FetchError:
            raise
        except httpx.TimeoutException:
            raise FetchError(f"{url} did not answer within {self.timeout:.0f} s: try again later.") from None
        except httpx.TooManyRedirects:
            raise FetchError(f"{url} redirects more than {MAX_REDIRECTS} times: open it in a browser and add the address it ends at.") from None
        except httpx.UnsupportedProtocol:
            raise FetchError(f"{url} is not an http:// or https:// address.") from None
        except httpx.InvalidURL:
            raise FetchError(f"{url} is not a valid address.") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"Could not fetch {url} ({type(exc).__name__}): check the address and the network.") from None


def _content_type(header: str) -> tuple[str, str | None]:
    if not header:
        return "", None
    message = Message()
    message["content-type"] = header
    return message.get_content_type().lower(), message.get_param("charset")  # type: ignore[return-value]
