"""`seedqa` as a user runs it: exit codes, one-line errors, JSON that scripts can rely on."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from fakes import SEEDS, FakeModel, install_fake_model
from seedqa.cli import main

TOKEN = "123456789:AAE-secret-token-value"
JEJU = "Ai đã gặp Tỉnh trưởng tỉnh Jeju?"


@pytest.fixture
def workspace(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh folder with settings pointing at the seeds and an index under tmp_path."""
    for name in list(os.environ):
        if name.startswith("SEEDQA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEEDQA_ARTICLES__FOLDER", str(SEEDS))
    monkeypatch.setenv("SEEDQA_INDEX__FOLDER", str(tmp_path / "index"))
    monkeypatch.setenv("SEEDQA_EMBEDDINGS__MODEL", "fake/hashed-bow")
    monkeypatch.setenv("SEEDQA_EMBEDDINGS__CACHE_DIR", str(tmp_path / "models"))
    return tmp_path


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> FakeModel:
    return install_fake_model(monkeypatch)


@pytest.fixture
def indexed(workspace: Path, model: FakeModel, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["index"]) == 0
    capsys.readouterr()
    return workspace / "index"


def flat(text: str) -> str:
    """Terminal output with line wrapping undone, for checking what a message says."""
    return " ".join(text.split())


def test_ask_without_index_says_to_build_it(workspace: Path, model: FakeModel, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "who met the Jeju governor?"]) == 1
    captured = capsys.readouterr()
    assert "`seedqa index`" in flat(captured.err)
    assert flat(captured.err).startswith("seedqa: No index at")
    assert "Traceback" not in captured.err + captured.out
    assert captured.out == ""
    assert model.loads == 0


