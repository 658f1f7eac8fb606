"""A question in, cited passages out, or an honest "the articles do not say".

Dense retrieval with the model's query prompt does the cross-lingual work (an English question
against Vietnamese passages); BM25 adds exact-word evidence where the question's words are
actually in the articles (Vietnamese, with or without diacritics, and names). Each passage's
score also looks at its best single sentence, which both sharpens ranking for one-line facts
and gives the sentence to highlight.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any, Protocol

import numpy as np

from embeddings.encoder import Encoder

from .accents import AccentRestorer
from .answer_type import AnswerType, can_answer, expected
from .chunking import Chunk, content_key
from .folding import folded_tokens, normalize
from .lexical import STOPWORDS, LexicalIndex
from .names import NameIndex
from .placements import PlacementStore
from .settings import SearchSettings
from .store import StoredIndex
from .windows import WINDOW_TOKENS, WINDOWS_PER_PASSAGE, windows

# Two results whose folded word sets overlap this much say the same thing (captions repeated
# under photos, a lead restated at the end); the lower one is dropped.
NEAR_DUPLICATE_JACCARD = 0.8
# A passage next to a better one joins it when it scores within this much of it: passages of
# 120 tokens often split one account (who came, then what they agreed), and on the eval set
# merging within 0.05 raised hit@1 by 3-7 points per language; wider margins gained nothing.
MERGE_WITHIN = 0.05
# Added to a passage that holds the kind of answer the question asks for (a date for "when", a
# number for "how many"). Measured on the eval set with 0.01-0.05: see BENCHMARKS.md. Small on
# purpose: it reorders passages of one topic that score within a few hundredths of each other,
# never lifts an off-topic passage past an on-topic one.
ANSWER_TYPE_BONUS = 0.03
# Weight of the best passage's lead over the best passage of another article, next to its
# relevance, in the evidence abstention judges. A logistic fit on XQuAD (paragraph present vs
# removed, bench/abstention.py) weighs it 1.6-1.7 times the relevance; 1.0 refuses as many near
# misses there (within a point) and keeps the evidence on the scale of a score.
MARGIN_WEIGHT = 1.0
# At most three passages (~360 tokens) in one result, so it still reads on a phone screen.
MERGE_MAX_PASSAGES = 3
# Query vectors kept for repeated questions: the bot searches the same question again for "More
# results", and people re-ask popular questions. Encoding is ~90% of a search's time (BENCHMARKS.md);
# 1,024 vectors of 768 floats are 3 MB.
QUERY_CACHE_SIZE = 1024
# How much a passage in which the reader finds an answer gains in ranking, at most: a reader
# margin m adds READER_BONUS * tanh(m / READER_MARGIN_SCALE). Passages where it finds nothing
# lose nothing. Measured on XQuAD's calibration articles (bench/reader.py, BENCHMARKS.md, reader),
# the reader trained on 192-token windows: hit@1 0.945 with 0, 0.950 with 0.05, 0.952 with 0.1,
# 0.959 with 0.2 and with 0.4; the smaller of the best. On the test articles hit@1 rose from
# 0.950 / 0.961 / 0.954 (en / vi / vi-noaccent) to 0.965 / 0.968 / 0.957; on the seed set it is
# unchanged. (The reader trained on 128-token windows gained nothing from any bonus: it was 0.)
# The reader with adapters on layers 8-15 (2026-12-07): 0.945 / 0.952 / 0.954 / 0.952 / 0.950 for
# 0 / 0.05 / 0.1 / 0.2 / 0.4; 0.1 is ahead of 0.2 on only 62% of resampled calibration sets, so
# 0.2 stays (test articles 0.961 / 0.972 / 0.954 with it).
READER_BONUS = 0.2
READER_MARGIN_SCALE = 4.0
# An answer is stated only when its span beats "no answer" outright (confidence >= 0.5, the
# reader's own decision boundary). Between the refusal margin and 0 the articles answer, by the
# reader's calibrated judgement, but its span is a guess: on XQuAD's calibration articles spans
# with margins in [-2, 0) score F1 0.26 against 0.60 for those stated (BENCHMARKS.md, reader), so
# the passages are shown without an answer line. Checked again for the reader with adapters on
# layers 8-15 (2026-12-07, calibration articles, from bench/reader.py's dump): 30 answerable
# questions in [-2, 0) with span F1 0.36 (0.73 for the 328 stated), and 18 near misses that would
# gain a stated answer; 0 stays.
ANSWER_MIN_MARGIN = 0.0
# The refusal threshold judges the reader's margin plus this times the similarity rule's evidence
# (Searcher.evidence). The two see different things: the reader reads one window, the evidence
# sees how far the best passage stands out of the whole corpus; on XQuAD the evidence alone
# refuses about as many near misses as the reader (BENCHMARKS.md, abstention and reader).
# Measured 2026-12-05 (bench/reader.py, BENCHMARKS.md, reader): on XQuAD's calibration articles
# a weight of 24 refuses the most near misses at 4% answerable refused (0.68 against 0.43), and
# on the test articles it lifts Vietnamese near misses refused from 0.66 to 0.85, but there it
# refuses 6-9% of answerable Vietnamese questions, and on the seed articles 4 of 24 new
# answerable questions (1 with 0) and 2 of 85 seed ones (1 with 0): the evidence's scale does
# not carry from XQuAD's corpus to ours. So 0: the reader alone decides.
READER_EVIDENCE_WEIGHT = 0.0
# Passages whose sentences were embedded apart at read time, kept for the next question that
# reads them (an index built with derived sentence vectors; Searcher._reading_centre). A
# passage's sentences are ~8 vectors of 3 KB: 4,096 passages hold ~100 MB at most. Embedding a
# long passage's 3-4 sentences took 470-980 ms on a slow day (2026-12-06, BENCHMARKS.md, sentence
# vectors), so a passage is embedded once and not again while it is among the last 4,096 read.
PLACEMENT_CACHE_SIZE = 4096


def _recall(cache: OrderedDict[Any, Any], key: Any) -> Any:
    """A cached value, marked as just used; None when absent. The caller holds the lock."""
    value = cache.get(key)
    if value is not None:
        cache.move_to_end(key)
    return value


def _keep(cache: OrderedDict[Any, Any], key: Any, value: Any, most: int) -> None:
    """Cache a value, dropping the least recently used beyond `most`. The caller holds the lock."""
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > most:
        cache.popitem(last=False)


def reader_decision(margin: float, evidence: float, weight: float | None = None) -> float:
    """What the refusal threshold judges: the reader's margin, raised where the articles stand out.

    `weight` defaults to READER_EVIDENCE_WEIGHT; bench/reader.py passes the weights it measures.
    """
    return margin + (READER_EVIDENCE_WEIGHT if weight is None else weight) * max(evidence, 0.0)


def settling_margin(threshold: float, evidence: float = 0.0, weight: float | None = None) -> float:
    """The margin at which one window settles a question: it is answered whatever later windows hold, so they are not read.

    Searcher._read_many reads by it, and bench/reader.py and bench/windows_read.py replay that
    reading by it. Below the refusal threshold nothing is answered; below ANSWER_MIN_MARGIN no
    answer is stated, so a later window could still state one.
    """
    return max(ANSWER_MIN_MARGIN, threshold - reader_decision(0.0, evidence, weight))


def reader_gain(margin: float, bonus: float | None = None) -> float:
    """How far a passage read with this margin moves up in ranking (nothing where the reader finds no answer).

    `bonus` defaults to READER_BONUS; bench/reader.py passes the bonuses it measures.
    """
    return (READER_BONUS if bonus is None else bonus) * math.tanh(max(margin, 0.0) / READER_MARGIN_SCALE)


class Reading(Protocol):
    """What a reader reports for one passage (embeddings.reader.Reading)."""

    start: int
    end: int
    text: str
    margin: float


class PassageReader(Protocol):
    """Reads question and passage pairs together; one Reading per pair, in order."""

    def read(self, questions: Sequence[str], passages: Sequence[str]) -> Sequence[Reading]: ...


class BadQuestion(ValueError):
    """A question that cannot be searched; the message says what to type instead."""


@dataclass(frozen=True)
class ArticleRef:
    id: str
    title: str
    date: str | None
    source_file: str
    url: str | None = None


@dataclass(frozen=True)
class Result:
    rank: int
    score: float
    text: str
    highlight: str
    article: ArticleRef
    paragraph: int  # the paragraph holding the highlighted sentence
    paragraphs: tuple[int, int]  # first and last paragraph of the passage
    highlight_start: int  # offsets of `highlight` within `text`
    highlight_end: int
    text_start: int = 0  # offset of `text` within the article

    def to_json(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "score": round(self.score, 4),
            "text": self.text,
            "highlight": self.highlight,
            "article": {
                "id": self.article.id,
                "title": self.article.title,
                "date": self.article.date,
                "source_file": self.article.source_file,
                "url": self.article.url,
            },
            "paragraph": self.paragraph,
        }


@dataclass(frozen=True)
class AnswerSpan:
    """The answer the reader points at, and which result (rank) it comes from."""

    text: str
    score: float  # the reader's confidence in [0, 1]: the logistic of its margin over "no answer"
    result: int | None  # rank of the result holding it; None if that passage is not among those shown

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "score": round(self.score, 4), "result": self.result}


@dataclass(frozen=True)
class Answer:
    question: str
    abstained: bool
    results: list[Result] = field(default_factory=list)
    evidence: float = 0.0  # what the similarity rule judged: Searcher.evidence
    answer: AnswerSpan | None = None
    # Refused although the articles are on the question's topic (the similarity rule would have
    # answered): the fact is not there. People are offered the closest passages anyway.
    topic_present: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "abstained": self.abstained,
            "answer": self.answer.to_json() if self.answer else None,
            "results": [r.to_json() for r in self.results],
        }


@dataclass(frozen=True)
class Read:
    """A candidate passage as the reader saw it: the window read and what was found in it."""

    position: int
    margin: float
    start: int  # the span, as offsets in the chunk's text
    end: int
    text: str


@dataclass(frozen=True)
class Scored:
    """One candidate passage and the parts of its score, kept apart so fusion can be measured."""

    position: int
    dense: float
    sentence: float
    best_sentence: int  # index into the chunk's sentences
    lexical: float  # BM25 as a share of a full match, in [0, 1]
    relevance: float  # dense, sentence and lexical fused: what abstention judges
    fused: float  # relevance plus the answer-type bonus: what ranking uses


class Searcher:
    def __init__(self, index: StoredIndex, encoder: Encoder, settings: SearchSettings, reader: PassageReader | None = None) -> None:
        self.index = index
        self.encoder = encoder
        self.settings = settings
        self.reader = reader if settings.reader else None
        self._reads: OrderedDict[str, list[Read]] = OrderedDict()
        self._chunks = index.chunks
        self._lexical = LexicalIndex([f"{c.title}\n{c.text}" for c in self._chunks])
        self._accents = AccentRestorer(a.title + "\n" + a.text for a in index.articles.values())
        self._names = NameIndex((a.id, a.title + "\n" + a.text) for a in index.articles.values())
        self._query_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._query_lock = threading.Lock()
        self._sentence_rows: list[np.ndarray] = []
        # Sentence vectors pooled from the passage's pass (`derived`) rank passages as well as
        # sentences embedded apart, but pick a worse window for the reader in passages longer than
        # one (BENCHMARKS.md, sentence vectors): there the window is placed by sentences embedded
        # apart, at read time, for the few passages a question reads.
        self._place_apart = index.manifest.sentence_vectors == "derived"
        self._placement: OrderedDict[int, np.ndarray] = OrderedDict()
        # ... and kept on disk beside the index, so a restart (or the next `seedqa ask`) does not embed them again.
        self._placements_kept = PlacementStore(index.index_dir, index.manifest.model_fingerprint) if self._place_apart else None
        start = 0
        for chunk in self._chunks:
            self._sentence_rows.append(np.arange(start, start + len(chunk.sentences)))
            start += len(chunk.sentences)

    def with_index(self, index: StoredIndex) -> "Searcher":
        """This searcher's model, reader and settings over another index (a running bot's refresh).

        The query vectors cached so far stay valid (they depend only on the model) and are shared;
        what was read in passages is not, as the passages differ.
        """
        other = Searcher(index, self.encoder, self.settings, self.reader)
        with self._query_lock:
            other._query_vectors, other._query_lock = self._query_vectors, self._query_lock
        if other._placements_kept is not None and self._placements_kept is not None and (index.index_dir, index.manifest.model_fingerprint) == (self.index.index_dir, self.index.manifest.model_fingerprint):
            other._placements_kept = self._placements_kept  # keyed by sentence and title: valid in any index of the folder
        return other

    def search(self, question: str, k: int | None = None, *, abstain: bool = True) -> Answer:
        text = self._clean(question)
        k = k or self.settings.top_k
        scored = self.score(text)
        evidence = self.evidence(scored)
        on_topic = evidence >= self.abstain_threshold(text)
        if not scored:
            return Answer(question=text, abstained=True, evidence=evidence)
        if self.reader is None:
            if abstain and not on_topic:
                return Answer(question=text, abstained=True, evidence=evidence)
            return Answer(question=text, abstained=False, results=self._shape(scored, k), evidence=evidence)
        reads = self.read(self.reader_question(text), scored, evidence)
        best = max(reads, key=lambda r: r.margin, default=None)  # none when no candidate's article names what is asked
        answered = best is not None and reader_decision(best.margin, evidence) >= self.reader_threshold(text)
        if abstain and not answered:
            return Answer(question=text, abstained=True, evidence=evidence, topic_present=on_topic)
        stated = best if best is not None and answered and best.margin >= ANSWER_MIN_MARGIN else None
        results = self._shape(self._rerank(scored, reads, stated), k)
        span = self._answer_span(stated, results) if stated else None
        return Answer(question=text, abstained=False, results=results, evidence=evidence, answer=span)

    def reader_question(self, question: str) -> str:
        """What the reader reads: the question with its diacritics restored, as the dense search gets it.

        Trained on diacritic-stripped copies too, the reader still finds the span far less often
        in "ai gap tinh truong jeju" than in the restored "ai gặp tỉnh trưởng jeju" (held-out
        XQuAD windows: F1 0.47 typed without diacritics, 0.69 with them; BENCHMARKS.md, reader).
        """
        return self._accents.restore(question)

    def reader_threshold(self, question: str) -> float:
        """The reader's margin needed to answer, set per question language on held-out XQuAD articles."""
        return self.settings.reader_margin(self.is_vietnamese(question))

    def read(self, question: str, scored: list[Scored], evidence: float) -> list[Read]:
        """The reader's findings in the best candidates' windows (cached per question for "More results").

        `evidence` is `self.evidence(scored)`, which the caller has already computed to decide.
        """
        with self._query_lock:
            if (cached := _recall(self._reads, question)) is not None:
                return cached
        return self._read_many([(question, scored, evidence)])[0]

    def readable(self, scored: list[Scored], question: str) -> list[Scored]:
        """The candidates the reader reads: the best `reader_passages` from articles that mention every name asked.

        A passage from an article without the name cannot answer (retrieval/names.py), so the
        next candidate is read in its place. `question` is what the reader reads.
        """
        asked = self._names.asked(question) if self.is_vietnamese(question) else frozenset()
        kept = (c for c in scored if self._names.mentions(self._chunks[c.position].article_id, asked)) if asked else iter(scored)
        return list(islice(kept, self.settings.reader_passages))

    def reading_windows(self, scored: list[Scored], question: str) -> list[tuple[int, int, int]]:
        """(position, window start, window end) for the first `reader_passages` candidates given, best candidate first.

        Up to WINDOWS_PER_PASSAGE windows per candidate (one as configured), its best sentence's
        first. `question` is what the reader reads (`reader_question`). Which candidates are read
        is `readable`'s choice; this only places windows, so training/mining.py can place them in
        any candidate.
        """
        out = []
        for cand in scored[: self.settings.reader_passages]:
            chunk = self._chunks[cand.position]
            centre = self._reading_centre(cand, question)
            for lo, hi in windows(chunk.text, chunk.sentences, centre, self.encoder.count_tokens, most=WINDOWS_PER_PASSAGE):
                out.append((cand.position, lo, hi))
        return out

    def _reading_centre(self, cand: Scored, question: str) -> int:
        """The sentence the reader's window is centred on: the best sentence, by sentences embedded apart.

        In an index with derived sentence vectors, a passage longer than one window has its
        sentences embedded apart now (once, then kept in memory and beside the index:
        retrieval/placements.py), which places the window as an index built with `separate`
        would, without the build embedding every sentence twice.
        """
        chunk = self._chunks[cand.position]
        if not self._place_apart or len(chunk.sentences) < 2 or self.encoder.count_tokens(chunk.text) <= WINDOW_TOKENS:
            return cand.best_sentence
        with self._query_lock:
            vectors = _recall(self._placement, cand.position)
        if vectors is None:
            keys = [content_key(chunk.title, sentence) for sentence in chunk.sentence_texts()]
            vectors = self._placements_kept.get(keys) if self._placements_kept is not None else None
            if vectors is None:
                vectors = self.encoder.encode_documents(chunk.sentence_texts(), [chunk.title] * len(chunk.sentences))
                if self._placements_kept is not None:
                    self._placements_kept.put(keys, vectors)
            with self._query_lock:
                _keep(self._placement, cand.position, vectors, PLACEMENT_CACHE_SIZE)
        return int(np.argmax(vectors @ self._query_vector(question)))

    def _read_many(self, items: list[tuple[str, list[Scored], float]]) -> list[list[Read]]:
        """Read the best window of every question in one pass, then the others' next windows in a second.

        A question whose best window already holds an answer the reader would state is settled:
        no window read later could refuse it, so reading on would only cost time (a window is
        about 260 ms on a 2-core AVX2-only AMD EPYC in onnxruntime, about half that on a 2-core
        Intel Xeon, about 100 ms on a 2-core Zen 5 EPYC; BENCHMARKS.md, reader). The bot batches waiting questions, so both passes are shared.
        """
        assert self.reader is not None
        # The margin at which a question is answered whatever the later windows hold.
        settled = [settling_margin(self.reader_threshold(question), evidence) for question, _, evidence in items]
        # The best candidate's windows first; the others' are planned only for questions it does not
        # settle (placing a window can cost a pass of the model: _reading_centre).
        readable = [(question, self.readable(scored, question)) for question, scored, _ in items]
        plans = [(question, self.reading_windows(kept[:1], question), kept) for question, kept in readable]
        first = self._read_windows([(question, windows[:1]) for question, windows, _ in plans])
        rest = [
            (question, windows[1:] + self.reading_windows(kept[1:], question)) if reads and reads[0].margin < settle else (question, [])
            for (question, windows, kept), reads, settle in zip(plans, first, settled)
        ]
        more = self._read_windows(rest) if any(windows for _, windows in rest) else [[] for _ in rest]
        out = [a + b for a, b in zip(first, more)]
        for (question, _, _), reads in zip(plans, out):
            with self._query_lock:
                _keep(self._reads, question, reads, QUERY_CACHE_SIZE)
        return out

    def _read_windows(self, plans: list[tuple[str, list[tuple[int, int, int]]]]) -> list[list[Read]]:
        """One reader pass over the given windows of several questions."""
        assert self.reader is not None
        questions = [q for q, windows in plans for _ in windows]
        passages = [self._chunks[pos].text[lo:hi] for _, windows in plans for pos, lo, hi in windows]
        readings = list(self.reader.read(questions, passages)) if passages else []
        out: list[list[Read]] = []
        at = 0
        for _, windows in plans:
            reads = []
            for pos, lo, _ in windows:
                r = readings[at]
                at += 1
                reads.append(Read(pos, float(r.margin), lo + r.start, lo + r.end, r.text))
            out.append(reads)
        return out

    def _rerank(self, scored: list[Scored], reads: list[Read], answer: Read | None) -> list[Scored]:
        """Passages where the reader finds an answer move up; the answer's sentence becomes the highlight."""
        gain: dict[int, float] = {}
        for r in reads:  # a passage may have been read in more than one window: its best counts
            gain[r.position] = max(gain.get(r.position, 0.0), reader_gain(r.margin))
        out = []
        for cand in scored:
            if cand.position in gain:
                cand = replace(cand, fused=cand.fused + gain[cand.position])
            if answer is not None and cand.position == answer.position:
                sentences = self._chunks[cand.position].sentences
                holding = next((i for i, s in enumerate(sentences) if s.start <= answer.start < s.end), cand.best_sentence)
                cand = replace(cand, best_sentence=holding)
            out.append(cand)
        out.sort(key=lambda s: -s.fused)
        return out

    def _answer_span(self, best: Read, results: list[Result]) -> AnswerSpan:
        chunk = self._chunks[best.position]
        where = chunk.start + best.start
        rank = next((r.rank for r in results if r.article.id == chunk.article_id and r.text_start <= where < r.text_start + len(r.text)), None)
        return AnswerSpan(text=best.text, score=1.0 / (1.0 + math.exp(-best.margin)), result=rank)

    def evidence(self, scored: list[Scored]) -> float:
        """How strongly the articles answer: the best passage's relevance plus its lead over other articles.

        The answer-type bonus orders passages of one topic; whether any passage is on topic at all
        is judged without it, or "when..." questions about anything would pass. The lead counts
        because a near miss usually finds several articles about equally relevant (the topic is
        there, the fact is not), while a real answer stands out in one article.
        """
        if not scored:
            return 0.0
        top = max(s.relevance for s in scored)
        return top + MARGIN_WEIGHT * self.lead(scored)

    def lead(self, scored: list[Scored]) -> float:
        """The best candidate's relevance minus the best relevance in any other article."""
        if not scored:
            return 0.0
        top = max(scored, key=lambda s: s.relevance)
        home = self._chunks[top.position].article_id
        runner_up = max((s.relevance for s in scored if self._chunks[s.position].article_id != home), default=0.0)
        return top.relevance - runner_up

    def abstain_threshold(self, question: str) -> float:
        """Questions in the articles' language score higher against them than translations do."""
        same = self.is_vietnamese(question)
        return self.settings.abstain_below if same else self.settings.abstain_below_other_language

    def is_vietnamese(self, question: str) -> bool:
        """Whether the question is Vietnamese (with or without diacritics), so a reply can match it."""
        return self._accents.is_vietnamese(normalize(question or ""))

    def score(self, question: str) -> list[Scored]:
        """Every candidate with its score parts, best first."""
        if not self._chunks:
            return []
        query = self._query_vector(self._accents.restore(question))
        n = min(self.settings.candidates, len(self._chunks))
        _, dense_ids = self.index.passages.search(query[None, :], n)
        lexical = self._lexical.scores(question)
        candidates = {int(i) for i in dense_ids[0] if i >= 0}
        if lexical.any():
            candidates.update(int(i) for i in np.argsort(-lexical)[:n] if lexical[i] > 0)
        weight = self.settings.lexical_weight * self._lexical.coverage(question)
        kind = expected(question)
        share = self.settings.sentence_weight
        out: list[Scored] = []
        for pos in candidates:
            dense = float(self.index.passages.reconstruct(pos) @ query)
            rows = self._sentence_rows[pos]
            sims = self.index.sentence_vectors[rows] @ query if len(rows) else np.array([dense])
            best_sentence = int(np.argmax(sims))
            sentence = float(sims[best_sentence])
            lex = float(lexical[pos])
            relevance = (1 - share) * dense + share * max(dense, sentence) + weight * lex
            bonus = ANSWER_TYPE_BONUS if kind is not AnswerType.OTHER and can_answer(kind, self._chunks[pos].text) else 0.0
            out.append(Scored(pos, dense, sentence, best_sentence, lex, relevance, relevance + bonus))
        out.sort(key=lambda s: -s.fused)
        return out

    def prepare(self, questions: Sequence[str]) -> None:
        """Encode, in one batch, the questions whose query vectors are not cached yet.

        A forward pass for one short question is bound by reading the model's weights, so
        encoding several questions together costs little more than one (BENCHMARKS.md, speed).
        The bot calls this with every question waiting when its search thread frees up; their
        searches then find their vectors in the cache. With a reader, their windows are then
        read in one pass too and the findings cached the same way. Questions that cannot be
        searched are skipped here and refused by `search`.
        """
        cleaned: list[str] = []
        for question in questions:
            try:
                cleaned.append(self._clean(question))
            except BadQuestion:
                continue
        texts = [self._accents.restore(q) for q in cleaned]
        with self._query_lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._query_vectors))
        if missing:
            vectors = self.encoder.encode_queries(missing)
            with self._query_lock:
                for text, vector in zip(missing, vectors):
                    _keep(self._query_vectors, text, vector, QUERY_CACHE_SIZE)
        if self.reader is not None:
            # `texts` are the questions with diacritics restored: what the reader reads (reader_question).
            with self._query_lock:
                unread = list(dict.fromkeys((q, t) for q, t in zip(cleaned, texts) if t not in self._reads))
            items = [(t, scored, self.evidence(scored)) for q, t in unread if (scored := self.score(q))]
            if items:
                self._read_many(items)

    def _query_vector(self, text: str) -> np.ndarray:
        with self._query_lock:
            if (cached := _recall(self._query_vectors, text)) is not None:
                return cached
        vector = self.encoder.encode_queries([text])[0]
        with self._query_lock:
            _keep(self._query_vectors, text, vector, QUERY_CACHE_SIZE)
        return vector

    def _clean(self, question: str) -> str:
        text = " ".join(normalize(question or "").split())
        if not any(ch.isalnum() for ch in text):
            raise BadQuestion("Type a question in words, for example: who met the Jeju governor?")
        return text[: self.settings.max_question_chars]

    def _shape(self, scored: list[Scored], k: int) -> list[Result]:
        """Top passages; a neighbour scoring almost as well joins its passage; near-duplicates dropped."""
        groups: list[list[Scored]] = []
        seen_words: list[set[str]] = []
        for cand in scored:
            if len(groups) >= k:
                break
            chunk = self._chunks[cand.position]
            home = next(
                (
                    g
                    for g in groups
                    if len(g) < MERGE_MAX_PASSAGES
                    and cand.fused >= g[0].fused - MERGE_WITHIN
                    and any(_adjacent(self._chunks[m.position], chunk) for m in g)
                ),
                None,
            )
            if home is not None:
                home.append(cand)
                continue
            words = set(folded_tokens(chunk.text)) - STOPWORDS
            if any(_jaccard(words, other) >= NEAR_DUPLICATE_JACCARD for other in seen_words):
                continue
            groups.append([cand])
            seen_words.append(words)
        return [self._result(rank, group) for rank, group in enumerate(groups, start=1)]

    def _result(self, rank: int, group: list[Scored]) -> Result:
        lead = group[0]
        chunks = sorted((self._chunks[g.position] for g in group), key=lambda c: c.start)
        article = self.index.articles[chunks[0].article_id]
        start, end = chunks[0].start, chunks[-1].end
        text = article.text[start:end]
        best_chunk = self._chunks[lead.position]
        span = best_chunk.sentences[lead.best_sentence] if best_chunk.sentences else None
        h_start = best_chunk.start - start + (span.start if span else 0)
        h_end = best_chunk.start - start + (span.end if span else len(best_chunk.text))
        absolute = start + h_start
        paragraph = next((p.number for p in article.paragraphs if p.start <= absolute <= p.end), best_chunk.paragraph_start)
        return Result(
            rank=rank,
            score=lead.fused,
            text=text,
            highlight=text[h_start:h_end],
            article=ArticleRef(article.id, article.title, article.date, article.source_file, article.url),
            paragraph=paragraph,
            paragraphs=(chunks[0].paragraph_start, chunks[-1].paragraph_end),
            highlight_start=h_start,
            highlight_end=h_end,
            text_start=start,
        )


def _adjacent(a: Chunk, b: Chunk) -> bool:
    """Consecutive passages of one article: only the space or paragraph break ("\n\n") between them."""
    if a.article_id != b.article_id:
        return False
    first, second = (a, b) if a.start < b.start else (b, a)
    return 0 <= second.start - first.end <= len("\n\n")


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0

