"""A reader training run stopped part-way goes on where it stopped and ends where an unstopped run ends."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from embeddings.provision import resolve_model
from embeddings.reader import Reader, ReaderConfig
from embeddings.settings import DEFAULT_MODEL, default_cache_dir
from embeddings.tokens import load_token_counter

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "training"))
import train_reader  # noqa: E402
from checkpoints import STOPPED_EXIT, Checkpoint, Stopped  # noqa: E402
from qa_data import XQUAD_VI, Paragraph, Question, examples  # noqa: E402

pytestmark = pytest.mark.model

# Two adapted layers, a small rank and short windows: the same code paths as a full run, in seconds.
CONFIG = ReaderConfig(exit_layer=16, adapt_from=14, rank=4, alpha=8.0)
SMALL_RUN = ["--limit", "40", "--eval-limit", "2", "--window-tokens", "48", "--adapt-from", "14", "--rank", "4", "--epochs", "1"]


class StopAfter:
    """Due at the safe point after the given number of them."""

    def __init__(self, points: int) -> None:
        self.left = points

    def due(self) -> bool:
        self.left -= 1
        return self.left < 0


@pytest.fixture(scope="module")
def model() -> tuple[Any, Any, str]:
    from sentence_transformers import SentenceTransformer

    source, _ = resolve_model(DEFAULT_MODEL, default_cache_dir(), progress=False)
    st = SentenceTransformer(source, device="cpu")
    for p in st[0].auto_model.parameters():
        p.requires_grad_(False)
    return st[0].auto_model, st.tokenizer, source


def seed_questions() -> list[Question]:
    """Questions over the seed articles whose answer is the paragraph's first number: windows to train on, not a task to learn."""
    out = []
    for path in sorted((REPO / "seeds").glob("*.txt")):
        for i, text in enumerate(p for p in path.read_text(encoding="utf-8").split("\n\n") if len(p) > 200):
            number = re.search(r"\d+", text) or re.search(r"\w+", text)
            assert number is not None
            out.append(Question(f"{path.stem}-{i}", Paragraph(path.stem, i, text), "Con số nào được nêu?", "vi", ((number.start(), number.group()),)))
    return out


def rows_for(model: tuple[Any, Any, str]) -> list[dict]:
    _, tokenizer, source = model
    items = examples(seed_questions(), load_token_counter(source), random.Random(0), budget=48)[:40]
    return train_reader.prepare(tokenizer, CONFIG, items)


def trained_weights(reader: Reader) -> dict[str, torch.Tensor]:
    weights = {f"adapters.{k}": v.detach().clone() for k, v in reader.adapters.state_dict().items()}
    weights.update({f"head.{k}": v.detach().clone() for k, v in reader.head.state_dict().items()})
    return weights


def new_reader(model: tuple[Any, Any, str], seed: int) -> Reader:
    """A reader as a process starting a run makes one: random adapters from the seed."""
    torch.manual_seed(seed)
    return Reader.attach(model[0], model[1], CONFIG)


def test_a_stopped_run_goes_on_and_ends_with_the_weights_of_an_unstopped_one(model: tuple[Any, Any, str], tmp_path: Path) -> None:
    hf_model = model[0]
    rows = rows_for(model)
    assert len(rows) > train_reader.STATE_CHUNK  # two chunks of cached states
    reader = new_reader(model, 0)
    try:
        train_reader.cache_states(hf_model, CONFIG, rows, "cpu", False)
        train_reader.train(hf_model, reader, rows, 2.0, "cpu", False, 13)
        expected = trained_weights(reader)
    finally:
        reader.adapters.detach()

    checkpoint = Checkpoint.open(tmp_path, "run")
    with pytest.raises(Stopped):
        train_reader.cache_states(hf_model, CONFIG, rows_for(model), "cpu", False, checkpoint, StopAfter(0))
    assert checkpoint.cached_chunks() == 1
    resumed_rows = rows_for(model)
    train_reader.cache_states(hf_model, CONFIG, resumed_rows, "cpu", False, checkpoint, StopAfter(10))
    assert checkpoint.cached_chunks() == 2
    assert all(torch.equal(a["hidden"], b["hidden"]) for a, b in zip(rows, resumed_rows))

    reader = new_reader(model, 0)  # the same run as above, stopped
    try:
        with pytest.raises(Stopped):  # at step 2 of 3 in the first epoch: the rest of the epoch is still to come
            train_reader.train(hf_model, reader, resumed_rows, 2.0, "cpu", False, 13, checkpoint, StopAfter(1))
    finally:
        reader.adapters.detach()
    saved = checkpoint.load_training()
    assert saved is not None and (saved["step"], saved["done_in_epoch"], saved["finished"]) == (2, 2, False)

    reader = new_reader(model, 1)  # a new process: its random adapters give way to the saved ones
    try:
        train_reader.train(hf_model, reader, resumed_rows, 2.0, "cpu", False, 13, checkpoint, StopAfter(100))
        got = trained_weights(reader)
    finally:
        reader.adapters.detach()
    assert got.keys() == expected.keys()
    assert all(torch.equal(got[k], expected[k]) for k in expected)


