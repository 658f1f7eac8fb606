"""The `[articles]`, `[index]` and `[search]` sections."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .ann import AUTO_EXACT_BELOW, VectorIndex
from .chunking import ChunkerSettings
from .fetching import MAX_BYTES, TIMEOUT_SECONDS


# How sentence vectors are made: "derived" pools each sentence's tokens from its passage's single
# forward pass; "separate" embeds every sentence again on its own (twice the model time).
SentenceVectors = Literal["derived", "separate"]


class ArticlesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    folder: Path = Field(Path("seeds"), description="Folder of articles to index: *.txt, *.md and saved pages (*.html); `seedqa add` writes here.")
    feeds: list[str] = Field(default_factory=list, description="RSS/Atom feeds (or pages) `seedqa add` reads when given none, and the bot re-reads every bot.refresh_minutes.")
    # retrieval.fetching's defaults, each with its reason there.
    fetch_timeout_seconds: float = Field(TIMEOUT_SECONDS, gt=0, le=600, description="How long fetching one page or feed may take, redirects and body included.")
    max_page_bytes: int = Field(MAX_BYTES, ge=10_000, le=1_000_000_000, description="Pages and feeds larger than this are refused as they download.")


class IndexSettings(ChunkerSettings):
    folder: Path = Field(Path(".seedqa/index"), description="Where the index is written (relative to the working directory).")
    # Not a chunker key: changing it rebuilds only the vector index from cached vectors, no
    # re-chunking or re-embedding. The threshold and HNSW's constants are measured in bench/scale.py.
    vector_index: VectorIndex = Field(
        "auto",
        description=f"Vector search: auto is exact below {AUTO_EXACT_BELOW:,} passages and HNSW (approximate, a few ms even at 1M) above; or exact, hnsw, ivf.",
    )
    # Where embedding runs: unset, in this process; a Ray address, on that cluster's workers
    # (embeddings.cluster; `pip install -e '.[cluster]'`). Not recorded in the index: a build on
    # Ray gives the same vectors as a local one (tests/test_cluster.py).
    ray_address: str | None = Field(None, description="Embed on a Ray cluster: local (a Ray instance on this machine), auto (the running cluster, else local) or an address such as ray://head:10001.")
    ray_workers: int | None = Field(None, ge=1, le=10_000, description="Ray workers, each holding the model once; unset: one per GPU, or per two CPU cores of the cluster.")
    # Not a chunker key either: changing it re-embeds, but the chunks stay as they are. derived
    # halves the build and was as good or better on XQuAD (Recall@1 +0.003 to +0.008) and on the
    # seed set with the reader off (BENCHMARKS.md, sentence vectors), but the best sentence it
    # picks placed the reader's window worse in passages longer than one (XQuAD test, vi:
    # answerable refused 4.3% -> 5.7%, F1 0.637 -> 0.606). Such passages are now placed by their
    # sentences embedded apart when first read (Searcher._reading_centre), which brings Vietnamese
    # back (4.3%, F1 0.633) but leaves English near misses refused 0.532 against 0.564, and the
    # first read of a long passage costs a pass of the model (p95 of a search 1.0 s against 0.7 s,
    # 2026-12-06). With the reader retrained (adapters on layers 8-15, 2026-12-07) the reader's
    # figures on XQuAD's test articles differ from `separate` by chance only (near misses refused
    # en 0.550 / 0.557, question by question 6 against 8 swaps, sign test p = 0.79; vi 4 against
    # 8, p = 0.39) and seed hit@1 rises (en 0.933 -> 1.000): the default since then.
    sentence_vectors: SentenceVectors = Field(
        "derived",
        description="derived: each sentence's vector comes from its passage's forward pass (one pass per passage); separate: every sentence is embedded again on its own (twice the time).",
    )


class SearchSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    top_k: int = Field(3, ge=1, le=50, description="Results shown per question.")
    # Fifty candidates from each retriever is far more than fusion ever promotes from (the best
    # fused result came from within the top 10 of one retriever in every measured question).
    candidates: int = Field(50, ge=1, le=1000, description="Passages each retriever proposes before fusion.")
    # Measured on the eval set (0, 0.1, 0.2, 0.3): 0.3 gave the best Vietnamese hit@1 with no
    # loss in English, because the weight is scaled by the share of question words found in the articles.
    lexical_weight: float = Field(0.30, ge=0.0, le=1.0, description="How much BM25 can add to the dense score (scaled by how many question words occur in the articles).")
    # Half passage, half best sentence: sentence-only helped English dates/names but hurt
    # Vietnamese paraphrases; the mix was best or tied in every group.
    sentence_weight: float = Field(0.5, ge=0.0, le=1.0, description="Share of a passage's score taken from its best-matching sentence.")
    # Abstention compares the evidence (best relevance plus its lead over other articles, see
    # Searcher.evidence) with a threshold that depends on the question's language: a question in
    # the articles' language matches them far more closely than a translation does (on XQuAD the
    # median answerable evidence is ~0.2 higher for Vietnamese questions than for English ones).
    # Both were set on XQuAD, public data the seed eval set took no part in (bench/abstention.py):
    # each refuses 5% of answerable questions there, and 50% (English) / 62% (Vietnamese) of near
    # misses (the question's paragraph removed). A single threshold of 0.44 refused 36% of
    # answerable English questions on XQuAD. On the seed eval set: 10 of 16 unanswerable refused,
    # no answerable one (BENCHMARKS.md).
    abstain_below: float = Field(0.56, ge=-1.0, le=3.0, description="Questions in the articles' language are answered only when the evidence reaches this.")
    abstain_below_other_language: float = Field(0.35, ge=-1.0, le=3.0, description="The same for questions in another language (English questions about Vietnamese articles).")
    # The reader (embeddings/reader.py) decides instead of the evidence rule when it is on: a
    # question is answered only when some passage holds a span that beats "no answer" by this
    # margin. Set per language on XQuAD's calibration articles (training/qa_data.py), never on the
    # seed set: see BENCHMARKS.md, reader (bench/reader.py).
    reader: bool = Field(True, description="Read the best passages to state the answer and decide whether the articles answer at all; false: the evidence rule alone decides.")
    # Two windows. The best window is read first and the next one only when it holds no answer to
    # state. Each window read is one more chance to find a plausible span where the articles do
    # not answer: replayed over the same XQuAD run (bench/reader.py's dump, test articles, the
    # configured margins), a second window read and not a third refuses 0.596 / 0.773 / 0.699 of
    # near misses (en / vi / vi-noaccent) against 0.550 / 0.741 / 0.667 with three, at answerable
    # refused 0.028 / 0.032 / 0.046 against 0.025 / 0.032 / 0.043, hit@1 with the reader unchanged;
    # at equal shares of answerable refused on the test articles it refuses more near misses at 2%,
    # 3% and 4% in every form (at 5% all but English: 0.688 against 0.699), and on the calibration
    # articles the two are level within a question or two. One window alone loses the reader's
    # reranking (seed vi-noaccent hit@1 0.92, below the 0.95 wanted) and refused 3 of 85 seed
    # questions. Seed eval set with two: 14 of 16 unanswerable refused (13 with three), 1 of 85
    # answerable (en-001, whose answer is in the third passage; 0 with three). BENCHMARKS.md,
    # reader history (2026-12-07, evening).
    reader_passages: int = Field(2, ge=1, le=10, description="Best passages whose windows the reader reads per question (the next ones only when the best holds no answer).")
    # Calibration (bench/reader.py, XQuAD calibration articles): the margin refusing 2% of
    # answerable questions is -7.5 for Vietnamese and -9.1 for English ones (a translated question
    # leaves the reader less sure of any span), with the reader as its exported graph in
    # onnxruntime, float32, reading 192-token windows. On the held-out test articles these refuse
    # 3.5-4.3% of answerable questions and 56% (en) to 66% (vi) of near misses (BENCHMARKS.md, reader).
    reader_min_margin: float = Field(-7.5, ge=-50.0, le=50.0, description="Reader margin over 'no answer' needed to answer a question in the articles' language.")
    reader_min_margin_other_language: float = Field(-9.1, ge=-50.0, le=50.0, description="The same for questions in another language.")
    max_question_chars: int = Field(1000, ge=10, le=20000, description="Longer questions are cut to this length before searching.")

    def reader_margin(self, articles_language: bool) -> float:
        """The reader's refusal margin for a question in the articles' language (Vietnamese, with or without diacritics) or not.

        Searcher.reader_threshold decides the language from the question; the benches know it from
        the XQuAD question form.
        """
        return self.reader_min_margin if articles_language else self.reader_min_margin_other_language
