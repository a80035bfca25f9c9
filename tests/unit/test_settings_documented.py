"""local.settings.example.json documents every setting the app reads."""

from __future__ import annotations

import json

from settings import PLATFORM_SETTINGS, ROOT, Settings


def test_every_setting_is_in_the_example() -> None:
    values = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    read = {field.alias for field in Settings.model_fields.values()} - PLATFORM_SETTINGS
    missing = sorted(name for name in read if name not in values)
    assert missing == [], f"add to local.settings.example.json: {missing}"
    undocumented = sorted(name for name in read if f"_{name}" not in values)
    assert undocumented == [], f"add a `_NAME` note for: {undocumented}"


def test_the_platforms_settings_are_not_in_the_example() -> None:
    """Azure sets them; a local.settings.json holding them could make a library believe it runs there."""
    values = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    assert not PLATFORM_SETTINGS & set(values)
