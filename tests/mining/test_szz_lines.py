"""Line-level SZZ on a built repository: the planted bug line a later fix changes is found."""

from __future__ import annotations

from teamlens.mining.szz import SzzSession
from teamlens.mining.szz_lines import FixedLine, fixed_lines, inducing_lines
from tests.gitrepo import BOB, RepoBuilder

BASE = """def add(a, b):
    return a + b
"""

BUGGY = (
    BASE
    + """

def clamp(x, low, high):
    # keep x inside the bounds
    if x < low:
        return low
    if x > high:
        return low
    return x
"""
)


def _history(r: RepoBuilder) -> tuple[str, str, str]:
    r.write("calc.py", BASE)
    r.commit("add calc")
    r.write("calc.py", BUGGY)
    bug = r.commit("add clamp", person=BOB)
    # The fix changes the wrong return (line 10 of the bug's post-image) and the comment.
    r.write(
        "calc.py",
        BUGGY.replace(
            "        return low\n    return x", "        return high\n    return x"
        ).replace("# keep x inside the bounds", "# keep x within the bounds"),
    )
    fix = r.commit("fix clamp above the upper bound")
    return r.head(), bug, fix


def test_fixed_lines_trace_the_planted_bug_line(repo_builder: RepoBuilder) -> None:
    _, bug, fix = _history(repo_builder)
    session = SzzSession(repo_builder.path)
    try:
        found = fixed_lines(session, fix)
    finally:
        session.close()
    # The comment line the fix also edits is not code: only the wrong return is traced.
    assert found == [FixedLine(bug, "calc.py", 10, fix)]


def test_inducing_lines_keep_fixes_within_the_window(repo_builder: RepoBuilder) -> None:
    _, bug, fix = _history(repo_builder)
    times = {bug: 1_000_000, fix: 1_000_000 + 3 * 86_400}
    session = SzzSession(repo_builder.path)
    try:
        assert inducing_lines(session, [fix], times, window_days=180) == {bug: {"calc.py": {10}}}
        # A fix after the window is not this change's: nothing.
        assert inducing_lines(session, [fix], times, window_days=2) == {}
        # Restricted to other changes: nothing either.
        assert inducing_lines(session, [fix], times, 180, changes=["0" * 40]) == {}
    finally:
        session.close()


def test_a_renamed_file_keeps_the_line_of_the_inducing_change(repo_builder: RepoBuilder) -> None:
    r = repo_builder
    r.write("calc.py", BASE)
    r.commit("add calc")
    r.write("calc.py", BUGGY)
    bug = r.commit("add clamp")
    r.git("mv", "calc.py", "bounds.py")
    r.commit("rename")
    r.write(
        "bounds.py",
        "# bounds\n" + BUGGY.replace("return low\n    return x", "return high\n    return x"),
    )
    fix = r.commit("fix clamp")
    session = SzzSession(r.path)
    try:
        found = fixed_lines(session, fix)
    finally:
        session.close()
    assert found == [FixedLine(bug, "calc.py", 10, fix)]
