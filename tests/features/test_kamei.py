"""Kamei change metrics and team context, against hand-computed values."""

from __future__ import annotations

import math

import pytest

from teamlens.features.kamei import Change, FileTouch, TeamMap, entropy, replay

DAY = 86_400
TEAMS = TeamMap({"core": ["src/**", "lib/**"], "docs": ["docs/**", "*.md"]})


def _history() -> list[Change]:
    return [
        Change(
            "c1",
            0,
            "A",
            False,
            (FileTouch("src/a.py", None, "A", 10, 0), FileTouch("src/b.py", None, "A", 5, 0)),
        ),
        Change(
            "c2",
            1 * DAY,
            "B",
            True,
            (FileTouch("src/a.py", None, "M", 2, 1), FileTouch("docs/x.md", None, "A", 3, 0)),
        ),
        Change(
            "c3",
            3 * DAY,
            "A",
            False,
            (FileTouch("lib/a.py", "src/a.py", "R", 0, 0), FileTouch("src/b.py", None, "M", 1, 1)),
        ),
        Change("c4", 103 * DAY, "C", False, (FileTouch("lib/a.py", None, "M", 4, 4),)),
    ]


def test_first_change_has_no_history() -> None:
    f = replay(_history(), TEAMS)["c1"]
    assert (f.ns, f.nd, f.nf, f.la, f.ld, f.lt, f.ndev, f.age, f.nuc) == (
        1,
        1,
        2,
        15,
        0,
        0,
        0,
        0.0,
        0,
    )
    assert f.entropy == pytest.approx(-(2 / 3) * math.log2(2 / 3) - (1 / 3) * math.log2(1 / 3))
    assert (f.owning_teams, f.n_teams, f.owner_share, f.recent_fixes) == (("core",), 1, None, 0)


def test_second_change_sees_only_the_first() -> None:
    f = replay(_history(), TEAMS)["c2"]
    assert (f.ns, f.nd, f.nf, f.la, f.ld, f.lt, f.fix) == (2, 2, 2, 5, 1, 10, True)
    assert f.entropy == pytest.approx(1.0)  # 3 and 3 modified lines
    assert (f.ndev, f.nuc) == (1, 1)
    assert f.age == pytest.approx(0.5)  # a.py last changed a day ago; x.md is new (0)
    assert (f.owning_teams, f.n_teams, f.owner_share) == (("core", "docs"), 2, 1.0)


def test_history_follows_a_rename() -> None:
    f = replay(_history(), TEAMS)["c3"]
    assert f.lt == 11 + 5  # a.py: 10 + 2 - 1 before its rename; b.py: 5
    assert (f.ndev, f.nuc) == (2, 2)  # A and B; c1 and c2
    assert f.age == pytest.approx((2 + 3) / 2)
    assert f.recent_fixes == 1  # c2 touched a.py two days earlier
    assert f.owner_share == pytest.approx(0.5)  # c1 stayed in core, c2 crossed teams
    assert f.entropy == pytest.approx(0.0)  # only b.py has modified lines


def test_fix_activity_window_is_90_days() -> None:
    f = replay(_history(), TEAMS)["c4"]
    assert (f.lt, f.ndev, f.nuc, f.recent_fixes) == (11, 2, 3, 0)
    assert f.age == pytest.approx(100.0)


def test_a_deleted_file_forgets_its_history() -> None:
    history = [
        *_history(),
        Change("c5", 104 * DAY, "A", False, (FileTouch("lib/a.py", None, "D", 0, 11),)),
        Change("c6", 105 * DAY, "B", False, (FileTouch("lib/a.py", None, "A", 1, 0),)),
    ]
    f = replay(history, TEAMS)["c6"]
    assert (f.lt, f.ndev, f.nuc, f.age) == (0, 0, 0, 0.0)


def test_entropy_edge_cases() -> None:
    assert entropy([]) == 0.0
    assert entropy([0, 0]) == 0.0
    assert entropy([5, 5, 5, 5]) == pytest.approx(2.0)


def test_team_globs() -> None:
    assert TEAMS.owners("README.md") == ("docs",)
    assert TEAMS.owners("docs/deep/x.txt") == ("docs",)
    assert TEAMS.owners("src/pkg/mod.py") == ("core",)
    assert TEAMS.owners("setup.py") == ()


def test_jit_compatible_metrics_count_only_changed_files_that_existed() -> None:
    history = [
        *_history(),
        Change(
            "c5",
            104 * DAY,
            "A",
            False,
            (
                FileTouch(
                    "lib/a.py", None, "M", 3, 1
                ),  # existed: 10, +2-1, renamed, +4-4 = 11 lines
                FileTouch("src/a.py", None, "A", 7, 0),  # new: left out
                FileTouch("src/b.py", None, "M", 1, 0),  # existed (5 lines)
                FileTouch("docs/x.md", "docs/y.md", "R", 0, 0),  # no text change: left out
                FileTouch("img/logo.png", None, "M", 0, 0),  # binary (0/0): left out
            ),
        ),
    ]
    f = replay(history, TEAMS)["c5"]
    # Kept: lib/a.py (4 lines modified, 11 before) and src/b.py (1 modified, 5 before).
    # nf counts distinct file names: a.py and b.py -> 2; subsystems lib, src; dirs lib, src.
    assert (f.jit.ns, f.jit.nd, f.jit.nf, f.jit.la, f.jit.lt) == (2, 2, 2, 4, 16)
    assert f.jit.entropy == pytest.approx(-(4 / 5) * math.log2(4 / 5) - (1 / 5) * math.log2(1 / 5))
    # teamlens's own metrics count every file.
    assert (f.nf, f.la) == (5, 11)


def test_jit_nf_counts_file_names_not_paths() -> None:
    history = [
        Change("c1", 0, "A", False, (FileTouch("a/util.py", None, "A", 2, 0),)),
        Change("c2", DAY, "A", False, (FileTouch("b/util.py", None, "A", 2, 0),)),
        Change(
            "c3",
            2 * DAY,
            "B",
            False,
            (FileTouch("a/util.py", None, "M", 1, 1), FileTouch("b/util.py", None, "M", 1, 1)),
        ),
    ]
    f = replay(history, TEAMS)["c3"]
    assert (f.nf, f.jit.nf, f.jit.nd, f.jit.lt) == (2, 1, 2, 4)
