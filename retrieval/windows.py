"""The stretch of a passage the reader reads: a sentence and its neighbours, up to a token budget.

Reading costs in proportion to tokens (BENCHMARKS.md, reader speed), and the answer sits in or
next to the sentence that matches the question best, so the reader gets that sentence with
its neighbours rather than whole passages. Training builds its windows with the same function,
so the reader learns on the shapes it will see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .chunking import Span

# 128 passage tokens: a window is then a third of the longest passage and holds the sentence
# before and after a typical news sentence (~35 tokens). Reading three such windows costs about
# 0.4 s on two cores (BENCHMARKS.md, reader), over the 200 ms wanted: shorter windows or fewer
# of them are the first thing to measure when the reader is retrained.
WINDOW_TOKENS = 128


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
