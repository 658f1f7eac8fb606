"""SQuAD-format data (XQuAD, SQuAD 2.0) as reader examples, split by article so held-out figures are honest.

Shared by the training script and the benchmarks: both must agree on which articles are held
out, and the benchmarks must read the windows the reader was trained on.

The split is by article title, fixed by a hash (not by position in a file), and shared across
both data sets: all 16 SQuAD 2.0 dev articles are also XQuAD articles, so an article is held
out of both or of neither.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from retrieval.chunking import split_sentences
from retrieval.folding import fold, folded_tokens
from retrieval.windows import WINDOW_TOKENS, window

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
XQUAD_VI = SHARED / "xquad" / "xquad.vi.json"
XQUAD_EN = SHARED / "xquad" / "xquad.en.json"
SQUAD2 = SHARED / "squad2" / "dev-v2.0.json"
# XQuAD's questions in its ten other languages, by id (training/xquad_translations.py wrote it
# from google-deepmind/xquad; CC BY-SA 4.0, provenance in training/data/README.md).
XQUAD_TRANSLATIONS = Path(__file__).resolve().parent / "data" / "xquad-questions.json"

Split = Literal["train", "calibration", "test"]
# Of the 16 articles in both sets, 4 are held out (SQuAD 2.0's held-out figures come from them);
# of XQuAD's other 32, 8 more are held out and 6 are kept for calibrating thresholds. XQuAD's
# test part is then 12 articles (60 paragraphs, ~290 questions per language).
SHARED_TEST = 4
OTHER_TEST = 8
OTHER_CALIBRATION = 6

# The forms users ask in; XQuAD's other languages (a code of XQUAD_TRANSLATIONS, "de") are also
# forms, asked over the same Vietnamese paragraphs, for training only.
QuestionForm = str
USER_FORMS: tuple[QuestionForm, ...] = ("vi", "en", "vi-noaccent")


@dataclass(frozen=True)
class Paragraph:
    article: str
    index: int
    context: str


@dataclass(frozen=True)
class Question:
    id: str
    paragraph: Paragraph
    text: str
    form: str  # vi, en, vi-noaccent (XQuAD over Vietnamese passages) or squad2 (English over English)
    answers: tuple[tuple[int, str], ...]  # (char start, text); empty when the paragraph does not answer it
    near: int | None = None  # a swapped near miss: where the original question's answer was (its window is read)


@dataclass(frozen=True)
class Example:
    """One window the reader reads, with the answer's character span in it or None."""

    question: str
    passage: str
    answer: tuple[int, int] | None
    form: str
    kind: str  # answer, removed (answer sentence cut out), sibling (another paragraph), impossible (SQuAD 2.0)
    answer_texts: tuple[str, ...] = ()


def _rank(title: str) -> str:
    return hashlib.sha256(title.encode()).hexdigest()


def splits() -> dict[str, Split]:
    """Every XQuAD/SQuAD 2.0 article title and its part."""
    xquad = [a["title"] for a in json.loads(XQUAD_VI.read_text())["data"]]
    squad = {a["title"] for a in json.loads(SQUAD2.read_text())["data"]}
    shared = sorted((t for t in xquad if t in squad), key=_rank)
    other = sorted((t for t in xquad if t not in squad), key=_rank)
    out: dict[str, Split] = {}
    for i, title in enumerate(shared):
        out[title] = "test" if i < SHARED_TEST else "train"
    for i, title in enumerate(other):
        out[title] = "test" if i < OTHER_TEST else "calibration" if i < OTHER_TEST + OTHER_CALIBRATION else "train"
    return out


def _load(path: Path) -> list[tuple[Paragraph, list[dict]]]:
    out = []
    for article in json.loads(path.read_text())["data"]:
        for i, p in enumerate(article["paragraphs"]):
            out.append((Paragraph(article["title"], i, p["context"]), p["qas"]))
    return out


