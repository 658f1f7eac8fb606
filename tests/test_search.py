"""Searching the seed articles with a fake model: the right passage, cited, or an honest "no"."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from fakes import SEEDS, FakeEncoder, build
from retrieval import store
from retrieval.articles import Article, load_file, load_folder
from retrieval.chunking import ChunkerSettings
from retrieval.folding import fold, folded_tokens
from retrieval.lexical import STOPWORDS
from retrieval.search import MARGIN_WEIGHT, Scored, MERGE_MAX_PASSAGES, NEAR_DUPLICATE_JACCARD, Answer, BadQuestion, Searcher
from retrieval.settings import SearchSettings

JEJU_ACCENTED = "Ai đã gặp Tỉnh trưởng tỉnh Jeju?"
JEJU_PLAIN = "ai da gap tinh truong tinh jeju"
CHROME = ["Thống kê truy cập", "Đang truy cập", "Hôm nay184", "Tổng lượt truy cập", "Những tin mới hơn", "Click để đánh giá"]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("search") / "index"
    build(SEEDS, folder, FakeEncoder())
    return folder


@pytest.fixture(scope="module")
def searcher(index_dir: Path) -> Searcher:
    return Searcher(store.load(index_dir), FakeEncoder(), SearchSettings())


@pytest.fixture(scope="module")
def articles() -> dict[str, Article]:
    return {a.id: a for a in load_folder(SEEDS)}


@pytest.mark.parametrize("question", [JEJU_ACCENTED, JEJU_PLAIN, unicodedata.normalize("NFD", JEJU_ACCENTED)])
def test_jeju_question_finds_the_passage_first(searcher: Searcher, question: str) -> None:
    """Typed with diacritics, without them, or decomposed: the same passage comes first."""
    answer = searcher.search(question)
    assert not answer.abstained
    top = answer.results[0]
    assert top.rank == 1
    assert "Nguyễn Văn Út" in top.text
    assert top.article.source_file == "001_ba5425dd328a78c0.txt"
    assert "Tỉnh trưởng tỉnh Jeju" in top.highlight


def test_results_are_cited_and_consistent(searcher: Searcher, articles: dict[str, Article]) -> None:
    """Everything a citation shows must point at real text: title, date, file, paragraph."""
    answer = searcher.search(JEJU_ACCENTED, k=5, abstain=False)
    assert [r.rank for r in answer.results] == list(range(1, len(answer.results) + 1))
    assert len(answer.results) == 5
    scores = [r.score for r in answer.results]
    assert scores == sorted(scores, reverse=True)
    for r in answer.results:
        article = articles[r.article.id]
        assert (r.article.title, r.article.date, r.article.source_file) == (article.title, article.date, article.source_file)
        assert r.text in article.text
        assert r.highlight and r.highlight in r.text
        assert r.text[r.highlight_start : r.highlight_end] == r.highlight
        assert r.highlight in article.paragraphs[r.paragraph - 1].text  # "paragraph n" holds the highlight
        assert r.paragraphs[0] <= r.paragraph <= r.paragraphs[1]


def test_k_limits_the_results(searcher: Searcher) -> None:
    assert len(searcher.search(JEJU_ACCENTED, k=1).results) == 1
    assert len(searcher.search(JEJU_ACCENTED, k=2).results) == 2
    assert len(searcher.search(JEJU_ACCENTED).results) <= SearchSettings().top_k


def _words(text: str) -> set[str]:
    return set(folded_tokens(text)) - STOPWORDS


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b)


@pytest.mark.parametrize("question", [JEJU_ACCENTED, "Nguyễn Mạnh Cường chụp ảnh lưu niệm với KIM YUNG-ROK", "Hợp tác đầu tư Hàn Quốc"])
def test_no_two_results_say_the_same_thing(searcher: Searcher, question: str) -> None:
    results = searcher.search(question, k=10, abstain=False).results
    for i, a in enumerate(results):
        for b in results[i + 1 :]:
            assert _jaccard(_words(a.text), _words(b.text)) < NEAR_DUPLICATE_JACCARD, (a.text[:60], b.text[:60])


def test_repeated_caption_is_shown_once(tmp_path: Path) -> None:
    """A photo caption repeated further down the page must not fill two of three result slots."""
    filler = [
        "Hai tỉnh đã thảo luận nhiều nội dung về nông nghiệp công nghệ cao, trồng lúa chất lượng và xuất khẩu nông sản sang thị trường châu Âu.",
        "Về giáo dục, hai bên thống nhất trao đổi sinh viên, giáo viên tiếng Hàn và mở lớp đào tạo nghề cho thanh niên địa phương.",
        "Về du lịch, tỉnh giới thiệu các điểm đến sinh thái, rừng nguyên sinh và lễ hội văn hóa truyền thống diễn ra hằng năm.",
    ]
    caption = "Ông Nguyễn Mạnh Cường và ông KIM YUNG-ROK chụp ảnh lưu niệm cùng đoàn công tác hai tỉnh."
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text("\n\n".join(["Đoàn Bình Phước thăm Jeollanam", caption, *filler, caption.replace(" hai tỉnh", "")]), encoding="utf-8")
    build(folder, tmp_path / "index", FakeEncoder(), ChunkerSettings(target_tokens=16, max_tokens=40))
    small = Searcher(store.load(tmp_path / "index"), FakeEncoder(), SearchSettings())
    results = small.search("Nguyễn Mạnh Cường chụp ảnh lưu niệm với KIM YUNG-ROK", k=3, abstain=False).results
    assert "chụp ảnh lưu niệm" in results[0].text
    assert sum("chụp ảnh lưu niệm" in r.text for r in results) == 1
    assert len(results) == 3  # the duplicate's slot goes to another passage, not to nothing


@pytest.mark.parametrize("question", ["What is the capital of France?", "How do I bake sourdough bread at home?"])
def test_off_topic_question_abstains(searcher: Searcher, question: str) -> None:
    answer = searcher.search(question)
    assert answer.abstained
    assert answer.results == []
    assert answer.to_json()["results"] == []


def test_chrome_question_gets_no_chrome(searcher: Searcher) -> None:
    """The visit counter was on the page but is not news: no passage may quote it."""
    results = searcher.search("Thống kê truy cập hôm nay bao nhiêu", k=10, abstain=False).results
    assert results  # with abstention off there is always something; it must be article text
    for r in results:
        for phrase in CHROME:
            assert fold(phrase) not in fold(r.text)


def test_lexical_boost_is_bounded_by_question_words_found(index_dir: Path, searcher: Searcher) -> None:
    """English questions share only names with the articles; BM25 must not overrule the model there.

    The same passages are scored with BM25 on and off: for an English question the difference
    stays within lexical_weight × coverage, while for a Vietnamese one BM25 counts many times more.
    """
    dense_only = Searcher(store.load(index_dir), FakeEncoder(), SearchSettings(lexical_weight=0.0))
    weight = SearchSettings().lexical_weight
    lexical = searcher._lexical

    def boosts(question: str) -> list[float]:
        plain = {s.position: s.fused for s in dense_only.score(question)}
        return [s.fused - plain[s.position] for s in searcher.score(question) if s.position in plain]

    english = "Who did the Jeju governor meet?"
    coverage = lexical.coverage(english)
    assert 0 < coverage < 0.5
    english_boosts = boosts(english)
    assert max(english_boosts) > 0  # "Jeju" does match some passages...
    assert max(english_boosts) <= weight * coverage + 1e-6  # ...but can add at most a third of the weight
    assert lexical.coverage(JEJU_PLAIN) == 1.0
    assert max(boosts(JEJU_PLAIN)) > 5 * max(english_boosts)


@pytest.mark.parametrize("question", ["🤔🤔🤔", "   ", "?!…", "\u200b\u200b"])
def test_question_without_words_is_refused(searcher: Searcher, question: str) -> None:
    with pytest.raises(BadQuestion, match="question"):
        searcher.search(question)


def test_overlong_question_is_cut(searcher: Searcher) -> None:
    limit = SearchSettings().max_question_chars
    answer = searcher.search("Tỉnh trưởng tỉnh Jeju " * 500)
    assert len(answer.question) <= limit


def test_answer_json_schema(searcher: Searcher) -> None:
    answer: Answer = searcher.search(JEJU_ACCENTED, k=3)
    data = json.loads(json.dumps(answer.to_json(), ensure_ascii=False))
    assert set(data) == {"question", "abstained", "answer", "results"}
    assert data["question"] == JEJU_ACCENTED and data["abstained"] is False
    assert len(data["results"]) == 3
    for record in data["results"]:
        assert set(record) == {"rank", "score", "text", "highlight", "article", "paragraph"}
        assert set(record["article"]) == {"id", "title", "date", "source_file", "url"}
        assert isinstance(record["rank"], int) and isinstance(record["paragraph"], int)
        assert isinstance(record["score"], float)
        assert record["highlight"] in record["text"]


def test_merged_result_stays_small_and_is_not_repeated(tmp_path: Path) -> None:
    """A result is at most MERGE_MAX_PASSAGES passages, and no text is shown in two results."""
    key = "Tỉnh trưởng tỉnh Jeju đã tiếp đoàn do Chủ tịch Nguyễn Văn Út dẫn đầu."
    filler = [
        "Hội nghị bàn về nông nghiệp công nghệ cao và xuất khẩu gạo sang châu Âu năm nay.",
        "Các doanh nghiệp giới thiệu sản phẩm điện tử, phần mềm và thiết bị y tế mới nhất.",
        "Du khách quốc tế tăng mạnh nhờ các lễ hội văn hóa truyền thống được tổ chức hằng năm.",
        "Trường đại học mở thêm ngành đào tạo kỹ sư bán dẫn cho sinh viên địa phương.",
        "Giá cả thị trường ổn định, sức mua tăng trong dịp cuối năm theo báo cáo của sở.",
    ]
    long_paragraph = " ".join([key, *filler, key.replace("đã tiếp", "lại tiếp")])  # cut into one passage per sentence
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text(f"Bài thử nghiệm\n\nĐoạn đầu tiên ngắn gọn của bài.\n\n{long_paragraph}\n", encoding="utf-8")
    build(folder, tmp_path / "index", FakeEncoder(), ChunkerSettings(target_tokens=16, max_tokens=20))
    stored = store.load(tmp_path / "index")
    results = Searcher(stored, FakeEncoder(), SearchSettings()).search("Tỉnh trưởng tỉnh Jeju tiếp Nguyễn Văn Út", abstain=False).results
    assert "Nguyễn Văn Út" in results[0].text
    article = stored.articles["a"]
    spans = [(article.text.index(r.text), article.text.index(r.text) + len(r.text)) for r in results]
    for r, (start, end) in zip(results, spans):
        inside = [c for c in stored.chunks if start <= c.start and c.end <= end]
        assert len(inside) <= MERGE_MAX_PASSAGES, f"result {r.rank} spans {len(inside)} passages"
    for i, (a_start, a_end) in enumerate(spans):
        for b_start, b_end in spans[i + 1 :]:
            assert a_end <= b_start or b_end <= a_start, "the same text is shown in two results"


def test_same_name_with_txt_and_md_are_both_searchable(tmp_path: Path) -> None:
    """news.txt and news.md are two articles: each is found and cited with its own file and text."""
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "news.txt").write_text((SEEDS / "001_ba5425dd328a78c0.txt").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "news.md").write_text((SEEDS / "004_30aab13b458be4e6.txt").read_text(encoding="utf-8"), encoding="utf-8")
    build(folder, tmp_path / "index", FakeEncoder())
    searcher = Searcher(store.load(tmp_path / "index"), FakeEncoder(), SearchSettings())
    for question, expected, source in [
        (JEJU_ACCENTED, "Nguyễn Văn Út", "news.txt"),
        ("Ông Kyu-Sok Suh Viện trưởng Khu công nghệ Chungnam", "Kyu-Sok Suh", "news.md"),
    ]:
        results = searcher.search(question, k=5, abstain=False).results
        assert any(expected in r.text and r.article.source_file == source for r in results), (question, source)
        for r in results:
            assert r.text in load_file(folder / r.article.source_file).text


def test_a_repeated_question_is_not_encoded_again(index_dir: Path) -> None:
    """"More results" and re-asked questions reuse the query vector: encoding is most of a search's time."""
    encoder = FakeEncoder()
    searcher = Searcher(store.load(index_dir), encoder, SearchSettings())
    first = searcher.search("ai gap tinh truong jeju", k=3, abstain=False)
    again = searcher.search("ai gap tinh truong jeju", k=6, abstain=False)
    assert len(encoder.queries) == 1
    assert [r.text for r in again.results[:3]] == [r.text for r in first.results]
    searcher.search("Tazmo", abstain=False)
    assert len(encoder.queries) == 2


