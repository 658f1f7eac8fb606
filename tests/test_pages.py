"""Saved news pages: every body paragraph kept, no menu, counter or related headline left to be cited."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.formatting import citation
from retrieval.articles import load_folder
from retrieval.pages import decode, page_article
from retrieval.search import ArticleRef, Result

PAGES = Path(__file__).resolve().parent / "pages"
EXPECTED = json.loads((PAGES / "expected.json").read_text(encoding="utf-8"))


def _page(entry: dict) -> object:
    return page_article(decode((PAGES / entry["file"]).read_bytes()), article_id=entry["file"], source_file=entry["file"])


def test_there_are_at_least_ten_realistic_pages() -> None:
    assert len(EXPECTED) >= 10
    assert all(len(e["chrome"]) >= 5 and e["paragraphs"] for e in EXPECTED)


@pytest.mark.parametrize("entry", EXPECTED, ids=[e["file"] for e in EXPECTED])
def test_every_body_paragraph_is_kept_and_no_chrome_line_is(entry: dict) -> None:
    article = _page(entry)
    kept = [p.text for p in article.paragraphs]  # type: ignore[attr-defined]
    missing = [p for p in entry["paragraphs"] if p not in kept]
    assert not missing, f"body paragraphs lost: {missing}"
    chrome = [c for c in entry["chrome"] for p in kept if c in p]
    assert not chrome, f"chrome kept in the article: {chrome}"


@pytest.mark.parametrize("entry", EXPECTED, ids=[e["file"] for e in EXPECTED])
def test_title_date_and_url_come_from_the_page(entry: dict) -> None:
    article = _page(entry)
    assert article.title == entry["title"]  # type: ignore[attr-defined]
    assert article.date_iso == entry["date"]  # type: ignore[attr-defined]
    assert article.url == entry["url"]  # type: ignore[attr-defined]


def test_saved_pages_in_the_articles_folder_are_indexed_like_text_files(tmp_path: Path) -> None:
    """windows-1258 declared in <meta>, UTF-8 with a BOM, and UTF-8 declared nowhere all read correctly."""
    for entry in EXPECTED:
        shutil.copy(PAGES / entry["file"], tmp_path / entry["file"])
    articles = {a.source_file: a for a in load_folder(tmp_path)}
    assert set(articles) == {e["file"] for e in EXPECTED}
    for entry in EXPECTED:
        assert entry["paragraphs"][0] in articles[entry["file"]].text


def test_a_cp1258_page_decodes_to_the_same_text_as_utf8() -> None:
    entry = next(e for e in EXPECTED if e["file"].startswith("03"))
    raw = (PAGES / entry["file"]).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")  # the fixture really is windows-1258
    assert entry["paragraphs"][0] in _page(entry).text  # type: ignore[attr-defined]


def _result(url: str | None) -> Result:
    ref = ArticleRef("a", "Long An & Jeju", "2024-05-02", "2024-05-02-long-an.md", url)
    return Result(1, 0.9, "Văn bản.", "Văn bản.", ref, 1, (1, 1), 0, 8)


def test_citations_link_to_the_article_and_name_its_site() -> None:
    line = citation(_result("https://www.baolongan.vn/long-an-jeju-a1.html?x=1&y=2"), "vi")
    assert '<a href="https://www.baolongan.vn/long-an-jeju-a1.html?x=1&amp;y=2"><i>Long An &amp; Jeju</i></a>' in line
    assert "baolongan.vn, đoạn 1" in line
    assert "2024-05-02-long-an.md" in citation(_result(None), "vi")


def test_a_url_that_is_not_a_web_address_is_not_made_a_link() -> None:
    line = citation(_result("javascript:alert(1)"), "en")
    assert "<a " not in line and "javascript" not in line
