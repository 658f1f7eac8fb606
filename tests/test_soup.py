"""Readers from several seeds averaged into one (training/soup.py): the soup reads as the mean of its members."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from embeddings.reader import LoraAdapters, ReaderConfig, ReaderHead, reading

TRAINING = Path(__file__).resolve().parent.parent / "training"
sys.path.insert(0, str(TRAINING))
from soup import soup  # noqa: E402

CONFIG = ReaderConfig(exit_layer=2, adapt_from=0, rank=2, alpha=4.0)


class Block(nn.Module):
    """Stands in for a Gemma block: the adapters find its linear layers by name."""

    def __init__(self) -> None:
        super().__init__()
        self.q_proj = nn.Linear(6, 5)
        self.down_proj = nn.Linear(5, 6)


def member(layers: nn.ModuleList, seed: int) -> dict[str, torch.Tensor]:
    """A trained member's tensors as the artifact keeps them: random adapters (B no longer zero) and head."""
    torch.manual_seed(seed)
    adapters, head = LoraAdapters(CONFIG, layers), ReaderHead(6)
    tensors = {f"adapters.{k}": (torch.randn_like(v) if k.startswith("b.") else v).detach() for k, v in adapters.state_dict().items()}
    tensors.update({f"head.{k}": torch.randn_like(v) for k, v in head.state_dict().items()})
    return tensors


def read(layers: nn.ModuleList, config: ReaderConfig, tensors: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Every adapted linear layer's output for x (its first features) with these adapters on, and the head's logits."""
    adapters, head = LoraAdapters(config, layers), ReaderHead(6)
    adapters.load_state_dict({k[len("adapters.") :]: v for k, v in tensors.items() if k.startswith("adapters.")})
    head.load_state_dict({k[len("head.") :]: v for k, v in tensors.items() if k.startswith("head.")})
    adapters.attach()
    try:
        with torch.no_grad(), reading():
            parts = [out for block in layers for out in (block.q_proj(x), block.down_proj(x[:, :5]))]
            parts += list(head(nn.Identity(), x))
    finally:
        adapters.detach()
    return torch.cat([part.reshape(-1) for part in parts])


def test_the_soup_reads_as_the_mean_of_its_members() -> None:
    torch.manual_seed(0)
    layers = nn.ModuleList([Block(), Block()])
    members = [member(layers, seed) for seed in (1, 2, 3)]
    x = torch.randn(4, 6)

    config, tensors = soup([(CONFIG, m) for m in members])

    assert (config.rank, config.scale) == (3 * CONFIG.rank, CONFIG.scale)  # one adapter of three times the rank, same scale
    each = [read(layers, CONFIG, m, x) for m in members]
    assert torch.allclose(read(layers, config, tensors, x), sum(each) / 3, atol=1e-5)
    assert not torch.allclose(each[0], each[1], atol=1e-2)  # the members differ, so the mean is not any one of them


def test_readers_of_different_shapes_are_not_averaged() -> None:
    layers = nn.ModuleList([Block(), Block()])
    wider = ReaderConfig(exit_layer=2, adapt_from=0, rank=4, alpha=8.0)
    with pytest.raises(ValueError, match="same options"):
        soup([(CONFIG, member(layers, 1)), (wider, member(layers, 2))])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--seeds", "13,13"], "different seeds"),
        (["--seeds", "13,x"], "comma-separated list of whole numbers"),
        (["--average", "missing-13.safetensors", "missing-14.safetensors"], "no such file: missing-13.safetensors"),
        (["--average", str(TRAINING / "soup.py")], "two or more reader files"),
    ],
)
def test_a_soup_asked_for_wrongly_is_refused_in_one_line_before_the_model_loads(arguments: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, str(TRAINING / "train_reader.py"), *arguments], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
