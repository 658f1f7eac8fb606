"""Train the reader (embeddings/reader.py) from XQuAD and SQuAD 2.0 on two CPU cores.

    .venv/bin/python training/train_reader.py            # or scripts/train-reader

Data (CC BY-SA 4.0, ../shared/data): XQuAD's Vietnamese paragraphs with their questions in
Vietnamese, English and Vietnamese without diacritics; SQuAD 2.0 dev (English) with its
human-written unanswerable questions; near misses derived from both (the answer's sentences
cut out, a sibling paragraph of the same article). Articles are split by title
(training/qa_data.py): the test and calibration articles are never trained on, and the seed
eval set is never used at all.

Measured: 11,413 windows of up to 192 passage tokens, 1.5 epochs, adapters on layers 8-15 (the
default): 2 h 45 min on a 2-core AMD EPYC (26 min caching, 1 h 52 min training, 27 min
evaluating; 2026-12-07). With adapters on 10-15 it took 53 min on a 2-core Intel Xeon, which runs
the model about twice as fast (12 caching, 33 training, 8 evaluating; 2026-12-05).

Why it fits on a CPU: the model's lower layers are frozen, so each window is run through them
once and their output (the input of layer `adapt_from`) is cached; a training step then runs
only the adapted layers. On a GPU (`--device cuda`) the same script runs unchanged, faster.

A run keeps its progress in .seedqa/training/ (training/checkpoints.py): stopped by Ctrl-C,
SIGTERM or `--stop-after MINUTES`, or killed, the same command goes on from the last saved
point (at most 25 steps back) and ends with the weights an unstopped run ends with. Training in
slices of a session's time works the same way.

`--seeds 13,14` trains one reader per seed, each exactly as `--seed N` alone would, and writes
their average (training/soup.py): one reader, read as fast as one, that leaves less to the draw
of a single seed; the run takes one run's time per seed.

Writes embeddings/trained/embeddinggemma-300m-reader.safetensors and its sha256, and prints
held-out figures (answer EM/F1, has-answer accuracy) per question form.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
for key, value in (("TOKENIZERS_PARALLELISM", "false"), ("TRANSFORMERS_VERBOSITY", "error"), ("HF_HUB_DISABLE_PROGRESS_BARS", "1"), ("HF_HUB_OFFLINE", "1")):
    os.environ.setdefault(key, value)

import torch  # noqa: E402
from torch import nn  # noqa: E402

from embeddings import reader as reader_module  # noqa: E402
from embeddings.provision import resolve_model  # noqa: E402
from embeddings.reader import READER_FILE, READER_SHA256_FILE, Reader, ReaderConfig, encode_pairs, reading, run_layers  # noqa: E402
from embeddings.reading import best_spans, span_characters  # noqa: E402
from embeddings.settings import DEFAULT_MODEL, default_cache_dir  # noqa: E402
from embeddings.tokens import TokenCounter, load_token_counter  # noqa: E402
from retrieval.windows import WINDOW_TOKENS  # noqa: E402

sys.path.insert(0, str(ROOT / "training"))
from checkpoints import CHECKPOINT_STEPS, STOPPED_EXIT, Checkpoint, Deadline, StopSignal, Stopped, run_identity, windows_digest  # noqa: E402
from mining import retrieved  # noqa: E402
from qa_data import USER_FORMS, Example, Question, examples, more_squad_questions, squad2_questions, swapped, xquad_questions  # noqa: E402
from soup import soup  # noqa: E402
from retrieval.evaluation import answer_f1 as f1, exact_match  # noqa: E402

# Batches of 16 windows (~2,500 tokens): a step takes ~1.5 s on two cores in bf16 and the
# gradient is steady enough for a constant-then-decaying learning rate.
BATCH = 16
# LoRA's usual range is 1e-4..1e-3; 5e-4 converged within the first epoch in the pilot without
# the loss jumping, the head (new, from zero) learns at twice that.
LEARNING_RATE = 5e-4
WARMUP_STEPS = 30
# Windows run through the frozen lower layers at once, and kept in one checkpoint file: 32
# windows of ~250 tokens are ~4 s on two cores and ~10 MB.
STATE_CHUNK = 32
# Where a run keeps its progress (training/checkpoints.py), under the project's local state.
CHECKPOINTS = ROOT / ".seedqa" / "training"
# Options that change how a run is carried out, not what it writes: left out of the command the
# artifact records, so a run stopped and resumed records the command that reproduces it.
RUN_ONLY_OPTIONS = {"--stop-after": 1, "--checkpoints": 1, "--fresh": 0, "--threads": 1}


class Skip(nn.Module):
    """Stands in for a frozen layer whose output is already cached."""

    def forward(self, hidden_states: torch.Tensor, *args: object, **kwargs: object) -> torch.Tensor:
        return hidden_states


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def targets(batch_offsets: list[tuple[int, int]], first: int, answer: tuple[int, int] | None) -> tuple[int, int] | None:
    """Token positions of the answer's first and last token; (0, 0) for "no answer"; None if cut off."""
    if answer is None:
        return 0, 0
    start, end = answer
    tokens = [i for i, (s, e) in enumerate(batch_offsets) if e > start and s < end]
    if not tokens:
        return None
    return first + tokens[0], first + tokens[-1]


