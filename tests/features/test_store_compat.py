"""A store whose features an older teamlens computed (other columns, an older
FEATURES_VERSION) is not read as if it were current: training says so in one line, the
review does without the stale rows, and `teamlens features` recomputes every row."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from teamlens.bot.change import compute_change
from teamlens.config import Config, load_config
from teamlens.features.changes import FEATURES_VERSION, build_features
from teamlens.features.pipeline import FUNCTION_HISTORY_FEATURES
from teamlens.mining.tasks import mine_all
from teamlens.model.dataset import DatasetError, load_store
from teamlens.store import Store
from tests.conftest import ConfigFactory
from tests.features.test_changes import build_history

#: The change_features columns of FEATURES_VERSION 2 (before the feature registry).
OLD_COLUMNS = (
    "repo", "sha", "commit_time", "ns", "nd", "nf", "entropy", "la", "ld", "lt", "fix",
    "ndev", "age", "nuc", "owning_teams", "n_teams", "owner_share", "recent_fixes",
    "tests_touched", "code_metrics_files", "functions_changed", "complexity_before",
    "complexity_after", "max_complexity_increase", "largest_function_complexity",
    "comment_lines_added", "whitespace_lines_added", "jit_ns", "jit_nd", "jit_nf",
    "jit_entropy", "jit_la", "jit_lt",
)  # fmt: skip


@pytest.fixture
def old_store(
    tmp_path: Path, make_config: ConfigFactory, key_env: str
) -> tuple[Config, list[str], list[tuple[object, ...]]]:
    """A mined store whose change_features part has the old columns and version 2."""
    shas = build_history(tmp_path / "repo", 5)
    config = load_config(make_config({"r": tmp_path / "repo"}, teams={"core": ["src/**"]}))
    mine_all(config)
    build_features(config, config.repositories[0])
    store = Store(config.data_dir)
    current = store.query("SELECT * FROM change_features ORDER BY sha").rows
    with store.writer("r") as writer:
        old = writer.read("change_features").select(list(OLD_COLUMNS))
        (writer.root / "change_features").mkdir(exist_ok=True)
        pq.write_table(old, writer.root / "change_features" / "old.parquet")
        state = writer.manifest.state.replace(features_version=2)
        writer.replace({"change_features": old.slice(0, 0)}, state)
        writer.adopt({"change_features": ["change_features/old.parquet"]}, state)
    return config, shas, current


def test_training_on_old_features_is_one_line_asking_to_recompute(
    old_store: tuple[Config, list[str], list[tuple[object, ...]]],
) -> None:
    config, _, _ = old_store
    with pytest.raises(DatasetError) as raised:
        load_store(Store(config.data_dir), ["r"])
    message = str(raised.value)
    assert "\n" not in message and "run `teamlens features`" in message


def test_the_review_does_without_stale_rows_and_features_recomputes_them(
    old_store: tuple[Config, list[str], list[tuple[object, ...]]],
) -> None:
    config, shas, current = old_store
    change = compute_change(config, config.repositories[0], f"{shas[-1]}^", shas[-1])
    assert change.unavailable == FUNCTION_HISTORY_FEATURES
    assert not math.isnan(change.features["nuc"]) and change.features["nuc"] > 0
    report = build_features(config, config.repositories[0])
    assert report.changes_added == len(shas)  # every row again, none twice
    store = Store(config.data_dir)
    assert store.manifest("r").state.features_version == FEATURES_VERSION
    assert store.query("SELECT * FROM change_features ORDER BY sha").rows == current
    assert load_store(store, ["r"]).features
