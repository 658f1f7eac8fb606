"""Button data: short, signed, and checked before anything acts on it.

Telegram gives a button 64 bytes of data and sends back whatever a client puts there, so data
is treated as user input: each payload carries an HMAC keyed by the bot's token, and a button
that was not made by this bot (forged, or edited by a modified client) fails the check. Data
that is genuine but refers to an answer this process no longer holds is stale, and the two get
different notices.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal

# Telegram's limit on callback_data, in bytes.
CALLBACK_DATA_LIMIT = 64
# 8 bytes of HMAC-SHA256: forging one button takes ~2^64 tries through Telegram's servers.
_SIGNATURE_BYTES = 8
_ANSWER_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")

Action = Literal["page", "article", "vote"]
_CODES: dict[Action, str] = {"page": "p", "article": "a", "vote": "v"}
_ACTIONS = {code: action for action, code in _CODES.items()}


class BadCallback(ValueError):
    """Data this bot did not make, or cannot read."""


@dataclass(frozen=True)
class Callback:
    action: Action
    answer_id: str  # which shown answer the button belongs to
    value: int  # page number, article number (as /sources counts), or vote (+1 / -1)


class CallbackCodec:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"seedqa callback data\0" + secret.encode()).digest()

    def encode(self, callback: Callback) -> str:
        if not _ANSWER_ID.match(callback.answer_id):
            raise ValueError(f"answer id {callback.answer_id!r} is not a short token")
        payload = f"{_CODES[callback.action]}:{callback.answer_id}:{callback.value}"
        data = f"{payload}:{self._sign(payload)}"
        assert len(data.encode()) <= CALLBACK_DATA_LIMIT, data
        return data

    def decode(self, data: str | None) -> Callback:
        if not data or len(data.encode()) > CALLBACK_DATA_LIMIT:
            raise BadCallback("missing or oversized button data")
        payload, _, signature = data.rpartition(":")
        if not hmac.compare_digest(signature.encode(), self._sign(payload).encode()):
            raise BadCallback("button data not signed by this bot")
        code, answer_id, value = payload.split(":")  # signed, so made by encode()
        return Callback(_ACTIONS[code], answer_id, int(value))

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
