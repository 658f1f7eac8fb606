"""The running bot follows the index: a new generation is loaded beside the old one and switched to.

`seedqa index` (or `seedqa add`) writes a complete new generation and then replaces the
index's CURRENT pointer atomically (retrieval.store). The bot looks at that pointer every few
seconds; when it names another generation, the new index is loaded on a worker thread while
the old one keeps answering, and then the bot switches in one assignment (SeedQABot.swap):
questions already being answered finish on the old index, new ones use the new, and the old
one is freed when the last of them is done. A generation that cannot be used (damaged, built
with another model) is logged and the bot keeps the index it has.

With `bot.refresh_minutes`, the bot also runs `seedqa add` over `articles.feeds` in a
separate process on that schedule; the generation it writes is picked up the same way. A
separate process keeps the model memory and CPU of a build out of the bot's own loop, and a
crash in it costs one refresh, not the bot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval import store

if TYPE_CHECKING:
    from .handlers import SeedQABot

log = logging.getLogger(__name__)

# Reading one small file every 2 s costs nothing, and an article added is answerable within
# seconds of its index landing (issue 13's target is a minute).
WATCH_SECONDS = 2.0
# A feed refresh that has not finished in this long is stuck on something; it is stopped so the
# next one can run.
REFRESH_TIMEOUT_SECONDS = 30 * 60


class IndexRefresher:
    def __init__(
        self,
        seedqa: "SeedQABot",
        index_dir: Path,
        *,
        watch_seconds: float | None = None,
        refresh_minutes: float | None = None,
        refresh_command: Sequence[str] | None = None,
    ) -> None:
        self.seedqa = seedqa
        self.index_dir = index_dir
        self.watch_seconds = WATCH_SECONDS if watch_seconds is None else watch_seconds
        self.refresh_minutes = refresh_minutes if refresh_command else None
        self.refresh_command = list(refresh_command or [])
        self.loaded = self._generation()  # the generation the bot started with
        self.swaps = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._checking = asyncio.Lock()  # the watch and a finished refresh may both look at once

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._watch(), name="seedqa-index-watch"))
        if self.refresh_minutes:
            self._tasks.append(asyncio.create_task(self._refresh_forever(), name="seedqa-feed-refresh"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def check(self) -> bool:
        """Switch to the current generation if it is new and usable; True when the bot switched."""
        async with self._checking:
            return await self._check()

    async def _check(self) -> bool:
        name = self._generation()
        if name is None or name == self.loaded:
            return False
        old = self.seedqa.searcher
        try:
            stored = await asyncio.to_thread(store.load, self.index_dir)
            if stored.manifest.model_fingerprint != old.index.manifest.model_fingerprint or stored.manifest.dimension != old.index.manifest.dimension:
                raise store.IndexMismatch("it was built with another model than the one the bot has loaded: restart the bot to use it")
            searcher = await asyncio.to_thread(old.with_index, stored)
        except store.IndexProblem as exc:
            log.warning("Kept the index in use; the new one at %s cannot be used: %s", self.index_dir, exc)
            self.loaded = name  # said once per generation, not every few seconds
            return False
        self.seedqa.swap(searcher)
        self.loaded = stored.folder.name
        self.swaps += 1
        log.info("Switched to the new index: %d articles, %d passages.", len(stored.articles), len(stored.chunks))
        return True

    async def refresh(self) -> int:
        """Run the refresh command once (`seedqa add` over the feeds); its exit status."""
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(*self.refresh_command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            output, _ = await asyncio.wait_for(process.communicate(), REFRESH_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            await _kill(process)
            log.warning("The feed refresh took over %d minutes and was stopped; the next one runs on schedule.", REFRESH_TIMEOUT_SECONDS // 60)
            return -1
        except asyncio.CancelledError:  # the bot is stopping: the refresh goes with it (the next start redoes it)
            await _kill(process)
            raise
        lines = output.decode("utf-8", "replace").strip().splitlines()
        level = logging.INFO if process.returncode == 0 else logging.WARNING
        log.log(level, "Feed refresh (%.0f s, exit %s): %s", time.monotonic() - started, process.returncode, lines[-1] if lines else "no output")
        await self.check()
        return process.returncode or 0

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.watch_seconds)
            try:
                await self.check()
            except Exception:  # a bug here must not stop the watching, nor the bot
                log.exception("Checking for a new index failed")

    async def _refresh_forever(self) -> None:
        assert self.refresh_minutes
        while True:
            await asyncio.sleep(self.refresh_minutes * 60)
            try:
                await self.refresh()
            except Exception:
                log.exception("The feed refresh failed to start")

    def _generation(self) -> str | None:
        folder = store.current_generation(self.index_dir)
        return folder.name if folder else None


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
        await process.wait()
