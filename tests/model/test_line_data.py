"""Line rows from a mined and labelled built repository: the planted bug line a later fix
changed is the one fixed line of its change, and no person is in the rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from teamlens.config import load_config
from teamlens.features.changes import build_features
from teamlens.mining.szz import label_repository
from teamlens.mining.tasks import mine_all
from teamlens.model.line_data import LineDataError, corpus_line_table
from teamlens.model.lines import LINE_FEATURES
from tests.conftest import ConfigFactory
from tests.gitrepo import ALICE, BOB, CAROL, EVERYONE, RepoBuilder

BASE = "def add(a, b):\n    return a + b\n"
CLAMP = """

def clamp(x, low, high):
    if x < low:
        return low
    if x > high:
        return low
    return x
"""


def test_the_planted_line_is_the_fixed_one(
    repo_builder: RepoBuilder, make_config: ConfigFactory, key_env: str
) -> None:
    r = repo_builder
    r.write("calc.py", BASE)
    r.commit("Add calc", ALICE)
    r.write("calc.py", BASE + CLAMP)
    bug = r.commit("Add clamp", BOB)
    r.write(
        "calc.py", BASE + CLAMP.replace("return low\n    return x", "return high\n    return x")
    )
    r.commit("Fix clamp above the upper bound", CAROL)
    config = load_config(make_config({"calc": r.path}))
    mine_all(config)
    label_repository(config, config.repositories[0])
    build_features(config, config.repositories[0])

    table = corpus_line_table(config, cache=None, limit=None)
    rows = table.to_pylist()
    assert {row["sha"] for row in rows} == {bug}
    assert [row["line"] for row in rows if row["fixed"]] == [9]  # the wrong `return low`
    assert [row["line"] for row in rows] == [5, 6, 7, 8, 9, 10]  # the blank ones are not code
    assert set(LINE_FEATURES) <= set(table.column_names)
    text = repr(rows)
    for person in EVERYONE:
        assert person.name not in text and person.email not in text


def test_held_out_repositories_are_refused(
    repo_builder: RepoBuilder, make_config: ConfigFactory, tmp_path: Path
) -> None:
    repo_builder.write("a.py", BASE)
    repo_builder.commit("Add a")
    config = load_config(make_config({"flask": repo_builder.path}))
    with pytest.raises(LineDataError, match="held-out"):
        corpus_line_table(config)
