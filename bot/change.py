"""The change under review, computed from a local repository: base...head.

The diff is taken from the merge base of base and head to head (what a pull request
shows), in-process with pygit2 (git's xdiff, renames at 50 %). For each file: the lines
it adds, its diff hunks, its owning teams, whether it is test code, and the fix commits
that touched it in the 90 days before the change. Functions changed, with cyclomatic
complexity before and after, come from tree-sitter (features.code_metrics).

The change's features follow docs/features.md, computed for one change from git alone
(no store needed): size (la, ld, lt), diffusion (ns, nd, nf, entropy), purpose (fix:
any commit in the range matches ``mining.fix_patterns``), history (ndev, age, nuc, from
one ``git log`` over the touched paths up to the merge base; renames are not followed
here, unlike the store's replay), team context and code metrics, and the benchmark's
``jit_*`` columns the default model reads. Only what was known when the change was
proposed is used: history stops at the merge base.

Author e-mails are read from git only to count distinct contributors (``ndev``); they
are never stored or returned.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import DeltaStatus, DiffFind, DiffOption

from teamlens.bot.domain import ChangedFile, ChangedFunction, ChangeUnderReview
from teamlens.config import Config, RepositoryConfig
from teamlens.errors import RepositoryError
from teamlens.features.changes import is_test_path, read_codeowners
from teamlens.features.code_metrics import file_code_metrics
from teamlens.features.kamei import TeamMap, entropy, subsystem_and_directory
from teamlens.mining.domain import ChangeType
from teamlens.mining.git import run_git
from teamlens.mining.repository import GitRepository
from teamlens.mining.syntax import parser_for

DAY = 86_400
FIX_WINDOW_DAYS = 90
MAX_PARSE_BYTES = 1_000_000
_STATUS = {
    DeltaStatus.ADDED: ChangeType.ADDED,
    DeltaStatus.DELETED: ChangeType.DELETED,
    DeltaStatus.RENAMED: ChangeType.RENAMED,
    DeltaStatus.COPIED: ChangeType.ADDED,
}


@dataclass(frozen=True)
class _FileHistory:
    authors: frozenset[str]
    commits: frozenset[str]
    last_time: int | None
    fixes_recent: frozenset[str]


def _resolve(repo: pygit2.Repository, ref: str) -> pygit2.Commit:
    try:
        return repo.revparse_single(ref).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError) as exc:
        raise RepositoryError(f"{ref!r} is not a commit in {repo.workdir or repo.path}") from exc


def _blob(repo: pygit2.Repository, oid: pygit2.Oid, mode: int) -> bytes | None:
    if mode not in (pygit2.enums.FileMode.BLOB, pygit2.enums.FileMode.BLOB_EXECUTABLE):
        return None
    obj = repo.get(oid)
    if not isinstance(obj, pygit2.Blob) or obj.size > MAX_PARSE_BYTES:
        return None
    return obj.data


def _history(
    path: Path,
    base: str,
    paths: Sequence[str],
    fix_res: Sequence[re.Pattern[str]],
    now: int,
) -> dict[str, _FileHistory]:
    """Per path: earlier contributors (counted only), commits, last change, recent fixes."""
    if not paths:
        return {}
    out = run_git(
        path, "log", "--no-merges", "--no-renames", "--format=%x00%H%x00%at%x00%aE%x00%B%x00",
        "--name-only", base, "--", *paths,
    )  # fmt: skip
    wanted = set(paths)
    authors: dict[str, set[str]] = {p: set() for p in paths}
    commits: dict[str, set[str]] = {p: set() for p in paths}
    last: dict[str, int] = {}
    fixes: dict[str, set[str]] = {p: set() for p in paths}
    # NUL separates the fields: git keeps every other control character in names,
    # e-mails and messages, and cuts a message at a NUL. Each commit is five fields
    # (the file names follow its last NUL).
    fields = out.split("\0")[1:]
    for i in range(0, len(fields) - 4, 5):
        sha, when_s, email, message, names = fields[i : i + 5]
        when = int(when_s)
        is_fix = any(r.search(message) for r in fix_res)
        for name in names.strip().splitlines():
            if name not in wanted:
                continue
            authors[name].add(email.lower())
            commits[name].add(sha)
            last[name] = max(last.get(name, 0), when)
            if is_fix and now - FIX_WINDOW_DAYS * DAY <= when <= now:
                fixes[name].add(sha)
    return {
        p: _FileHistory(
            frozenset(authors[p]), frozenset(commits[p]), last.get(p), frozenset(fixes[p])
        )
        for p in paths
    }


def _hunk_text(hunk: pygit2.DiffHunk) -> str:
    lines = [hunk.header.rstrip("\n")]
    lines += [f"{line.origin}{line.content.rstrip(chr(10))}" for line in hunk.lines]
    return "\n".join(lines)


def diffusion_features(files: Sequence[ChangedFile]) -> dict[str, float]:
    """Size and diffusion of a change, and the benchmark-compatible ``jit_*`` versions.

    Only what the file list shows (no history, no line counts): shared by the local
    review and by a review built from GitHub's patches.
    """
    places = [subsystem_and_directory(f.path) for f in files]
    kept = [f for f in files if f.old_path and f.added + f.deleted > 0 and not f.is_binary]
    kept_places = [subsystem_and_directory(f.path) for f in kept]
    features = {
        "ns": len({s for s, _ in places}),
        "nd": len({d for _, d in places}),
        "nf": len(files),
        "entropy": entropy([f.added + f.deleted for f in files]),
        "la": sum(f.added for f in files),
        "ld": sum(f.deleted for f in files),
        "tests_touched": any(f.is_test for f in files),
        "jit_ns": len({s for s, _ in kept_places}),
        "jit_nd": len({d for _, d in kept_places}),
        "jit_nf": len({f.path.rsplit("/", 1)[-1] for f in kept}),
        "jit_entropy": entropy([f.added + f.deleted for f in kept]),
        "jit_la": sum(f.added for f in kept),
    }
    return {k: float(v) for k, v in features.items()}


def compute_change(
    config: Config,
    repo_config: RepositoryConfig,
    base_ref: str,
    head_ref: str,
    timings: dict[str, float] | None = None,
) -> ChangeUnderReview:
    """The change from the merge base of `base_ref` and `head_ref` to `head_ref`.

    `timings`, if given, receives the seconds spent in tree-sitter ("tree-sitter") and in
    everything else ("features").
    """
    started = time.perf_counter()
    parsing = 0.0
    repo = GitRepository.open(repo_config, config.clones_dir)
    handle = repo.handle
    head = _resolve(handle, head_ref)
    base_tip = _resolve(handle, base_ref)
    merge_base_id = handle.merge_base(base_tip.id, head.id)
    if merge_base_id is None:
        raise RepositoryError(f"{base_ref!r} and {head_ref!r} share no history")
    base = handle[merge_base_id].peel(pygit2.Commit)
    team_source = repo_config.teams or config.teams
    globs: dict[str, Sequence[str]] = dict(team_source.globs)
    if team_source.codeowners:
        globs.update(read_codeowners(repo))
    teams = TeamMap(globs)
    fix_res = [re.compile(p) for p in config.mining.fix_patterns]

    diff = handle.diff(base, head, context_lines=3, flags=DiffOption.INDENT_HEURISTIC)
    diff.find_similar(flags=DiffFind.FIND_RENAMES)
    patches = [p for p in diff if p is not None]
    old_paths = [p.delta.old_file.path for p in patches if p.delta.status != DeltaStatus.ADDED]
    now = int(head.commit_time)
    history = _history(repo.path, str(base.id), old_paths, fix_res, now)

    files: list[ChangedFile] = []
    functions: list[ChangedFunction] = []
    code = {"files": 0, "comment": 0, "blank": 0}
    for patch in patches:
        delta = patch.delta
        added_lines: list[int] = []
        deleted_lines: list[int] = []
        for hunk in patch.hunks:
            for line in hunk.lines:
                if line.origin == "+":
                    added_lines.append(line.new_lineno)
                elif line.origin == "-":
                    deleted_lines.append(line.old_lineno)
        is_new = delta.status in (DeltaStatus.ADDED, DeltaStatus.COPIED)
        path = delta.new_file.path if delta.status != DeltaStatus.DELETED else delta.old_file.path
        hist = None if is_new else history.get(delta.old_file.path)
        files.append(
            ChangedFile(
                path=path,
                old_path=None if is_new else delta.old_file.path,
                status=_STATUS.get(delta.status, ChangeType.MODIFIED),
                added=len(added_lines),
                deleted=len(deleted_lines),
                added_lines=tuple(added_lines),
                is_test=is_test_path(path),
                is_binary=bool(delta.is_binary),
                owners=teams.owners(path),
                recent_fixes=len(hist.fixes_recent) if hist else 0,
                hunks=tuple(_hunk_text(h) for h in patch.hunks),
            )
        )
        if parser_for(path) is None or bool(delta.is_binary):
            continue
        before = None if is_new else _blob(handle, delta.old_file.id, delta.old_file.mode)
        after = (
            None
            if delta.status == DeltaStatus.DELETED
            else _blob(handle, delta.new_file.id, delta.new_file.mode)
        )
        parse_started = time.perf_counter()
        metrics = file_code_metrics(path, before, after, deleted_lines, added_lines)
        parsing += time.perf_counter() - parse_started
        if metrics is None:
            continue
        code["files"] += 1
        code["comment"] += metrics.comment_lines_added
        code["blank"] += metrics.whitespace_lines_added
        functions += [
            ChangedFunction(path, f.name, f.start_line, f.complexity_before, f.complexity_after)
            for f in metrics.functions_changed
        ]

    commits_in_range = _range_messages(handle, base.id, head.id)
    features = _features(
        handle, base, files, functions, history, code, now,
        any(r.search(m) for r in fix_res for m in commits_in_range),
    )  # fmt: skip
    if timings is not None:
        timings["tree-sitter"] = timings.get("tree-sitter", 0.0) + parsing
        total = time.perf_counter() - started
        timings["features"] = timings.get("features", 0.0) + total - parsing
    return ChangeUnderReview(
        repo_config.name, str(base.id), str(head.id), tuple(files), tuple(functions), features
    )


def _range_messages(repo: pygit2.Repository, base: pygit2.Oid, head: pygit2.Oid) -> list[str]:
    walker = repo.walk(head, pygit2.enums.SortMode.TOPOLOGICAL)
    walker.hide(base)
    return [c.message for c in walker]


def _lines_at(repo: pygit2.Repository, commit: pygit2.Commit, path: str) -> int:
    try:
        obj = repo[commit.tree[path].id]
    except (KeyError, ValueError):
        return 0
    if not isinstance(obj, pygit2.Blob) or obj.is_binary:
        return 0
    data = obj.data
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def _features(
    repo: pygit2.Repository,
    base: pygit2.Commit,
    files: Sequence[ChangedFile],
    functions: Sequence[ChangedFunction],
    history: Mapping[str, _FileHistory],
    code: Mapping[str, int],
    now: int,
    is_fix: bool,
) -> dict[str, float]:
    lt_by_file = {f.old_path: _lines_at(repo, base, f.old_path) for f in files if f.old_path}
    authors: set[str] = set()
    commits: set[str] = set()
    ages: list[float] = []
    recent: set[str] = set()
    for f in files:
        hist = history.get(f.old_path) if f.old_path else None
        if hist is None:
            ages.append(0.0)
            continue
        authors |= hist.authors
        commits |= hist.commits
        recent |= hist.fixes_recent
        ages.append(max(now - hist.last_time, 0) / DAY if hist.last_time else 0.0)
    kept = [f for f in files if f.old_path and f.added + f.deleted > 0 and not f.is_binary]
    owners = {team for f in files for team in f.owners}
    grown = [
        (fn.complexity_after or 0) - (fn.complexity_before or 0)
        for fn in functions
        if fn.complexity_before is not None and fn.complexity_after is not None
    ]
    features: dict[str, float] = {
        **diffusion_features(files),
        "lt": sum(lt_by_file.values()),
        "fix": float(is_fix),
        "ndev": len(authors),
        "age": sum(ages) / len(ages) if ages else 0.0,
        "nuc": len(commits),
        "n_teams": len(owners),
        "owner_share": float("nan"),  # needs the store's replay of every earlier change
        "recent_fixes": len(recent),
        "code_metrics_files": code["files"],
        "functions_changed": len(functions),
        "complexity_before": sum(fn.complexity_before or 0 for fn in functions),
        "complexity_after": sum(fn.complexity_after or 0 for fn in functions),
        "max_complexity_increase": max([0, *grown]),
        "largest_function_complexity": max([0, *(fn.complexity_after or 0 for fn in functions)]),
        "comment_lines_added": code["comment"],
        "whitespace_lines_added": code["blank"],
        "jit_lt": sum(lt_by_file.get(f.old_path, 0) for f in kept if f.old_path),
    }
    return {k: float(v) for k, v in features.items()}