def prepare(tokenizer: object, config: ReaderConfig, items: list[Example]) -> list[dict]:
    rows = []
    for lo in range(0, len(items), 256):
        part = items[lo : lo + 256]
        batch = encode_pairs(tokenizer, config, [e.question for e in part], [e.passage for e in part])
        for i, example in enumerate(part):
            first, last = batch.passage_range[i]
            target = targets(batch.offsets[i], first, example.answer)
            if target is None:
                continue
            length = int(batch.attention_mask[i].sum())
            rows.append({"ids": torch.from_numpy(batch.input_ids[i, :length].copy()), "range": (first, last), "target": target, "example": example})
    return rows


def cache_states(model: nn.Module, config: ReaderConfig, rows: list[dict], device: str, bf16: bool, checkpoint: Checkpoint | None = None, stop: StopSignal | None = None) -> None:
    """Run every window once through the frozen lower layers; keep the input of layer adapt_from.

    Chunks already in the checkpoint are read back instead of run again.
    """
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]["ids"]))
    started, reused = time.time(), 0
    for n, lo in enumerate(range(0, len(order), STATE_CHUNK)):
        idx = order[lo : lo + STATE_CHUNK]
        saved = checkpoint.load_states(n) if checkpoint is not None else None
        if saved is not None and sorted(saved) == sorted(idx):
            for i in idx:
                rows[i]["hidden"] = saved[i]
            reused += len(idx)
            continue
        length = max(len(rows[i]["ids"]) for i in idx)
        ids = torch.zeros((len(idx), length), dtype=torch.long)
        mask = torch.zeros((len(idx), length), dtype=torch.long)
        for j, i in enumerate(idx):
            ids[j, : len(rows[i]["ids"])] = rows[i]["ids"]
            mask[j, : len(rows[i]["ids"])] = 1
        with torch.inference_mode(), torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
            hidden = run_layers(model, config.adapt_from, input_ids=ids.to(device), attention_mask=mask.to(device))
        for j, i in enumerate(idx):
            rows[i]["hidden"] = hidden[j, : len(rows[i]["ids"])].to("cpu", torch.bfloat16).clone()
        if checkpoint is not None:
            checkpoint.save_states(n, {i: rows[i]["hidden"] for i in idx})
        done = min(lo + STATE_CHUNK, len(order))
        if n % 20 == 0 or done == len(order):
            log(f"cached {done}/{len(order)} windows ({time.time() - started:.0f} s)")
        if stop is not None and stop.due():
            raise Stopped(f"after caching {done} of {len(order)} windows")
    if reused and checkpoint is not None:
        log(f"read back {reused} of {len(order)} windows' cached states from {checkpoint.folder}")


