"""What the history says about each file of a change: its earlier changes (when, and
whether each was a fix) and the tests that changed together with it.

Read from the history the review already has (the store's ``file_changes`` when the
repository is mined, else the path-limited ``git log`` of the change's files that the
features read; features.pipeline.review_history): no extra git call. A file's history
follows it through renames, as the feature replay does (features.kamei). No person is
read or kept: only commit times, the fix flag and paths.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from teamlens.bot.domain import PastChange
from teamlens.features.kamei import Change, FileTouch
from teamlens.features.pipeline import is_test_path

#: Changes touching more files than this (mass renames, reformatting, license headers)
#: say nothing about which tests go with which file.
BULK_FILES = 30
#: Co-changed tests kept per file (most often first).
MAX_TESTS = 5


@dataclass
class _Past:
    changes: list[PastChange] = field(default_factory=list)
    tests: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class FilePast:
    """One file's earlier changes and the tests changed together with it."""

    changes: tuple[PastChange, ...] = ()
    co_changed_tests: tuple[tuple[str, int], ...] = ()


def file_pasts(
    history: Iterable[Change],
    touches: Sequence[FileTouch],
    exists: Callable[[str], bool] = lambda path: True,
) -> dict[str, FilePast]:
    """Per file of the change (by its path at head), its past from `history` (earlier
    changes in time order). A new or copied file has none. Co-changed tests are those
    `exists` accepts (tests that still exist at head), never the file itself."""
    state: dict[str, _Past] = {}
    is_test: dict[str, bool] = {}  # is_test_path is slow-ish: once per path
    for change in history:
        tests = []
        if len(change.files) <= BULK_FILES:
            for t in change.files:
                if t.change_type == "D":
                    continue
                test = is_test.get(t.path)
                if test is None:
                    test = is_test[t.path] = is_test_path(t.path)
                if test:
                    tests.append(t.path)
        past = PastChange(change.commit_time, change.is_fix)
        for touch in change.files:
            if touch.change_type == "D":
                state.pop(touch.path, None)
                continue
            if touch.change_type == "R" and touch.old_path is not None:
                current = state.pop(touch.old_path, None) or _Past()
            elif touch.change_type in ("A", "C"):
                current = _Past()
            else:
                current = state.get(touch.path) or _Past()
            state[touch.path] = current
            current.changes.append(past)
            if tests:
                current.tests.update(t for t in tests if t != touch.path)
    found: dict[str, FilePast] = {}
    for touch in touches:
        if touch.change_type in ("A", "C"):
            found[touch.path] = FilePast()
            continue
        known = state.get(touch.old_path or touch.path)
        if known is None:
            found[touch.path] = FilePast()
            continue
        kept = [(path, n) for path, n in known.tests.most_common() if exists(path)]
        found[touch.path] = FilePast(tuple(known.changes), tuple(kept[:MAX_TESTS]))
    return found
