"""What the review bot knows about a change and what it says about it.

A :class:`ChangeUnderReview` is a change between two commits (a pull request's base and
head): its files with their added lines, the functions it touches with their complexity
before and after, and the change's features. A :class:`ReviewResult` is the bot's
answer: a risk, a level, reasons and suggestions. None of these holds a person: no
author, no committer, no login.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from teamlens.mining.domain import ChangeType


class Level(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


@dataclass(frozen=True)
class PastChange:
    """An earlier change that touched a file: when, and whether it was a fix. No person."""

    time: int  # commit time, seconds since the epoch
    is_fix: bool


@dataclass(frozen=True)
class ChangedFile:
    """One file of the change, as the diff between base and head shows it."""

    path: str  # at head (the old path for a deleted file)
    old_path: str | None  # at base; None for an added file
    status: ChangeType  # ADDED, MODIFIED, DELETED or RENAMED (a copy counts as added)
    added: int
    deleted: int
    added_lines: tuple[int, ...] = ()  # line numbers at head that the change adds
    is_test: bool = False
    is_binary: bool = False
    owners: tuple[str, ...] = ()  # teams owning the path (repos.yaml globs or CODEOWNERS)
    recent_fixes: int = 0  # fix commits that touched the file in the 90 days before
    hunks: tuple[str, ...] = ()  # the diff hunks (text), for finding similar past comments
    #: Earlier changes that touched the file (its renames followed), oldest first.
    past: tuple[PastChange, ...] = ()
    #: Test files that earlier changes changed together with this one, with how often,
    #: most often first (only tests that exist at head).
    co_changed_tests: tuple[tuple[str, int], ...] = ()
    #: Other files of this change whose name this file's text mentions (a module, class
    #: or file name); None when unknown (e.g. a change seen only through its patches).
    references: tuple[str, ...] | None = None
    #: Other files of this change that code moved to or from (bot.moves).
    moved_with: tuple[str, ...] = ()

    @property
    def lines(self) -> int:
        """Changed lines: added + deleted."""
        return self.added + self.deleted


@dataclass(frozen=True)
class ChangedFunction:
    path: str
    name: str
    start_line: int  # at head (at base for a deleted function)
    complexity_before: int | None  # None: the function is new
    complexity_after: int | None  # None: the function was deleted
    end_line: int | None = None  # its last line, in the version of start_line
    #: Its text moved unchanged (from another file or within its file), or it is the
    #: removed side of such a move: nothing new to test or review in it.
    moved: bool = False


@dataclass(frozen=True)
class PriorFunction:
    """A function the change touches, and how often earlier changes changed and fixed it."""

    path: str  # at head
    name: str  # qualified (features.code_metrics)
    changes: int
    fixes: int


@dataclass(frozen=True)
class ChangeUnderReview:
    repo: str
    base: str  # commit ids
    head: str
    files: tuple[ChangedFile, ...]
    functions: tuple[ChangedFunction, ...]
    features: Mapping[str, float]  # change features by column name (docs/features.md)
    #: Registry features that could not be computed for this change (their value is NaN
    #: in `features`), e.g. code metrics of a pull request seen only through its patches.
    unavailable: tuple[str, ...] = ()
    #: Per function the change touches: its earlier changes and fixes (the store's
    #: function history; empty without a mined store).
    prior_functions: tuple[PriorFunction, ...] = ()
    time: int = 0  # commit time of head (seconds): "now" for the history windows


@dataclass(frozen=True)
class Suggestion:
    """One concrete, checkable suggestion from one rule.

    ``path`` and ``line`` place it on a line the change adds (an inline comment); both
    None for a suggestion about the whole change. ``end_line`` (when known) is the last
    line of what it names, e.g. a function.
    """

    rule: str
    message: str
    path: str | None = None
    line: int | None = None
    details: Mapping[str, object] = field(default_factory=dict)
    end_line: int | None = None

    @property
    def fingerprint(self) -> str:
        """Stable across pushes and rebases: path, rule and message, not the line number."""
        text = "\0".join((self.path or "", self.rule, self.message))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class NothingToReview:
    """The answer for a change with nothing in it: no commits between the merge base and
    head (``base == head``), or commits whose diff is empty."""

    repo: str
    base: str  # the merge base
    head: str
    #: Why, when the caller knows better than the commits show (e.g. ``--worktree``:
    #: "no uncommitted changes"); empty: told from the commits.
    detail: str = ""

    @property
    def reason(self) -> str:
        if self.detail:
            return self.detail
        if self.base == self.head:
            return "no commits between the merge base and head"
        return "the diff between the merge base and head is empty"

    def as_json(self) -> dict[str, object]:
        return {
            "nothing_to_review": True,
            "reason": self.reason,
            "base": self.base,
            "head": self.head,
            "repo": self.repo,
        }


@dataclass(frozen=True)
class RiskyLine:
    """An added line a later fix is likely to touch (bot.lines), with why in a sentence.

    ``score`` is the line model's score (model.lines): it orders the lines of one change
    only, and is shown only where numbers are (``numeric`` JSON).
    """

    path: str
    line: int  # at head
    score: float
    reason: str
    function: str | None = None  # the function around it, if any


@dataclass(frozen=True)
class ReviewResult:
    change: ChangeUnderReview
    risk: float  # 0..1, from the current model
    level: Level
    reasons: tuple[str, ...]  # plain sentences, from the model's feature contributions
    suggestions: tuple[Suggestion, ...]
    model_id: str
    #: What the level means, e.g. "among the riskiest 10 % of this repository's recent
    #: changes" (model.levels).
    level_meaning: str = ""
    #: The riskiest added lines (medium and high risk only; also in `suggestions`).
    risky_lines: tuple[RiskyLine, ...] = ()

    def as_json(self, numeric: bool = True) -> dict[str, object]:
        """The interface contract: ``{"risk", "level", "reasons", "suggestions"}`` and more.

        Without ``numeric`` there is no ``risk``: the level only, for what others see.
        """
        risk: dict[str, object] = {"risk": round(self.risk, 4)} if numeric else {}
        return {
            **risk,
            "level": self.level.value,
            "level_meaning": self.level_meaning,
            "reasons": list(self.reasons),
            "suggestions": [
                {
                    "rule": s.rule,
                    "message": s.message,
                    "path": s.path,
                    "line": s.line,
                    "fingerprint": s.fingerprint,
                }
                for s in self.suggestions
            ],
            "risky_lines": [
                {
                    "path": line.path,
                    "line": line.line,
                    **({"score": round(line.score, 3)} if numeric else {}),
                    "reason": line.reason,
                }
                for line in self.risky_lines
            ],
            "model": self.model_id,
            "base": self.change.base,
            "head": self.change.head,
            "repo": self.change.repo,
            # Registry features this change could not have (e.g. a patches-only review).
            **(
                {"unavailable_features": list(self.change.unavailable)}
                if self.change.unavailable
                else {}
            ),
        }
