"""Load on the bot: many users asking at once, through the real bot and a fake Bot API over HTTP.

Each simulated user writes a question, waits for the reply, then writes the next (a closed
loop, as people do). Latency is from the moment the update is queued on the fake server until
the bot's sendMessage for that chat arrives there: long polling, the search, formatting and the
HTTP round trips all count. Every user must get exactly one reply per question. Three phases,
each with a fresh bot: the eval set's questions (most asked by several users, so mostly cache
hits), then every question new, with the bot's batching of waiting questions and without it.

The per-user rate limit is lifted for the run (each user asks far faster than the default
10 a minute allows); Telegram's own flood limits (AIORateLimiter) stay on.

With --swaps N, one more phase (its own section of BENCHMARKS.md): every question new while N
index rebuilds land, each adding an article, on a copy of the index the bot follows as
`seedqa bot` does (bot/refresh.py); every question must still be answered exactly once.

Run from the repository root:  .venv/bin/python bench/bot_load.py [--users 50] [--questions 20] [--fake] [--swaps 3] [--write]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
for key, value in (("TOKENIZERS_PARALLELISM", "false"), ("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1")):
    os.environ.setdefault(key, value)

from bot import handlers  # noqa: E402
from bot_harness import running_bot  # noqa: E402
from fake_bot_api import Call  # noqa: E402
from report import percentiles, write_section, provenance  # noqa: E402
from retrieval.search import Searcher  # noqa: E402

QUESTIONS = ROOT / "tests" / "eval" / "questions.jsonl"
FIRST_USER = 100_000


# The articles the swap phase adds, one per rebuild.
NEW_ARTICLES = [
    ("Kiên Giang ký kết với tập đoàn Zentaro tại Osaka", "Tỉnh Kiên Giang đã ký biên bản hợp tác với tập đoàn Zentaro tại Osaka về nuôi trồng hải sản."),
    ("Cà Mau mời gọi nhà đầu tư Seoul", "Đoàn công tác Cà Mau gặp Hiệp hội Doanh nghiệp Seoul để giới thiệu dự án điện gió Khánh Bình."),
    ("Đồng Tháp đưa sen sang Nagoya", "Sở Công Thương Đồng Tháp khai trương điểm bán sen Tháp Mười đầu tiên tại Nagoya."),
    ("Bến Tre giới thiệu dừa tại Busan", "Hội chợ Busan có gian hàng dừa Bến Tre của 12 doanh nghiệp."),
]


def rebuilder(fake: bool) -> Callable[[Path, Path], None]:
    """How the swap phase rebuilds its copy of the index: as `seedqa index` would, in this process."""
    if fake:
        from fakes import FakeEncoder, build

        def rebuild_fake(articles: Path, index: Path) -> None:
            build(articles, index, FakeEncoder())

        return rebuild_fake
    from retrieval.engine import rebuild
    from seedqa.config import load_settings

    settings = load_settings()

    def rebuild_real(articles: Path, index: Path) -> None:
        rebuild(settings.articles.model_copy(update={"folder": articles}), settings.index.model_copy(update={"folder": index}), settings.embeddings)

    return rebuild_real


def open_searcher(fake: bool) -> tuple[Searcher, str]:
    if fake:
        from fakes import SEEDS, FakeEncoder, build
        from retrieval import store
        from retrieval.settings import SearchSettings

        folder = Path(tempfile.mkdtemp()) / "index"
        build(SEEDS, folder, FakeEncoder())
        return Searcher(store.load(folder), FakeEncoder(), SearchSettings()), "fake hashed bag-of-words embedder (plumbing only)"
    from retrieval.engine import open_engine, rebuild
    from seedqa.config import load_settings

    settings = load_settings()
    rebuild(settings.articles, settings.index, settings.embeddings)  # a no-op when the index is current
    searcher = open_engine(settings.articles, settings.index, settings.search, settings.embeddings).searcher
    return searcher, f"{settings.embeddings.model} on CPU"


@dataclass
class Load:
    """One phase's outcome."""

    name: str
    total: int
    exact_users: int
    replies: int
    failures: list[str]
    latencies: list[float]
    elapsed: float

    def row(self, users: int) -> str:
        p50, p95 = percentiles(self.latencies)
        return (
            f"| {self.name} | {self.total} | {self.exact_users}/{users} users, {self.replies} replies | {p50:.0f} ms | {p95:.0f} ms "
            f"| {max(self.latencies):.0f} ms | {len(self.latencies) / self.elapsed:.1f} q/s |"
        )