def train(model: nn.Module, reader: Reader, rows: list[dict], epochs: float, device: str, bf16: bool, seed: int, checkpoint: Checkpoint | None = None, stop: StopSignal | None = None) -> float:
    """Train the adapters and the head; returns the seconds spent, over every run that got it here.

    With a checkpoint, a run that stopped goes on from its last saved step: the adapters, the
    head, the optimiser and the schedule come back as they were, and the epoch's batch order is
    drawn again from the random state saved at the epoch's start, so the rest of the run sees the
    batches an unstopped run would have.
    """
    config = reader.config
    frozen = model.layers
    model.layers = nn.ModuleList([Skip() for _ in range(config.adapt_from)] + list(frozen[config.adapt_from :]))
    params = [{"params": list(reader.adapters.parameters()), "lr": LEARNING_RATE}, {"params": list(reader.head.parameters()), "lr": 2 * LEARNING_RATE}]
    optimizer = torch.optim.AdamW(params, weight_decay=0.01)
    rng = random.Random(seed)
    steps_per_epoch = math.ceil(len(rows) / BATCH)
    total = max(1, int(steps_per_epoch * epochs))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / WARMUP_STEPS) * max(0.0, 1 - s / total))
    step, skip, before, running = 0, 0, 0.0, []
    saved = checkpoint.load_training() if checkpoint is not None else None
    if checkpoint is not None and saved is not None:
        reader.adapters.load_state_dict(saved["adapters"])
        reader.head.load_state_dict(saved["head"])
        optimizer.load_state_dict(saved["optimizer"])
        schedule.load_state_dict(saved["schedule"])
        rng.setstate(saved["epoch_rng"])
        step, skip, before, running = saved["step"], saved["done_in_epoch"], saved["seconds"], saved["running"]
        log(f"going on from step {step}/{total} (saved in {checkpoint.folder})")
    started = time.time()
    try:
        while step < total:
            # Similar lengths in a batch (little padding), batches in random order.
            epoch_rng = rng.getstate()
            order = sorted(range(len(rows)), key=lambda i: len(rows[i]["ids"]) + rng.random() * 24)
            batches = [order[i : i + BATCH] for i in range(0, len(order), BATCH)]
            rng.shuffle(batches)
            for k, idx in enumerate(batches):
                if step >= total:
                    break
                if k < skip:  # done before the run stopped
                    continue
                length = max(len(rows[i]["ids"]) for i in idx)
                hidden = torch.zeros((len(idx), length, model.config.hidden_size), dtype=torch.bfloat16)
                mask = torch.zeros((len(idx), length), dtype=torch.long)
                allowed = torch.zeros((len(idx), length), dtype=torch.bool)
                starts, ends = [], []
                for j, i in enumerate(idx):
                    n = len(rows[i]["ids"])
                    hidden[j, :n] = rows[i]["hidden"]
                    mask[j, :n] = 1
                    first, last = rows[i]["range"]
                    allowed[j, 0] = True
                    allowed[j, first:last] = True
                    starts.append(rows[i]["target"][0])
                    ends.append(rows[i]["target"][1])
                with reading(), torch.autocast(device.split(":")[0], dtype=torch.bfloat16, enabled=bf16):
                    out = run_layers(model, config.exit_layer, inputs_embeds=hidden.to(device).float(), attention_mask=mask.to(device))
                    start, end = reader.head(model.norm, out)
                start = start.float().masked_fill(~allowed.to(device), -1e4)
                end = end.float().masked_fill(~allowed.to(device), -1e4)
                loss = (nn.functional.cross_entropy(start, torch.tensor(starts, device=device)) + nn.functional.cross_entropy(end, torch.tensor(ends, device=device))) / 2
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_([p for g in params for p in g["params"]], 1.0)
                optimizer.step()
                schedule.step()
                step += 1
                running = [*running[-24:], loss.item()]
                if step % 25 == 0 or step == total:
                    log(f"step {step}/{total} loss {sum(running) / len(running):.3f} ({before + time.time() - started:.0f} s)")
                due = stop is not None and stop.due()
                if checkpoint is not None and (step % CHECKPOINT_STEPS == 0 or step == total or due):
                    checkpoint.save_training(
                        {
                            "step": step,
                            "finished": step == total,
                            "epoch_rng": epoch_rng,
                            "done_in_epoch": k + 1,
                            "adapters": reader.adapters.state_dict(),
                            "head": reader.head.state_dict(),
                            "optimizer": optimizer.state_dict(),
                            "schedule": schedule.state_dict(),
                            "running": running,
                            "seconds": before + time.time() - started,
                        }
                    )
                if due:
                    raise Stopped(f"at step {step} of {total}")
            skip = 0
    finally:
        model.layers = frozen
    return before + time.time() - started


