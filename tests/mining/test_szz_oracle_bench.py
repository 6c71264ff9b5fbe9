"""benchmarks/bench_szz_oracle.py on an oracle and repositories built here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from teamlens.mining.szz import DEFAULT_FILTERS, Variant, variant_name
from tests.gitrepo import ALICE, BOB, CAROL, EVERYONE, RepoBuilder

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_szz_oracle as bench


def _repository(path: Path) -> tuple[str, str]:
    """(inducing commit, fix) of a small repository at `path`."""
    r = RepoBuilder(path)
    r.write("app.py", "def f(x):\n    return x\n")
    r.commit("Add f", ALICE)
    r.write("app.py", "def f(x):\n    return x + 1\n")
    inducing = r.commit("Change f", BOB)
    r.write("app.py", "def f(x):\n    return x + 2\n")
    fix = r.commit("Fix f", CAROL)
    return inducing, fix


@pytest.fixture
def oracle(tmp_path: Path) -> tuple[Path, Path, Path, str]:
    """(oracle folder, repositories folder, held-out list, the development fix)."""
    repos = tmp_path / "repos"
    inducing, fix = _repository(repos / "acme+app")
    held_inducing, held_fix = _repository(repos / "held+out")
    entries = [
        {"repo_name": "acme/app", "fix_commit_hash": fix, "bug_commit_hash": [inducing]},
        {"repo_name": "held/out", "fix_commit_hash": held_fix, "bug_commit_hash": [held_inducing]},
        {"repo_name": "gone/away", "fix_commit_hash": "0" * 40, "bug_commit_hash": ["1" * 40]},
    ]
    folder = tmp_path / "oracle" / "json-input-raw"
    folder.mkdir(parents=True)
    (folder / "bugfix_commits_all.json").write_text(json.dumps(entries), encoding="utf-8")
    heldout = tmp_path / "heldout.txt"
    heldout.write_text("# kept for acceptance\nheld/out\n", encoding="utf-8")
    return tmp_path / "oracle", repos, heldout, fix


def test_the_benchmark_scores_development_fixes_only_and_names_nobody(
    oracle: tuple[Path, Path, Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, repos, heldout, fix = oracle
    saved = tmp_path / "out.json"
    args = [str(folder), "--repos", str(repos), "--heldout", str(heldout), "--save", str(saved)]
    assert bench.main(args) == 0
    table = capsys.readouterr().out
    result = json.loads(saved.read_text(encoding="utf-8"))
    assert result["heldout_fixes_excluded"] == 1
    assert result["repositories"] == ["acme/app"]  # held/out never ran
    assert result["not_fetched"] == ["gone/away"]
    assert [f["fix"] for f in result["per_fix"]] == [fix]
    default = variant_name(Variant.R, DEFAULT_FILTERS)
    for name in ("PyDriller", "b-szz", default):
        assert (result["scores"][name]["tp"], result["scores"][name]["fp"]) == (1, 0), name
    assert default in table and "PyDriller" in table
    shown = table + saved.read_text(encoding="utf-8")
    for person in EVERYONE:
        assert person.name not in shown
        assert person.email not in shown


def test_the_benchmark_skips_without_its_oracle_or_held_out_list(
    oracle: tuple[Path, Path, Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder, repos, _, _ = oracle
    assert bench.main([str(tmp_path / "none"), "--repos", str(repos)]) == 0
    assert capsys.readouterr().out.startswith("skipped: no oracle at")
    missing = str(tmp_path / "missing.txt")
    assert bench.main([str(folder), "--repos", str(repos), "--heldout", missing]) == 0
    assert "no held-out list" in capsys.readouterr().out