def run_load(
    searcher: Searcher,
    name: str,
    ask: Callable[[int, int], str],
    users: int,
    per_user: int,
    *,
    index_dir: Path | None = None,
    during: Callable[[Callable[[], int]], None] | None = None,
) -> Load:
    """`users` closed-loop users at once, user n's i-th question being ask(n, i); a fresh bot for the phase.

    With index_dir the bot follows that index; during (if given) runs beside the users, told how
    many replies have arrived so far (the swap phase spaces its rebuilds by it)."""
    latencies: list[float] = []
    lock = threading.Lock()
    failures: list[str] = []
    replied = {FIRST_USER + n: threading.Semaphore(0) for n in range(users)}
    reply_times: dict[int, list[float]] = {user_id: [] for user_id in replied}

    def on_call(call: Call) -> None:
        if call.method == "sendMessage" and call.ok and call.params.get("chat_id") in replied:
            reply_times[call.params["chat_id"]].append(call.time)
            replied[call.params["chat_id"]].release()

    with running_bot(searcher, Path(tempfile.mkdtemp()), index_dir=index_dir, rate_limit_questions=1000) as bot:
        bot.api.listeners.append(on_call)

        def user(n: int) -> None:
            user_id = FIRST_USER + n
            for i in range(per_user):
                sent = time.time()
                bot.api.send_text(ask(n, i), user_id=user_id)
                if not replied[user_id].acquire(timeout=300):
                    with lock:
                        failures.append(f"user {user_id} question {i}: no reply")
                    return
                with lock:
                    latencies.append((reply_times[user_id][i] - sent) * 1000)

        started = time.perf_counter()
        threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
        if during is not None:
            threads.append(threading.Thread(target=during, args=(lambda: len(latencies),)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        time.sleep(0.5)  # a late duplicate would have arrived by now
        replies = {FIRST_USER + n: len(bot.api.sent_messages(FIRST_USER + n)) for n in range(users)}
        swaps = bot.seedqa.refresher.swaps if bot.seedqa.refresher else 0
    if index_dir is not None:
        name = f"{name}: {swaps} swaps"
    exact = sum(count == per_user for count in replies.values())
    load = Load(name, users * per_user, exact, sum(replies.values()), failures, latencies, elapsed)
    print(load.row(users))
    for failure in failures[:10]:
        print("  " + failure)
    return load


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--questions", type=int, default=20, help="questions per user")
    parser.add_argument("--fake", action="store_true", help="use the fake embedder: measures the bot's plumbing without the model")
    parser.add_argument("--swaps", type=int, default=0, help="run only the swap phase: every question new while this many rebuilds land")
    parser.add_argument("--write", action="store_true", help="replace the bot-load section (or with --swaps, the bot-swap section) of BENCHMARKS.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.WARNING)

    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    searcher, model = open_searcher(args.fake)
    searcher.search(questions[0])  # warm up
    n = len(questions)

    def repeated(user: int, i: int) -> str:
        return questions[(user * args.questions + i) % n]

    def new(phase: str) -> Callable[[int, int], str]:
        # A question no one asked before, in this phase or another (so its vector is not cached),
        # still a real question.
        return lambda user, i: f"{repeated(user, i)} ({phase}{user}.{i})"

    print(f"users {args.users} x questions {args.questions}; model: {model}")
    if args.swaps:
        return swap_phase(args, searcher, model, new("s"))
    print("| phase | questions | answered exactly once | reply p50 | reply p95 | max | throughput |")
    phases = [run_load(searcher, "eval questions, repeated across users (cache hits after the first asking)", repeated, args.users, args.questions)]
    batch = handlers.MAX_BATCH
    for phase, name, max_batch in (
        ("b", "every question new, waiting questions encoded in batches (the bot)", batch),
        ("o", "every question new, one at a time (batches off)", 1),
    ):
        handlers.MAX_BATCH = max_batch
        try:
            phases.append(run_load(searcher, name, new(phase), args.users, args.questions))
        finally:
            handlers.MAX_BATCH = batch
    ok = all(p.exact_users == args.users and not p.failures for p in phases)

    if args.write:
        lines = [
            "## Bot under load (fake Bot API over HTTP)",
            "",
            f"{args.users} simulated users, each asking {args.questions} questions one after another "
            "(the next when the previous reply arrived), all at once, through the real bot (long polling, search on its "
            "worker thread, HTML replies) against the fake Bot API server on 127.0.0.1, in three phases with a fresh bot each. "
            f"The questions are the eval set's {n}, so most are asked by several users and found in the query-vector cache; "
            "then every question made new (the eval question plus a number), so each needs the model, with the bot's "
            f"batching (up to {batch} waiting questions encoded together) and without it. Latency: update queued to reply received.",
            "",
            "| phase | questions | answered exactly once | reply p50 | reply p95 | max | throughput |",
            "|---|---:|---|---:|---:|---:|---:|",
            *[p.row(args.users) for p in phases],
            "",
            "The bot searches on one thread (the model already uses both cores for one question), so under this load the "
            "latency is mostly queueing: about users × time per question. Batching cuts the model's time per question "
            "when questions wait, which is exactly when it matters. With the reader on (the default) each question also has three "
            "windows read, about 0.4 s on two cores (BENCHMARKS.md, reader): that time dominates, and batching saves little of it. "
            "Before the reader (stop 9, 50 users x 20 questions): 11.0 q/s batched, 7.6 q/s one at a time.",
            "",
            *provenance(machine_extra=f"model: {model}; per-user rate limit lifted for the run"),
        ]
        print(f"Wrote {write_section('bot-load', lines)}")
    return 0 if ok else 1


def swap_phase(args: argparse.Namespace, searcher: Searcher, model: str, ask: Callable[[int, int], str]) -> int:
    """Every question new while `args.swaps` rebuilds land, on a copy of the articles and index."""
    from retrieval import store

    work = Path(tempfile.mkdtemp())
    index = work / "index"
    # The index folder: CURRENT, generations, and the vector cache, so a rebuild embeds only what is new.
    shutil.copytree(Path(searcher.index.folder).parent.parent, index)
    articles = work / "articles"
    shutil.copytree(_articles_folder(args.fake), articles)
    followed = searcher.with_index(store.load(index))
    rebuild = rebuilder(args.fake)
    total = args.users * args.questions
    rebuild_seconds: list[float] = []

    def rebuilds(answered: Callable[[], int]) -> None:
        for n in range(args.swaps):  # spread over the run: after 1/(N+1), 2/(N+1), ... of the replies
            while answered() < total * (n + 1) // (args.swaps + 1):
                time.sleep(0.05)
            title, body = NEW_ARTICLES[n % len(NEW_ARTICLES)]
            (articles / f"zz-added-{n}.md").write_text(f"---\ntitle: {title}\n---\n\n{body}\n", encoding="utf-8")
            started = time.perf_counter()
            rebuild(articles, index)
            rebuild_seconds.append(time.perf_counter() - started)

    print("| phase | questions | answered exactly once | reply p50 | reply p95 | max | throughput |")
    load = run_load(followed, "every question new, while rebuilds land", ask, args.users, args.questions, index_dir=index, during=rebuilds)
    ok = load.exact_users == args.users and not load.failures and f": {args.swaps} swaps" in load.name
    if args.write:
        lines = [
            "## The bot while the index is rebuilt (fake Bot API over HTTP)",
            "",
            f"{args.users} simulated users, each asking {args.questions} new questions one after another, through the real bot "
            f"following its index (bot/refresh.py, as `seedqa bot` runs it), while {args.swaps} rebuilds land, each adding one "
            f"article ({', '.join(f'{s:.1f} s' for s in rebuild_seconds)}, in the same process as the bot, so they compete with it for the two cores). "
            "A rebuild starts after each quarter of the replies. \"Swaps\": new index generations the bot switched to while answering.",
            "",
            "| phase | questions | answered exactly once | reply p50 | reply p95 | max | throughput |",
            "|---|---:|---|---:|---:|---:|---:|",
            load.row(args.users),
            "",
            *provenance(machine_extra=f"model: {model}; per-user rate limit lifted for the run"),
        ]
        print(f"Wrote {write_section('bot-swap', lines)}")
    return 0 if ok else 1


def _articles_folder(fake: bool) -> Path:
    if fake:
        from fakes import SEEDS

        return SEEDS
    from seedqa.config import load_settings

    return load_settings().articles.folder


if __name__ == "__main__":
    sys.exit(main())