def evaluate(reader: Reader, items: list[Example], name: str) -> dict[str, float]:
    """EM/F1 on windows with the answer (best span, ignoring "no answer"), has-answer accuracy at margin 0."""
    margins: list[tuple[float, bool]] = []
    ems, f1s = [], []
    for lo in range(0, len(items), 16):
        part = items[lo : lo + 16]
        batch = encode_pairs(reader.tokenizer, reader.config, [e.question for e in part], [e.passage for e in part])
        start, end = reader.logits(batch)
        for i, (example, (a, b, margin)) in enumerate(zip(part, best_spans(start, end, batch.passage_range, reader.config.max_answer_tokens))):
            first = batch.passage_range[i][0]
            margins.append((margin, example.answer is not None))
            if example.answer is not None:
                text = example.passage[slice(*span_characters(example.passage, batch.offsets[i], a - first, b - first))]
                ems.append(exact_match(text, example.answer_texts))
                f1s.append(f1(text, example.answer_texts))
    positives = [m for m, has in margins if has]
    negatives = [m for m, has in margins if not has]
    figures = {
        "windows": len(items),
        "em": sum(ems) / max(1, len(ems)),
        "f1": sum(f1s) / max(1, len(f1s)),
        "answerable_kept": sum(m > 0 for m in positives) / max(1, len(positives)),
        "near_miss_refused": sum(m <= 0 for m in negatives) / max(1, len(negatives)),
        "has_answer_accuracy": (sum(m > 0 for m in positives) + sum(m <= 0 for m in negatives)) / max(1, len(margins)),
    }
    log(f"{name}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()))
    return figures


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=float, default=1.5)
    parser.add_argument("--limit", type=int, default=0, help="use only this many training windows (a quick trial)")
    parser.add_argument("--eval-limit", type=int, default=0, help="use only this many held-out windows per group")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda when a GPU is lent; nothing needs one")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: all cores)")
    parser.add_argument("--seed", type=int, default=13, help="train one reader from this seed")
    parser.add_argument("--seeds", type=seed_list, default=None, metavar="N,N,...", help="train one reader per seed, each exactly as --seed N would, and ship their average (training/soup.py); the time is one run's per seed. Measured 2026-12-08 with seeds 13,14,15: held-out XQuAD F1 0.690/0.696/0.502 (vi/en/vi-noaccent) against the shipped 0.669/0.687/0.477, but seed eval set hit@1 0.929 against 0.977: not adopted (BENCHMARKS.md, 'Reader: an average of readers trained from several seeds'); default one seed, as the shipped reader was trained")
    parser.add_argument("--average", type=Path, nargs="+", default=None, metavar="FILE", help="average readers this script wrote before (e.g. --seed 13 and --seed 14, trained on two machines) instead of training; the held-out figures are measured for the average")
    parser.add_argument("--mined", type=float, default=0.0, help="share of XQuAD training questions also given the windows the searcher finds (training/mining.py, measured there: not adopted); default 0, as the shipped reader was trained")
    parser.add_argument("--swapped", type=float, default=0.0, help="share of answerable training questions also given as a near miss with a name or number swapped (qa_data.swapped). Tried 2026-12-05 at 0.5 with --exit-layer 20 --adapt-from 12: held-out XQuAD F1 0.660/0.647/0.445 (vi/en/vi-noaccent) and has-answer accuracy 0.826/0.816/0.697 against the shipped 0.693/0.670/0.470 and 0.842/0.839/0.709: not adopted; again 2026-12-07 at 0.25 with --swap-roles, as shipped otherwise: seed set 10 of 16 unanswerable refused against 14, English margin moved to -15.6 (BENCHMARKS.md, 'Reader: trained with swapped names, numbers and offices'): not adopted; default 0, as the shipped reader was trained")
    parser.add_argument("--swap-roles", action="store_true", help="also give every answerable training question asking for an office its passage names (a governor, a mayor) as a near miss asking for another office or its deputy (qa_data.ROLES; 93 questions). Tried 2026-12-07 with --swapped 0.25: not adopted (BENCHMARKS.md); off, as the shipped reader was trained")
    parser.add_argument("--question-languages", type=lambda text: tuple(code.strip() for code in text.split(",") if code.strip()), default=(), help="XQuAD's questions in these other languages too (comma-separated codes, e.g. de,es,ru,zh; training/data/xquad-questions.json), asked over the same Vietnamese training paragraphs. Tried 2026-12-07 with de,es,ru,zh: held-out XQuAD F1 0.683/0.639/0.453 (vi/en/vi-noaccent) and has-answer accuracy 0.876/0.858/0.732 against the shipped 0.669/0.687/0.477 and 0.872/0.846/0.745: not adopted (BENCHMARKS.md); default none, as the shipped reader was trained")
    parser.add_argument("--more-squad", type=Path, default=None, metavar="PATH", help="a SQuAD-format file of other English articles (none of XQuAD's or SQuAD 2.0 dev's) to train on too, e.g. SQuAD 2.0 train articles. Tried 2026-12-07 with its first ten articles at --more-squad-share 0.33: held-out XQuAD F1 0.660/0.654/0.459 (vi/en/vi-noaccent) against the shipped 0.669/0.687/0.477, seed set 9 of 16 unanswerable refused against 14: not adopted (BENCHMARKS.md, 'Reader: trained on more English SQuAD 2.0 articles'); default none, as the shipped reader was trained")
    parser.add_argument("--more-squad-share", type=float, default=1.0, help="share of --more-squad's answerable questions taken (all its unanswerable ones are); training time grows with it")
    parser.add_argument("--window-tokens", type=int, default=WINDOW_TOKENS, help=f"passage tokens per training and held-out window; default retrieval.windows.WINDOW_TOKENS ({WINDOW_TOKENS}), the windows the searcher reads, as the shipped reader was trained (128 before 2026-12-05: BENCHMARKS.md, reader)")
    parser.add_argument("--exit-layer", type=int, default=ReaderConfig.exit_layer)
    parser.add_argument("--adapt-from", type=int, default=ReaderConfig.adapt_from)
    parser.add_argument("--rank", type=int, default=ReaderConfig.rank, help="LoRA rank of every adapter; the file grows with it (16: 2.8 MB)")
    parser.add_argument("--alpha", type=float, default=None, help="LoRA alpha; default 2 x rank, the scale (alpha / rank) the shipped reader has")
    parser.add_argument("--out", type=Path, default=READER_FILE)
    parser.add_argument("--sha256-file", type=Path, default=READER_SHA256_FILE)
    parser.add_argument("--stop-after", type=float, default=None, metavar="MINUTES", help="stop at the first safe point after this many minutes, keeping the progress; the same command goes on from there (Ctrl-C and SIGTERM stop the same way)")
    parser.add_argument("--checkpoints", type=Path, default=CHECKPOINTS, help=f"where a run keeps its progress (default {CHECKPOINTS.relative_to(ROOT)}; ~3 GB for a full run, removed when it finishes)")
    parser.add_argument("--fresh", action="store_true", help="start over, discarding this run's saved progress")
    return parser


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()
    if args.average and (missing := [str(path) for path in args.average if not path.is_file()]):
        parser.error(f"--average: no such file: {', '.join(missing)}; give the reader files to average.")
    if args.average and args.seeds:
        parser.error("--average reads readers trained before; --seeds trains new ones: give one of them.")
    if args.average and len(args.average) < 2:
        parser.error("--average needs two or more reader files.")
    if args.more_squad and not args.more_squad.is_file():
        parser.error(f"--more-squad {args.more_squad}: no such file; give the path of a SQuAD-format JSON file.")
    try:  # before the model loads: a language XQuAD lacks or a held-out article in --more-squad is one line, at once
        questions = {} if args.average else {seed: training_questions(args, seed) for seed in args.seeds or (args.seed,)}
    except ValueError as bad:
        parser.error(str(bad))
    deadline = Deadline(args.stop_after)
    deadline.listen()
    try:
        run(args, questions, deadline)
    except Stopped as stopped:
        log(f"stopped {deadline.reason()}, {stopped}; the progress is saved: run the same command to go on from there")
        sys.exit(STOPPED_EXIT)
    except KeyboardInterrupt:
        log(f"stopped at once; the progress up to the last checkpoint (every {CHECKPOINT_STEPS} steps) is saved: run the same command to go on from there")
        sys.exit(130)


