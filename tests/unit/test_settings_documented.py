"""local.settings.example.json documents every setting the app reads."""

from __future__ import annotations

import json

from settings import ROOT, Settings


def test_every_setting_is_in_the_example() -> None:
    values = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    read = {field.alias for field in Settings.model_fields.values()}
    missing = sorted(name for name in read if name not in values)
    assert missing == [], f"add to local.settings.example.json: {missing}"
    undocumented = sorted(name for name in read if f"_{name}" not in values)
    assert undocumented == [], f"add a `_NAME` note for: {undocumented}"
