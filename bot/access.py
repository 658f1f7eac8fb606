"""Who may use the bot, and how often.

Both checks run before any search: a refused or throttled update costs a dictionary lookup,
never a forward pass of the model.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from typing import Callable, Iterable

# Users remembered by the rate limiter; the oldest are forgotten first, so memory stays bounded
# however many people write to the bot.
MAX_TRACKED_USERS = 100_000


class Allowlist:
    """Empty means everyone; otherwise a listed user, or anyone in a listed chat."""

    def __init__(self, user_ids: Iterable[int], chat_ids: Iterable[int]) -> None:
        self._users = frozenset(user_ids)
        self._chats = frozenset(chat_ids)
        self._refused: set[int] = set()

    @property
    def open(self) -> bool:
        return not self._users and not self._chats

    def allows(self, user_id: int | None, chat_id: int | None) -> bool:
        return self.open or (user_id is not None and user_id in self._users) or (chat_id is not None and chat_id in self._chats)

    def first_refusal(self, user_id: int | None) -> bool:
        """True once per user, so a stranger is told politely once and then ignored, not answered forever."""
        key = user_id if user_id is not None else 0
        if key in self._refused:
            return False
        self._refused.add(key)
        return True


class RateLimiter:
    """At most `limit` questions per user in any `window` seconds (a sliding window)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._window = window
        self._clock = clock
        self._asked: OrderedDict[int, deque[float]] = OrderedDict()

    def wait_seconds(self, user_id: int) -> int:
        """0 when the user may ask now (and the question is counted); otherwise whole seconds to wait."""
        now = self._clock()
        times = self._asked.pop(user_id, None) or deque()
        while times and times[0] <= now - self._window:
            times.popleft()
        self._asked[user_id] = times
        if len(self._asked) > MAX_TRACKED_USERS:
            self._asked.popitem(last=False)
        if len(times) >= self._limit:
            return max(1, math.ceil(times[0] + self._window - now))
        times.append(now)
        return 0