def seed_list(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of whole numbers, e.g. 13,14") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"{text!r}: give one or more different seeds, e.g. 13,14")
    return seeds


def recorded_command(argv: list[str]) -> str:
    """The command as the artifact records it: without the options that only say how the run was carried out."""
    kept, skip = [], 0
    for word in argv:
        if skip:
            skip -= 1
            continue
        name = word.split("=", 1)[0]
        if name in RUN_ONLY_OPTIONS:
            skip = RUN_ONLY_OPTIONS[name] if "=" not in word else 0
            continue
        kept.append(word)
    return " ".join(["training/train_reader.py", *kept])


def training_questions(args: argparse.Namespace, seed: int) -> list[Question]:
    """XQuAD's and SQuAD 2.0's training questions, and whatever the options add to them (drawn with the seed)."""
    questions = xquad_questions("train", (*USER_FORMS, *args.question_languages)) + squad2_questions("train")
    if args.more_squad:
        more = more_squad_questions(args.more_squad, args.more_squad_share, random.Random(seed))
        log(f"{len(more)} questions from {args.more_squad} ({sum(not q.answers for q in more)} unanswerable)")
        questions += more
    if args.swapped or args.swap_roles:
        questions += swapped(questions, random.Random(seed), args.swapped, roles=args.swap_roles)
    return questions


@dataclass
class Member:
    """One seed's trained reader: attached to its model while it is the run's only one, else its weights alone."""

    seed: int | None  # None: read from a file (--average)
    identity: str
    checkpoint: Checkpoint | None
    windows: int
    train_seconds: float
    tensors: dict[str, torch.Tensor]
    reader: Reader | None = None
    meta: dict[str, Any] | None = None  # what a file read by --average says of its training


def trained_member(path: Path, fingerprint: str) -> tuple[Member, ReaderConfig]:
    """A reader trained earlier (--average), e.g. one seed per machine: checked to be a single reader of this base model."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        meta = json.loads((handle.metadata() or {}).get("seedqa_reader", "{}"))
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}
    if meta.get("base_fingerprint") != fingerprint:
        raise SystemExit(f"{path} is not a reader trained for the embedding model now loaded: give readers written by this script for {DEFAULT_MODEL}.")
    if "soup" in meta:
        raise SystemExit(f"{path} is already an average of readers: give the readers it was made of instead.")
    member = Member(None, reader_module.file_sha256(path), None, meta.get("windows", 0), meta.get("train_seconds", 0.0), tensors, meta=meta)
    return member, ReaderConfig(**meta["config"])


def load_base(source: str, device: str, seed: int) -> tuple[nn.Module, Any]:
    """The frozen base model; the seed is set first, as it always was, so a seed's adapters start as they did."""
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(seed)
    st = SentenceTransformer(source, device=device)
    model, tokenizer = st[0].auto_model, st.tokenizer
    for p in model.parameters():
        p.requires_grad_(False)
    return model, tokenizer


def train_member(args: argparse.Namespace, seed: int, questions: list[Question], source: str, fingerprint: str, config: ReaderConfig, count: TokenCounter, bf16: bool, stop: StopSignal, *, in_soup: bool) -> Member:
    """Train one reader from one seed, exactly as a run with only that seed does.

    In a soup, a finished member keeps only its weights in its progress folder (the cached states,
    ~3 GB, go), and a run going on finds them there instead of training the member again.
    """
    rng = random.Random(seed)
    items = examples(questions, count, rng, budget=args.window_tokens)
    if args.mined:
        mined = retrieved(xquad_questions("train"), random.Random(seed), share=args.mined)
        log(f"{len(mined)} windows found by the searcher ({sum(e.answer is None for e in mined)} near misses)")
        items += mined
    rng.shuffle(items)
    if args.limit:
        items = items[: args.limit]
    identity = run_identity(
        base=fingerprint, config=asdict(config), epochs=args.epochs, seed=seed, eval_limit=args.eval_limit, window_tokens=args.window_tokens,
        device=args.device.split(":")[0], bf16=bf16, batch=BATCH, learning_rate=LEARNING_RATE, warmup=WARMUP_STEPS, windows=windows_digest(items),
    )
    checkpoint = Checkpoint.open(args.checkpoints, identity, fresh=args.fresh)
    if in_soup and (done := checkpoint.load_weights()) is not None:
        tensors, seconds = done
        log(f"seed {seed}: trained before the run stopped ({checkpoint.folder})")
        return Member(seed, identity, checkpoint, len(items), seconds, tensors)
    model, tokenizer = load_base(source, args.device, seed)
    reader = Reader.attach(model, tokenizer, config)
    reader.adapters.to(args.device)
    reader.head.to(args.device)
    reader.bf16 = bf16
    log(f"seed {seed}: {len(questions)} training questions -> {len(items)} windows; bf16 {bf16}; progress kept in {checkpoint.folder}" + (" (going on from there)" if checkpoint.started() else ""))
    rows = prepare(tokenizer, config, items)
    saved = checkpoint.load_training()
    if saved is None or not saved["finished"]:  # a finished run needs no states to evaluate
        cache_states(model, config, rows, args.device, bf16, checkpoint, stop)
    train_seconds = train(model, reader, rows, args.epochs, args.device, bf16, seed, checkpoint, stop)
    del rows
    if not in_soup:
        return Member(seed, identity, checkpoint, len(items), train_seconds, {}, reader)
    reader.adapters.to("cpu")
    reader.head.to("cpu")
    tensors = reader.state_tensors()
    checkpoint.keep_only_weights(tensors, train_seconds)
    reader.adapters.detach()  # the model goes with it; the next seed loads its own
    return Member(seed, identity, checkpoint, len(items), train_seconds, tensors)


def run(args: argparse.Namespace, questions: dict[int, list[Question]], stop: StopSignal) -> None:
    """Train the reader from each seed's training questions (or average --average's files), measure it on the held-out articles, write it."""
    if args.threads:
        torch.set_num_threads(args.threads)
    seeds = args.seeds or (args.seed,)
    source, fingerprint = resolve_model(DEFAULT_MODEL, default_cache_dir(), progress=True)
    config = ReaderConfig(exit_layer=args.exit_layer, adapt_from=args.adapt_from, rank=args.rank, alpha=args.alpha if args.alpha is not None else 2.0 * args.rank)
    bf16 = args.device.startswith("cuda") or reader_module.bf16_is_fast()
    count = load_token_counter(source)
    if args.average:
        log(f"{len(args.average)} readers trained before, averaged into one (training/soup.py)")
        loaded = [trained_member(path, fingerprint) for path in args.average]
        members, configs = [m for m, _ in loaded], [c for _, c in loaded]
    else:
        if len(seeds) > 1:
            log(f"{len(seeds)} readers, from seeds {', '.join(map(str, seeds))}, averaged into one (training/soup.py)")
        members = [train_member(args, seed, questions[seed], source, fingerprint, config, count, bf16, stop, in_soup=len(seeds) > 1) for seed in seeds]
        configs = [config] * len(members)
    # Readers read from files were trained on their own windows and data: their record says which.
    trained = members[0].meta or {}
    window_tokens = trained.get("window_tokens", args.window_tokens)
    if members[0].reader is not None:
        reader, checkpoint = members[0].reader, members[0].checkpoint
        assert checkpoint is not None
    else:
        try:
            soup_config, tensors = soup(list(zip(configs, (m.tensors for m in members))))
        except ValueError as different:
            raise SystemExit(str(different)) from None
        model, tokenizer = load_base(source, args.device, seeds[0])
        reader = Reader.attach(model, tokenizer, soup_config, tensors)
        reader.bf16 = bf16
        checkpoint = Checkpoint.open(args.checkpoints, run_identity(soup=[m.identity for m in members], eval_limit=args.eval_limit, window_tokens=window_tokens), fresh=args.fresh)

    held_out = checkpoint.load_held_out()
    groups = {
        "xquad-test vi": lambda: xquad_questions("test", ("vi",)),
        "xquad-test en": lambda: xquad_questions("test", ("en",)),
        "xquad-test vi-noaccent": lambda: xquad_questions("test", ("vi-noaccent",)),
        "squad2-test": lambda: squad2_questions("test"),
        "xquad-test swapped": lambda: swapped(xquad_questions("test"), random.Random(1), 1.0),
    }
    for name, questions in groups.items():
        if name in held_out:
            log(f"{name}: measured before the run stopped")
            continue
        windows = examples(questions(), count, random.Random(1), budget=window_tokens)
        if args.eval_limit:
            windows = windows[: args.eval_limit]
        held_out[name] = evaluate(reader, windows, name)
        checkpoint.save_held_out(held_out)
        if stop.due() and len(held_out) < len(groups):
            raise Stopped(f"after measuring {len(held_out)} of {len(groups)} held-out groups")
    held_out = {name: held_out[name] for name in groups}

    reader.adapters.to("cpu")
    reader.head.to("cpu")
    meta = {
        "base_model": DEFAULT_MODEL,
        "base_fingerprint": fingerprint,
        "trained_on": trained.get("trained_on", f"XQuAD (vi passages; {', '.join((*USER_FORMS, *args.question_languages))} questions) and SQuAD 2.0 dev, train articles of training/qa_data.py; CC BY-SA 4.0"),
        "command": recorded_command(sys.argv[1:]),
        "windows": members[0].windows,
        "window_tokens": window_tokens,
        "epochs": trained.get("epochs", args.epochs),
        "train_seconds": round(sum(m.train_seconds for m in members)),
        "held_out": held_out,
    }
    if len(members) > 1:
        meta["soup"] = [{"seed": m.seed, "windows": m.windows, "train_seconds": round(m.train_seconds)} if m.seed is not None else {"sha256": m.identity, "command": m.meta.get("command", "") if m.meta else ""} for m in members]
    digest = reader_module.save(reader, args.out, meta, args.sha256_file)
    log(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, sha256 {digest[:16]}...)")
    checkpoint.remove()
    for member in members:
        if member.checkpoint is not None:
            member.checkpoint.remove()
    print(json.dumps(held_out, indent=2))


if __name__ == "__main__":
    main()
