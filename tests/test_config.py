"""Settings stack as documented: defaults < config.toml < SEEDQA_* environment; secrets stay secret."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from embeddings.settings import DEFAULT_MODEL
from retrieval.settings import IndexSettings, SearchSettings
from seedqa.config import ConfigError, load_settings, masked

TOKEN = "123456789:AAE-secret-token-value"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Each test starts in an empty folder with no SEEDQA_* variables, like a fresh shell."""
    for name in list(os.environ):
        if name.startswith("SEEDQA_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_config(text: str) -> Path:
    path = Path("config.toml")
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_any_config() -> None:
    settings = load_settings()
    assert settings.search == SearchSettings()
    assert settings.index == IndexSettings()
    assert settings.embeddings.model == DEFAULT_MODEL
    assert settings.bot.token is None


def test_config_toml_in_the_working_directory_is_read() -> None:
    write_config('[search]\ntop_k = 7\nabstain_below = 0.5\n\n[index]\nfolder = "somewhere/index"\ntarget_tokens = 100\n')
    settings = load_settings()
    assert settings.search.top_k == 7
    assert settings.search.abstain_below == 0.5
    assert settings.search.candidates == SearchSettings().candidates  # untouched keys keep defaults
    assert settings.index.folder == Path("somewhere/index")
    assert settings.index.target_tokens == 100


def test_environment_overrides_the_file_key_by_key(monkeypatch: pytest.MonkeyPatch) -> None:
    write_config("[search]\ntop_k = 7\ncandidates = 20\n")
    monkeypatch.setenv("SEEDQA_SEARCH__TOP_K", "9")
    settings = load_settings()
    assert settings.search.top_k == 9
    assert settings.search.candidates == 20  # the file's other keys in the same section survive


def test_explicit_config_path_and_env_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    other = tmp_path / "other.toml"
    other.write_text("[search]\ntop_k = 5\n", encoding="utf-8")
    assert load_settings(other).search.top_k == 5
    monkeypatch.setenv("SEEDQA_CONFIG", str(other))
    assert load_settings().search.top_k == 5
    with pytest.raises(ConfigError, match="missing.toml"):
        load_settings(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    "config, env, key",
    [
        ("[search]\ntop_k = 0\n", {}, "search.top_k"),
        ("", {"SEEDQA_SEARCH__TOP_K": "many"}, "search.top_k"),
        ("[index]\ntarget_tokens = 400\nmax_tokens = 200\n", {}, "target_tokens"),
        ("[search]\ntopk = 3\n", {}, "search.topk"),
    ],
    ids=["out-of-range", "not-a-number", "target-over-cap", "misspelt"],
)
def test_bad_value_is_one_line_naming_the_key(monkeypatch: pytest.MonkeyPatch, config: str, env: dict[str, str], key: str) -> None:
    if config:
        write_config(config)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert key in message
    assert "\n" not in message


def test_invalid_toml_is_reported_not_a_traceback() -> None:
    write_config("[search\ntop_k = 3\n")
    with pytest.raises(ConfigError, match="config.toml"):
        load_settings()


def test_token_in_config_file_is_refused() -> None:
    """A token written in config.toml would end up committed; the file is refused outright."""
    write_config(f'[bot]\ntoken = "{TOKEN}"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "bot.token" in message and "SEEDQA_BOT__TOKEN" in message
    assert TOKEN not in message


def test_masked_never_shows_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEEDQA_BOT__TOKEN", TOKEN)
    settings = load_settings()
    assert settings.bot.token is not None and settings.bot.token.get_secret_value() == TOKEN
    shown = masked(settings)
    assert TOKEN not in json.dumps(shown)
    assert "secret-token-value" not in json.dumps(shown)
    assert shown["bot"]["token"] and "set" in shown["bot"]["token"]
    assert shown["search"]["top_k"] == SearchSettings().top_k
    assert TOKEN not in repr(settings)


def test_masked_says_when_no_token_is_set() -> None:
    assert masked(load_settings())["bot"]["token"] is None
