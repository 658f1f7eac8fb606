"""Real EmbeddingGemma vectors for the scale benchmark's smallest corpus (and the statistics of the larger ones).

The public text at hand (XQuAD's English and Vietnamese paragraphs, the seed articles) gives
about 10k distinct passage-like texts when cut several ways: single sentences, pairs of
consecutive sentences, whole paragraphs, and XQuAD's questions, each encoded with the document
prompt as seedqa encodes passages. XQuAD's questions encoded with the query prompt are the
queries. Writes .seedqa/bench/real-vectors.npy and real-queries.npy (float32, normalised);
about 20 minutes on two idle cores (the run behind BENCHMARKS.md was cut short: see its Scale section).

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
    paragraphs: list[str] = []
    questions: list[str] = []
    for lang in ("en", "vi"):
        data = json.loads((DATA / f"xquad.{lang}.json").read_text(encoding="utf-8"))["data"]
        for article in data:
            for paragraph in article["paragraphs"]:
                paragraphs.append(paragraph["context"])
                questions += [qa["question"] for qa in paragraph["qas"]]
    paragraphs += [p for path in sorted((ROOT / "seeds").glob("*.txt")) for p in path.read_text(encoding="utf-8").split("\n\n") if len(p) > 80]
    texts: list[str] = list(paragraphs) + list(questions)
    for paragraph in paragraphs:
        cut = [paragraph[s.start : s.end] for s in split_sentences(paragraph) if s.end - s.start > 20]
        texts += cut + [f"{a} {b}" for a, b in zip(cut, cut[1:])]
    sentences = list(dict.fromkeys(texts))  # distinct texts, first occurrence order
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
