"""Change metrics after Kamei et al. (TSE 2013) and team context, knowable at change time.

Commits are replayed in time order (commit time, then mined order) keeping, per file,
only what earlier commits left behind: its line count, the pseudonyms that touched it
(counted, never emitted), the commits that touched it, when it last changed, and when
fixes touched it. A file's history follows it through renames. Per-individual metrics
(EXP, REXP, SEXP) are not computed: they describe a person, not a change.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

SECONDS_PER_DAY = 86_400
FIX_WINDOW_DAYS = 90


@dataclass(frozen=True)
class FileTouch:
    """One file change of a commit, as the miner stored it."""

    path: str
    old_path: str | None
    change_type: str
    added: int
    deleted: int


@dataclass(frozen=True)
class Change:
    """A non-merge commit, with what the replay needs."""

    sha: str
    commit_time: int
    author_id: str
    is_fix: bool
    files: tuple[FileTouch, ...]


@dataclass(frozen=True)
class KameiFeatures:
    ns: int
    nd: int
    nf: int
    entropy: float
    la: int
    ld: int
    lt: int
    fix: bool
    ndev: int
    age: float
    nuc: int
    owning_teams: tuple[str, ...]
    n_teams: int
    owner_share: float | None
    recent_fixes: int
    jit: JitCompatible
    files_added: int = 0
    files_deleted: int = 0
    la_new_files: int = 0
    prior_fixes: int = 0
    prior_churn: int = 0


@dataclass(frozen=True)
class JitCompatible:
    """ns, nd, nf, entropy, la and lt as the public JIT benchmark defines them.

    The benchmark (Zeng et al., ISSTA 2021; its extract_k_feature.py) counts only files
    that existed before the change and whose text changed: added files, binary files
    and pure renames are left out, and nf counts distinct file *names*, not paths.
    These columns let a model trained on that benchmark score teamlens's changes
    (docs/evaluation.md, "The default model").
    """

    ns: int
    nd: int
    nf: int
    entropy: float
    la: int
    lt: int


@dataclass
class _FileState:
    lines: int = 0
    authors: set[str] = field(default_factory=set)
    commits: set[str] = field(default_factory=set)
    last_time: int | None = None
    fix_times: list[tuple[int, str]] = field(default_factory=list)
    churn: int = 0  # lines added + deleted by the changes so far


def subsystem_and_directory(path: str) -> tuple[str, str]:
    """(subsystem, directory) of a path: its first component and its folder; ``root`` at top."""
    parts = path.split("/")
    if len(parts) == 1:
        return "root", "root"
    return parts[0], "/".join(parts[:-1])


def entropy(modified: Sequence[int]) -> float:
    """Shannon entropy (bits) of the modified lines (added + deleted) over the files."""
    total = sum(modified)
    if total == 0:
        return 0.0
    return -sum((m / total) * math.log2(m / total) for m in modified if m)


class TeamMap:
    """Which team(s) own a path: repos.yaml globs (gitignore-like ``**``) or CODEOWNERS."""

    def __init__(self, globs: Mapping[str, Sequence[str]]) -> None:
        self._rules = [
            (team, _glob_to_patterns(g)) for team, gs in sorted(globs.items()) for g in gs
        ]
        self._cache: dict[str, tuple[str, ...]] = {}

    def owners(self, path: str) -> tuple[str, ...]:
        found = self._cache.get(path)
        if found is None:
            found = tuple(
                sorted(
                    {
                        team
                        for team, patterns in self._rules
                        if any(fnmatch.fnmatchcase(path, p) for p in patterns)
                    }
                )
            )
            self._cache[path] = found
        return found


def _glob_to_patterns(glob: str) -> tuple[str, ...]:
    """`src/**` matches everything below src; a bare `*.md` matches at any depth."""
    glob = glob.lstrip("/")
    patterns = {glob}
    if glob.endswith("/**"):
        patterns.add(glob[:-3] + "/*")
    if "/" not in glob:
        patterns.add("*/" + glob)
    return tuple(patterns)


def replay(changes: Iterable[Change], teams: TeamMap) -> dict[str, KameiFeatures]:
    """Features of every change, each computed from the changes before it only.

    `changes` must come in time order; merges are left out by the caller (their file
    changes are not their own work).
    """
    history = Replay(teams)
    result: dict[str, KameiFeatures] = {}
    for change in changes:
        result[change.sha] = history.features(change)
        history.advance(change)
    return result


def features_after(
    history: Sequence[Change], change: Change, teams: TeamMap
) -> tuple[KameiFeatures, Replay]:
    """The features of `change` after `history` (earlier changes, in time order), exactly
    as :func:`replay` over ``[*history, change]`` computes them, and the replay state
    before `change` (for per-file figures).

    Only the earlier changes that touch the change's files, or files that became them
    through renames, are replayed: no other file's history reaches these features.
    """
    replayed = Replay(teams)
    for earlier in relevant_history(history, change):
        replayed.advance(earlier)
    return replayed.features(change), replayed


def relevant_history(history: Sequence[Change], change: Change) -> list[Change]:
    """The changes of `history` whose file touches can reach `change`'s files' state."""
    paths = {t.old_path or t.path for t in change.files} | {t.path for t in change.files}
    kept: list[Change] = []
    for earlier in reversed(history):  # renames lead backwards to the older names
        hit = False
        for touch in earlier.files:
            if touch.path in paths or touch.old_path in paths:  # a rename away ends it
                hit = True
            if touch.path in paths and touch.old_path is not None and touch.change_type == "R":
                paths.add(touch.old_path)
        if hit:
            kept.append(earlier)
    kept.reverse()
    return kept


class Replay:
    """The replay state: per file what earlier changes left behind (module docstring)."""

    def __init__(self, teams: TeamMap) -> None:
        self.teams = teams
        self.state: dict[str, _FileState] = {}
        self.single_team: dict[str, bool] = {}  # commit -> touched at most one team's files

    def before(self, touch: FileTouch) -> _FileState | None:
        """The history a file touch continues; None for a new file (or a copy)."""
        if touch.change_type in ("A", "C"):
            return None  # a copy starts a new file's history
        return self.state.get(touch.old_path or touch.path)

    def recent_fixes(self, touch: FileTouch, now: int) -> int:
        """Fix commits that touched the file in the 90 days before `now`."""
        before = self.before(touch)
        if before is None:
            return 0
        return len(_recent(before, now))

    def features(self, change: Change) -> KameiFeatures:
        now = change.commit_time
        subsystems, directories = set(), set()
        la = ld = lt = churn = 0
        modified: list[int] = []
        authors: set[str] = set()
        prior_commits: set[str] = set()
        ages: list[float] = []
        recent: set[str] = set()
        fixes: set[str] = set()
        owners: set[str] = set()
        kept: list[tuple[FileTouch, int]] = []  # (touch, lines before) for the benchmark
        for touch in change.files:
            sub, directory = subsystem_and_directory(touch.path)
            subsystems.add(sub)
            directories.add(directory)
            la += touch.added
            ld += touch.deleted
            modified.append(touch.added + touch.deleted)
            owners.update(self.teams.owners(touch.path))
            before = self.before(touch) if touch.change_type != "A" else None
            if before is None:
                ages.append(0.0)
                continue
            lt += before.lines
            churn += before.churn
            if touch.added + touch.deleted > 0:
                kept.append((touch, before.lines))
            authors |= before.authors
            prior_commits |= before.commits
            if before.last_time is not None:
                ages.append(max(now - before.last_time, 0) / SECONDS_PER_DAY)
            recent |= _recent(before, now)
            fixes.update(sha for _, sha in before.fix_times)
        new_files = [t for t in change.files if t.change_type in ("A", "C")]
        return KameiFeatures(
            ns=len(subsystems),
            nd=len(directories),
            nf=len(change.files),
            entropy=entropy(modified),
            la=la,
            ld=ld,
            lt=lt,
            fix=change.is_fix,
            ndev=len(authors),
            age=sum(ages) / len(ages) if ages else 0.0,
            nuc=len(prior_commits),
            owning_teams=tuple(sorted(owners)),
            n_teams=len(owners),
            owner_share=(
                sum(self.single_team[c] for c in prior_commits) / len(prior_commits)
                if prior_commits
                else None
            ),
            recent_fixes=len(recent),
            jit=_jit_compatible(kept),
            files_added=len(new_files),
            files_deleted=sum(1 for t in change.files if t.change_type == "D"),
            la_new_files=sum(t.added for t in new_files),
            prior_fixes=len(fixes),
            prior_churn=churn,
        )

    def advance(self, change: Change) -> None:
        """Take `change` into the history."""
        owners = {team for t in change.files for team in self.teams.owners(t.path)}
        self.single_team[change.sha] = len(owners) <= 1
        _advance(self.state, change)


def _recent(before: _FileState, now: int) -> set[str]:
    return {
        sha for t, sha in before.fix_times if now - FIX_WINDOW_DAYS * SECONDS_PER_DAY <= t <= now
    }


def _jit_compatible(kept: Sequence[tuple[FileTouch, int]]) -> JitCompatible:
    places = [subsystem_and_directory(t.path) for t, _ in kept]
    return JitCompatible(
        ns=len({sub for sub, _ in places}),
        nd=len({directory for _, directory in places}),
        nf=len({t.path.rsplit("/", 1)[-1] for t, _ in kept}),
        entropy=entropy([t.added + t.deleted for t, _ in kept]),
        la=sum(t.added for t, _ in kept),
        lt=sum(lines for _, lines in kept),
    )


def _advance(state: dict[str, _FileState], change: Change) -> None:
    for touch in change.files:
        if touch.change_type == "D":
            state.pop(touch.path, None)
            continue
        if touch.change_type == "R" and touch.old_path is not None:
            current = state.pop(touch.old_path, None) or _FileState()
        elif touch.change_type in ("A", "C"):
            current = _FileState()
        else:
            current = state.get(touch.path) or _FileState()
        current.lines = max(current.lines + touch.added - touch.deleted, 0)
        current.churn += touch.added + touch.deleted
        current.authors.add(change.author_id)  # counted later, never emitted
        current.commits.add(change.sha)
        current.last_time = change.commit_time
        if change.is_fix:
            current.fix_times.append((change.commit_time, change.sha))
        state[touch.path] = current
