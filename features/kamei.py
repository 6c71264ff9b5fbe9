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
    state: dict[str, _FileState] = {}
    single_team: dict[str, bool] = {}  # commit -> did it touch at most one team's files
    result: dict[str, KameiFeatures] = {}
    for change in changes:
        now = change.commit_time
        subsystems, directories = set(), set()
        la = ld = lt = 0
        modified: list[int] = []
        authors: set[str] = set()
        prior_commits: set[str] = set()
        ages: list[float] = []
        recent: set[str] = set()
        owners: set[str] = set()
        kept: list[tuple[FileTouch, int]] = []  # (touch, lines before) for the benchmark
        for touch in change.files:
            sub, directory = subsystem_and_directory(touch.path)
            subsystems.add(sub)
            directories.add(directory)
            la += touch.added
            ld += touch.deleted
            modified.append(touch.added + touch.deleted)
            owners.update(teams.owners(touch.path))
            before = state.get(touch.old_path or touch.path) if touch.change_type != "A" else None
            if touch.change_type == "C":
                before = None  # a copy starts a new file's history
            if before is None:
                ages.append(0.0)
                continue
            lt += before.lines
            if touch.added + touch.deleted > 0:
                kept.append((touch, before.lines))
            authors |= before.authors
            prior_commits |= before.commits
            if before.last_time is not None:
                ages.append(max(now - before.last_time, 0) / SECONDS_PER_DAY)
            recent.update(
                sha
                for t, sha in before.fix_times
                if now - FIX_WINDOW_DAYS * SECONDS_PER_DAY <= t <= now
            )
        result[change.sha] = KameiFeatures(
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
                sum(single_team[c] for c in prior_commits) / len(prior_commits)
                if prior_commits
                else None
            ),
            recent_fixes=len(recent),
            jit=_jit_compatible(kept),
        )
        single_team[change.sha] = len(owners) <= 1
        _advance(state, change)
    return result


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
        current.authors.add(change.author_id)  # counted later, never emitted
        current.commits.add(change.sha)
        current.last_time = change.commit_time
        if change.is_fix:
            current.fix_times.append((change.commit_time, change.sha))
        state[touch.path] = current
