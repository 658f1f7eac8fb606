"""Real EmbeddingGemma vectors for the scale benchmark's smallest corpus (and the statistics of the larger ones).

Embedding 10k passages takes over half an hour on two cores, so the corpus is XQuAD's English and
Vietnamese paragraphs cut into sentences (short texts embed fast), each encoded with the
document prompt as seedqa encodes passages; XQuAD's questions, encoded with the query prompt,
are the queries. Writes .seedqa/bench/real-vectors.npy and real-queries.npy (float32, normalised).

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


def main() -> int:
    sentences: list[str] = []
    questions: list[str] = []
    for lang in ("en", "vi"):
        data = json.loads((DATA / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
        for article in data:
            for paragraph in article["paragraphs"]:
                context = paragraph["context"]
                sentences += [context[s.start : s.end] for s in split_sentences(context) if s.end - s.start > 20]
                questions += [qa["question"] for qa in paragraph["qas"]]
    settings = EmbeddingsSettings()
    source, fingerprint = resolve_model(settings.model, settings.cache_dir)
    encoder = load_encoder(settings, source, fingerprint)
    started = time.perf_counter()
    documents = encoder.encode_documents(sentences, [None] * len(sentences))
    queries = encoder.encode_queries(questions)
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(OUT / "real-vectors.npy", documents.astype(np.float32), allow_pickle=False)
    np.save(OUT / "real-queries.npy", queries.astype(np.float32), allow_pickle=False)
    print(f"{len(sentences)} sentence vectors and {len(questions)} query vectors in {time.perf_counter() - started:.0f} s -> {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
