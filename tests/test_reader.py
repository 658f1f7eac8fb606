"""The trained reader with the real model: it states the answer, refuses near misses, and guards its file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors import safe_open

from bot_harness import running_bot
from embeddings import reader as reader_module
from embeddings.onnx_reader import OnnxReader
from embeddings.reader import READER_FILE, READER_SHA256_FILE, ReaderConfig, Reader
from embeddings.settings import EmbeddingsSettings
from retrieval.engine import open_engine
from retrieval.search import Searcher
from retrieval.settings import ArticlesSettings, IndexSettings, SearchSettings
from retrieval.windows import WINDOW_TOKENS

pytestmark = pytest.mark.model

REPO = Path(__file__).resolve().parent.parent
JEJU = ["who met the Jeju governor?", "ai gặp tỉnh trưởng Jeju?", "ai gap tinh truong jeju"]
# The reader (adapters on layers 8-15) points at "Nguyễn Văn Út" for all three, with margins over
# "no answer" of +2.0 (en), +1.0 (vi) and +0.05 (vi-noaccent): all stated (search.ANSWER_MIN_MARGIN).
JEJU_ANSWERED = JEJU
# It points at "Shin Choong Il" here at -3.9: above the refusal margin (-9.1 for English), below
# its own boundary, so the question is answered with passages and no answer line. (The same
# question in Vietnamese is stated at +14.6.)
UNSURE = {"Who is South Korea's consul general in Ho Chi Minh City?": "Shin Choong Il"}
# The topic is in the articles, the fact is not; the similarity rule answered all three.
NEAR_MISSES = [
    "How much did Tazmo invest in the Long Hậu industrial park?",  # Tazmo's investment is there, no amount
    "How many visitors has the Bình Phước portal had?",  # the counter is site chrome, stripped
    "What is the population of Seogwipo?",  # only "the second-largest city of Jeju"
]


@pytest.fixture(scope="module")
def torch_searcher(real_index_dir: Path) -> Searcher:
    """The same index with the model and the reader on torch (embeddings.runtime = "torch")."""
    opened = open_engine(ArticlesSettings(folder=REPO / "seeds"), IndexSettings(folder=real_index_dir), SearchSettings(), EmbeddingsSettings(runtime="torch"))
    assert opened.warnings == [] and isinstance(opened.searcher.reader, Reader)
    return opened.searcher


def test_the_artifact_is_small_and_pinned() -> None:
    assert READER_FILE.stat().st_size <= 25 * 1024 * 1024
    assert READER_SHA256_FILE.read_text().split()[0] == reader_module.file_sha256(READER_FILE)


def test_the_shipped_reader_was_trained_on_the_windows_the_searcher_reads() -> None:
    """A reader read on longer windows than it learned on refused more answerable questions (BENCHMARKS.md, reader)."""
    with safe_open(str(READER_FILE), framework="numpy") as handle:
        meta = json.loads(handle.metadata()["seedqa_reader"])
    assert meta["window_tokens"] == WINDOW_TOKENS <= meta["config"]["max_passage_tokens"]


@pytest.mark.parametrize("question", JEJU_ANSWERED)
def test_the_jeju_answer_names_nguyen_van_ut(real_searcher: Searcher, question: str) -> None:
    answer = real_searcher.search(question)
    assert not answer.abstained and answer.answer is not None
    assert "Nguyễn Văn Út" in answer.answer.text
    assert "Nguyễn Văn Út" in answer.results[answer.answer.result - 1].text


@pytest.mark.parametrize(("question", "span"), UNSURE.items())
def test_an_unsure_reader_shows_the_passages_without_an_answer_line(real_searcher: Searcher, question: str, span: str) -> None:
    """The reader points at the answer but below its own boundary: answered, passages shown, no answer line."""
    answer = real_searcher.search(question)
    assert not answer.abstained and answer.answer is None
    assert any(span in r.text for r in answer.results[:3])


def test_ask_json_states_the_answer(real_index_dir: Path) -> None:
    env = os.environ | {"SEEDQA_INDEX__FOLDER": str(real_index_dir), "SEEDQA_ARTICLES__FOLDER": str(REPO / "seeds")}
    done = subprocess.run([sys.executable, "-m", "seedqa.cli", "ask", "--json", JEJU_ANSWERED[0]], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {"question", "abstained", "answer", "results"}
    assert set(data["answer"]) == {"text", "score", "result"} and "Nguyễn Văn Út" in data["answer"]["text"]
    assert 0.5 <= data["answer"]["score"] <= 1.0 and data["results"][data["answer"]["result"] - 1]["rank"] == data["answer"]["result"]


@pytest.mark.parametrize("question", NEAR_MISSES)
def test_near_misses_are_refused_as_on_topic(real_searcher: Searcher, question: str) -> None:
    answer = real_searcher.search(question)
    assert answer.abstained and answer.topic_present, f"answered {answer.answer} for a question the articles do not answer"


def test_the_bot_states_the_answer_and_offers_the_closest_passages_for_near_misses(real_searcher: Searcher, tmp_path: Path) -> None:
    with running_bot(real_searcher, tmp_path) as bot:
        for question, label in ((JEJU[0], "Answer"), (JEJU[2], "Trả lời")):  # the reply speaks the question's language
            first = bot.ask(question)["text"].split("\n")[0]
            assert first.startswith(f"💡 {label}: <b>Nguyễn Văn Út</b>") and first.endswith("[1]")
        for question in NEAR_MISSES:
            refused = bot.ask(question)
            assert "do not say" in refused["text"] or "không nêu" in refused["text"]
            assert refused["reply_markup"]["inline_keyboard"][0][0]["text"] in {"Show the closest passages ▸", "Xem các đoạn gần nhất ▸"}


def test_a_corrupted_reader_file_stops_with_one_line(real_index_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / READER_FILE.name
    shutil.copy(READER_FILE, broken)
    data = bytearray(broken.read_bytes())
    data[len(data) // 2] ^= 0xFF
    broken.write_bytes(bytes(data))
    env = os.environ | {"SEEDQA_INDEX__FOLDER": str(real_index_dir), "SEEDQA_ARTICLES__FOLDER": str(REPO / "seeds")}
    code = f"import sys; from embeddings import reading; reading.READER_FILE = __import__('pathlib').Path({str(broken)!r}); from seedqa.cli import main; sys.exit(main(['ask', 'who met the Jeju governor?']))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not match its sha256" in lines[0] and "Traceback" not in done.stderr


def test_the_exported_reader_reads_as_the_torch_reader(real_searcher: Searcher, torch_searcher: Searcher) -> None:
    """By default the reader runs as its exported graph; it finds the spans the torch reader finds, with the same margins."""
    exported, original = real_searcher.reader, torch_searcher.reader
    assert isinstance(exported, OnnxReader) and isinstance(original, Reader)
    questions = [*JEJU, *NEAR_MISSES]
    pairs = [(q, r.text) for q in questions for r in torch_searcher.search(q).results[:3]] or pytest.fail("no passages")
    was, original.bf16 = original.bf16, False  # the export was checked against float32; bf16 rounds differently
    try:
        expected = original.read([q for q, _ in pairs], [p for _, p in pairs])
    finally:
        original.bf16 = was
    got = exported.read([q for q, _ in pairs], [p for _, p in pairs])
    assert [(r.start, r.end) for r in got] == [(r.start, r.end) for r in expected]
    assert max(abs(a.margin - b.margin) for a, b in zip(got, expected)) <= 0.01


def test_a_start_with_the_reader_on_needs_no_torch(real_index_dir: Path) -> None:
    """Once the reader's graph is exported, a start that reads answers imports neither torch nor sentence-transformers."""
    code = (
        "import json, sys\n"
        "from seedqa.cli import main\n"
        f"code = main(['ask', '--json', {JEJU_ANSWERED[0]!r}])\n"
        "print(json.dumps(sorted(m for m in ('torch', 'sentence_transformers') if m in sys.modules)))\n"
        "sys.exit(code)\n"
    )
    env = os.environ | {"SEEDQA_INDEX__FOLDER": str(real_index_dir), "SEEDQA_ARTICLES__FOLDER": str(REPO / "seeds")}
    subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=True)  # may export
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    *answer, modules = done.stdout.strip().splitlines()
    assert json.loads(modules) == []
    assert "Nguyễn Văn Út" in json.loads("\n".join(answer))["answer"]["text"]


def test_an_untrained_adapter_leaves_embeddings_unchanged(torch_searcher: Searcher) -> None:
    """The torch reader shares the model; outside a read, query vectors must be exactly what they were."""
    encoder = torch_searcher.encoder
    before = encoder.encode_queries(["ai gặp tỉnh trưởng Jeju?"])
    model, tokenizer = encoder.transformer()  # type: ignore[attr-defined]
    extra = Reader.attach(model, tokenizer, ReaderConfig())
    try:
        with torch_no_grad():
            for parameter in extra.adapters.b.values():
                parameter.fill_(0.5)  # a strong adapter: it must still not touch embedding calls
        after = encoder.encode_queries(["ai gặp tỉnh trưởng Jeju?"])
    finally:
        extra.adapters.detach()
    assert (before == after).all()


def torch_no_grad():  # noqa: ANN201 - a context manager
    import torch

    return torch.no_grad()
