"""A fake Telegram Bot API server, so the real python-telegram-bot stack can be tested end to end.

The bot under test keeps its real ``Application`` and ``HTTPXRequest``; only ``base_url`` points
here. That exercises what mocks of ``Bot`` would hide: request encoding, response parsing, PTB's
error mapping (400 -> BadRequest, 429 -> RetryAfter, ...), long polling and shutdown.

Faithfulness is selective: the refusals a bot could really hit and that are cheap to imitate
(empty or over-long text, callback data over 64 bytes, malformed HTML, edits that change nothing,
a query answered twice, replies to unknown messages) are enforced; anything else is accepted.
Knowing differences: a bare ``&`` in HTML is an error here (Telegram tolerates it; html.escape
never produces one), and the echoed ``text`` of an HTML message is the parsed plain text, as
Telegram returns it, but without ``entities``.

PTB posts ``application/x-www-form-urlencoded`` bodies in which strings are raw and every other
value is JSON (``multipart/form-data`` when a file is uploaded, no body for parameterless calls
such as getMe). JSON bodies are accepted as well. Values are decoded back to Python objects.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl, urlsplit

DEFAULT_TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
BOT_ID, BOT_USERNAME = 777000123, "seedqa_test_bot"
GROUP_CHAT_ID = -1001000000001  # send_text's default chat when chat_type is a group
MAX_POLL_SECONDS = 2.0  # caps long polls so stop() stays fast whatever timeout the client asks for

Params = dict[str, Any]
Predicate = Callable[[Params], bool]

# Fields Telegram types as strings: JSON-decoding "123" there would wrongly yield an int.
_TEXT_FIELDS = frozenset(
    "text caption query data callback_query_id inline_query_id inline_message_id next_offset parse_mode action url "
    "language_code title description short_description name emoji secret_token business_connection_id "
    "message_effect_id file_id sticker photo voice document audio video animation".split())
_CHAT_ACTIONS = frozenset(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document choose_sticker "
    "find_location record_video_note upload_video_note".split())
_HTML_TAGS = frozenset("b strong i em u ins s strike del a code pre tg-spoiler span blockquote tg-emoji".split())
_ATTRS = r"(?:\s+[A-Za-z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*"
_TAG = re.compile(rf"<(/?)([A-Za-z0-9-]*)({_ATTRS})\s*(/?)>")
_ATTR = re.compile(r"([A-Za-z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9A-Fa-f]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")
_MENTION = re.compile(r"(?<![A-Za-z0-9_@/])@[A-Za-z0-9_]{5,32}(?![A-Za-z0-9_])")


def utf16_len(text: str) -> int:
    """Telegram measures lengths and entity offsets in UTF-16 code units, not code points."""
    return len(text.encode("utf-16-le")) // 2


class ApiError(Exception):
    """Raised inside method implementations; carries what Telegram would put in the error body."""

    def __init__(self, status: int, description: str, parameters: Params | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _entity_error(what: str) -> ApiError:
    return _bad(f"can't parse entities: {what}")


def _unescape(text: str, at: int, whole: str) -> str:
    """Decodes the few entities Telegram knows; ``at`` locates ``text`` in ``whole`` for messages."""
    out, i = [], 0
    while (j := text.find("&", i)) >= 0:
        out.append(text[i:j])
        if not (m := _ENTITY.match(text, j)):
            raise _entity_error(f'Unsupported HTML entity or bare "&" at byte offset {len(whole[: at + j].encode())}')
        named, dec, hexa = m.groups()
        out.append(_NAMED[named] if named else chr(int(dec or hexa, 16 if hexa else 10)))
        i = m.end()
    return "".join(out) + text[i:]


def _parse_html(text: str) -> str:
    """Returns the plain text Telegram would store, or raises ApiError worded like Telegram's."""
    stack: list[str] = []
    plain: list[str] = []
    i = 0
    while (j := text.find("<", i)) >= 0:
        plain.append(_unescape(text[i:j], i, text))
        offset, m = len(text[:j].encode()), _TAG.match(text, j)
        name = m.group(2).lower() if m else re.match(r"<([A-Za-z0-9-]*)", text[j:]).group(1)  # type: ignore[union-attr]
        if not m or m.group(4) or name not in _HTML_TAGS:
            raise _entity_error(f'Unsupported start tag "{name}" at byte offset {offset}')
        if not m.group(1):
            attrs: dict[str, str] = {}
            for a in _ATTR.finditer(m.group(3)):
                value = a.lastindex if a.lastindex and a.lastindex > 1 else 0  # group of the quoted/bare value
                attrs[a[1].lower()] = _unescape(a[value], m.start(3) + a.start(value), text) if value else ""
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise _entity_error('Tag "span" must have class "tg-spoiler"')
            stack.append(name)
        elif not stack:
            raise _entity_error(f"Unexpected end tag at byte offset {offset}")
        elif stack[-1] != name:
            raise _entity_error(f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", found "</{name}>"')
        else:
            stack.pop()
        i = m.end()
    plain.append(_unescape(text[i:], i, text))
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(plain)


def telegram_html_errors(text: str) -> str | None:
    """Lets any test vet bot output against Telegram's HTML rules without a server round trip."""
    try:
        _parse_html(text)
    except ApiError as e:
        return e.description
    return None


@dataclass
class Call:
    """One executed request; ``error`` holds the description when it was refused (4xx)."""

    method: str
    params: Params
    time: float
    result: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Fault:
    """A request answered by an injected fault instead of being executed (delays excepted)."""

    method: str
    kind: str  # "fail" | "rate_limit" | "drop" | "delay"
    params: Params
    time: float


@dataclass
class UploadedFile:
    """A multipart file part, kept as bytes so tests can assert on what was uploaded."""

    filename: str
    content: bytes
    content_type: str


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: FakeBotAPI

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that gave up (timeouts, stop()) leave broken pipes behind: expected, not news."""


class _Handler(BaseHTTPRequestHandler):
    """A thin HTTP shell: all state lives in FakeBotAPI, behind one lock."""

    protocol_version = "HTTP/1.1"  # keep-alive, as PTB's connection pool expects of the real API
    disable_nagle_algorithm = True  # headers and body are separate writes: Nagle + delayed ACK cost 40 ms a call
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the quiet part
        pass

    def setup(self) -> None:
        super().setup()
        self.server.api._connections.add(self.connection)

    def finish(self) -> None:
        self.server.api._connections.discard(self.connection)
        super().finish()

    def do_POST(self) -> None:
        api = self.server.api
        with api._cond:
            api._busy += 1
        try:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            outcome = api._handle_http(self.path, self.headers.get("Content-Type", ""), body)
            if outcome is None:  # injected drop
                self.close_connection = True
                return
            data = json.dumps(outcome[1]).encode()
            self.send_response(outcome[0])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        finally:
            with api._cond:
                api._busy -= 1
                api._cond.notify_all()

    do_GET = do_POST


def _error(status: int, description: str, parameters: Params | None = None) -> tuple[int, Params]:
    body = {"ok": False, "error_code": status, "description": description}
    return status, body | ({"parameters": parameters} if parameters else {})


class FakeBotAPI:
    """Serves the Bot API on 127.0.0.1 and records everything the bot does through it."""

    def __init__(self, token: str = DEFAULT_TOKEN, *, can_read_all_group_messages: bool = False) -> None:
        self.token = token
        self.bot_user: Params = {
            "id": BOT_ID, "is_bot": True, "first_name": "SeedQA", "username": BOT_USERNAME, "can_join_groups": True,
            "can_read_all_group_messages": can_read_all_group_messages, "supports_inline_queries": True}
        self.request_paths: list[str] = []
        # Called with every executed call, outside the lock: for load tests, where dozens of
        # threads re-scanning every call on each wake-up (wait_for) would measure the fake, not the bot.
        self.listeners: list[Callable[[Call], None]] = []
        self.faults: list[Fault] = []
        self._cond = threading.Condition()  # guards everything below; methods run while holding it
        self._calls: list[Call] = []
        self._updates: list[Params] = []
        self._update_ids, self._query_ids = itertools.count(1), itertools.count(1)
        self._msg_ids: dict[int, int] = {}
        self._messages: dict[tuple[int, int], Params] = {}  # users' and bot's, latest version
        self._sources: dict[tuple[int, int] | str, tuple[Any, ...]] = {}  # what "not modified" compares
        self._chats: dict[int, Params] = {}
        self._open_queries: set[str] = set()
        self._commands: dict[tuple[str, str], list[Params]] = {}
        self._allowed: list[str] | None = None
        self._webhook = ""
        self._fault_queue: dict[str, deque[tuple[str, float]]] = {}
        self._connections: set[socket.socket] = set()
        self._busy = 0  # requests being handled; stop() lets them finish before cutting connections
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        names = [n[3:] for n in dir(self) if n.startswith("_m_")]
        self._canonical = {n.lower(): n for n in names}  # Telegram ignores the case of method names

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self) -> FakeBotAPI:
        self._stopping.clear()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Answers in-flight requests, then cuts idle keep-alive connections so no thread outlives the test."""
        if self._server is None:
            return
        self._stopping.set()  # ends long polls and injected delays at once
        with self._cond:
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._busy == 0, 1.0)  # let in-flight requests be answered
        self._server.shutdown()
        for conn in list(self._connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()
        if self._thread:
            self._thread.join(5)
        self._server = None

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the server first: the port is chosen then"
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    @property
    def base_file_url(self) -> str:
        return self.base_url.replace("/bot", "/file/bot")

    # ---- inspection ------------------------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[Call]:
        """Every executed call, refused ones included (see ``Call.error``); faulted ones are in ``faults``."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | str | None = None) -> list[Params]:
        """Params of the sendMessage calls that succeeded, i.e. what users actually saw."""
        return [c.params for c in self.calls("sendMessage") if c.ok and chat_id in (None, c.params.get("chat_id"))]

    def bot_messages(self, chat_id: int | None = None) -> list[Params]:
        """The bot's messages as they stand now (edits applied, deletions gone), e.g. for press_button."""
        with self._cond:
            return [m for (c, _), m in self._messages.items() if m["from"]["id"] == BOT_ID and chat_id in (None, c)]

    def wait_for(self, method: str, predicate: Predicate = lambda params: True, count: int = 1,
                 timeout: float = 10) -> list[Call]:
        """Blocks until ``count`` successful matching calls exist, and returns all of them.

        It blocks the calling thread: inside the bot's event loop use ``await api.await_for(...)``.
        """
        def matches() -> list[Call]:
            return [c for c in self._calls if c.ok and c.method.lower() == method.lower() and predicate(c.params)]

        with self._cond:
            if self._cond.wait_for(lambda: len(matches()) >= count, timeout):
                return matches()
            seen = [f"  {c.method} {c.error or 'ok'} {_short(c.params)}" for c in self._calls if c.method != "getUpdates"]
            faults = [f"  {f.method} {f.kind} {_short(f.params)}" for f in self.faults]
            raise AssertionError(f"waited {timeout}s for {count} x {method}, got {len(matches())}.\n"
                                 f"Calls seen (getUpdates omitted):\n" + "\n".join(seen or ["  none"]) +
                                 "\nFaults:\n" + "\n".join(faults or ["  none"]))

    async def await_for(self, method: str, predicate: Predicate = lambda params: True, count: int = 1,
                        timeout: float = 10) -> list[Call]:
        """wait_for without stalling the event loop that the bot under test runs on."""
        return await asyncio.to_thread(self.wait_for, method, predicate, count, timeout)

    # ---- fault injection: each queues ``times`` faults, consumed in order by the next calls ----------
    def _add_fault(self, method: str, kind: str, arg: float, times: int) -> None:
        with self._cond:
            self._fault_queue.setdefault(method.lower(), deque()).extend([(kind, arg)] * times)

    def fail_next(self, method: str, status: int = 500, times: int = 1) -> None:
        self._add_fault(method, "fail", status, times)

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        self._add_fault(method, "rate_limit", retry_after, times)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Sleeps, then executes and records the call as usual even if the client gave up meanwhile:
        as on Telegram, a request whose answer was lost may still have taken effect."""
        self._add_fault(method, "delay", seconds, times)

    def drop_next(self, method: str, times: int = 1) -> None:
        """Closes the connection without any HTTP response; the call is not executed."""
        self._add_fault(method, "drop", 0, times)

    # ---- injecting updates (thread-safe, non-blocking: fine to call from the event loop) ----------
    def push_update(self, update: Params) -> Params:
        """Queues any update dict (assigning update_id if absent) and wakes long-polling clients."""
        with self._cond:
            update.setdefault("update_id", next(self._update_ids))
            for value in update.values():
                if isinstance(value, dict) and isinstance(value.get("chat"), dict):
                    self._chats[value["chat"]["id"]] = value["chat"]
            self._updates.append(update)
            self._cond.notify_all()
        return update

    def send_text(self, text: str, *, user_id: int = 1001, chat_id: int | None = None, chat_type: str = "private",
                  chat_title: str | None = None, first_name: str = "Lan", language_code: str | None = None,
                  reply_to_message: Params | None = None) -> Params:
        """A user's text message, with the bot_command and mention entities Telegram attaches."""
        entities: list[Params] = []
        command = _COMMAND.match(text)
        if command:
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command.group())})
        for m in _MENTION.finditer(text, command.end() if command else 0):
            entities.append({"type": "mention", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group())})
        return self._user_message({"text": text, **({"entities": entities} if entities else {})}, user_id=user_id,
                                  chat_id=chat_id, chat_type=chat_type, chat_title=chat_title, first_name=first_name,
                                  language_code=language_code, reply_to_message=reply_to_message)

    def send_sticker(self, *, emoji: str = "🙂", **who: Any) -> Params:
        """Non-text input; ``who`` takes send_text's keyword arguments (as do send_photo and send_voice)."""
        sticker = {"file_id": "CAACAgIAAxkBAAE", "file_unique_id": "AgADsticker", "width": 512, "height": 512,
                   "is_animated": False, "is_video": False, "type": "regular", "emoji": emoji}
        return self._user_message({"sticker": sticker}, **who)

    def send_photo(self, *, caption: str | None = None, **who: Any) -> Params:
        photo = [{"file_id": f"AgACAgIAAxkBAAE{w}", "file_unique_id": f"AQADphoto{w}", "width": w, "height": w}
                 for w in (90, 800)]
        return self._user_message({"photo": photo, **({"caption": caption} if caption else {})}, **who)

    def send_voice(self, *, duration: int = 3, **who: Any) -> Params:
        voice = {"file_id": "AwACAgIAAxkBAAE", "file_unique_id": "AgADvoice", "duration": duration, "mime_type": "audio/ogg"}
        return self._user_message({"voice": voice}, **who)

    def press_button(self, message: Params, data: str, *, user_id: int = 1001) -> Params:
        """A tap on an inline button of ``message``, delivered with its current (possibly edited) version."""
        with self._cond:
            key = (message["chat"]["id"], message["message_id"])
            return self.push_update({"callback_query": {
                "id": self._open_query(user_id), "from": _user(user_id), "message": self._messages.get(key, message),
                "chat_instance": str(abs(key[0]) * 7919), "data": data}})

    def inline_query(self, query: str, *, user_id: int = 1001, offset: str = "") -> Params:
        with self._cond:
            return self.push_update({"inline_query": {
                "id": self._open_query(user_id), "from": _user(user_id), "query": query, "offset": offset,
                "chat_type": "sender"}})

    def _open_query(self, user_id: int) -> str:
        """Query ids are remembered so that a second (or bogus) answer is refused, as by Telegram."""
        query_id = f"{user_id}{next(self._query_ids):08d}"
        self._open_queries.add(query_id)
        return query_id

    def _user_message(self, content: Params, *, user_id: int = 1001, chat_id: int | None = None,
                      chat_type: str = "private", chat_title: str | None = None, first_name: str = "Lan",
                      language_code: str | None = None, reply_to_message: Params | None = None) -> Params:
        if chat_type not in ("private", "group", "supergroup"):
            raise ValueError(f"unsupported chat_type {chat_type!r}")
        if chat_type == "private":
            chat = {"id": user_id if chat_id is None else chat_id, "type": "private", "first_name": first_name}
        else:
            chat = {"id": GROUP_CHAT_ID if chat_id is None else chat_id, "type": chat_type, "title": chat_title or "Test group"}
        with self._cond:
            message = {"message_id": self._next_message_id(chat["id"]), "date": int(time.time()), "chat": chat,
                       "from": _user(user_id, first_name, language_code), **content}
            if reply_to_message is not None:
                message["reply_to_message"] = _minimal(reply_to_message)
            self._messages[(chat["id"], message["message_id"])] = message
            return self.push_update({"message": message})

    # ---- HTTP plumbing ---------------------------------------------------------------------------
    def _handle_http(self, path: str, content_type: str, body: bytes) -> tuple[int, Params] | None:
        """Returns (status, JSON body), or None to drop the connection unanswered."""
        with self._cond:
            self.request_paths.append(path)
        url = urlsplit(path)
        route = re.fullmatch(r"/(file/)?bot([^/]+)/(.+)", url.path)
        if not route:
            return _error(404, "Not Found")
        if route.group(2) != self.token:
            return _error(401, "Unauthorized")
        try:
            params = {k: _decode(k, v) for k, v in parse_qsl(url.query, keep_blank_values=True)}
            params.update(_parse_body(content_type, body))
        except ValueError as e:
            return _error(400, f"Bad Request: {e}")
        method = self._canonical.get(route.group(3).lower())
        if route.group(1) or method is None:  # file downloads are not served
            if not route.group(1):
                self._record(Call(route.group(3), params, time.time(), error="Not Found"))
            return _error(404, "Not Found")

        with self._cond:
            queue = self._fault_queue.get(method.lower())
            kind, arg = queue.popleft() if queue else ("", 0.0)
            if kind:
                self.faults.append(Fault(method, kind, params, time.time()))
        if kind == "drop":
            return None
        if kind == "fail":
            return _error(int(arg), next((s.phrase for s in HTTPStatus if s == int(arg)), "Error"))
        if kind == "rate_limit":
            return _error(429, f"Too Many Requests: retry after {int(arg)}", {"retry_after": int(arg)})
        if kind == "delay":
            self._stopping.wait(arg)

        call = Call(method, params, time.time())
        try:
            with self._cond:  # getUpdates' Condition.wait releases it while long-polling
                call.result = getattr(self, "_m_" + method)(params)
        except ApiError as e:
            call.error = e.description
            return _error(e.status, e.description, e.parameters)
        except Exception as e:  # a bug here, or params no real client sends: make it visible, not a hang
            call.error = f"fake_bot_api crashed: {e!r}"
            return _error(500, call.error)
        finally:
            self._record(call)
        return 200, {"ok": True, "result": call.result}

    def _record(self, call: Call) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()
        for listener in list(self.listeners):
            listener(call)

    # ---- shared rules --------------------------------------------------------------------------
    def _next_message_id(self, chat_id: int) -> int:
        self._msg_ids[chat_id] = self._msg_ids.get(chat_id, 0) + 1
        return self._msg_ids[chat_id]

    def _chat(self, chat_id: Any) -> Params:
        """Chats seen in updates, else what a bare id suggests (private if positive)."""
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise _bad("chat_id is empty" if chat_id in (None, "") else "chat not found")
        return self._chats.setdefault(chat_id, {"id": chat_id, "type": "private", "first_name": "User"} if chat_id > 0
                                      else {"id": chat_id, "type": "supergroup", "title": f"Chat {chat_id}"})

    def _checked_text(self, params: Params) -> str:
        """Telegram's text and keyboard rules; returns the plain text Telegram would store."""
        text, mode = params.get("text"), str(params.get("parse_mode") or "").lower()
        if mode not in ("", "html", "markdown", "markdownv2"):
            raise _bad("unsupported parse_mode")
        plain = _parse_html(text) if mode == "html" and isinstance(text, str) else str(text or "")
        if not plain.strip():
            raise _bad("message text is empty")
        if utf16_len(plain) > 4096:
            raise _bad("message is too long")
        _check_markup(params.get("reply_markup"))
        return plain

    def _edit(self, params: Params, text: str | None) -> Any:
        """Shared by both edit methods: Telegram refuses an edit that changes nothing."""
        markup = params.get("reply_markup")
        key: tuple[int, int] | str = str(params.get("inline_message_id") or "")
        if not key:
            key = (self._chat(params.get("chat_id"))["id"], params.get("message_id"))
            if key not in self._messages or self._messages[key]["from"]["id"] != BOT_ID:
                raise _bad("message to edit not found")
        old = self._sources.get(key, (None, None, None))
        source = (params.get("text"), params.get("parse_mode"), markup) if text is not None else (*old[:2], markup)
        if source == old:
            raise _bad("message is not modified: specified new message content and reply markup are exactly the same "
                       "as a current content and reply markup of the message")
        self._sources[key] = source
        if isinstance(key, str):
            return True  # inline messages: Telegram answers just ``true``
        message = {k: v for k, v in self._messages[key].items() if k != "reply_markup"}
        message.update({"text": text} if text is not None else {}, edit_date=int(time.time()))
        self._messages[key] = message | ({"reply_markup": markup} if markup else {})
        return self._messages[key]

    def _answer(self, query_id: Any) -> None:
        if str(query_id) not in self._open_queries:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        self._open_queries.discard(str(query_id))

    # ---- Bot API methods (called with self._cond held) ---------------------------------------------
    def _m_getMe(self, params: Params) -> Any:
        return self.bot_user

    def _m_getUpdates(self, params: Params) -> Any:
        if self._webhook:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset, limit = int(params.get("offset") or 0), min(max(int(params.get("limit") or 100), 1), 100)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), MAX_POLL_SECONDS)
        if params.get("allowed_updates") is not None:  # remembered for later calls, as on Telegram
            self._allowed = list(params["allowed_updates"]) or None
        if offset:  # confirms (forgets) earlier updates; negative: keep only the last -offset
            self._updates = self._updates[offset:] if offset < 0 else [u for u in self._updates if u["update_id"] >= offset]
        while True:
            if self._allowed:
                self._updates = [u for u in self._updates if any(k in self._allowed for k in u if k != "update_id")]
            remaining = deadline - time.monotonic()
            if self._updates or remaining <= 0 or self._stopping.is_set():
                return self._updates[:limit]
            self._cond.wait(remaining)

    def _m_deleteWebhook(self, params: Params) -> Any:
        self._webhook = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_setWebhook(self, params: Params) -> Any:
        self._webhook = str(params.get("url") or "")
        return True

    def _m_getWebhookInfo(self, params: Params) -> Any:
        return {"url": self._webhook, "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    @staticmethod
    def _commands_key(params: Params) -> tuple[str, str]:
        return json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True), str(params.get("language_code") or "")

    def _m_setMyCommands(self, params: Params) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH" if isinstance(commands, list) else 'parameter "commands" is required')
        for c in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(c.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", "")).strip()) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._commands_key(params)] = commands
        return True

    def _m_getMyCommands(self, params: Params) -> Any:
        return self._commands.get(self._commands_key(params), [])

    def _m_deleteMyCommands(self, params: Params) -> Any:
        self._commands.pop(self._commands_key(params), None)
        return True

    def _m_sendMessage(self, params: Params) -> Any:
        chat = self._chat(params.get("chat_id"))
        message: Params = {"message_id": 0, "date": int(time.time()), "chat": chat, "text": self._checked_text(params),
                           "from": {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")}}
        reply = params.get("reply_parameters") or ({"message_id": params["reply_to_message_id"]}
                                                   if params.get("reply_to_message_id") else None)
        if reply:
            target = self._messages.get((self._chat(reply.get("chat_id", chat["id"]))["id"], reply.get("message_id")))
            if target:
                message["reply_to_message"] = _minimal(target)
            elif not (reply.get("allow_sending_without_reply") or params.get("allow_sending_without_reply")):
                raise _bad("message to be replied not found")
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes inline keyboards only
        message["message_id"] = self._next_message_id(chat["id"])
        key = (chat["id"], message["message_id"])
        self._messages[key] = message
        self._sources[key] = (params.get("text"), params.get("parse_mode"), message.get("reply_markup"))
        return message

    def _m_editMessageText(self, params: Params) -> Any:
        return self._edit(params, self._checked_text(params))

    def _m_editMessageReplyMarkup(self, params: Params) -> Any:
        _check_markup(params.get("reply_markup"))
        return self._edit(params, None)

    def _m_answerCallbackQuery(self, params: Params) -> Any:
        if len(str(params.get("text") or "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._answer(params.get("callback_query_id"))
        return True

    def _m_answerInlineQuery(self, params: Params) -> Any:
        results = params.get("results")
        if not isinstance(results, list) or len(results) > 50:
            raise _bad("RESULTS_TOO_MUCH" if isinstance(results, list) else 'parameter "results" is required')
        ids = [str(r.get("id", "")) for r in results]
        if len(set(ids)) != len(ids) or not all(1 <= len(i.encode()) <= 64 for i in ids):
            raise _bad("RESULT_ID_DUPLICATE" if len(set(ids)) != len(ids) else "RESULT_ID_INVALID")
        for r in results:
            content = r.get("input_message_content")
            if isinstance(content, dict) and "message_text" in content:
                self._checked_text({"text": content["message_text"], "parse_mode": content.get("parse_mode")})
            _check_markup(r.get("reply_markup"))
        self._answer(params.get("inline_query_id"))
        return True

    def _m_sendChatAction(self, params: Params) -> Any:
        self._chat(params.get("chat_id"))
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    def _m_deleteMessage(self, params: Params) -> Any:
        key = (self._chat(params.get("chat_id"))["id"], params.get("message_id"))
        if self._messages.pop(key, None) is None:
            raise _bad("message to delete not found")
        self._sources.pop(key, None)
        return True

    def _m_getChat(self, params: Params) -> Any:
        """PTB 22 parses a ChatFullInfo, which requires the last three fields."""
        gifts = dict.fromkeys(("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
                               "gifts_from_channels"), True)
        return {**self._chat(params.get("chat_id")), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": gifts}

    def _m_close(self, params: Params) -> Any:
        return True

    def _m_logOut(self, params: Params) -> Any:
        return True


def _user(user_id: int, first_name: str = "Lan", language_code: str | None = None) -> Params:
    return {"id": user_id, "is_bot": False, "first_name": first_name, **({"language_code": language_code} if language_code else {})}


def _check_markup(markup: Any) -> None:
    """Telegram refuses the whole message if any button's callback_data is not 1-64 bytes."""
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    for button in (b for row in rows for b in row):
        if "callback_data" in button and not 1 <= len(str(button["callback_data"]).encode()) <= 64:
            raise _bad("BUTTON_DATA_INVALID")


def _minimal(message: Params) -> Params:
    """Telegram nests a replied-to message one level deep only."""
    return {k: v for k, v in message.items() if k != "reply_to_message"}


def _decode(key: str, raw: str) -> Any:
    """PTB JSON-encodes every non-string value; string-typed fields must stay strings."""
    if key in _TEXT_FIELDS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _parse_body(content_type: str, body: bytes) -> Params:
    kind = content_type.split(";")[0].strip().lower()
    if not body:
        return {}
    if kind == "application/json":
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        return {k: _decode(k, v) if isinstance(v, str) and v[:1] in "{[" else v for k, v in data.items()}
    if kind == "multipart/form-data":
        return dict(_multipart(content_type, body))
    return {k: _decode(k, v) for k, v in parse_qsl(body.decode(), keep_blank_values=True)}


def _multipart(content_type: str, body: bytes) -> Iterator[tuple[str, Any]]:
    """The email package is the stdlib's only multipart parser left since cgi was removed."""
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name, filename = part.get_param("name", header="content-disposition"), part.get_filename()
        payload = part.get_payload(decode=True) or b""
        yield name, (_decode(name, payload.decode()) if filename is None
                     else UploadedFile(filename, payload, part.get_content_type()))


def _short(params: Params) -> str:
    text = json.dumps(params, ensure_ascii=False, default=repr)
    return text if len(text) <= 160 else text[:157] + "..."
