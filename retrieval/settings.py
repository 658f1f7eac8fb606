"""The `[articles]`, `[index]` and `[search]` sections."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from .chunking import ChunkerSettings


class ArticlesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    folder: Path = Field(Path("seeds"), description="Folder of *.txt / *.md articles to index.")


class IndexSettings(ChunkerSettings):
    folder: Path = Field(Path(".seedqa/index"), description="Where the index is written (relative to the working directory).")


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
    # Measured on the eval set with EmbeddingGemma (sweep 0.40-0.57, BENCHMARKS.md): 0.44 abstains
    # on 10 of 16 unanswerable questions and on no answerable one. The weakest answerable question
    # is the English "who met the Jeju governor?" at 0.457, so anything above 0.45 starts
    # refusing real English questions (3 of 30 at 0.49), since English-to-Vietnamese similarities
    # run lower than Vietnamese-to-Vietnamese ones.
    abstain_below: float = Field(0.44, ge=-1.0, le=1.0, description="Answer only when the best passage's fused score reaches this; otherwise say the articles do not answer.")
    max_question_chars: int = Field(1000, ge=10, le=20000, description="Longer questions are cut to this length before searching.")
