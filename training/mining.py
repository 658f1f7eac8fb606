"""Near-miss windows as the search finds them: what the reader is shown when the answer is not there.

The derived near misses of qa_data.examples (the answer's sentences cut out, a sibling paragraph
around the sentence sharing most words with the question) are guesses at what retrieval returns.
In the bot the reader reads the windows the searcher picks (dense and sentence similarity with
BM25, centred on the best sentence), and on XQuAD's calibration articles, with the question's
paragraph removed, a quarter of those windows still drew a confident answer (bench/reader.py).
Here each training question is searched, with the real searcher, over an index of the training
articles' paragraphs only (no held-out text is ever read); the best window from a paragraph that
does not hold the answer becomes a near miss, and the window the searcher picks in the question's
own paragraph becomes a positive when it holds the answer (the reader then trains on the
windows it will read, not only on windows centred on the answer).

Measured (2026-12-04, `training/train_reader.py --mined 0.5`: 2,131 mined windows, 1,124 of them
near misses, on top of the 11,410; 43 min on two cores), then `bench/reader.py` against the
shipped reader: on the XQuAD test articles near misses refused rose (en 0.43 -> 0.57, vi
0.65 -> 0.76, without diacritics 0.62 -> 0.70) but so did answerable questions refused (3.5%,
4.3%, 5.3% -> 6.7%, 6.4%, 9.9%: margins calibrated at 4% on the calibration articles no longer
held on the test ones), seed answerable refused went from 1 to 4 of 85 (unanswerable refused 9 -> 11
of 16), the new near misses stayed at 7 of 24, answer F1 moved by under 0.01. A move along the
same trade-off, not a better reader, so it is off by default (`--mined 0`) and kept for the next
attempt (e.g. with more epochs, or mined windows only as near misses).
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Iterable
from pathlib import Path

from qa_data import Example, Question

INDEX = Path(__file__).resolve().parent.parent / ".seedqa" / "training" / "xquad-train"


def _searcher(paragraphs: list[str]) -> object:
    """The training paragraphs as a folder of articles (one .txt each, as bench/xquad.py writes them), indexed and opened.

    The folder is temporary, as in bench/xquad.py: the index keeps the vectors, so a rerun embeds nothing again.
    """
    from embeddings.settings import EmbeddingsSettings
    from retrieval.engine import open_engine, rebuild
    from retrieval.settings import ArticlesSettings, IndexSettings, SearchSettings

    index, embeddings, search = IndexSettings(folder=INDEX / "index"), EmbeddingsSettings(), SearchSettings(reader=False)
    with tempfile.TemporaryDirectory(prefix="mining-articles-") as tmp:
        articles = ArticlesSettings(folder=Path(tmp))
        for i, text in enumerate(paragraphs):
            (articles.folder / f"p-{i:03d}.txt").write_text(" ".join(text.split()) + "\n", encoding="utf-8")
        rebuild(articles, index, embeddings, fetch_progress=False)
        return open_engine(articles, index, search, embeddings, fetch_progress=False).searcher


def retrieved(questions: Iterable[Question], rng: random.Random, *, share: float = 0.5) -> list[Example]:
    """For a share of the questions: the searcher's best window outside the question's paragraph, and its window inside it."""
    questions = [q for q in questions if q.answers]
    paragraphs = sorted({" ".join(q.paragraph.context.split()) for q in questions})
    searcher = _searcher(paragraphs)
    article_of = {f"p-{i:03d}": text for i, text in enumerate(paragraphs)}
    out: list[Example] = []
    for q in questions:
        if rng.random() >= share:
            continue
        home = " ".join(q.paragraph.context.split())
        texts = tuple(t for _, t in q.answers)
        text = searcher._clean(q.text)  # type: ignore[attr-defined]
        scored = searcher.score(text)  # type: ignore[attr-defined]
        asked = searcher.reader_question(text)  # type: ignore[attr-defined]
        chunks = searcher.index.chunks  # type: ignore[attr-defined]
        inside = [s for s in scored if article_of.get(chunks[s.position].article_id) == home]
        outside = [s for s in scored if article_of.get(chunks[s.position].article_id) != home and not any(t in chunks[s.position].text for t in texts)]
        for cands, kind in ((outside, "retrieved"), (inside, "retrieved-answer")):
            if not cands:
                continue
            position, lo, hi = searcher.reading_windows(cands[:1], asked)[0]  # type: ignore[attr-defined]
            passage = chunks[position].text[lo:hi]
            if kind == "retrieved":
                out.append(Example(q.text, passage, None, q.form, kind, texts))
                continue
            found = next(((passage.find(t), t) for t in texts if t in passage), None)
            if found is not None:
                out.append(Example(q.text, passage, (found[0], found[0] + len(found[1])), q.form, kind, texts))
    return out
