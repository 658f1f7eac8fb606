"""`seedqa`: build the index, ask questions, evaluate, inspect settings, fetch the model.

Every error a user can cause (no index, wrong model, bad config, bad question, no network)
ends as one line on stderr that says what to do, and a non-zero exit; tracebacks are for bugs.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Iterator, Sequence

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bot.errors import BotStartError
from embeddings.provision import ModelUnavailable, embeddinggemma, ensure_model, verify_model_folder
from embeddings.settings import DEFAULT_MODEL
from retrieval.build import NoArticles
from retrieval.build import Progress as BuildProgress
from retrieval.engine import open_engine, rebuild
from retrieval.evaluation import BadEvalFile, Report, evaluate, read_questions
from retrieval.search import Answer, BadQuestion
from retrieval.store import IndexMissing, IndexProblem

from .config import ConfigError, Settings, load_settings, masked

EXIT_USER_ERROR = 1
EXIT_INTERRUPTED = 130

out = Console(highlight=False, soft_wrap=False)
# soft_wrap: an error is one sentence on one line, whatever the terminal width (pipes get 80).
err = Console(stderr=True, highlight=False, soft_wrap=True)


class _RichBuildProgress(BuildProgress):
    def __init__(self, total: int, label: str) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err, transient=True
        )
        self._progress.start()
        self._task = self._progress.add_task(label, total=total)

    def advance(self, n: int) -> None:
        self._progress.advance(self._task, n)

    def close(self) -> None:
        self._progress.stop()


def main(argv: Sequence[str] | None = None) -> int:
    _quiet_libraries()
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="seedqa: %(levelname)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # request URLs may carry a bot token
    if not args.verbose:
        logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets its own logger to DEBUG on import
    try:
        settings = load_settings(args.config)
        return int(args.handler(args, settings) or 0)
    except (ConfigError, IndexProblem, ModelUnavailable, NoArticles, BadQuestion, BadEvalFile, BotStartError) as exc:
        err.print(f"seedqa: {escape(str(exc))}")
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        err.print("seedqa: interrupted; nothing was changed that cannot be redone by running the command again.")
        return EXIT_INTERRUPTED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seedqa", description="Cited answers from news articles.")
    parser.add_argument("--config", type=Path, default=None, help="config file (default: $SEEDQA_CONFIG or ./config.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", help="build or refresh the index from the articles folder")
    p.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    p.add_argument("--ray", metavar="ADDRESS", help="embed on a Ray cluster: local, auto, or an address such as ray://head:10001 (needs the cluster extra)")
    p.set_defaults(handler=cmd_index)

    p = sub.add_parser("add", help="add news pages, saved pages or feeds to the articles folder, then refresh the index")
    p.add_argument("sources", nargs="*", metavar="URL|FILE|FEED", help="page or feed addresses, or saved .html/.txt/.md/feed files (default: articles.feeds)")
    p.add_argument("--no-index", action="store_true", help="only write the articles; run `seedqa index` later")
    p.set_defaults(handler=cmd_add)

    p = sub.add_parser("ask", help="answer a question (or one per line from stdin) with cited passages")
    p.add_argument("question", nargs="*", help="the question; omit it to read one question per line from stdin")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("-k", type=int, default=None, help="number of passages (default: search.top_k)")
    p.set_defaults(handler=cmd_ask)

    p = sub.add_parser("eval", help="measure hit@1/3/5, MRR and abstention on a question file")
    p.add_argument("file", type=Path, help="JSONL with id, lang, question, answer_contains")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser("bot", help="answer questions in Telegram (needs SEEDQA_BOT__TOKEN)")
    p.set_defaults(handler=cmd_bot)

    p = sub.add_parser("config", help="print the effective settings (secrets masked)")
    p.set_defaults(handler=cmd_config)

    p = sub.add_parser("model", help="fetch or verify the default embedding model")
    p.add_argument("action", choices=["fetch", "verify"])
    p.set_defaults(handler=cmd_model)
    return parser


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    started = time.perf_counter()
    report = rebuild(settings.articles, settings.index, settings.embeddings, progress=_RichBuildProgress, force=args.force, ray_address=args.ray)
    elapsed = time.perf_counter() - started
    if report.up_to_date:
        out.print(f"Index is up to date: {report.articles} articles, {report.chunks} passages ({elapsed:.1f} s). Use --force to rebuild anyway.")
    else:
        out.print(
            f"Indexed {report.articles} articles into {report.chunks} passages and {report.sentences} sentences "
            f"at {settings.index.folder} ({report.embedded} passages embedded, {report.reused} reused, {elapsed:.1f} s)."
        )
    return 0


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from retrieval.adding import add  # trafilatura, feedparser: only for this command
    from retrieval.fetching import Fetcher

    sources = args.sources or settings.articles.feeds
    if not sources:
        raise BadQuestion("Nothing to add: give page or feed addresses (seedqa add https://…), or list feeds in articles.feeds.")
    styles = {"added": "green", "skipped": "dim", "failed": "yellow"}
    with Fetcher(timeout=settings.articles.fetch_timeout_seconds, max_bytes=settings.articles.max_page_bytes) as fetcher:
        outcomes = add(sources, settings.articles.folder, fetcher, report=lambda o: out.print(f"[{styles[o.status]}]{o.status}[/]: {escape(o.message)}", soft_wrap=True))
    added = sum(o.status == "added" for o in outcomes)
    failed = sum(o.status == "failed" for o in outcomes)
    out.print(f"{added} added, {sum(o.status == 'skipped' for o in outcomes)} skipped, {failed} failed, in {settings.articles.folder}.")
    if added and not args.no_index:
        cmd_index(argparse.Namespace(force=False, ray=None), settings)
    # Partly failed is still a failure to a script (cron, the bot's refresh), though what could be added was.
    return EXIT_USER_ERROR if failed and not added else 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    if args.k is not None and not 1 <= args.k <= 50:
        raise BadQuestion("-k must be between 1 and 50.")
    question = " ".join(args.question).strip()
    if args.question and not question:
        raise BadQuestion("The question is empty: type a question, for example: seedqa ask \"who met the Jeju governor?\"")
    engine = open_engine(settings.articles, settings.index, settings.search, settings.embeddings)
    for warning in engine.warnings:
        err.print(f"seedqa: warning: {escape(warning)}")
    if args.question:
        answer = engine.searcher.search(question, k=args.k)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
        else:
            # A near miss (the topic is there, the fact is not) still shows what comes closest.
            closest = engine.searcher.search(question, k=args.k, abstain=False) if answer.topic_present else None
            _print_answer(answer, closest)
        return 0
    for line in _stdin_lines():
        try:
            record: dict[str, Any] = engine.searcher.search(line, k=args.k).to_json()
        except BadQuestion as exc:
            record = {"question": line, "abstained": True, "answer": None, "results": [], "error": str(exc)}
        print(json.dumps(record, ensure_ascii=False), flush=True)
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    questions = read_questions(args.file)
    if not questions:
        raise BadEvalFile(f"{args.file} holds no questions.")
    engine = open_engine(settings.articles, settings.index, settings.search, settings.embeddings)
    report = evaluate(engine.searcher, questions)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report)
    return 0


def cmd_bot(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import check_settings, run_bot  # telegram is imported only by the command that needs it

    check_settings(settings.bot)  # a missing token is reported before seconds of model loading
    refresh_command = None
    if settings.bot.refresh_minutes:
        if not settings.articles.feeds:
            raise BotStartError("bot.refresh_minutes re-reads articles.feeds, which is empty: list the feeds to follow, or unset bot.refresh_minutes.")
        # The same command a user would run, in its own process; it writes a new index generation the bot then picks up.
        refresh_command = [sys.executable, "-m", "seedqa", *(["--config", str(args.config)] if args.config else []), "add"]
    if not args.verbose:
        logging.getLogger("bot").setLevel(logging.INFO)
    try:
        engine = open_engine(settings.articles, settings.index, settings.search, settings.embeddings)
    except IndexMissing:  # a first start needs only the token: build the index it would ask for
        err.print(f"seedqa: no index at {settings.index.folder} yet; building it from {settings.articles.folder} first.")
        cmd_index(argparse.Namespace(force=False, ray=None), settings)
        engine = open_engine(settings.articles, settings.index, settings.search, settings.embeddings)
    for warning in engine.warnings:
        err.print(f"seedqa: warning: {escape(warning)}")
    run_bot(settings.bot, engine.searcher, index_dir=settings.index.folder, refresh_command=refresh_command)
    return 0


def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    for section, values in masked(settings).items():
        out.print(f"[bold]\\[{section}][/bold]")
        for key, value in values.items():
            out.print(f"{key} = {escape(json.dumps(value, ensure_ascii=False))}")
        out.print()
    return 0


def cmd_model(args: argparse.Namespace, settings: Settings) -> int:
    if settings.embeddings.model != DEFAULT_MODEL:
        out.print(f"embeddings.model is {settings.embeddings.model!r}; only the default {DEFAULT_MODEL} is fetched by seedqa.")
        return 0
    spec = embeddinggemma()
    folder = ensure_model(spec, settings.embeddings.cache_dir, progress=True)
    if args.action == "verify" and not verify_model_folder(spec, folder, use_stamp=False):
        raise ModelUnavailable(f"{folder} does not match the published hashes: run `seedqa model fetch` to replace it.")
    out.print(f"{DEFAULT_MODEL} is ready at {folder} (every file matches its sha256).")
    return 0


def _stdin_lines() -> Iterator[str]:
    for raw in sys.stdin:
        line = raw.strip()
        if line:
            yield line


def _print_answer(answer: Answer, closest: Answer | None = None) -> None:
    out.print(f"[bold]Q:[/bold] {escape(answer.question)}")
    if answer.abstained and closest is not None and closest.results:
        out.print("[yellow]The articles talk about this, but they do not say it.[/yellow] The closest passages:")
        answer = closest
    elif answer.abstained:
        out.print("[yellow]The articles do not answer this.[/yellow] Try other words, or ask about what the articles cover.")
        return
    elif answer.answer is not None:
        cite = f" [{answer.answer.result}]" if answer.answer.result else ""
        out.print(f"[bold green]Answer:[/bold green] [bold]{escape(answer.answer.text)}[/bold]{cite}", soft_wrap=True)
    for r in answer.results:
        out.print()
        before = escape(r.text[: r.highlight_start])
        best = escape(r.text[r.highlight_start : r.highlight_end])
        after = escape(r.text[r.highlight_end :])
        out.print(f"[bold cyan]{r.rank}.[/bold cyan] {before}[bold]{best}[/bold]{after}", soft_wrap=True)
        date = f" · {escape(r.article.date)}" if r.article.date else ""
        source = escape(r.article.url or r.article.source_file)
        out.print(f"   [dim]— {escape(r.article.title)}{date} · {source}, paragraph {r.paragraph} · score {r.score:.2f}[/dim]", soft_wrap=True)


def _print_report(report: Report) -> None:
    rows = [("all", report.overall)] + sorted(report.by_lang.items())
    out.print(f"{'group':<14}{'n':>4}{'hit@1':>8}{'hit@3':>8}{'hit@5':>8}{'MRR':>8}{'EM':>7}{'F1':>7}{'unans.':>8}{'abst.ok':>9}{'abst.bad':>9}")
    for name, g in rows:
        d = g.as_dict()
        ok = "-" if d["unanswerable_abstained"] is None else f"{d['unanswerable_abstained']:.2f}"
        bad = "-" if d["answerable_abstained"] is None else f"{d['answerable_abstained']:.2f}"
        out.print(
            f"{name:<14}{d['questions']:>4}{d['hit@1']:>8.3f}{d['hit@3']:>8.3f}{d['hit@5']:>8.3f}{d['mrr']:>8.3f}"
            f"{_figure(d['answer_em']):>7}{_figure(d['answer_f1']):>7}{d['unanswerable']:>8}{ok:>9}{bad:>9}"
        )
    out.print(
        "\nhit@k: answer in the first k passages (abstention off). EM/F1: the stated answer against the expected one (- without a reader). "
        "abst.ok: unanswerable questions abstained; abst.bad: answerable ones abstained."
    )
    if report.misses:
        out.print(f"\n{len(report.misses)} questions not answered at rank 1:")
        for miss in report.misses:
            out.print(f"  {miss['id']:<10} {escape(miss['problem'])}: {escape(miss['question'])}", soft_wrap=True)


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _quiet_libraries() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="transformers")


if __name__ == "__main__":
    sys.exit(main())
