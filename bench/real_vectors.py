"""Real EmbeddingGemma vectors for the scale benchmark's smallest corpus (and the statistics of the larger ones).

The public text at hand (XQuAD's English and Vietnamese paragraphs, the seed articles) gives
10k distinct passage-like texts when cut several ways: whole paragraphs, XQuAD's questions, and
every run of 1 to 5 consecutive sentences (passages as a chunker might cut them), each encoded
with the document prompt as seedqa encodes passages. XQuAD's questions encoded with the query
prompt are the queries. Writes .seedqa/bench/real-vectors.npy, real-groups.npy and real-queries.npy (float32,
normalised); about 35 minutes on two idle cores, so run it alone.

Run from the repository root:  .venv/bin/python bench/real_vectors.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from embeddings.settings import EmbeddingsSettings  # noqa: E402
from retrieval.chunking import split_sentences  # noqa: E402
from retrieval.engine import load_encoder  # noqa: E402
from embeddings.provision import resolve_model  # noqa: E402

DATA = Path("/work/shared/data/xquad")
OUT = ROOT / ".seedqa" / "bench"
# The scale benchmark's smallest corpus, so that it is made of real vectors only.
WANTED = 10_000
# Runs of up to 5 sentences are what it takes to reach WANTED distinct texts (10,161) from this
# data; 4 gives 9,596.
MAX_WINDOW = 5


# Group of a document row that is a question rather than a passage.
QUESTION = -1


def texts() -> tuple[list[str], list[int], list[str]]:
    """Distinct document texts, the paragraph each came from, and the questions.

    The group lets bench/scale.py measure how close a passage is to passages of *other*
    paragraphs: runs of sentences from one paragraph overlap, and an English XQuAD paragraph's
    Vietnamese translation is its twin (both get the paragraph's position as group), so nearest
    neighbours within a group say nothing about a corpus chunked without overlap.
    """
    paragraphs: list[tuple[str, int]] = []
    questions: list[str] = []
    for lang in ("en", "vi"):
        data = json.loads((DATA / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
        position = 0
        for article in data:
            for paragraph in article["paragraphs"]:
                paragraphs.append((paragraph["context"], position))
                questions += [qa["question"] for qa in paragraph["qas"]]
                position += 1
    seeds = [p for path in sorted((ROOT / "seeds").glob("*.txt")) for p in path.read_text(encoding="utf-8").split("\n\n") if len(p) > 80]
    first = max(group for _, group in paragraphs) + 1
    paragraphs += [(text, first + i) for i, text in enumerate(seeds)]
    rows: list[tuple[str, int]] = list(paragraphs) + [(question, QUESTION) for question in questions]
    for paragraph, group in paragraphs:
        cut = [paragraph[s.start : s.end] for s in split_sentences(paragraph) if s.end - s.start > 20]
        for width in range(1, MAX_WINDOW + 1):
            rows += [(" ".join(cut[i : i + width]), group) for i in range(len(cut) - width + 1)]
    distinct = list(dict.fromkeys(text for text, _ in rows))[:WANTED]  # first occurrence order
    group_of: dict[str, int] = {}
    for text, group in rows:
        group_of.setdefault(text, group)
    return distinct, [group_of[text] for text in distinct], questions


def main() -> int:
    documents_text, groups, questions = texts()
    settings = EmbeddingsSettings()
    source, fingerprint = resolve_model(settings.model, settings.cache_dir)
    encoder = load_encoder(settings, source, fingerprint)
    started = time.perf_counter()
    documents = encoder.encode_documents(documents_text, [None] * len(documents_text))
    queries = encoder.encode_queries(questions)
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(OUT / "real-vectors.npy", documents.astype(np.float32), allow_pickle=False)
    np.save(OUT / "real-groups.npy", np.asarray(groups, dtype=np.int32), allow_pickle=False)
    np.save(OUT / "real-queries.npy", queries.astype(np.float32), allow_pickle=False)
    print(f"{len(documents_text)} document vectors and {len(questions)} query vectors in {time.perf_counter() - started:.0f} s -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
