"""Which FAISS index holds the passage vectors: exact for small corpora, approximate (HNSW) for large ones.

Exact inner-product search reads every vector for every question, so its time grows with the
corpus: about 14 ms at 100k passages and 116 ms at 1M on this project's 2-core machine
(bench/scale.py, BENCHMARKS.md), against ~95 ms to encode the question. An HNSW graph answers in
2-3 ms at any of those sizes but may miss a few true neighbours and takes about 5 minutes to build
at 1M on two cores. So `auto` stays exact while exact search is cheap and switches to HNSW above that.

Only the candidate list is approximate: search.py scores every candidate from its exact stored
vector (`reconstruct`), which every index built here supports (HNSW and IVF keep full vectors,
IVF with a direct map). What was built is recorded in the manifest as a plan (a small JSON dict),
so `seedqa index` rebuilds when the configured choice would build something else, and loading
restores the search-time parameters from the plan rather than trusting what FAISS persisted.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import faiss
import numpy as np

VectorIndex = Literal["auto", "exact", "hnsw", "ivf"]
Plan = dict[str, Any]  # {"type": "exact"} | {"type": "hnsw", ...} | {"type": "ivf", ...}; JSON in the manifest

EXACT: Plan = {"type": "exact"}

# `auto` is exact below this many passages. Exact search grows linearly with the corpus (p50, one
# thread, bench/scale.py): 1.1 ms at 10k, where it beats HNSW at its efSearch below (2.1 ms), and
# 14 ms at 100k, so about 7 ms here: 7% of the ~95 ms it takes to encode the question (BENCHMARKS.md,
# XQuAD latency), with perfect recall and a build of a second. Above it exact search becomes a
# visible share of every answer (116 ms at 1M) while HNSW answers in 2-3 ms up to 1M at recall@10
# >= 0.97 on the clustered corpus; an HNSW build of 50k takes ~12 s (25 s measured at 100k).
AUTO_EXACT_BELOW = 50_000

# HNSW links per vector. Measured at 100k on the harder (unclustered) synthetic corpus: M=32 at
# efSearch 128 reached recall@10 0.95 on real questions in 1.4 ms, where M=16 reached 0.90 even at
# efSearch 256 in 1.3 ms. Its build takes twice as long (69 s against 32 s at 100k), and its links
# cost 2*M*4 = 256 bytes per passage next to the 3,072-byte vector.
HNSW_M = 32
# Candidates kept while building. FAISS's default 40: 80 raised recall@10 by only one point
# (0.95 -> 0.96 at efSearch 128) for 35% more build time, which at 1M is minutes on two cores;
# a larger efSearch buys the same recall at search time for about a millisecond.
HNSW_EF_CONSTRUCTION = 40
# Candidates kept while searching (search.py asks for 50 passages, so never fewer than 50).
# Measured at 1M on the clustered corpus, recall@10 for real questions / held-out queries and p50:
# 256: 0.936 / 0.955 (0.7 ms), 512: 0.963 / 0.971 (1.3 ms), 768: 0.984 / 0.973 (1.8 ms), 1024:
# 0.985 / 0.983 (2.7 ms). 768 is the knee for real questions and keeps a margin above 0.95 for
# corpora harder than the synthetic one (0.99 on the unclustered stress corpus at 100k, 6.8 ms),
# at a tenth of the 20 ms goal and ~2% of the question's encoding.
HNSW_EF_SEARCH = 768

# IVF (inverted lists, optional): lists = this times sqrt(passages), the low end of the usual
# 1-16 x sqrt(n), because k-means costs lists x training points: 2,000 lists at 1M build in 91 s on
# two cores, and 4 x sqrt(n) would be four times the k-means work. Fewer, longer lists cost search
# time instead, which IVF has to spare (6 ms at 1M).
IVF_LISTS_PER_SQRT = 2
# Training points per list: k-means needs ~40 per centroid (FAISS warns below 39). At 100k (632
# lists) 64 per list gave recall within 0.03 of training on all 100k passages, in half the build
# time (6.8 s against 14.8 s); FAISS's own default samples up to 256 per list.
IVF_TRAIN_PER_LIST = 64
IVF_MIN_TRAIN_PER_LIST = 39
# Lists searched per question: at least 32 (0.98 recall@10 at 10k passages, 200 lists, where 16
# gave 0.97), and 1/32 of the lists on larger corpora (62 of 2,000 at 1M): on the clustered corpus
# 8 of 632 lists already gave 0.997 at 100k. IVF is the optional type: on unclustered vectors it
# needs far more lists than HNSW needs candidates (BENCHMARKS.md, scale).
IVF_PROBE_SHARE = 1 / 32
IVF_MIN_PROBES = 32


def choose(setting: VectorIndex, passages: int) -> Plan:
    """What to build for this many passages. `auto` decides by size; an empty corpus is always exact."""
    kind = setting
    if setting == "auto":
        kind = "exact" if passages < AUTO_EXACT_BELOW else "hnsw"
    if kind == "exact" or passages == 0:
        return dict(EXACT)
    if kind == "hnsw":
        return {"type": "hnsw", "m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "ef_search": HNSW_EF_SEARCH}
    if kind == "ivf":
        lists = max(1, min(round(IVF_LISTS_PER_SQRT * math.sqrt(passages)), passages // IVF_MIN_TRAIN_PER_LIST))
        probes = min(lists, max(IVF_MIN_PROBES, round(lists * IVF_PROBE_SHARE)))
        return {"type": "ivf", "lists": lists, "probes": probes}
    raise ValueError(f"unknown vector index {setting!r}: use auto, exact, hnsw or ivf")


def build(plan: Plan, vectors: np.ndarray, dimension: int) -> faiss.Index:
    """An index of these (L2-normalised) vectors by inner product, ready to search and reconstruct."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    kind = plan["type"]
    if kind == "exact":
        index: faiss.Index = faiss.IndexFlatIP(dimension)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dimension, int(plan["m"]), faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = int(plan["ef_construction"])
    elif kind == "ivf":
        index = faiss.index_factory(dimension, f"IVF{int(plan['lists'])},Flat", faiss.METRIC_INNER_PRODUCT)
        # A fixed sample of fixed size: the same vectors always train the same lists.
        count = min(len(vectors), int(plan["lists"]) * IVF_TRAIN_PER_LIST)
        rows = np.sort(np.random.default_rng(0).choice(len(vectors), count, replace=False))
        index.cp.min_points_per_centroid = 1  # the sample is sized above; tiny corpora get one list anyway
        index.train(vectors[rows])
    else:
        raise ValueError(f"unknown index type {kind!r} in the index plan")
    if len(vectors):
        index.add(vectors)
    return prepare(index, plan)


def prepare(index: faiss.Index, plan: Plan) -> faiss.Index:
    """Set what FAISS may not keep on disk (search effort, IVF's direct map); refuse an index of another type."""
    kind = plan.get("type")
    if kind == "exact" and isinstance(index, faiss.IndexFlat) and index.metric_type == faiss.METRIC_INNER_PRODUCT:
        return index
    if kind == "hnsw" and isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = int(plan["ef_search"])
        return index
    if kind == "ivf" and isinstance(index, faiss.IndexIVFFlat):
        index.nprobe = int(plan["probes"])
        if index.direct_map.type == faiss.DirectMap.NoMap:
            index.make_direct_map()  # reconstruct(position) needs it
        return index
    raise ValueError(f"the stored vectors are a {type(index).__name__}, but the manifest says {kind!r}")


def describe(plan: Plan) -> str:
    """One line for messages and benchmarks."""
    if plan["type"] == "hnsw":
        return f"HNSW (M={plan['m']}, efConstruction={plan['ef_construction']}, efSearch={plan['ef_search']})"
    if plan["type"] == "ivf":
        return f"IVF ({plan['lists']} lists, {plan['probes']} probed)"
    return "exact (inner product over every passage)"
