"""The `[bot]` section. The token and the webhook secret are secrets: they come from the environment only."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class BotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: SecretStr | None = Field(
        None, description="Telegram bot token from @BotFather. Environment only: SEEDQA_BOT__TOKEN; never in config.toml."
    )
    mode: Literal["polling", "webhook"] = Field(
        "polling", description="polling needs no public address; webhook needs webhook_url and SEEDQA_BOT__WEBHOOK_SECRET."
    )
    base_url: str = Field("https://api.telegram.org/bot", description="Bot API endpoint; point it at a self-hosted Bot API server if you run one.")
    base_file_url: str = Field("https://api.telegram.org/file/bot", description="Bot API file endpoint, next to base_url.")
    webhook_url: str | None = Field(None, description="Public HTTPS URL Telegram posts updates to (webhook mode).")
    webhook_listen: str = Field("127.0.0.1", description="Address the webhook server binds; put a TLS proxy in front of it.")
    webhook_port: int = Field(8443, ge=1, le=65535, description="Port the webhook server binds.")
    webhook_secret: SecretStr | None = Field(
        None, description="Secret Telegram sends with every webhook call. Environment only: SEEDQA_BOT__WEBHOOK_SECRET."
    )
    # Three passages fill a phone screen; more would push the first out of view.
    results_per_message: int = Field(3, ge=1, le=5, description="Passages per answer message; 'More results' pages through the rest.")
    # Ten questions a minute is faster than anyone reads the answers, slow enough that one
    # person cannot keep the model busy for everyone else.
    rate_limit_questions: int = Field(10, ge=1, le=1000, description="Questions one user may ask per rate_limit_seconds.")
    rate_limit_seconds: float = Field(60.0, gt=0, le=86400, description="Window of the per-user rate limit, in seconds.")
    # A reply normally takes well under a second; 10 s tolerates a slow network without leaving
    # the user waiting much longer than that before a retry.
    request_timeout_seconds: float = Field(10.0, gt=0, le=300, description="How long one request to Telegram may take before it counts as failed.")
    allowed_user_ids: list[int] = Field(default_factory=list, description="When this or allowed_chat_ids is set, only these users (or chats) are served.")
    allowed_chat_ids: list[int] = Field(default_factory=list, description="Chats (groups included) whose members are served; see allowed_user_ids.")
    feedback_db: Path = Field(Path(".seedqa/feedback.sqlite3"), description="SQLite file for thumbs up / down, with the question and what was shown.")
    # Feeds publish a few times an hour; every 30 minutes keeps the bot current without
    # re-fetching pages constantly (a refresh fetches only what is new: added URLs are skipped).
    refresh_minutes: float | None = Field(
        None, gt=0, le=7 * 24 * 60, description="Re-read articles.feeds this often (seedqa add, in a background process) and switch to the new index; unset: never."
    )
