"""Articles cut into passages that are small enough to be precise and whole enough to be read.

A passage is one or more consecutive paragraphs of one article, packed up to a token budget;
only a paragraph longer than the hard cap is cut, at sentence boundaries, and only a single
sentence longer than the cap is cut between words. Every passage knows its article, its
paragraph span and its character offsets, so an answer can be cited and shown in context.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Callable, Iterator

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .articles import Article

TokenCounter = Callable[[str], int]

# Every upper-case letter of the Latin blocks Vietnamese uses. A range such as `À-Ỹ` would not
# do: it also spans the lower-case letters between them (đ, ư, ợ...), which would split
# "... ông Út. được ..." mid-sentence.
_UPPER = "".join(ch for ch in map(chr, range(0x41, 0x1F00)) if ch.isupper())
# Sentence ends: . ! ? … followed by space and something that can open a sentence. "TP.HCM",
# "1.100" and "9.251,6" have no space after the dot, so they are not split.
_SENTENCE_BREAK = re.compile(rf"(?<=[.!?…])[\"”’)»]?\s+(?=[\"“‘(«*\-–]?[{re.escape(_UPPER)}0-9])")


class ChunkerSettings(BaseModel):
    """The `[index]` chunking keys; part of the index manifest, since changing them changes every passage."""

    model_config = ConfigDict(extra="forbid")

    # One paragraph per passage, captions glued to a neighbour: on the eval set 120 beat 200 on
    # English hit@1 (0.83 vs 0.73 before merging neighbours) at equal Vietnamese scores; search
    # merges neighbouring passages back together when both match.
    target_tokens: int = Field(120, ge=16, le=2048, description="Paragraphs are packed into a passage up to this many tokens.")
    # Hard cap, checked by a test: EmbeddingGemma reads 2048 tokens, but recall on long passages
    # drops because one vector must summarise several facts.
    max_tokens: int = Field(320, ge=16, le=2048, description="No passage is ever longer than this many tokens.")

    @model_validator(mode="after")
    def _target_within_cap(self) -> "ChunkerSettings":
        if self.target_tokens > self.max_tokens:
            raise ValueError("index.target_tokens must not exceed index.max_tokens")
        return self


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    id: str  # "<article id>#<n>"
    article_id: str
    title: str  # carried into the document prompt when embedded
    paragraph_start: int
    paragraph_end: int
    start: int  # offsets into Article.text
    end: int
    text: str
    sentences: tuple[Span, ...]  # offsets into `text`
    tokens: int

    @property
    def content_hash(self) -> str:
        return content_key(self.title, self.text)

    def sentence_texts(self) -> list[str]:
        return [self.text[s.start : s.end] for s in self.sentences]


def content_key(title: str, text: str) -> str:
    """What a vector depends on: the text and the title in its prompt. Unchanged texts reuse their vectors."""
    return hashlib.sha256(f"{title}\x00{text}".encode()).hexdigest()


def split_sentences(text: str) -> list[Span]:
    spans: list[Span] = []
    start = 0
    for match in _SENTENCE_BREAK.finditer(text):
        end = match.start() + len(match.group(0).rstrip())
        if text[start:end].strip():
            spans.append(Span(start, end))
        start = match.end()
    if text[start:].strip():
        spans.append(Span(start, len(text.rstrip())))
    return spans


def chunk_article(article: Article, settings: ChunkerSettings, count_tokens: TokenCounter) -> list[Chunk]:
    pieces = list(_pieces(article, settings.max_tokens, count_tokens))
    chunks: list[Chunk] = []
    group: list[tuple[int, int, int, int]] = []  # (paragraph number, start, end, tokens)
    for piece in pieces:
        if group:
            candidate = article.text[group[0][1] : piece[2]]
            if count_tokens(candidate) <= settings.target_tokens:
                group.append(piece)
                continue
            chunks.append(_make_chunk(article, group, len(chunks), count_tokens))
        group = [piece]
    if group:
        chunks.append(_make_chunk(article, group, len(chunks), count_tokens))
    return chunks


def _pieces(article: Article, max_tokens: int, count_tokens: TokenCounter) -> Iterator[tuple[int, int, int, int]]:
    """Paragraphs, or parts of a paragraph where it is over the cap: (paragraph, start, end, tokens)."""
    text = article.text
    for paragraph in article.paragraphs:
        tokens = count_tokens(paragraph.text)
        if tokens <= max_tokens:
            yield paragraph.number, paragraph.start, paragraph.end, tokens
            continue
        start = None
        end = paragraph.start
        for span in split_sentences(paragraph.text):
            s, e = paragraph.start + span.start, paragraph.start + span.end
            if start is not None and count_tokens(text[start:e]) <= max_tokens:
                end = e
                continue
            if start is not None:
                yield paragraph.number, start, end, count_tokens(text[start:end])
            if count_tokens(text[s:e]) <= max_tokens:
                start, end = s, e
                continue
            for ws, we in _word_windows(text, s, e, max_tokens, count_tokens):
                yield paragraph.number, ws, we, count_tokens(text[ws:we])
            start = None
        if start is not None:
            yield paragraph.number, start, end, count_tokens(text[start:end])


def _word_windows(text: str, start: int, end: int, max_tokens: int, count_tokens: TokenCounter) -> Iterator[tuple[int, int]]:
    """A sentence over the cap (a list, a table flattened to one line) cut between words."""
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[start:end])]
    i = 0
    while i < len(words):
        j = i + 1
        while j < len(words) and count_tokens(text[start + words[i][0] : start + words[j][1]]) <= max_tokens:
            j += 1
        ws, we = start + words[i][0], start + words[j - 1][1]
        if count_tokens(text[ws:we]) > max_tokens:  # one "word" over the cap: cut it by characters
            we = ws + max(1, (we - ws) * max_tokens // count_tokens(text[ws:we]))
            while we > ws + 1 and count_tokens(text[ws:we]) > max_tokens:
                we -= 1
            yield ws, we
            words[i] = (we - start, words[i][1])
            continue
        yield ws, we
        i = j


def _make_chunk(article: Article, group: list[tuple[int, int, int, int]], n: int, count_tokens: TokenCounter) -> Chunk:
    start, end = group[0][1], group[-1][2]
    text = article.text[start:end]
    sentences: list[Span] = []
    for _, s, e, _ in group:
        for span in split_sentences(article.text[s:e]):
            sentences.append(Span(s - start + span.start, s - start + span.end))
    return Chunk(
        id=f"{article.id}#{n}",
        article_id=article.id,
        title=article.title,
        paragraph_start=group[0][0],
        paragraph_end=group[-1][0],
        start=start,
        end=end,
        text=text,
        sentences=tuple(sentences),
        tokens=count_tokens(text),
    )