def xquad_questions(part: Split, forms: Iterable[QuestionForm] = USER_FORMS) -> list[Question]:
    """XQuAD questions of one part over the Vietnamese paragraphs, in each asked form.

    English questions come from the parallel English file (same ids), other languages' from
    XQUAD_TRANSLATIONS; the Vietnamese answer span serves every form, since the passage is the
    Vietnamese one.
    """
    forms = tuple(forms)
    parts = splits()
    # Questions by id, for every form not written from the Vietnamese question itself.
    asked = {"en": {qa["id"]: qa["question"] for _, qas in _load(XQUAD_EN) for qa in qas}}
    others = [f for f in forms if f not in USER_FORMS]
    if others:
        translations = json.loads(XQUAD_TRANSLATIONS.read_text(encoding="utf-8"))
        unknown = [f for f in others if f not in translations]
        if unknown:
            raise ValueError(f"No XQuAD questions in {', '.join(unknown)}; the languages are {', '.join(sorted(translations))}.")
        asked.update((f, translations[f]) for f in others)
    out: list[Question] = []
    for paragraph, qas in _load(XQUAD_VI):
        if parts[paragraph.article] != part:
            continue
        for qa in qas:
            answers = tuple((a["answer_start"], a["text"]) for a in qa["answers"])
            for form in forms:
                text = qa["question"] if form == "vi" else fold(qa["question"]) if form == "vi-noaccent" else asked[form][qa["id"]]
                out.append(Question(f"{qa['id']}-{form}", paragraph, text, form, answers))
    return out


def _squad_question(paragraph: Paragraph, qa: dict) -> Question:
    """An English question over its English paragraph; no answers when SQuAD 2.0 marks it unanswerable."""
    answers = () if qa.get("is_impossible") else tuple((a["answer_start"], a["text"]) for a in qa["answers"])
    return Question(qa["id"], paragraph, qa["question"], "squad2", answers)


def squad2_questions(part: Split) -> list[Question]:
    parts = splits()
    return [_squad_question(paragraph, qa) for paragraph, qas in _load(SQUAD2) if parts[paragraph.article] == part for qa in qas]


def more_squad_questions(path: Path, share: float, rng: random.Random) -> list[Question]:
    """English questions of another SQuAD-format file, for training only: a share of its answerable ones, all its unanswerable ones.

    Its articles must be none of XQuAD's or SQuAD 2.0 dev's, which are split into training and
    held-out parts here: a held-out article trained on would make the held-out figures lie.
    """
    parts = splits()
    loaded = _load(path)
    shared = sorted({p.article for p, _ in loaded if p.article in parts})
    if shared:
        raise ValueError(f"{path} holds articles of XQuAD or SQuAD 2.0 dev ({', '.join(shared[:3])}); give it only other articles.")
    questions = (_squad_question(paragraph, qa) for paragraph, qas in loaded for qa in qas)
    return [q for q in questions if not q.answers or rng.random() < share]


def xquad_paragraphs() -> list[Paragraph]:
    return [p for p, _ in _load(XQUAD_VI)]


def _overlap(question: str, sentence: str) -> int:
    return len(set(folded_tokens(question)) & set(folded_tokens(sentence)))


def _best_matching(question: str, text: str, spans: list) -> int:
    """The sentence sharing most words with the question: what retrieval would centre a window on."""
    return max(range(len(spans)), key=lambda i: (_overlap(question, text[spans[i].start : spans[i].end]), -i)) if spans else 0


def examples(questions: Iterable[Question], count_tokens: Callable[[str], int], rng: random.Random, *, negatives: bool = True, budget: int = WINDOW_TOKENS) -> list[Example]:
    """Windows for each question: the one with the answer, and near misses derived from the same article.

    - answer: the window around the answer's sentence (one time in four around a neighbour,
      as retrieval does not always centre on the answer sentence), when it holds the answer;
    - removed: the paragraph with every sentence holding an answer cut out, around where it was;
    - sibling: another paragraph of the same article, around its best-matching sentence;
    - impossible: SQuAD 2.0's unanswerable questions, around the best-matching sentence.
    """
    questions = list(questions)
    by_article: dict[str, list[Paragraph]] = {}
    for q in questions:
        group = by_article.setdefault(q.paragraph.article, [])
        if q.paragraph not in group:
            group.append(q.paragraph)
    out: list[Example] = []
    for q in questions:
        text = q.paragraph.context
        spans = split_sentences(text)
        texts = tuple(t for _, t in q.answers)
        if not q.answers:
            if q.near is not None:
                centre = next((i for i, s in enumerate(spans) if s.start <= q.near < s.end), 0)
                lo, hi = window(text, spans, centre, count_tokens, budget)
                out.append(Example(q.text, text[lo:hi], None, q.form, "swapped"))
                continue
            lo, hi = window(text, spans, _best_matching(q.text, text, spans), count_tokens, budget)
            out.append(Example(q.text, text[lo:hi], None, q.form, "impossible"))
            continue
        start, answer = q.answers[0]
        end = start + len(answer)
        home = next((i for i, s in enumerate(spans) if s.start <= start < s.end), 0)
        center = home if rng.random() < 0.75 else min(max(home + rng.choice((-1, 1)), 0), len(spans) - 1)
        lo, hi = window(text, spans, center, count_tokens, budget)
        if not (lo <= start and end <= hi):
            lo, hi = window(text, spans, home, count_tokens, budget)
        if lo <= start and end <= hi:
            out.append(Example(q.text, text[lo:hi], (start - lo, end - lo), q.form, "answer", texts))
        if not negatives:
            continue
        if rng.random() < 0.5:
            cut = [s for s in spans if not any(s.start <= a < s.end or t in text[s.start : s.end] for a, t in q.answers)]
            if cut:
                rest = " ".join(text[s.start : s.end] for s in cut)
                if not any(t in rest for t in texts):
                    rest_spans = split_sentences(rest)
                    lo, hi = window(rest, rest_spans, min(home, len(rest_spans) - 1), count_tokens, budget)
                    out.append(Example(q.text, rest[lo:hi], None, q.form, "removed", texts))
                    continue
        siblings = [p for p in by_article[q.paragraph.article] if p != q.paragraph and not any(t in p.context for t in texts)]
        if siblings:
            other = rng.choice(siblings).context
            other_spans = split_sentences(other)
            lo, hi = window(other, other_spans, _best_matching(q.text, other, other_spans), count_tokens, budget)
            out.append(Example(q.text, other[lo:hi], None, q.form, "sibling", texts))
    return out