def test_error_is_a_single_line_when_stderr_is_piped(workspace: Path, model: FakeModel, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # what rich assumes when stderr is redirected to a file
    # A path longer than any terminal is wide, so the outcome does not depend on where tests run.
    monkeypatch.setenv("SEEDQA_INDEX__FOLDER", str(workspace / ("nested-folder/" * 30) / "index"))
    assert main(["ask", "who met the Jeju governor?"]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_index_then_index_again_is_up_to_date(workspace: Path, model: FakeModel, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index"]) == 0
    first = flat(capsys.readouterr().out)
    assert "Indexed 5 articles" in first and "0 reused" in first
    assert model.loads == 1
    assert main(["index"]) == 0
    assert "up to date" in flat(capsys.readouterr().out)
    assert model.loads == 1  # nothing changed: the model is not loaded again


def test_ask_json_schema(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", JEJU]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert set(data) == {"question", "abstained", "answer", "results"}
    assert data["question"] == JEJU and data["abstained"] is False
    assert 1 <= len(data["results"]) <= 3
    for result in data["results"]:
        assert set(result) == {"rank", "score", "text", "highlight", "article", "paragraph"}
        assert set(result["article"]) == {"id", "title", "date", "source_file", "url"}
        assert result["highlight"] in result["text"]
    assert "Nguyễn Văn Út" in data["results"][0]["text"]
    assert data["results"][0]["article"]["source_file"] == "001_ba5425dd328a78c0.txt"
    assert captured.err == ""


def test_ask_k_sets_the_number_of_results(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--json", "-k", "5", JEJU]) == 0
    assert len(json.loads(capsys.readouterr().out)["results"]) == 5
    assert main(["ask", "-k", "0", JEJU]) == 1
    assert "-k must be between 1 and 50" in flat(capsys.readouterr().err)


def test_ask_plain_output_cites_the_source(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", JEJU]) == 0
    out = flat(capsys.readouterr().out)
    assert "Nguyễn Văn Út" in out
    assert "001_ba5425dd328a78c0.txt, paragraph" in out


def test_ask_off_topic_says_the_articles_do_not_answer(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "What is the capital of France?"]) == 0
    assert "do not answer" in flat(capsys.readouterr().out)
    assert main(["ask", "--json", "What is the capital of France?"]) == 0
    assert json.loads(capsys.readouterr().out) == {"question": "What is the capital of France?", "abstained": True, "answer": None, "results": []}


def test_ask_stdin_gives_one_json_object_per_line(indexed: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Batch use: a script pipes questions in and reads one JSON line back for each."""
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{JEJU}\n\n   \nWhat is the capital of France?\n🤔\nai da gap tinh truong tinh jeju\n"))
    assert main(["ask", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["question"] for r in records] == [JEJU, "What is the capital of France?", "🤔", "ai da gap tinh truong tinh jeju"]
    assert [r["abstained"] for r in records] == [False, True, True, False]
    assert "error" in records[2] and "error" not in records[0]
    assert "Nguyễn Văn Út" in records[3]["results"][0]["text"]


def test_ask_with_index_from_another_model_is_refused(indexed: Path, model: FakeModel, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEEDQA_EMBEDDINGS__MODEL", "fake/another-model")
    assert main(["ask", JEJU]) == 1
    captured = capsys.readouterr()
    assert "`seedqa index`" in flat(captured.err) and "fake/another-model" in flat(captured.err)
    assert "Traceback" not in captured.err and captured.out == ""


def test_ask_emoji_question_is_a_user_error(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "🤔🤔"]) == 1
    captured = capsys.readouterr()
    assert "Type a question in words" in flat(captured.err)
    assert "Traceback" not in captured.err


def test_ask_warns_when_articles_changed_since_indexing(indexed: Path, workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    changed = workspace / "articles"
    changed.mkdir()
    for path in SEEDS.glob("*.txt"):
        (changed / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (changed / "005_new.txt").write_text("Bài mới\n\nMột bài báo mới về hợp tác giữa Long An và Jeju.\n", encoding="utf-8")
    monkeypatch.setenv("SEEDQA_ARTICLES__FOLDER", str(changed))
    assert main(["ask", "--json", JEJU]) == 0
    captured = capsys.readouterr()
    assert "warning" in captured.err and "seedqa index" in flat(captured.err)
    assert json.loads(captured.out)["abstained"] is False


def test_config_prints_masked_token(workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEEDQA_BOT__TOKEN", TOKEN)
    monkeypatch.setenv("SEEDQA_SEARCH__TOP_K", "4")
    assert main(["config"]) == 0
    captured = capsys.readouterr()
    assert TOKEN not in captured.out + captured.err
    assert TOKEN.split(":")[1] not in captured.out
    assert "token" in captured.out and "(set)" in captured.out
    assert "top_k = 4" in captured.out


def test_bad_config_is_one_message_not_a_traceback(workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEEDQA_SEARCH__TOP_K", "0")
    assert main(["ask", JEJU]) == 1
    captured = capsys.readouterr()
    assert "search.top_k" in flat(captured.err)
    assert "Traceback" not in captured.err


def test_token_in_config_file_is_refused(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workspace / "config.toml").write_text(f'[bot]\ntoken = "{TOKEN}"\n', encoding="utf-8")
    assert main(["config"]) == 1
    captured = capsys.readouterr()
    assert "SEEDQA_BOT__TOKEN" in flat(captured.err)
    assert TOKEN not in captured.out + captured.err


def test_bot_builds_a_missing_index_before_serving(workspace: Path, model: FakeModel, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """With only a token set, `seedqa bot` on a fresh checkout indexes the articles and starts."""
    import bot.app

    served: list[object] = []
    monkeypatch.setattr(bot.app, "run_bot", lambda settings, searcher, **following: served.append(searcher))
    monkeypatch.setenv("SEEDQA_BOT__TOKEN", "123456789:" + "A" * 35)
    assert main(["bot"]) == 0
    assert len(served) == 1 and (workspace / "index").is_dir()
    assert "building it" in flat(capsys.readouterr().err)


def test_bot_refresh_without_feeds_is_refused_before_loading_anything(workspace: Path, model: FakeModel, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEEDQA_BOT__TOKEN", "123456789:" + "A" * 35)
    monkeypatch.setenv("SEEDQA_BOT__REFRESH_MINUTES", "30")
    assert main(["bot"]) == 1
    assert "articles.feeds, which is empty" in flat(capsys.readouterr().err)
    assert model.loads == 0


def test_bot_with_feeds_follows_its_index_and_refreshes_with_seedqa_add(workspace: Path, model: FakeModel, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.app

    following: list[dict[str, object]] = []
    monkeypatch.setattr(bot.app, "run_bot", lambda settings, searcher, **kw: following.append(kw))
    monkeypatch.setenv("SEEDQA_BOT__TOKEN", "123456789:" + "A" * 35)
    monkeypatch.setenv("SEEDQA_BOT__REFRESH_MINUTES", "30")
    monkeypatch.setenv("SEEDQA_ARTICLES__FEEDS", '["https://example.vn/rss/thoi-su.rss"]')
    assert main(["bot"]) == 0
    [kw] = following
    assert kw["index_dir"] == workspace / "index"
    command = kw["refresh_command"]
    assert isinstance(command, list) and command[-1] == "add" and command[1:3] == ["-m", "seedqa"]
