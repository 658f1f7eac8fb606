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
# Windows read per passage at most: the best sentence's window, then (with 2) the rest of a
# passage longer than one window. 2 was measured on 2026-12-05 (bench/reader.py
# --windows-per-passage 2; BENCHMARKS.md, "a second window"): at equal shares of answerable XQuAD
# questions refused it refused no more near misses, answer F1 moved by under a point, and the
# margins it calibrated refused 7 of 85 seed answerable questions. So one window, as trained.
WINDOWS_PER_PASSAGE = 1


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


def windows(text: str, sentences: Sequence[Span], center: int, count_tokens: Callable[[str], int], budget: int = WINDOW_TOKENS, most: int = 1) -> list[tuple[int, int]]:
    """The window around `center` first, then windows over what it left out, up to `most` in all.

    A passage may run to 320 tokens (ChunkerSettings.max_tokens), more than one window: the
    sentence that matches the question best is not always the one that holds the answer, and
    what the first window leaves out can then be read too. Each further window is centred on
    the middle of the longest stretch of sentences not read yet, so two windows cover any
    passage up to the chunker's cap.
    """
    first = window(text, sentences, center, count_tokens, budget)
    out = [first]
    if not sentences:
        return out
    read = {i for i, s in enumerate(sentences) if first[0] <= s.start and s.end <= first[1]}
    while len(out) < most:
        runs: list[list[int]] = []
        for i in range(len(sentences)):
            if i in read:
                continue
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        if not runs:
            break
        longest = max(runs, key=lambda run: sentences[run[-1]].end - sentences[run[0]].start)
        lo, hi = window(text, sentences, longest[len(longest) // 2], count_tokens, budget)
        out.append((lo, hi))
        read |= {i for i, s in enumerate(sentences) if lo <= s.start and s.end <= hi}
    return out
