"""Cleaning real saved news pages: what survives is the article, and only the article.

Site chrome left in the text becomes passages that get cited as if the article said them, so
every widget seen in the seeds is checked to be gone, while the article's own metadata
(title, date, byline) is picked up instead of lost.
"""

from __future__ import annotations

import logging
import unicodedata
from pathlib import Path

import pytest

from retrieval.articles import Article, load_file, load_folder, parse_article
from retrieval.folding import fold

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED_002 = next(SEEDS.glob("002_*.txt"))
SEED_003 = next(SEEDS.glob("003_*.txt"))

# Website furniture in seeds 002 and 003; none of it may reach a paragraph (compared folded).
CHROME_002 = [
    "Thống kê truy cập",
    "Đang truy cập",
    "Tổng lượt truy cập",
    "Tháng hiện tại",
    "Những tin mới hơn",
    "Những tin cũ hơn",
    "Việc làm Bình Phước",  # a link list after "Những tin mới hơn"
    "Công báo Chính phủ",
    "Portal_Ispeed",
    "sổ tay đảng viên",
    "Click để đánh giá bài viết",
    "Tổng số điểm của bài viết",
    "Bạn đã không sử dụng Site",
    "Thời gian chờ",
    "Nguồn tin:",
]
CHROME_003 = [
    "Other news",
    "Hoa Kỳ",  # headlines of unrelated stories listed after "Other news"
    "Tô Lâm",
    "Triều Tiên",
    "António Guterres",
]
SHARE_LETTERS = {"sct", "x", "+", "aa", "-", "top"}


@pytest.fixture(scope="module")
def seeds() -> dict[str, Article]:
    return {a.source_file[:3]: a for a in load_folder(SEEDS)}


def _folded_paragraphs(article: Article) -> list[str]:
    return [fold(p.text) for p in article.paragraphs]


def test_every_seed_loads(seeds: dict[str, Article]) -> None:
    """Five seed files, five articles: a cleaning rule that empties a real article would lose it."""
    assert sorted(seeds) == ["000", "001", "002", "003", "004"]
    assert all(len(a.paragraphs) >= 5 for a in seeds.values())


@pytest.mark.parametrize("seed, chrome", [("002", CHROME_002), ("003", CHROME_003)])
def test_site_chrome_is_absent_from_every_paragraph(seeds: dict[str, Article], seed: str, chrome: list[str]) -> None:
    paragraphs = _folded_paragraphs(seeds[seed])
    for phrase in chrome:
        hits = [p for p in paragraphs if fold(phrase) in p]
        assert not hits, f"{phrase!r} survived cleaning in seed {seed}: {hits[0][:80]!r}"


@pytest.mark.parametrize("seed", ["002", "003"])
def test_share_button_letters_are_not_paragraphs(seeds: dict[str, Article], seed: str) -> None:
    assert not [p.text for p in seeds[seed].paragraphs if fold(p.text).strip() in SHARE_LETTERS]


def test_seed_002_metadata(seeds: dict[str, Article]) -> None:
    """Title from the headline, date as written plus ISO, byline from the "Nguồn tin:" line."""
    article = seeds["002"]
    assert article.title == "Bình Phước thăm và làm việc với Chính quyền tỉnh Jeollanam, Hàn Quốc"
    assert article.date == "Thứ hai - 17/04/2023 15:13"
    assert article.date_iso == "2023-04-17"
    assert article.byline == "NGUYỄN THỊ HẰNG"
    # The headline is repeated under the date on the page; it must not become paragraph 1.
    assert article.paragraphs[0].text.startswith("Trong khuôn khổ chương trình làm việc tại Hàn Quốc")
    assert article.paragraphs[-1].text.startswith("Những hoạt động thiết thực trên")


def test_seed_003_metadata(seeds: dict[str, Article]) -> None:
    article = seeds["003"]
    assert article.title == "Long An đẩy mạnh hợp tác toàn diện với đối tác Nhật Bản"
    # The page's date line is taken as written (here it may be the day the page was saved).
    assert article.date is not None and article.date_iso is not None
    assert not any(p.text == article.date for p in article.paragraphs)
    assert article.byline == "Trường Giang"
    assert article.paragraphs[-1].text.startswith("Kết thúc các buổi làm việc")


