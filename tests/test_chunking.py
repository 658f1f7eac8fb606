"""Passages: never over the token cap, always traceable to the exact text they were cut from."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakes import count_pieces, count_words
from retrieval.articles import Article, load_folder, parse_article
from retrieval.chunking import Chunk, ChunkerSettings, TokenCounter, chunk_article, split_sentences

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SETTINGS = [
    ChunkerSettings(),  # the defaults users get
    ChunkerSettings(target_tokens=40, max_tokens=60),
    ChunkerSettings(target_tokens=16, max_tokens=16),  # the smallest allowed: forces sentence and word cuts
]
COUNTERS: dict[str, TokenCounter] = {"words": count_words, "pieces": count_pieces}


def _giant_article() -> Article:
    sentence = "Đoàn công tác tỉnh Long An làm việc với Tỉnh trưởng tỉnh Jeju về hợp tác đầu tư. "
    run_on = " ".join(["lao động", "nông nghiệp", "du lịch", "giáo dục"] * 150)  # one sentence, 600 words, no full stop
    giant_word = "x" * 3000  # a URL or a table flattened into one "word"
    raw = "\n\n".join(
        [
            "Bài báo thử nghiệm với đoạn văn rất dài",
            "Đoạn mở đầu ngắn của bài báo.",
            sentence * 80,
            run_on,
            f"Trước {giant_word} sau.",
            "Đoạn kết ngắn của bài báo.",
        ]
    )
    return parse_article(raw, article_id="giant", source_file="giant.txt")


def _articles() -> list[Article]:
    return load_folder(SEEDS) + [_giant_article()]


def _check_chunks(article: Article, chunks: list[Chunk], settings: ChunkerSettings, count: TokenCounter) -> None:
    assert chunks, f"{article.id} produced no passages"
    for n, chunk in enumerate(chunks):
        assert count(chunk.text) <= settings.max_tokens, f"{chunk.id} has {count(chunk.text)} tokens > {settings.max_tokens}"
        assert chunk.tokens == count(chunk.text)
        assert chunk.id == f"{article.id}#{n}"
        assert chunk.article_id == article.id and chunk.title == article.title
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip()
        # The paragraph span names the paragraphs the passage starts and ends in.
        first, last = article.paragraphs[chunk.paragraph_start - 1], article.paragraphs[chunk.paragraph_end - 1]
        assert first.start <= chunk.start <= first.end
        assert last.start <= chunk.end <= last.end
        previous_end = 0
        for span in chunk.sentences:
            assert previous_end <= span.start < span.end <= len(chunk.text)
            previous_end = span.end
        assert chunk.sentences, f"{chunk.id} has no sentence to highlight"


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: f"{s.target_tokens}-{s.max_tokens}")
@pytest.mark.parametrize("counter", sorted(COUNTERS))
def test_no_passage_exceeds_the_cap_and_offsets_are_exact(settings: ChunkerSettings, counter: str) -> None:
    count = COUNTERS[counter]
    for article in _articles():
        _check_chunks(article, chunk_article(article, settings, count), settings, count)


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: f"{s.target_tokens}-{s.max_tokens}")
def test_no_text_is_lost_or_repeated(settings: ChunkerSettings) -> None:
    """Passages in order cover the whole article: what is not in a passage can never be found."""
    for article in _articles():
        chunks = chunk_article(article, settings, count_pieces)
        position = 0
        for chunk in chunks:
            assert chunk.start >= position, f"{chunk.id} overlaps the passage before it"
            assert not article.text[position : chunk.start].strip(), f"text lost before {chunk.id}"
            position = chunk.end
        assert not article.text[position:].strip()


def test_giant_word_is_cut_by_characters() -> None:
    """A 3000-character "word" is 600 tokens by the subword counter: it must be split to fit 16."""
    article = _giant_article()
    chunks = chunk_article(article, ChunkerSettings(target_tokens=16, max_tokens=16), count_pieces)
    x_chunks = [c for c in chunks if "xxxxx" in c.text]
    assert len(x_chunks) >= 3000 // (16 * 5)
    assert sum(c.text.count("x") for c in x_chunks) == 3000


def test_short_paragraphs_are_packed_together() -> None:
    """Captions and one-line paragraphs join their neighbours up to the target, not one passage each."""
    article = load_folder(SEEDS)[2]  # 002, with several one-line photo captions
    chunks = chunk_article(article, ChunkerSettings(), count_words)
    assert len(chunks) < len(article.paragraphs)
    assert any(c.paragraph_end > c.paragraph_start for c in chunks)
    assert all(c.tokens <= ChunkerSettings().max_tokens for c in chunks)


def test_sentences_are_not_split_inside_numbers_or_abbreviations() -> None:
    text = "Long An có 34 KCN với 9.251,6 ha gần TP.HCM. Đã đưa hơn 1.100 lao động sang Nhật Bản."
    sentences = [text[s.start : s.end] for s in split_sentences(text)]
    assert sentences == ["Long An có 34 KCN với 9.251,6 ha gần TP.HCM.", "Đã đưa hơn 1.100 lao động sang Nhật Bản."]


def test_lower_case_accented_word_does_not_start_a_sentence() -> None:
    """"Út. được" is not a sentence break (đ and ư are lower-case); "Út. Được" and "Út. Ủy" are."""
    assert len(split_sentences("Ông gặp Chủ tịch Út. được biết hai bên ký kết.")) == 1
    assert len(split_sentences("Ông gặp Chủ tịch Út. ưu tiên hợp tác.")) == 1
    assert len(split_sentences("Ông gặp Chủ tịch Út. Được biết hai bên ký kết.")) == 2
    assert len(split_sentences("Ông gặp Chủ tịch Út. Ủy ban tỉnh ký kết.")) == 2


def test_target_above_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="target_tokens"):
        ChunkerSettings(target_tokens=400, max_tokens=320)
