"""Thumbs up / down, kept in SQLite with the question and what was shown.

A vote alone says little; with the question and the passages the user saw, it is a labelled
example for the eval set. Nothing else a user writes is stored.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    user_id INTEGER,
    chat_id INTEGER,
    question TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    shown TEXT NOT NULL  -- JSON: the results on the page the vote was given for
)
"""


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(_SCHEMA)

    def record(self, *, user_id: int | None, chat_id: int | None, question: str, vote: int, shown: list[dict[str, Any]]) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO feedback (at, user_id, chat_id, question, vote, shown) VALUES (?, ?, ?, ?, ?, ?)",
                (time.time(), user_id, chat_id, question, vote, json.dumps(shown, ensure_ascii=False)),
            )

    def all(self) -> list[dict[str, Any]]:
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM feedback ORDER BY id").fetchall()
        return [dict(row) | {"shown": json.loads(row["shown"])} for row in rows]

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One short connection per call: votes are rare, and nothing is held open across threads.
        db = sqlite3.connect(self.path, timeout=10)
        try:
            with db:  # commits, or rolls back on error
                yield db
        finally:
            db.close()