def test_questions_prepared_together_are_encoded_in_one_batch(index_dir: Path) -> None:
    """The bot hands over every waiting question at once: one forward pass, then each search finds its vector."""
    encoder = FakeEncoder()
    searcher = Searcher(store.load(index_dir), encoder, SearchSettings())
    questions = ["ai gap tinh truong jeju", "Tazmo", "who met the Jeju governor?", "Tazmo"]
    searcher.prepare([*questions, "???", ""])  # unsearchable ones are left for search() to refuse
    assert encoder.query_batches == [["ai gặp tỉnh trưởng jeju", "Tazmo", "who met the Jeju governor?"]]
    prepared = [searcher.search(q, k=3, abstain=False) for q in questions]
    assert len(encoder.query_batches) == 1
    fresh = Searcher(store.load(index_dir), FakeEncoder(), SearchSettings())
    assert [[r.text for r in a.results] for a in prepared] == [[r.text for r in fresh.search(q, k=3, abstain=False).results] for q in questions]
    searcher.prepare(questions)
    assert len(encoder.query_batches) == 1, "nothing left to encode"


def test_evidence_counts_the_lead_over_other_articles(searcher: Searcher) -> None:
    """A real answer stands out in one article; a near miss finds several articles about as relevant."""
    chunks = searcher.index.chunks
    a = 0
    b = next(i for i, c in enumerate(chunks) if c.article_id != chunks[a].article_id)
    same = next(i for i, c in enumerate(chunks) if i != a and c.article_id == chunks[a].article_id)

    def scored(position: int, relevance: float) -> Scored:
        return Scored(position, relevance, relevance, 0, 0.0, relevance, relevance)

    assert searcher.evidence([scored(a, 0.6), scored(b, 0.5)]) == pytest.approx(0.6 + MARGIN_WEIGHT * 0.1)
    assert searcher.evidence([scored(a, 0.6), scored(b, 0.6)]) == pytest.approx(0.6)
    assert searcher.evidence([scored(a, 0.6), scored(same, 0.59), scored(b, 0.4)]) == pytest.approx(0.6 + MARGIN_WEIGHT * 0.2)
    assert searcher.evidence([]) == 0.0


