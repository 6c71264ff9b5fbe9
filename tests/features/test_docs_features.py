"""docs/features.md defines every registered feature, and only those (it cannot drift)."""

from __future__ import annotations

import re
from pathlib import Path

from teamlens.feature_registry import FEATURES, Group, Stage, change_features_schema, names
from teamlens.features.code_metrics import STRUCTURE_FEATURES
from teamlens.features.code_tokens import BUCKETS, TOKEN_FEATURES
from teamlens.store import SCHEMAS

DOC = Path(__file__).resolve().parents[2] / "docs" / "features.md"


def _documented_columns() -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## Feature columns", 1)[1].split("\n\n")
    rows = next(part for part in table if part.startswith("| column |")).splitlines()[2:]
    found: set[str] = set()
    for row in rows:
        cell = row.split("|")[1]
        # `x_00` … `x_31` stands for the whole numbered range.
        for stem, first, last in re.findall(r"`([a-z_]+)_(\d\d)` … `\1_(\d\d)`", cell):
            found |= {f"{stem}_{i:02d}" for i in range(int(first), int(last) + 1)}
        found |= set(re.findall(r"`([a-z_]+(?:_\d\d)?)`", cell))
    return found


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


def test_the_registry_names_what_the_stages_compute() -> None:
    assert names(Group.TOKENS) == TOKEN_FEATURES
    assert names(Group.TOKENS) == names(stage=Stage.TOKENS)
    structure = tuple(n for n in names(stage=Stage.CODE) if n in STRUCTURE_FEATURES)
    assert structure == STRUCTURE_FEATURES
    assert len([n for n in TOKEN_FEATURES if n.startswith("token_added_")]) == BUCKETS
    assert SCHEMAS["change_features"] == change_features_schema()
    assert set(SCHEMAS["change_features"].names) == {"repo", "sha", "commit_time"} | {
        f.name for f in FEATURES
    }
