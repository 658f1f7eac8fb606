"""Requests to Telegram that survive a flaky network: flood limits waited out, failures retried.

AIORateLimiter already keeps under Telegram's flood limits and waits out a 429's `retry_after`.
On top of it, a request that failed in transit (HTTP 5xx, a dropped connection, a connect
timeout) is retried with exponential backoff, so a user's answer is not lost to one bad
second; those failures nearly always happen before Telegram acts on the request. A request that
may well have been acted on before its response was lost (a read timeout) is retried only where
repeating it is harmless: sending a message twice would show the answer twice.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Coroutine

import httpx
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

# Four attempts over about 3.5 s (0.5 + 1 + 2): long enough to ride out a restarting proxy or a
# brief 5xx burst, short enough that the user still gets the answer while waiting for it.
NETWORK_RETRIES = 3
FIRST_BACKOFF_SECONDS = 0.5
# Methods whose repetition changes nothing the user sees: safe to retry even when the first
# attempt may have arrived. (A repeated edit is refused as "not modified", which callers ignore.)
IDEMPOTENT = frozenset(
    {"getMe", "sendChatAction", "editMessageText", "editMessageReplyMarkup", "setMyCommands", "deleteWebhook", "setWebhook", "getWebhookInfo"}
)
# Polling has its own retry loop in python-telegram-bot's Updater.
NOT_RETRIED_HERE = frozenset({"getUpdates"})

Result = bool | dict[str, Any] | list[dict[str, Any]]


class RetryingRateLimiter(AIORateLimiter):
    def __init__(self, *, max_retries_after_429: int, backoff: float = FIRST_BACKOFF_SECONDS, retries: int = NETWORK_RETRIES) -> None:
        super().__init__(max_retries=max_retries_after_429)
        self._backoff = backoff
        self._retries = retries

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        delay = self._backoff
        for attempt in range(self._retries + 1):
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except BadRequest:
                raise  # Telegram read the request and refused it: the same request fails again
            except NetworkError as exc:
                if attempt == self._retries or endpoint in NOT_RETRIED_HERE or not _safe_to_repeat(exc, endpoint):
                    raise
                log.warning("%s failed (%s); retry %d of %d in %.1f s", endpoint, exc, attempt + 1, self._retries, delay)
            await asyncio.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")


def _safe_to_repeat(exc: NetworkError, endpoint: str) -> bool:
    if endpoint in IDEMPOTENT or not isinstance(exc, TimedOut):
        return True  # a 5xx or a dropped connection: taken as not acted on
    # A timeout before the request was on the wire (connecting, waiting for a pooled connection).
    return isinstance(exc.__cause__, (httpx.ConnectTimeout, httpx.PoolTimeout))