def test_byline_and_dates_of_plain_seeds(seeds: dict[str, Article]) -> None:
    """A date without a year is kept as written but has no ISO form; a closing name is the byline."""
    assert seeds["001"].byline == "NGỌC PHÚC"
    assert seeds["001"].date == "24-4" and seeds["001"].date_iso is None
    assert seeds["004"].date_iso == "2023-09-26"
    assert seeds["004"].byline == "Ánh Hồng (Sở Kế hoạch và Đầu tư tỉnh Long An)"
    assert not any(p.text == seeds["001"].byline for p in seeds["001"].paragraphs)


def test_paragraph_numbers_and_offsets(seeds: dict[str, Article]) -> None:
    """Citations say "paragraph n": numbers must count 1..n and offsets must point at the text."""
    for article in seeds.values():
        assert [p.number for p in article.paragraphs] == list(range(1, len(article.paragraphs) + 1))
        for p in article.paragraphs:
            assert article.text[p.start : p.end] == p.text
            assert p.text == p.text.strip() and "\n" not in p.text


def test_nfd_file_reads_like_nfc(tmp_path: Path) -> None:
    """A file saved decomposed (macOS, some editors) must give the same text as the NFC original."""
    nfc = load_file(SEED_002)
    nfd_path = tmp_path / SEED_002.name
    nfd_path.write_text(unicodedata.normalize("NFD", SEED_002.read_text(encoding="utf-8")), encoding="utf-8")
    assert nfd_path.read_bytes() != SEED_002.read_bytes()
    nfd = load_file(nfd_path)
    assert nfd.title == nfc.title
    assert nfd.text == nfc.text
    assert nfd.byline == nfc.byline
    assert unicodedata.is_normalized("NFC", nfd.text)


def test_bad_files_are_skipped_with_a_warning_naming_them(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "good.txt").write_text(SEED_003.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("Tin tức: café à Hà Nội".encode("latin-1", errors="replace") + b"\xff\xfe\xfa")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "notes.json").write_text("{}", encoding="utf-8")  # not an article suffix: ignored silently
    with caplog.at_level(logging.WARNING, logger="retrieval.articles"):
        articles = load_folder(tmp_path)
    assert [a.source_file for a in articles] == ["good.txt"]
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("latin1.txt" in m and "UTF-8" in m for m in messages)
    assert any("empty.txt" in m for m in messages)
    assert not any("notes.json" in m for m in messages)


def test_prose_resembling_chrome_is_kept() -> None:
    """Only widget lines are dropped: a sentence that starts with "Hôm nay" or mentions visits stays."""
    raw = (
        "Tiêu đề thử nghiệm về lượt truy cập\n\n"
        "Hôm nay, đoàn công tác đã đến thăm tỉnh Jeju và làm việc với lãnh đạo tỉnh.\n\n"
        "Lượt truy cập cổng thông tin của tỉnh tăng mạnh trong năm 2023, theo báo cáo.\n"
    )
    article = parse_article(raw, article_id="t", source_file="t.txt")
    assert article.title == "Tiêu đề thử nghiệm về lượt truy cập"
    assert [p.text[:7] for p in article.paragraphs] == ["Hôm nay", "Lượt tr"]


def test_trailing_section_cuts_the_rest() -> None:
    """Everything after "Tin liên quan" is other stories, even lines that look like prose."""
    raw = (
        "Tiêu đề bài báo\n\n"
        "Đoạn văn đầu tiên của bài báo nói về hợp tác đầu tư.\n\n"
        "Tin liên quan\n\n"
        "Một bài khác hoàn toàn về giá vàng hôm nay tăng mạnh.\n"
    )
    article = parse_article(raw, article_id="t", source_file="t.txt")
    assert [p.text for p in article.paragraphs] == ["Đoạn văn đầu tiên của bài báo nói về hợp tác đầu tư."]
