"""A news site on 127.0.0.1 for `seedqa add` and the bot's refresh: tests/pages and its feeds, plus the ways sites go wrong.

Routes:
    /<page>.html            a page from tests/pages (as UTF-8 or as its own bytes)
    /feed.rss, /feed.atom   the feeds, their links pointing back at this server
    /moved/<page>.html      a redirect to /<page>.html
    /copy/<page>.html       the same article republished by another site (its own canonical URL)
    /slow.html              answers after `slow_seconds`
    /huge.html              50 MB of HTML, streamed, no Content-Length
    /photo.jpg              an image
    /broken.rss             application/rss+xml that is not XML at all
    /empty.html             a page with menus and no article
    /cp1258.html            a page in windows-1258, declared only in the HTTP header
Every request is counted by path, so a test can prove a skipped URL was not fetched again.
"""

from __future__ import annotations

import threading
import time
import unicodedata
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PAGES = Path(__file__).resolve().parent / "pages"

EMPTY_PAGE = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Tin tức | Báo Tỉnh</title></head>
<body><nav><a href="/">Trang chủ</a> <a href="/thoi-su">Thời sự</a> <a href="/kinh-te">Kinh tế</a></nav>
<div class="login">Bạn cần đăng nhập để xem nội dung này.</div>
<footer>© 2024 Báo Tỉnh. Giấy phép số 123/GP-BTTTT.</footer></body></html>"""

CP1258_ARTICLE = """<html><head><title>Long An xúc tiến thương mại tại Busan</title></head><body>
<div class="menu"><a href="/">Trang chủ</a> | <a href="/tin">Tin tức</a></div>
<h1>Long An xúc tiến thương mại tại Busan</h1>
<div class="content">
<p>Ngày 12/9/2024, đoàn công tác của tỉnh Long An do Phó Chủ tịch UBND tỉnh dẫn đầu đã làm việc với Phòng Thương mại Busan về xuất khẩu thanh long và gạo.</p>
<p>Hai bên thống nhất tổ chức hội chợ nông sản Long An tại Busan vào tháng 5 năm sau, với sự tham gia của 30 doanh nghiệp.</p>
</div><div class="footer">Bản quyền thuộc về Cổng thông tin điện tử tỉnh Long An</div></body></html>"""


class NewsServer:
    def __init__(self, *, slow_seconds: float = 5.0) -> None:
        self.slow_seconds = slow_seconds
        self.hits: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                server.hits[self.path] += 1
                server._serve(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def __enter__(self) -> "NewsServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?")[0]
        if path.startswith("/moved/"):
            return _send(h, 301, b"", "text/html", extra={"Location": path.removeprefix("/moved")})
        if path in ("/feed.rss", "/feed.atom"):
            name = "feed.rss.xml" if path.endswith("rss") else "feed.atom.xml"
            body = (PAGES / name).read_text(encoding="utf-8").replace("__BASE__", self.base).encode()
            return _send(h, 200, body, "application/rss+xml" if path.endswith("rss") else "application/atom+xml")
        if path == "/slow.html":
            time.sleep(self.slow_seconds)
            return _send(h, 200, EMPTY_PAGE.encode(), "text/html; charset=utf-8")
        if path == "/huge.html":
            h.send_response(200)
            h.send_header("Content-Type", "text/html; charset=utf-8")
            h.end_headers()
            chunk = b"<p>" + b"x" * 65_533 + b"</p>"
            try:
                for _ in range(50_000_000 // len(chunk)):
                    h.wfile.write(chunk)
            except OSError:  # the client hung up at its limit, as it should
                pass
            return None
        if path == "/photo.jpg":
            return _send(h, 200, b"\xff\xd8\xff\xe0" + b"\0" * 1000, "image/jpeg")
        if path == "/broken.rss":
            return _send(h, 200, b"this is not xml { at all", "application/rss+xml")
        if path == "/empty.html":
            return _send(h, 200, EMPTY_PAGE.encode(), "text/html; charset=utf-8")
        if path == "/cp1258.html":
            return _send(h, 200, cp1258(CP1258_ARTICLE), "text/html; charset=windows-1258")
        name = path.removeprefix("/copy/").lstrip("/")
        page = PAGES / name
        if name.endswith(".html") and page.is_file():
            body = page.read_bytes()
            if path.startswith("/copy/"):  # every address in it now points at the republishing site
                body = body.replace(b"https://", b"https://lai.tin.example/")
            return _send(h, 200, body, "text/html")
        return _send(h, 404, b"<h1>404</h1>", "text/html")


_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def cp1258(text: str) -> bytes:
    """Vietnamese as windows-1258 writes it: â, ê, ơ... precomposed, tone marks as combining characters."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            out.append(ch.encode("cp1258"))
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _TONES))
            out.append((base + "".join(c for c in parts if c in _TONES)).encode("cp1258"))
    return b"".join(out)


def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
    h.send_response(status)
    h.send_header("Content-Type", content_type)
    h.send_header("Content-Length", str(len(body)))
    for key, value in (extra or {}).items():
        h.send_header(key, value)
    h.end_headers()
    h.wfile.write(body)
