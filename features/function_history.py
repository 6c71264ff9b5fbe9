"""The history of the functions a change touches, replayed in time order.

Per (path, function name) the replay keeps the earlier changes that touched the
function, the fixes among them and when it last changed. A file's functions follow it
through renames; a deleted file's functions lose their history, and an added or copied
file starts a new one. A function is known by its qualified name (features.code_metrics),
so a renamed function starts a new history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from teamlens.features.kamei import SECONDS_PER_DAY, Change


@dataclass(frozen=True)
class FunctionTouch:
    """A function a change touched: the file's path after the change, the function's name."""

    path: str
    name: str


@dataclass(frozen=True)
class FunctionHistoryFeatures:
    functions_prior_changes: int
    functions_prior_fixes: int
    functions_age: float


@dataclass
class _FunctionState:
    commits: set[str] = field(default_factory=set)
    fixes: set[str] = field(default_factory=set)
    last_time: int | None = None


class FunctionHistory:
    """Feed it every change in time order: :meth:`features`, then :meth:`advance`."""

    def __init__(self) -> None:
        self._state: dict[str, dict[str, _FunctionState]] = {}  # path -> name -> state

    def features(
        self, change: Change, functions: Iterable[FunctionTouch]
    ) -> FunctionHistoryFeatures:
        old_path = {
            t.path: (None if t.change_type in ("A", "C") else t.old_path or t.path)
            for t in change.files
        }
        commits: set[str] = set()
        fixes: set[str] = set()
        ages: list[float] = []
        for fn in sorted(set(functions), key=lambda f: (f.path, f.name)):
            before = old_path.get(fn.path, fn.path)
            state = self._state.get(before, {}).get(fn.name) if before is not None else None
            if state is None or state.last_time is None:
                ages.append(0.0)
                continue
            commits |= state.commits
            fixes |= state.fixes
            ages.append(max(change.commit_time - state.last_time, 0) / SECONDS_PER_DAY)
        return FunctionHistoryFeatures(
            functions_prior_changes=len(commits),
            functions_prior_fixes=len(fixes),
            functions_age=sum(ages) / len(ages) if ages else 0.0,
        )

    def advance(self, change: Change, functions: Sequence[FunctionTouch]) -> None:
        """Take `change` (and the functions it touched) into the history."""
        for touch in change.files:
            if touch.change_type == "D":
                self._state.pop(touch.path, None)
            elif touch.change_type == "R" and touch.old_path is not None:
                self._state[touch.path] = self._state.pop(touch.old_path, {})
            elif touch.change_type in ("A", "C"):
                self._state.pop(touch.path, None)
        for fn in functions:
            state = self._state.setdefault(fn.path, {}).setdefault(fn.name, _FunctionState())
            state.commits.add(change.sha)
            if change.is_fix:
                state.fixes.add(change.sha)
            state.last_time = change.commit_time
