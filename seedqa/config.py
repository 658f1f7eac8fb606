"""Settings: defaults, overridden by an optional `config.toml`, overridden by `SEEDQA_<SECTION>__<KEY>`.

Each section is a typed model owned by the package it configures; this module only stacks the
sources and turns validation errors into one line that names the key. The bot token is a
secret: a `config.toml` that contains it is refused, so it can never be committed by accident.
"""

from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from bot.settings import BotSettings
from embeddings.settings import EmbeddingsSettings
from retrieval.settings import ArticlesSettings, IndexSettings, SearchSettings

DEFAULT_CONFIG_FILE = Path("config.toml")
SECRET_KEYS = {("bot", "token"), ("bot", "webhook_secret")}

_config_file: ContextVar[Path | None] = ContextVar("seedqa_config_file", default=None)


class ConfigError(Exception):
    """A configuration problem, stated in one sentence that names the key or file."""


class _TomlWithoutSecrets(TomlConfigSettingsSource):
    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        for section, key in SECRET_KEYS:
            if isinstance(data.get(section), dict) and key in data[section]:
                env = f"SEEDQA_{section.upper()}__{key.upper()}"
                raise ConfigError(f"{section}.{key} must not be written in {self.toml_file_path}: remove it and set the environment variable {env} instead.")
        return data


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEEDQA_", env_nested_delimiter="__", extra="forbid", nested_model_default_partial_update=True)

    articles: ArticlesSettings = Field(default_factory=ArticlesSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    embeddings: EmbeddingsSettings = Field(default_factory=EmbeddingsSettings)
    bot: BotSettings = Field(default_factory=BotSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _config_file.get()
        if path is not None:
            sources.append(_TomlWithoutSecrets(settings_cls, toml_file=path))
        return tuple(sources)


def config_path(explicit: Path | None = None) -> Path | None:
    """The config file in use: --config, else $SEEDQA_CONFIG, else ./config.toml when it exists."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"No config file at {explicit}: check the path given to --config.")
        return explicit
    from_env = os.environ.get("SEEDQA_CONFIG")
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(f"No config file at {path}: fix or unset SEEDQA_CONFIG.")
        return path
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def load_settings(explicit: Path | None = None, **overrides: Any) -> Settings:
    path = config_path(explicit)
    token = _config_file.set(path)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc, path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}): fix it or compare with config.example.toml.") from None
    finally:
        _config_file.reset(token)


def masked(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets shown as set/unset only."""
    data = settings.model_dump(mode="json")
    for section, key in SECRET_KEYS:
        value = getattr(getattr(settings, section), key)
        data[section][key] = "********** (set)" if value is not None else None
    return data


def _one_line(exc: ValidationError, path: Path | None) -> str:
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"])
    where = f" (from {path} or SEEDQA_{key.upper().replace('.', '__')})" if path else f" (from SEEDQA_{key.upper().replace('.', '__')})"
    if error["type"] == "extra_forbidden":
        return f"Unknown setting {key}{where}: check its spelling against config.example.toml."
    got = error.get("input")
    shown = f"; got {got!r}" if got is not None and not isinstance(got, dict) and "token" not in key else ""
    return f"Invalid setting {key}{where}: {error['msg']}{shown}."