# A name (capitalised words, not the question's first word) or a number the question anchors on.
_NUMBER = re.compile(r"\d(?:[\d.,]*\d)?")
_WORD = re.compile(r"[\w'-]+")


def anchors(question: str) -> list[str]:
    """Names and numbers in a question, in order: the slots a near miss can swap."""
    out: list[str] = []
    words = list(_WORD.finditer(question))
    i = 0
    while i < len(words):
        text = words[i].group()
        if _NUMBER.fullmatch(text):
            out.append(text)
            i += 1
            continue
        if i > 0 and text[0].isupper():
            j = i
            while j + 1 < len(words) and words[j + 1].group()[0].isupper() and question[words[j].end() : words[j + 1].start()] == " ":
                j += 1
            out.append(question[words[i].start() : words[j].end()])
            i = j + 1
            continue
        i += 1
    return out


# Offices a question can ask about, as (English words, Vietnamese words) for each. Several of the
# reader's confident wrong answers on the seed near misses name the holder of another office than
# the one asked ("phó thống đốc", the deputy governor, answered with the governor; "the mayor of
# Busan" with Seogwipo's): a question asking for an office its passage never names is a near miss.
# Training on them (train_reader.py --swap-roles) was measured and not adopted (BENCHMARKS.md).
ROLES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("governor",), ("thống đốc", "tỉnh trưởng")),
    (("mayor",), ("thị trưởng",)),
    (("president",), ("tổng thống",)),
    (("chairman", "chairwoman"), ("chủ tịch",)),
    (("director",), ("giám đốc",)),
    (("prime minister", "premier"), ("thủ tướng",)),
    (("minister",), ("bộ trưởng",)),
    (("ambassador",), ("đại sứ",)),
    (("consul",), ("lãnh sự",)),
    (("king",), ("nhà vua", "vua")),
    (("queen",), ("nữ hoàng",)),
    (("emperor",), ("hoàng đế",)),
    (("coach",), ("huấn luyện viên",)),
    (("founder",), ("người sáng lập",)),
    (("secretary",), ("bí thư",)),
    (("captain",), ("đội trưởng",)),
)
# Before an office, makes its deputy: "phó thống đốc", "deputy governor".
DEPUTY = {"en": "deputy ", "vi": "phó "}


def _mentions(text: str, words: Iterable[str]) -> bool:
    """Whether folded `text` holds any of the words, whole."""
    return any(re.search(rf"(?<!\w){re.escape(fold(w).lower())}(?!\w)", text) for w in words)


