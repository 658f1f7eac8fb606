"""Questions asking "when" or "how many" prefer passages that hold a date or a number, in every language."""

from __future__ import annotations

import pytest

from retrieval.answer_type import AnswerType, can_answer, expected


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did the Long An delegation visit Chungnam Techno Park?", AnswerType.DATE),
        ("Đoàn Long An làm việc với khu công nghệ Chungnam ngày nào?", AnswerType.DATE),
        ("doan long an lam viec voi khu cong nghe chungnam ngay nao", AnswerType.DATE),
        ("Tổng Bí thư thăm Triều Tiên khi nào?", AnswerType.DATE),
        ("How many Japanese-invested projects does Long An have?", AnswerType.NUMBER),
        ("Long An có bao nhiêu dự án của Nhật?", AnswerType.NUMBER),
        ("von nhat dau tu vao long an tong cong bao nhieu", AnswerType.NUMBER),
        ("who met the Jeju governor?", AnswerType.OTHER),
        ("ai gap tinh truong jeju", AnswerType.OTHER),
    ],
)
def test_expected_answer_type(question: str, kind: AnswerType) -> None:
    assert expected(question) is kind


def test_dates_are_recognised_as_written_in_the_articles() -> None:
    for passage in ("chiều 10/01, đoàn công tác", "Ngày 26/9/2023, Đoàn", "ngày 23-4", "từ ngày 5 - 9/12/2023", "từ năm 2008"):
        assert can_answer(AnswerType.DATE, passage), passage
    assert not can_answer(AnswerType.DATE, "Ông Nguyễn Thanh Hải mời các thành viên CTP đến Long An")


def test_numbers_and_other_questions() -> None:
    assert can_answer(AnswerType.NUMBER, "148 dự án với tổng vốn đầu tư")
    assert not can_answer(AnswerType.NUMBER, "Thị trưởng bày tỏ mong muốn hợp tác")
    assert can_answer(AnswerType.OTHER, "any passage at all")
