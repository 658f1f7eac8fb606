"""A training run's progress on disk, so that a stopped run goes on where it stopped.

Why: training the reader takes 1-3 hours on two cores (train_reader.py), and a run stopped by
Ctrl-C, a closed laptop or a session limit lost all of it. These kinds of progress are kept,
each written atomically (a temporary file, then a rename), so a run killed at any point leaves
only whole files:
- the frozen lower layers' output per chunk of windows (`states/`, ~3 GB for the full run;
  caching it is the first half hour);
- the adapters, the head, the optimiser and where the run stood in its epoch (`training.pt`,
  every CHECKPOINT_STEPS steps and when stopped);
- the held-out figures of each finished group (`held_out.json`; evaluating is another half hour);
- in a soup of readers from several seeds (train_reader.py --seeds), each finished reader's
  weights (`weights.safetensors`, 3 MB), its states and optimiser dropped.

A run is identified by everything that shapes its result (the base model, the reader's shape,
the arguments, the training windows themselves): the same command finds its own folder, and a
changed one starts afresh beside it. A resumed run writes the same file, byte for byte, as one
that was never stopped (tests/test_training_resume.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any, Protocol

import torch

# Steps between checkpoints: 25 steps are ~2.5 min on a 2-core AMD EPYC (~1 min on an Intel
# Xeon), so a kill -9 loses at most that; saving takes well under a second (adapters, head and
# the optimiser's two moments: ~17 MB).
CHECKPOINT_STEPS = 25
# Exit status of a run that stopped to go on later (EX_TEMPFAIL: "try again").
STOPPED_EXIT = 75


class Stopped(Exception):
    """The run stopped at a safe point with its progress saved; the same command goes on."""


class StopSignal(Protocol):
    def due(self) -> bool: ...


class Deadline:
    """Stop when the time given runs out, or at the first Ctrl-C or SIGTERM, at the next safe point."""

    def __init__(self, minutes: float | None) -> None:
        self._until = None if minutes is None else time.monotonic() + minutes * 60
        self._signalled: str | None = None

    def listen(self) -> None:
        """Ctrl-C and SIGTERM finish the step at hand instead of losing it (a second Ctrl-C stops at once)."""

        def handler(number: int, frame: Any) -> None:
            if self._signalled is not None:
                raise KeyboardInterrupt
            self._signalled = signal.Signals(number).name

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)

    def due(self) -> bool:
        return self._signalled is not None or (self._until is not None and time.monotonic() >= self._until)

    def reason(self) -> str:
        return f"on {self._signalled}" if self._signalled else "when the time given ran out"


def run_identity(**parts: Any) -> str:
    """A short hash of everything that shapes the run's result."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()[:16]


def windows_digest(items: list[Any]) -> str:
    """The training windows, in order: a change in the data or how it is cut starts a new run."""
    digest = hashlib.sha256()
    for item in items:
        digest.update(json.dumps([item.question, item.passage, item.answer, item.form, item.kind], ensure_ascii=False).encode())
    return digest.hexdigest()


class Checkpoint:
    """One run's folder of progress."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._states = folder / "states"
        self._training = folder / "training.pt"
        self._held_out = folder / "held_out.json"
        self._weights = folder / "weights.safetensors"

    @classmethod
    def open(cls, root: Path, identity: str, *, fresh: bool = False) -> "Checkpoint":
        folder = root / identity
        if fresh and folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        return cls(folder)

    def started(self) -> bool:
        return self._training.exists() or self._held_out.exists() or self._weights.exists() or any(self._states.glob("*.safetensors"))

    # The lower layers' output, one file per chunk of windows (keys: the window's row number).
    def load_states(self, chunk: int) -> dict[int, torch.Tensor] | None:
        from safetensors.torch import load_file

        path = self._states / f"{chunk:05d}.safetensors"
        if not path.exists():
            return None
        return {int(key): value for key, value in load_file(str(path)).items()}

    def save_states(self, chunk: int, states: dict[int, torch.Tensor]) -> None:
        from safetensors.torch import save_file

        self._states.mkdir(exist_ok=True)
        path = self._states / f"{chunk:05d}.safetensors"
        save_file({str(key): value.contiguous() for key, value in states.items()}, str(path.with_suffix(".partial")))
        os.replace(path.with_suffix(".partial"), path)

    def cached_chunks(self) -> int:
        return sum(1 for _ in self._states.glob("*.safetensors"))

    # Where training stood.
    def load_training(self) -> dict[str, Any] | None:
        if not self._training.exists():
            return None
        return torch.load(self._training, weights_only=False)  # our own file, written below

    def save_training(self, state: dict[str, Any]) -> None:
        partial = self._training.with_suffix(".partial")
        torch.save(state, partial)
        os.replace(partial, self._training)

    # Held-out figures, group by group.
    def load_held_out(self) -> dict[str, dict[str, float]]:
        return json.loads(self._held_out.read_text()) if self._held_out.exists() else {}

    def save_held_out(self, figures: dict[str, dict[str, float]]) -> None:
        partial = self._held_out.with_suffix(".partial")
        partial.write_text(json.dumps(figures, indent=1))
        os.replace(partial, self._held_out)

    # A finished member of a soup (train_reader.py --seeds): its weights alone, the rest dropped.
    def keep_only_weights(self, tensors: dict[str, torch.Tensor], seconds: float) -> None:
        from safetensors.torch import save_file

        partial = self._weights.with_suffix(".partial")
        save_file({key: value.contiguous() for key, value in tensors.items()}, str(partial), metadata={"seconds": str(seconds)})
        os.replace(partial, self._weights)
        shutil.rmtree(self._states, ignore_errors=True)
        self._training.unlink(missing_ok=True)

    def load_weights(self) -> tuple[dict[str, torch.Tensor], float] | None:
        from safetensors import safe_open

        if not self._weights.exists():
            return None
        with safe_open(str(self._weights), framework="pt") as handle:
            return {key: handle.get_tensor(key) for key in handle.keys()}, float(handle.metadata()["seconds"])

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
