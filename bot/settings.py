"""The `[bot]` section. The token is a secret: it comes from the environment only."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class BotSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: SecretStr | None = Field(
        None, description="Telegram bot token from @BotFather. Environment only: SEEDQA_BOT__TOKEN; never in config.toml."
    )