def _role_swap(question: str, language: str, context: str, passage_language: str, rng: random.Random) -> str | None:
    """The question asking for another office (or its deputy) than the one its passage names; None when it asks for none.

    `context` is the passage folded and lower-cased, in `passage_language` (vi, or en for SQuAD 2.0).
    """
    folded = fold(question).lower()
    asking, named = (0 if language == "en" else 1), (0 if passage_language == "en" else 1)  # which side of a ROLES pair
    for forms in ROLES:
        hit = next((m for w in forms[asking] if (m := re.search(rf"(?<!\w){re.escape(w)}(?!\w)", question, re.IGNORECASE))), None)
        if hit is None or not _mentions(context, forms[named]):
            continue
        before = folded[: hit.start()].split()[-1:]
        others = [f[asking][0] for f in ROLES if f is not forms and not _mentions(context, (*f[0], *f[1]))]
        if before != [fold(DEPUTY[language].strip())] and not _mentions(context, [DEPUTY[passage_language] + w for w in forms[named]] + ["vice " + w for w in forms[0]]):
            others.append(DEPUTY[language] + hit.group().lower())
        if not others:
            return None
        other = rng.choice(others)
        if hit.group()[0].isupper():
            other = other[0].upper() + other[1:]
        return question[: hit.start()] + other + question[hit.end() :]
    return None


def _other_number(number: str, rng: random.Random) -> str:
    digits = number.replace(",", "").replace(".", "")
    value = int(digits)
    if 1000 <= value <= 2100 and len(number) == 4:  # a year: another year close by
        return str(value + rng.choice((-1, 1)) * rng.randint(1, 12))
    return str(max(2, value + rng.choice((-1, 1)) * rng.randint(1, max(2, value // 2))))


def _slot_swap(q: Question, context: str, names: list[str], fallback: list[str], rng: random.Random) -> str | None:
    """The question with a name or number it shares with its passage replaced by one the passage never mentions; None when it shares none.

    `context` is the passage folded and lower-cased; `names` the pool of names in the question's language, `fallback` the English one.
    """
    present = [a for a in anchors(q.text) if fold(a).lower() in context and not any(fold(a).lower() in fold(t).lower() for _, t in q.answers)]
    if not present:
        return None
    slot = rng.choice(present)
    # A name of as many words (a person for a person, more often than not).
    alike = [n for n in names if n.count(" ") == slot.count(" ")] or fallback
    for _ in range(20):
        other = _other_number(slot, rng) if _NUMBER.fullmatch(slot) else rng.choice(alike)
        a, b = fold(other).lower(), fold(slot).lower()
        if a not in context and a not in b and b not in a:
            return q.text.replace(slot, other, 1)
    return None


def swapped(questions: Iterable[Question], rng: random.Random, share: float, *, roles: bool = False) -> list[Question]:
    """Near misses that keep the topic and swap the slot the question asks about.

    The reader's worst errors are confident answers to a question about another entity than
    the passage's (a count given for Japan, asked about Korea; the date of another visit):
    SQuAD 2.0 writes such questions by hand, in English over English text only. Here a name
    or number the question shares with its paragraph is replaced by one the paragraph never
    mentions (a name from another article's questions in the same language, a nearby year or
    another count), so the answer's own window no longer answers it. Questions without
    diacritics get their Vietnamese sibling's swap, folded, so all three forms learn it.

    With `roles`, a question asking for an office its passage names (ROLES) asks for another
    one, or for its deputy, instead, where the passage names neither.
    """
    questions = list(questions)
    pool: dict[str, list[str]] = {"en": [], "vi": []}
    for q in questions:
        language = "vi" if q.form == "vi" else "en" if q.form in ("en", "squad2") else None
        if language:
            pool[language] += [a for a in anchors(q.text) if not _NUMBER.fullmatch(a)]
    out: list[Question] = []
    vi_swaps: dict[str, str] = {}
    for q in sorted(questions, key=lambda q: q.form == "vi-noaccent"):  # Vietnamese before its folded sibling
        if not q.answers:
            continue
        base = q.id.rsplit("-", 1)[0] if q.form == "vi" else q.id.removesuffix("-vi-noaccent")
        if q.form == "vi-noaccent":
            if base in vi_swaps:
                out.append(Question(q.id + "-swap", q.paragraph, fold(vi_swaps[base]), q.form, (), q.answers[0][0]))
            continue
        context = fold(q.paragraph.context).lower()
        # Few questions ask for an office (22 of 762 Vietnamese training questions), so each one that can is swapped.
        text = _role_swap(q.text, "vi" if q.form == "vi" else "en", context, "en" if q.form == "squad2" else "vi", rng) if roles else None
        if text is None:
            if rng.random() >= share:
                continue
            text = _slot_swap(q, context, pool["vi" if q.form == "vi" else "en"], pool["en"], rng)
            if text is None:
                continue
        if q.form == "vi":
            vi_swaps[base] = text
        out.append(Question(q.id + "-swap", q.paragraph, text, q.form, (), q.answers[0][0]))
    return out
