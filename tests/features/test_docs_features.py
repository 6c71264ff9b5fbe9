"""docs/features.md defines every registered feature, and only those (it cannot drift)."""

from __future__ import annotations

import re
from pathlib import Path

from teamlens.feature_registry import FEATURES

DOC = Path(__file__).resolve().parents[2] / "docs" / "features.md"


def _documented_columns() -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## Feature columns", 1)[1].split("\n\n")
    rows = next(part for part in table if part.startswith("| column |")).splitlines()[2:]
    return {name for row in rows for name in re.findall(r"`([a-z_]+)`", row.split("|")[1])}


def test_every_registry_feature_is_documented_and_nothing_else() -> None:
    registered = {f.name for f in FEATURES}
    documented = _documented_columns()
    assert registered - documented == set(), "registered but not in docs/features.md"
    assert documented - registered == set(), "in docs/features.md but not registered"


def test_every_feature_has_a_definition_unit_and_sentence() -> None:
    for f in FEATURES:
        assert f.definition and f.unit and f.sentence, f.name
        for value in (0.0, 1.0, 7.0):
            text = f.describe(value) if f.model else f.sentence
            assert "nan" not in text.lower() and "{" not in text, (f.name, text)
