"""Token counting without loading the model.

Chunking needs the model's tokenizer to enforce the passage cap, but loading the 1.2 GB model
just to find out that nothing changed would make every rebuild slow; the tokenizer alone
loads in well under a second.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Callable

TokenCounter = Callable[[str], int]


def load_token_counter(source: str) -> TokenCounter:
    """Count tokens as the model at `source` (a folder or a model id) would, without special tokens."""
    folder = Path(source)
    if (folder / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))

        def count(text: str) -> int:
            return len(tokenizer.encode(text, add_special_tokens=False).ids)

    else:
        from transformers import AutoTokenizer

        auto = AutoTokenizer.from_pretrained(source)

        def count(text: str) -> int:
            return len(auto(text, add_special_tokens=False)["input_ids"])

    return lru_cache(maxsize=65536)(count)
