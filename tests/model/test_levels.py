"""Levels from a distribution of changes: the riskiest 10 % are high, the next 20 %
medium; where a value stands; the levels file (aggregates only, private mode)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from teamlens.model.levels import (
    MIN_CHANGES,
    LevelBasis,
    LevelsError,
    Reference,
    RiskLevel,
    build_reference,
    level_meaning,
    read_reference,
    training_reference,
    write_reference,
)
from teamlens.model.registry import DEFAULT_MODEL_DIR, load_model


def _levels(reference: Reference, risks: np.ndarray) -> dict[RiskLevel, int]:
    found = [reference.level(float(r)) for r in risks]
    return {level: found.count(level) for level in RiskLevel}


def test_the_riskiest_tenth_is_high_and_the_next_fifth_medium() -> None:
    risks = np.random.default_rng(3).beta(1, 12, 1000)  # mostly low, as real risks are
    x = pd.DataFrame({"la": np.arange(1000.0)})
    reference = build_reference(LevelBasis.REPOSITORY, risks, x)
    assert reference is not None
    assert _levels(reference, risks) == {
        RiskLevel.HIGH: 100,
        RiskLevel.MEDIUM: 200,
        RiskLevel.LOW: 700,
    }
    riskiest = np.sort(risks)[-100:]
    assert all(reference.level(float(r)) is RiskLevel.HIGH for r in riskiest)
    assert reference.level(float(np.sort(risks)[-101])) is RiskLevel.MEDIUM


def test_ties_never_make_more_than_a_tenth_high() -> None:
    # A tree model gives many changes the same risk.
    risks = np.repeat([0.02, 0.05, 0.1, 0.4], [500, 300, 150, 50])
    reference = build_reference(LevelBasis.REPOSITORY, risks, pd.DataFrame(index=range(1000)))
    assert reference is not None
    counts = _levels(reference, risks)
    assert counts[RiskLevel.HIGH] == 50 and counts[RiskLevel.MEDIUM] == 150


def test_too_few_changes_give_no_reference() -> None:
    risks = np.linspace(0, 1, MIN_CHANGES - 1)
    frame = pd.DataFrame({"la": risks})
    assert build_reference(LevelBasis.REPOSITORY, risks, frame) is None
    nan = np.full(MIN_CHANGES + 10, np.nan)
    assert build_reference(LevelBasis.REPOSITORY, nan, frame.reindex(range(len(nan)))) is None


def test_percentiles_are_true_of_the_data() -> None:
    rng = np.random.default_rng(8)
    la = np.floor(rng.lognormal(3.5, 1.3, 777))  # skewed, with ties
    reference = build_reference(LevelBasis.REPOSITORY, rng.random(777), pd.DataFrame({"la": la}))
    assert reference is not None
    for value in [*np.quantile(la, [0.65, 0.9, 0.98, 0.999]), la.max() + 1, 1e9]:
        p = reference.percent_below("la", float(value))
        assert p is not None and p >= 60
        assert (la < value).mean() >= p / 100
    for value in [0.0, float(np.quantile(la, 0.2)), float(np.quantile(la, 0.35))]:
        q = reference.percent_above("la", value)
        assert q is not None and q >= 60
        assert (la > value).mean() >= q / 100
    for typical in np.quantile(la, [0.45, 0.5, 0.55]):  # neither large nor small
        assert reference.percent_below("la", float(typical)) is None
        assert reference.percent_above("la", float(typical)) is None
    assert reference.percent_below("la", float("nan")) is None
    assert reference.percent_below("unknown", 10.0) is None


def test_each_level_says_what_it_means() -> None:
    assert level_meaning(RiskLevel.HIGH, LevelBasis.REPOSITORY) == (
        "among the riskiest 10 % of this repository's recent changes"
    )
    assert level_meaning(RiskLevel.MEDIUM, LevelBasis.TRAINING) == (
        "among the riskiest 30 % of the changes the model was trained on, not the riskiest 10 %"
    )
    assert level_meaning(RiskLevel.LOW, LevelBasis.REPOSITORY) == (
        "not among the riskiest 30 % of this repository's recent changes"
    )
    assert "review.high" in level_meaning(RiskLevel.HIGH, LevelBasis.FIXED)


def test_a_levels_file_round_trips_privately_and_holds_aggregates_only(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    x = pd.DataFrame(
        {"la": rng.integers(0, 900, 400).astype(float), "fix": rng.integers(0, 2, 400)}
    )
    risks = rng.random(400)
    reference = build_reference(LevelBasis.TRAINING, risks, x)
    assert reference is not None
    path = tmp_path / "model" / "levels.json"
    write_reference(path, reference)
    assert read_reference(path) == reference
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert set(doc) == {
        "version", "basis", "changes", "high_share", "medium_share", "medium_from",
        "high_from", "percentiles", "quantiles",
    }  # fmt: skip
    # No extreme value (which would be one change's) is kept.
    assert x["la"].max() not in doc["quantiles"]["la"] and risks.max() != doc["high_from"]
    assert read_reference(tmp_path / "missing.json") is None
    doc["version"] = 99
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(LevelsError, match="another version"):
        read_reference(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(LevelsError, match="not valid JSON"):
        read_reference(path)


def test_the_shipped_default_model_has_levels_from_its_training_changes() -> None:
    model = load_model(DEFAULT_MODEL_DIR)
    reference = training_reference(model)
    assert reference is not None and reference.basis is LevelBasis.TRAINING
    assert reference.changes >= 1000
    assert 0 < reference.medium_from < reference.high_from < 1
    assert set(model.meta.features) <= set(reference.quantiles)