def test_abstention_threshold_follows_the_question_language(searcher: Searcher) -> None:
    settings = searcher.settings
    assert settings.abstain_below > settings.abstain_below_other_language
    for question in ("ai gap tinh truong jeju", "Ai đã gặp Tỉnh trưởng tỉnh Jeju?"):
        assert searcher.abstain_threshold(question) == settings.abstain_below
    for question in ("who met the Jeju governor?", "What did General Secretary Tô Lâm say?"):
        assert searcher.abstain_threshold(question) == settings.abstain_below_other_language


def test_eval_encodes_its_questions_in_batches_and_scores_as_one_at_a_time(index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`seedqa eval` runs the model once per block of questions, not once per question, with the same report."""
    from retrieval.evaluation import evaluate, read_questions

    questions = read_questions(Path(__file__).parent / "eval" / "questions.jsonl")
    batched_encoder = FakeEncoder()
    batched = evaluate(Searcher(store.load(index_dir), batched_encoder, SearchSettings()), questions)
    assert len(batched_encoder.query_batches) == 1 and len(batched_encoder.query_batches[0]) > 90
    single_encoder = FakeEncoder()
    single = Searcher(store.load(index_dir), single_encoder, SearchSettings())
    monkeypatch.setattr(single, "prepare", lambda questions: None)
    assert evaluate(single, questions).as_dict() == batched.as_dict()
    assert len(single_encoder.query_batches) > 90