@pytest.mark.skipif(not XQUAD_VI.exists(), reason="the training data (../shared/data) is not beside this checkout")
def test_the_training_command_stops_when_told_and_the_same_command_finishes(tmp_path: Path) -> None:
    out, sha = tmp_path / "reader.safetensors", tmp_path / "reader.sha256"
    command = [sys.executable, str(REPO / "training" / "train_reader.py"), *SMALL_RUN, "--out", str(out), "--sha256-file", str(sha), "--checkpoints", str(tmp_path / "progress")]

    stopped = subprocess.run([*command, "--stop-after", "0"], capture_output=True, text=True, timeout=600)
    assert stopped.returncode == STOPPED_EXIT, stopped.stdout + stopped.stderr
    assert "run the same command to go on" in stopped.stdout
    assert "Traceback" not in stopped.stderr
    assert not out.exists()

    finished = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert "going on from there" in finished.stdout
    with safe_open(str(out), framework="numpy") as handle:
        recorded = handle.metadata()["seedqa_reader"]
    assert "--checkpoints" not in recorded and "--stop-after" not in recorded and "--adapt-from 14" in recorded
    assert not any((tmp_path / "progress").iterdir())  # a finished run leaves no progress behind


def test_a_soup_trains_each_seed_as_a_single_run_would_and_keeps_finished_ones(model: tuple[Any, Any, str], tmp_path: Path) -> None:
    args = train_reader.build_parser().parse_args([*SMALL_RUN, "--limit", "20", "--seeds", "3,4", "--checkpoints", str(tmp_path)])
    source, questions, count = model[2], seed_questions(), load_token_counter(model[2])  # no ../shared/data needed
    member = lambda seed, stop, in_soup: train_reader.train_member(args, seed, questions, source, "fingerprint", CONFIG, count, False, stop, in_soup=in_soup)  # noqa: E731
    trained = member(3, StopAfter(1000), True)
    assert [p.name for p in trained.checkpoint.folder.iterdir()] == ["weights.safetensors"]  # the cached states are gone

    # Going on after a stop: the finished seed is not trained again (a run that trained would stop at once here).
    again = member(3, StopAfter(0), True)
    assert again.tensors.keys() == trained.tensors.keys() and all(torch.equal(again.tensors[k], trained.tensors[k]) for k in trained.tensors)

    # The same seed trained alone gives the same reader, so a soup's members are reproducible one by one.
    single = member(3, StopAfter(1000), False)
    assert single.reader is not None
    try:
        alone = single.reader.state_tensors()
    finally:
        single.reader.adapters.detach()
    assert all(torch.equal(alone[k], trained.tensors[k]) for k in trained.tensors)
    other = member(4, StopAfter(1000), True)
    assert not torch.equal(other.tensors["head.span.weight"], trained.tensors["head.span.weight"])

    # Seeds trained apart (on two machines, say) and averaged later (--average): read back as trained.
    for seed, done in ((3, trained), (4, other)):
        save_file(done.tensors, str(tmp_path / f"seed{seed}.safetensors"), metadata={"seedqa_reader": json.dumps({"base_fingerprint": "fingerprint", "window_tokens": 48, "config": asdict(CONFIG)})})
    read_back, config = train_reader.trained_member(tmp_path / "seed3.safetensors", "fingerprint")
    assert config == CONFIG and all(torch.equal(read_back.tensors[k], trained.tensors[k]) for k in trained.tensors)
    with pytest.raises(SystemExit, match="not a reader trained for the embedding model now loaded"):
        train_reader.trained_member(tmp_path / "seed4.safetensors", "other weights")


@pytest.mark.skipif(not XQUAD_VI.exists(), reason="the training data (../shared/data) is not beside this checkout")
def test_the_training_command_averages_the_readers_of_several_seeds(tmp_path: Path) -> None:
    out, sha = tmp_path / "reader.safetensors", tmp_path / "reader.sha256"
    command = [sys.executable, str(REPO / "training" / "train_reader.py"), *SMALL_RUN, "--limit", "20", "--seeds", "3,4", "--out", str(out), "--sha256-file", str(sha), "--checkpoints", str(tmp_path / "progress")]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    with safe_open(str(out), framework="numpy") as handle:
        meta = json.loads(handle.metadata()["seedqa_reader"])
    assert meta["config"]["rank"] == 8 and meta["config"]["alpha"] == 16.0  # two rank-4 readers, the scale kept
    assert [m["seed"] for m in meta["soup"]] == [3, 4] and "--seeds 3,4" in meta["command"]
    assert set(meta["held_out"]) >= {"xquad-test vi", "xquad-test en"}
    assert not any((tmp_path / "progress").iterdir())  # nothing left behind

