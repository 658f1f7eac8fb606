"""Readers trained alike from different seeds, averaged into one reader ("model soup").

Why: the seed alone moves the reader's held-out F1 by about 0.03 (BENCHMARKS.md, "Reader: the
shipped training with another seed"), so one run ships one draw of that chance. Averaging the
weights of runs that differ only in their seed keeps what they agree on and cancels part of what
chance gave each (Wortsman et al., 2022, "Model soups"), at no cost per question: the soup is one
reader, read in one pass.

How: each LoRA adapter's update is B·A, and runs from different seeds start from unrelated A's,
so averaging the A's and the B's apart would mix unrelated directions. Stacked instead, A's on
top of each other and B's side by side, each B divided by the number of runs, they make one
adapter of n times the rank whose update is exactly the mean of the runs' updates. The heads are
single linear layers on the same final norm, so they are averaged as they are. The adapters'
scale (alpha / rank) is kept by multiplying alpha by n too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import torch

from embeddings.reader import ReaderConfig

__all__ = ["soup"]


def soup(members: Sequence[tuple[ReaderConfig, Mapping[str, torch.Tensor]]]) -> tuple[ReaderConfig, dict[str, torch.Tensor]]:
    """One reader whose adapters' updates and head are the mean of the members'; members must share their shape."""
    if not members:
        raise ValueError("a soup needs at least one reader")
    config, first = members[0]
    for other, tensors in members[1:]:
        if other != config or set(tensors) != set(first):
            raise ValueError("readers of different shapes cannot be averaged: train them with the same options, only the seed differing")
    n = len(members)
    out: dict[str, torch.Tensor] = {}
    for key in first:
        parts = [tensors[key].float() for _, tensors in members]
        if key.startswith("adapters.a."):
            out[key] = torch.cat(parts, dim=0)  # (n * rank, in)
        elif key.startswith("adapters.b."):
            out[key] = torch.cat([part / n for part in parts], dim=1)  # (out, n * rank)
        else:
            out[key] = sum(parts) / n
    return replace(config, rank=config.rank * n, alpha=config.alpha * n), out
