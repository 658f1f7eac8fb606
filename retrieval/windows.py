"""The stretch of a passage the reader reads: a sentence and its neighbours, up to a token budget.

Reading costs in proportion to tokens (BENCHMARKS.md, reader speed), and the answer sits in or
next to the sentence that matches the question best, so the reader gets that sentence with
its neighbours rather than whole passages. Training builds its windows with the same function,
so the reader learns on the shapes it will see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .chunking import Span

# 192 passage tokens, the reader trained on windows of the same size (training/train_reader.py).
# With 128, the first window read missed the answer for 11-14% of XQuAD's held-out answerable
# questions although its passage held it for all but 4-5%; with 192, 4-6% (first window holds
# the answer: en / vi / vi-noaccent 0.862 / 0.887 / 0.869 -> 0.936 / 0.961 / 0.943). The reader
# trained on 192-token windows refused more near misses at fewer answerable refusals and stated
# better answers (BENCHMARKS.md, reader, 2026-12-05). 192 is the most the reader takes
# (ReaderConfig.max_passage_tokens). It costs reading time: p50 ~118 ms a question (91 with 128).
WINDOW_TOKENS = 192


def window(text: str, sentences: Sequence[Span], center: int, count_tokens: Callable[[str], int], budget: int = WINDOW_TOKENS) -> tuple[int, int]:
    """Character offsets of sentences around `center`, widened one side then the other while they fit."""
    if not sentences:
        return 0, len(text)
    lo = hi = max(0, min(center, len(sentences) - 1))
    grew = True
    turn = 1  # the following sentence first: a name or number often follows the sentence that matched
    while grew:
        grew = False
        for side in (turn, -turn):
            lo2, hi2 = (lo, hi + 1) if side > 0 else (lo - 1, hi)
            if lo2 < 0 or hi2 >= len(sentences):
                continue
            if count_tokens(text[sentences[lo2].start : sentences[hi2].end]) <= budget:
                lo, hi, grew = lo2, hi2, True
                break
        turn = -turn
    return sentences[lo].start, sentences[hi].end
