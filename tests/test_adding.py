"""`seedqa add`: pages and feeds from a news site on 127.0.0.1 into the articles folder, once each, bad input in one line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

import pytest

from news_server import PAGES, NewsServer
from retrieval.adding import Outcome, add, canonical_url
from retrieval.articles import load_folder
from retrieval.fetching import Fetcher
from seedqa.cli import main
from fakes import FakeModel, install_fake_model

EXPECTED = {e["file"]: e for e in json.loads((PAGES / "expected.json").read_text(encoding="utf-8"))}
FEED_PAGES = sorted(name for name in EXPECTED if name[:2] in {"06", "07", "08", "09", "10"})


@pytest.fixture(scope="module")
def site() -> Iterator[NewsServer]:
    with NewsServer(slow_seconds=3) as server:
        yield server


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(timeout=1.5, max_bytes=5_000_000) as f:
        yield f


def statuses(outcomes: list[Outcome]) -> list[str]:
    return [o.status for o in outcomes]


def test_a_page_becomes_a_readable_article_file_with_its_url_and_date(site: NewsServer, fetcher: Fetcher, tmp_path: Path) -> None:
    name = FEED_PAGES[0]
    [outcome] = add([site.url(name)], tmp_path, fetcher)
    assert outcome.status == "added" and outcome.file is not None
    written = outcome.file.read_text(encoding="utf-8")
    assert written.startswith("---\ntitle: ") and f"url: {EXPECTED[name]['url']}" in written
    assert outcome.file.name.startswith(EXPECTED[name]["date"])  # files sort by date in a listing
    [article] = load_folder(tmp_path)
    assert article.url == EXPECTED[name]["url"] and article.date_iso == EXPECTED[name]["date"]
    assert article.title == EXPECTED[name]["title"]
    assert [p.text for p in article.paragraphs] == EXPECTED[name]["paragraphs"]


def test_an_address_already_added_is_skipped_without_fetching_it_again(site: NewsServer, fetcher: Fetcher, tmp_path: Path) -> None:
    name = FEED_PAGES[1]
    assert statuses(add([site.url(name)], tmp_path, fetcher)) == ["added"]
    hits = site.hits[f"/{name}"]
    # A later run (a new process: only the folder remembers), with a tracking parameter and a fragment.
    with Fetcher() as later:
        again = add([site.url(name) + "?utm_source=zalo#binh-luan"], tmp_path, later)
    assert statuses(again) == ["skipped"] and "already added" in again[0].message
    assert site.hits[f"/{name}"] == hits
    assert len(list(tmp_path.glob("*.md"))) == 1


def test_a_feed_adds_each_article_once_and_a_second_feed_of_the_same_articles_adds_none(site: NewsServer, fetcher: Fetcher, tmp_path: Path) -> None:
    outcomes = add([site.url("feed.rss")], tmp_path, fetcher)
    assert statuses(outcomes) == ["added"] * len(FEED_PAGES)
    assert {a.url for a in load_folder(tmp_path)} == {EXPECTED[n]["url"] for n in FEED_PAGES}
    fetched = sum(site.hits[f"/{n}"] for n in FEED_PAGES)
    atom = add([site.url("feed.atom")], tmp_path, fetcher)
    assert statuses(atom) == ["skipped"] * len(FEED_PAGES)
    assert sum(site.hits[f"/{n}"] for n in FEED_PAGES) == fetched  # nothing fetched twice


def test_a_redirect_and_a_copy_under_another_address_are_recognised(site: NewsServer, fetcher: Fetcher, tmp_path: Path) -> None:
    name = FEED_PAGES[2]
    outcomes = add([site.url(f"moved/{name}"), site.url(name), site.url(f"copy/{name}")], tmp_path, fetcher)
    assert statuses(outcomes) == ["added", "skipped", "skipped"]
    assert "already in" in outcomes[2].message  # same text, another address
    assert len(load_folder(tmp_path)) == 1


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("slow.html", "did not answer within"),
        ("huge.html", "over the 5 MB limit"),
        ("photo.jpg", "image/jpeg, not a web page"),
        ("broken.rss", "not an RSS or Atom feed"),
        ("empty.html", "no article text"),
        ("missing.html", "HTTP 404"),
    ],
)
def test_bad_input_is_one_line_and_the_good_input_beside_it_still_goes_in(site: NewsServer, fetcher: Fetcher, tmp_path: Path, path: str, says: str) -> None:
    good = FEED_PAGES[3]
    outcomes = add([site.url(path), site.url(good)], tmp_path, fetcher)
    assert statuses(outcomes) == ["failed", "added"]
    assert says in outcomes[0].message and "\n" not in outcomes[0].message
    assert outcomes[0].message.startswith(site.url(path))
    assert [a.url for a in load_folder(tmp_path)] == [EXPECTED[good]["url"]]
    assert not list(tmp_path.glob(".*.tmp"))


def test_local_files_and_addresses_that_are_neither(tmp_path: Path, fetcher: Fetcher) -> None:
    folder = tmp_path / "articles"
    saved = PAGES / sorted(EXPECTED)[2]  # a saved page, in windows-1258
    outcomes = add([str(saved), str(tmp_path / "nope.html"), "ftp://example.org/a.html"], folder, fetcher)
    assert statuses(outcomes) == ["added", "failed", "failed"]
    assert "no such file" in outcomes[1].message and "not an http" in outcomes[2].message
    [article] = load_folder(folder)
    assert article.title == EXPECTED[saved.name]["title"]


def test_windows_1258_declared_only_in_the_http_header(site: NewsServer, fetcher: Fetcher, tmp_path: Path) -> None:
    [outcome] = add([site.url("cp1258.html")], tmp_path, fetcher)
    assert outcome.status == "added"
    [article] = load_folder(tmp_path)
    assert "Phòng Thương mại Busan về xuất khẩu thanh long và gạo" in article.text


def test_urls_compare_without_tracking_fragments_or_trailing_slashes() -> None:
    assert canonical_url("HTTPS://Bao.VN/tin/a-1.html/?utm_source=fb&id=3#x") == canonical_url("https://bao.vn/tin/a-1.html?id=3")
    assert canonical_url("https://bao.vn/a?id=3") != canonical_url("https://bao.vn/a?id=4")


def test_seedqa_add_writes_indexes_and_cites_the_url(site: NewsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name in list(os.environ):
        if name.startswith("SEEDQA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEEDQA_ARTICLES__FOLDER", str(tmp_path / "articles"))
    monkeypatch.setenv("SEEDQA_INDEX__FOLDER", str(tmp_path / "index"))
    model: FakeModel = install_fake_model(monkeypatch)
    assert main(["add", site.url("feed.rss"), site.url("photo.jpg")]) == 0  # one failure among additions: still a run that added
    printed = capsys.readouterr().out
    assert f"{len(FEED_PAGES)} added, 0 skipped, 1 failed" in printed and "Indexed" in printed
    name = FEED_PAGES[0]
    first_words = EXPECTED[name]["paragraphs"][0][:80]
    assert main(["ask", "--json", first_words]) == 0
    top = json.loads(capsys.readouterr().out)["results"][0]
    assert top["article"]["url"] == EXPECTED[name]["url"]
    assert main(["ask", first_words]) == 0
    assert EXPECTED[name]["url"] in capsys.readouterr().out.replace("\n", "")
    assert main(["add", site.url("photo.jpg")]) == 1  # nothing added, only a failure
    assert "image/jpeg" in capsys.readouterr().out
    assert model.loads >= 1
