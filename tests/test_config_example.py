"""config.example.toml is the configuration reference: it must list every key with its real default."""

from __future__ import annotations

import tomllib
from pathlib import Path

from seedqa.config import SECRET_KEYS, Settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
# Defaults that depend on the machine, shown commented out in the example.
MACHINE_DEPENDENT = {("embeddings", "cache_dir")}


def test_example_lists_every_key_with_its_default() -> None:
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    defaults = Settings.model_construct().model_dump(mode="json") | {
        name: field.default_factory().model_dump(mode="json")  # type: ignore[misc]
        for name, field in Settings.model_fields.items()
    }
    text = EXAMPLE.read_text(encoding="utf-8")
    for section, values in defaults.items():
        for key, default in values.items():
            if (section, key) in SECRET_KEYS:
                assert key not in example.get(section, {}), f"{section}.{key} is a secret and must not be in the example"
                assert f"SEEDQA_{section.upper()}__{key.upper()}" in text
            elif (section, key) in MACHINE_DEPENDENT or default is None:  # TOML has no null: shown commented out
                assert f"# {key} = " in text
            else:
                assert example[section][key] == default, f"{section}.{key}: the example says {example[section].get(key)!r}, the default is {default!r}"
