"""The rule benchmark's arithmetic (benchmarks/bench_rules.py) on a repository built here.

One change makes `area` much more complex and edits `perimeter` and `volume` without a
test; a fix 30 days later changes `area` and `perimeter`; a fix 200 days later changes
`volume` (outside the 180-day window). The benchmark replays the change as ``teamlens
review`` builds it from the mined store and must count: `complexity` names `area`, fixed
later; the base (the change's other functions) is 1 of 2; lift 2.0.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from teamlens.config import Config, load_config
from teamlens.features.changes import features_for
from teamlens.mining.szz import label_repository
from teamlens.mining.tasks import mine_all
from teamlens.store import Store
from tests.gitrepo import ALICE, BOB, CAROL, ERIN, ZOE, RepoBuilder

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_rules as bench
import rule_lift as lift

DAY = 86_400
PEOPLE = (ALICE, BOB, CAROL, ZOE, ERIN)


def _module(area: str, perimeter: str, volume: str) -> str:
    return (
        f"def area(w, h):\n{area}\n\n\n"
        f"def perimeter(w, h):\n    return {perimeter}\n\n\n"
        f"def volume(w, h, d):\n    return {volume}\n"
    )


SIMPLE_AREA = "    return w * h"
BRANCHY_AREA = """    if w < 0:
        return 0
    if h < 0:
        return 0
    if w > 100 and h > 100:
        return -1
    for i in range(3):
        if i == w:
            return i
    while h > 10:
        h -= 1
    return w * h"""


def _later(repo: RepoBuilder, days: int) -> None:
    repo.clock += days * DAY


def _build(path: Path) -> tuple[RepoBuilder, str]:
    repo = RepoBuilder(path)
    repo.write("src/shapes.py", _module(SIMPLE_AREA, "2 * (w + h)", "w * h * d"))
    repo.write("tests/test_shapes.py", "def test_area():\n    assert True\n")
    repo.write("README.md", "# shapes\n")
    repo.commit("Initial import", ALICE)
    for i, person in enumerate(PEOPLE):
        repo.write("README.md", f"# shapes\n\n{'more ' * (i + 1)}\n")
        repo.commit(f"Document {i}", person)
    _later(repo, 10)
    repo.write("src/shapes.py", _module(BRANCHY_AREA, "w + w + h + h", "d * w * h"))
    change = repo.commit("Handle odd sizes", BOB)
    _later(repo, 30)
    repo.write(
        "src/shapes.py", _module(BRANCHY_AREA.replace("-1", "w * h"), "2 * w + 2 * h", "d * w * h")
    )
    repo.commit("Fix area and perimeter for large sizes", CAROL)
    _later(repo, 200)
    repo.write(
        "src/shapes.py",
        _module(BRANCHY_AREA.replace("-1", "w * h"), "2 * w + 2 * h", "(d * w) * h"),
    )
    repo.commit("Fix volume order", ZOE)
    for i, person in enumerate(PEOPLE):
        _later(repo, 1)
        repo.write(f"docs/page{i}.md", f"page {i}\n")
        repo.commit(f"Add page {i}", person)
    return repo, change


@pytest.fixture(scope="module")
def mined(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, str, RepoBuilder]:
    root = tmp_path_factory.mktemp("rule_lift")
    repo, change = _build(root / "shapes")
    work = root / "work"
    work.mkdir()
    doc = {
        "repositories": [{"name": "shapes", "path": str(repo.path)}],
        "privacy": {"key_file": str(root / "key")},
        "labels": {"maturity_days": 1},
    }
    (work / "repos.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    config = load_config(work / "repos.yaml")
    mine_all(config)
    label_repository(config, config.repositories[0])
    features_for(config)
    return config, change, repo


def _replayed(config: Config, sha: str) -> lift.ReplayedChange:
    store = Store(config.data_dir)
    config = bench.with_layout_teams(config, store, ["shapes"])
    when = dict(store.query("SELECT sha, epoch(commit_time) FROM commits").rows)[sha]
    fixes = bench.FixIndex.from_store(store, "shapes")
    return bench.replay_change(config, config.repository("shapes"), sha, int(when), fixes)


def test_a_fix_within_the_window_counts_and_one_after_it_does_not(
    mined: tuple[Config, str, RepoBuilder],
) -> None:
    config, change, _ = mined
    replayed = _replayed(config, change)
    functions = {t.key[1]: t.fixed_later for t in replayed.things if t.kind is lift.Kind.FUNCTION}
    assert functions == {"area": True, "perimeter": True, "volume": False}
    files = {t.key[0]: t.fixed_later for t in replayed.things if t.kind is lift.Kind.FILE}
    assert files == {"src/shapes.py": True}


def test_lift_is_the_named_rate_over_the_rest_of_the_same_change(
    mined: tuple[Config, str, RepoBuilder],
) -> None:
    config, change, _ = mined
    replayed = _replayed(config, change)
    assert replayed.named["complexity"] == {("src/shapes.py", "area")}
    assert replayed.named["untested"] == {
        ("src/shapes.py", "area"),
        ("src/shapes.py", "perimeter"),
        ("src/shapes.py", "volume"),
    }
    counts = lift.rule_counts([replayed], "complexity", lift.Base.SAME)
    assert counts.tolist() == [[1.0, 1.0, 1.0, 2.0]]  # named 1 of 1 fixed, base 1 of 2
    assert lift.lift_of(counts.sum(axis=0)) == pytest.approx(2.0)
    # untested named every function: no base in the same change, a base 0 is no lift.
    untested = lift.rule_counts([replayed], "untested", lift.Base.SAME)
    assert untested.tolist() == [[2.0, 3.0, 0.0, 0.0]]
    assert math.isnan(lift.lift_of(untested.sum(axis=0)))


def test_the_other_changes_base_reads_only_changes_the_rule_did_not_fire_on() -> None:
    fixed = lift.Thing(("a.py", "f"), lift.Kind.FUNCTION, True, True)
    clean = lift.Thing(("a.py", "g"), lift.Kind.FUNCTION, False, True)
    fired = lift.ReplayedChange("r", (fixed, clean), {"untested": frozenset({fixed.key})},
                                 frozenset({"untested"}))  # fmt: skip
    quiet = lift.ReplayedChange("r", (fixed, clean, clean), {}, frozenset())
    counts = lift.rule_counts([fired, quiet], "untested", lift.Base.OTHER)
    assert counts.tolist() == [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 3.0]]
    assert lift.lift_of(counts.sum(axis=0)) == pytest.approx(3.0)
    low, high = lift.bootstrap_interval(np.repeat(counts, 20, axis=0), 200, seed=1)
    assert low <= 3.0 <= high


def test_sampling_keeps_the_window_and_is_seeded(mined: tuple[Config, str, RepoBuilder]) -> None:
    config, change, _ = mined
    store = Store(config.data_dir)
    everything = bench.sample_changes(store, "shapes", 1000, seed=0)
    newest = max(t for (t,) in store.query("SELECT epoch(commit_time) FROM commits").rows)
    assert change in {s for s, _ in everything}
    assert all(t <= newest - 180 * DAY for _, t in everything)
    three = bench.sample_changes(store, "shapes", 3, seed=5)
    assert len(three) == 3 and three == bench.sample_changes(store, "shapes", 3, seed=5)
    assert [t for _, t in three] == sorted(t for _, t in three)


def test_the_output_names_no_person_and_no_commit(
    mined: tuple[Config, str, RepoBuilder], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _, repo = mined
    corpus = config.path.parent
    args = [str(corpus), "--repos", "shapes", "--changes", "50", "--bootstrap", "50"]
    assert bench.main([*args, "--json"]) == 0
    out, err = capsys.readouterr()
    result = json.loads(out)
    assert result["rules"]["complexity"]["same"]["lift"] == pytest.approx(2.0)
    assert result["repositories_shown"] == ["shapes"]  # five people made its changes
    assert bench.main(args) == 0
    table, _ = capsys.readouterr()
    shas = set(repo.git("rev-list", "--all").split())
    for text in (out, err, table):
        for person in PEOPLE:
            assert person.name.lower() not in text.lower()
            assert person.email.lower() not in text.lower()
        assert not any(sha in text or sha[:7] in text for sha in shas)
        assert "area" not in text and "src/shapes.py" not in text


def test_held_out_repositories_are_refused(
    mined: tuple[Config, str, RepoBuilder], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _, _ = mined
    assert bench.main([str(config.path.parent), "--repos", "flask"]) == 2
    assert "held out" in capsys.readouterr().err
