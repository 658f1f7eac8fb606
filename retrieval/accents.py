"""Diacritics put back into a question typed without them, using the articles' own words.

The embedding model reads "ai gap tinh truong jeju" far worse than "ai gặp tỉnh trưởng jeju":
without marks, Vietnamese syllables are ambiguous (tinh: tính, tình, tỉnh, tinh...). The articles
say which reading is meant: each folded syllable becomes the accented form that the articles
use most in that context (a syllable pair seen in the articles beats a single syllable), so the
question is restored towards the vocabulary it can match. Common question words that news text
rarely contains ("bao nhiêu", "ở đâu") come from a short built-in list.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Iterable

from .folding import fold, has_diacritics, normalize

_WORD = re.compile(r"\w+|\W+", re.UNICODE)

# Question and function words of everyday Vietnamese, accented; articles seldom contain them.
_COMMON = """ai gì nào đâu sao bao nhiêu mấy khi nào ở đâu tại sao vì sao như thế nào thế nào là gì của
được và với cho những các một người năm ngày tháng gặp đến đi làm việc ký kết hợp tác đầu tư ông bà
tỉnh thành phố nước có không đã sẽ đang bởi do trong ngoài trên dưới về từ đâu nói cho biết muốn
mời thăm tên chức vụ lãnh đạo trưởng đoàn bí thư chủ tịch phó tổng lãnh sự quán nhật bản hàn quốc
việt nam dự án lao động doanh nghiệp khu công nghiệp công nghệ đào tạo giáo dục du lịch bao giờ lúc
mục đích lĩnh vực kết quả cam kết thống đốc thị trưởng hội đồng dẫn nhờ cách nấu phở bò giá vàng
hôm nay lương thực nâng mức phải giống chỗ hứa tổng cộng bàn mấy thứ mấy ai dẫn đoàn gồm những ai
thời tiết hà nội thủ đô nhiều nhất bao lâu tiền tỷ triệu đô la hơn khoảng nhận xét đánh giá""".split()
# A question is restored only when at least this share of its words are syllables the articles
# (or the built-in list) use: English questions carry no diacritics either, and restoring them
# turned "When did the Long An delegation..." into "When did thế Long An...". Vietnamese typed
# without marks scores 0.9-1.0 on the eval set, English 0.1-0.5 (names and "in", "an").
MIN_VIETNAMESE_SHARE = 0.7
# Built-in words count this many times, so they win over a rare article word of the same folding
# ("mấy" over "máy" from "bộ máy") unless the articles use the pair in context.
_COMMON_WEIGHT = 3


class AccentRestorer:
    def __init__(self, texts: Iterable[str]) -> None:
        self._unigrams: Counter[str] = Counter()
        self._bigrams: Counter[tuple[str, str]] = Counter()
        for text in list(texts) + [" ".join(_COMMON)] * _COMMON_WEIGHT:
            words = [w for w in re.findall(r"\w+", normalize(text).lower())]
            self._unigrams.update(words)
            self._bigrams.update(zip(words, words[1:]))
        self._forms: dict[str, list[str]] = {}
        for word in self._unigrams:
            self._forms.setdefault(fold(word), []).append(word)
        self._total = sum(self._unigrams.values()) or 1

    def is_vietnamese(self, text: str) -> bool:
        """Whether most words are Vietnamese syllables, typed with or without diacritics.

        A diacritic alone does not decide it: "What did Tô Lâm say?" is English with a name in it.
        """
        words = re.findall(r"\w+", normalize(text))
        known = sum(fold(w) in self._forms for w in words)
        return bool(words) and known / len(words) >= MIN_VIETNAMESE_SHARE

    def restore(self, question: str) -> str:
        """The question with diacritics restored, or unchanged when it already has some."""
        if has_diacritics(question):
            return question
        parts = _WORD.findall(question)
        words = [i for i, p in enumerate(parts) if p[0].isalnum() or p[0] == "_"]
        if not words or not self.is_vietnamese(question):
            return question  # not Vietnamese: nothing to restore
        choices = self._best_path([parts[i].lower() for i in words])
        for i, choice in zip(words, choices):
            original = parts[i]
            if choice == original.lower():
                continue  # nothing restored: keep the word as typed ("NFL" must not become "Nfl")
            parts[i] = choice.capitalize() if original[:1].isupper() else choice
        return "".join(parts)

    def _best_path(self, folded: list[str]) -> list[str]:
        """Viterbi over the accented forms of each syllable, scored by the articles' syllable pairs."""
        if not folded:
            return []
        lattice = [self._forms.get(w, [w]) for w in folded]
        scores = {form: self._unigram(form) for form in lattice[0]}
        back: list[dict[str, str]] = []
        for forms in lattice[1:]:
            step: dict[str, float] = {}
            pointers: dict[str, str] = {}
            for form in forms:
                prev, best = max(((p, s + self._transition(p, form)) for p, s in scores.items()), key=lambda x: x[1])
                step[form], pointers[form] = best, prev
            scores = step
            back.append(pointers)
        last = max(scores, key=lambda f: scores[f])
        path = [last]
        for pointers in reversed(back):
            path.append(pointers[path[-1]])
        return path[::-1]

    def _unigram(self, form: str) -> float:
        return math.log((self._unigrams.get(form, 0) + 0.1) / self._total)

    def _transition(self, prev: str, form: str) -> float:
        pair = self._bigrams.get((prev, form), 0)
        if pair:
            # A pair the articles contain outweighs any single-syllable preference.
            return math.log(pair / max(self._unigrams.get(prev, 1), 1)) + 5.0
        return self._unigram(form)
