"""Load on the bot: many users asking at once, through the real bot and a fake Bot API over HTTP.

Each simulated user writes a question, waits for the reply, then writes the next (a closed
loop, as people do). Latency is from the moment the update is queued on the fake server until
the bot's sendMessage for that chat arrives there: long polling, the search, formatting and the
HTTP round trips all count. Every user must get exactly one reply per question.

The per-user rate limit is lifted for the run (each user asks far faster than the default
10 a minute allows); Telegram's own flood limits (AIORateLimiter) stay on.

Run from the repository root:  .venv/bin/python bench/bot_load.py [--users 50] [--questions 20] [--fake] [--write]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
for key, value in (("TOKENIZERS_PARALLELISM", "false"), ("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1")):
    os.environ.setdefault(key, value)

from bot_harness import running_bot  # noqa: E402
from fake_bot_api import Call  # noqa: E402
from report import percentiles, write_section, provenance  # noqa: E402
from retrieval.search import Searcher  # noqa: E402

QUESTIONS = ROOT / "tests" / "eval" / "questions.jsonl"
FIRST_USER = 100_000


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--questions", type=int, default=20, help="questions per user")
    parser.add_argument("--fake", action="store_true", help="use the fake embedder: measures the bot's plumbing without the model")
    parser.add_argument("--write", action="store_true", help="replace the bot-load section of BENCHMARKS.md")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.WARNING)

    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    searcher, model = open_searcher(args.fake)
    searcher.search(questions[0])  # warm up
    latencies: list[float] = []
    lock = threading.Lock()
    failures: list[str] = []

    replied = {FIRST_USER + n: threading.Semaphore(0) for n in range(args.users)}
    reply_times: dict[int, list[float]] = {user_id: [] for user_id in replied}

    def on_call(call: Call) -> None:
        if call.method == "sendMessage" and call.ok and call.params.get("chat_id") in replied:
            reply_times[call.params["chat_id"]].append(call.time)
            replied[call.params["chat_id"]].release()

    with running_bot(searcher, Path(tempfile.mkdtemp()), rate_limit_questions=1000) as bot:
        bot.api.listeners.append(on_call)

        def user(n: int) -> None:
            user_id = FIRST_USER + n
            for i in range(args.questions):
                question = questions[(n * args.questions + i) % len(questions)]
                sent = time.time()
                bot.api.send_text(question, user_id=user_id)
                if not replied[user_id].acquire(timeout=300):
                    with lock:
                        failures.append(f"user {user_id} question {i}: no reply")
                    return
                with lock:
                    latencies.append((reply_times[user_id][i] - sent) * 1000)

        started = time.perf_counter()
        threads = [threading.Thread(target=user, args=(n,)) for n in range(args.users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        time.sleep(0.5)  # a late duplicate would have arrived by now
        replies = {FIRST_USER + n: len(bot.api.sent_messages(FIRST_USER + n)) for n in range(args.users)}

    expected = args.questions
    exact = sum(count == expected for count in replies.values())
    p50, p95 = percentiles(latencies)
    total = args.users * args.questions
    print(f"users {args.users} x questions {args.questions} = {total}; model: {model}")
    print(f"answered exactly once: {exact}/{args.users} users; replies {sum(replies.values())}/{total}; failures {len(failures)}")
    print(f"reply latency p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(latencies):.0f} ms; throughput {len(latencies) / elapsed:.1f} questions/s over {elapsed:.1f} s")
    for failure in failures[:10]:
        print("  " + failure)

    if args.write:
        lines = [
            "## Bot under load (fake Bot API over HTTP)",
            "",
            f"{args.users} simulated users, each asking {args.questions} questions from the eval set one after another "
            "(the next when the previous reply arrived), all at once, through the real bot (long polling, search on its "
            "worker thread, HTML replies) against the fake Bot API server on 127.0.0.1. Latency: update queued to reply received.",
            "",
            "| questions | answered exactly once | reply p50 | reply p95 | max | throughput |",
            "|---|---|---|---|---|---|",
            f"| {total} | {exact}/{args.users} users, {sum(replies.values())} replies | {p50:.0f} ms | {p95:.0f} ms | {max(latencies):.0f} ms | {len(latencies) / elapsed:.1f} q/s |",
            "",
            "With one search thread the bot answers one question at a time (the model already uses both cores for one), so "
            "under this load the latency is mostly queueing: about users × search time. Alone, a reply takes 0.1-0.2 s.",
            "",
            *provenance(machine_extra=f"model: {model}; per-user rate limit lifted for the run"),
        ]
        print(f"Wrote {write_section('bot-load', lines)}")
    return 0 if exact == args.users and not failures else 1


if __name__ == "__main__":
    sys.exit(main())
