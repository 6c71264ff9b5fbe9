"""A small cached index of a repository's history, for reviews of a repository with no store.

A review needs the changes before the reviewed one (history features: ndev, age, nuc,
recent fixes). A mined repository has them in the store; otherwise they come from
``git log``, which on a long history costs seconds per review (werkzeug, 5,900 commits:
about 4 s of CPU for four path-limited logs). The index keeps what the replay reads of
every commit once read: id, commit time, a keyed pseudonym of the author, whether the
message matches the fix patterns, and the file changes (path, earlier path, type,
lines added and deleted). The next review reads only the commits the index lacks
(``git log BASE --not <indexed tips>``) and ``git rev-list`` for the order.

It lives in the private zone of the data folder (``<data_dir>/review-history/<repo>.json``,
0600): no name, no e-mail, no message; authors only as HMAC pseudonyms under the
configured key, which never lies in the data folder. People on the opt-out list are
never indexed; an index built under another key, opt-out list, fix patterns or copy
detection is rebuilt. Deleting it is always safe. Without a usable key a review reads
``git log`` as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from teamlens.config import Config
from teamlens.errors import TeamlensError
from teamlens.features.kamei import Change, FileTouch
from teamlens.features.pipeline import earlier_names, file_touch
from teamlens.mining.git import run_git
from teamlens.mining.gitlog import git_log
from teamlens.privacy import (
    Pseudonymizer,
    default_key_file,
    load_key,
    normalise_identity,
    read_opt_out,
)

INDEX_DIR = "review-history"
FORMAT = "teamlens-history-index-1"
MAX_TIPS = 20


@dataclass(frozen=True)
class _Indexed:
    time: int
    author: str  # keyed pseudonym
    is_fix: bool
    is_merge: bool
    files: tuple[FileTouch, ...]


class HistoryIndex:
    """The index of one repository (see the module)."""

    def __init__(
        self,
        data_dir: Path,
        repo_name: str,
        pseudonymizer: Pseudonymizer,
        fix_patterns: Sequence[str],
        detect_copies: bool,
        opted_out: Iterable[str] = (),
    ) -> None:
        self.path = data_dir / INDEX_DIR / f"{repo_name}.json"
        self.pseudonymizer = pseudonymizer
        self.fix_res = [re.compile(p) for p in fix_patterns]
        self.detect_copies = detect_copies
        self.opted_out = frozenset(e.lower() for e in opted_out if "@" in e)
        settings = {
            "format": FORMAT,
            "key": pseudonymizer.pseudonym("teamlens review-history index"),
            "fix_patterns": list(fix_patterns),
            "detect_copies": detect_copies,
            "opt_out": pseudonymizer.pseudonym("\n".join(sorted(self.opted_out))),
        }
        self.settings = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()

    def changes(
        self, repo: Path, base: str, until: int, paths: Iterable[str] | None = None
    ) -> list[Change]:
        """What ``features.pipeline.git_history`` gives: the non-merge changes reachable
        from `base` up to time `until`, in the store's order (commit time, then git's
        topological order), with `paths` only those touching them or (through renames)
        their earlier names; read from the index, which learns what it lacks."""
        order = run_git(repo, "rev-list", "--topo-order", "--reverse", base).split()
        tips, commits, gone = self._read()
        if any(sha not in commits for sha in order):
            known = _existing(repo, [t for t in tips if t in commits])
            found, newly_gone = self._read_git(repo, base, known)
            commits.update(found)
            gone |= newly_gone
            # The newest tips: `git log --not` stays short (an older tip only means that
            # a later update reads some indexed commits again).
            tips = [*known, order[-1]][-MAX_TIPS:] if order else known
            self._write(tips, commits, gone)
        listed = [
            (c.time, i, Change(sha, c.time, c.author, c.is_fix, c.files))
            for i, sha in enumerate(order)
            if (c := commits.get(sha)) is not None
            and not c.is_merge
            and c.time <= until
            and c.author not in gone
        ]
        listed.sort(key=lambda x: (x[0], x[1]))
        history = [c for _, _, c in listed]
        return history if paths is None else touching(history, paths)

    def _read_git(
        self, repo: Path, base: str, exclude: Sequence[str]
    ) -> tuple[dict[str, _Indexed], set[str]]:
        found: dict[str, _Indexed] = {}
        gone: set[str] = set()
        with git_log(repo, [base], exclude, self.detect_copies) as commits:
            for commit in commits:
                identity = normalise_identity(commit.author.name, commit.author.email)
                author = self.pseudonymizer.pseudonym(identity)
                if {commit.author.raw_email.lower(), identity} & self.opted_out:
                    gone.add(author)
                    continue  # never indexed (DESIGN.md rule 4)
                found[commit.sha] = _Indexed(
                    commit.commit_time,
                    author,
                    any(r.search(commit.message) for r in self.fix_res),
                    commit.is_merge,
                    tuple(file_touch(f) for f in commit.file_changes),
                )
        return {s: c for s, c in found.items() if c.author not in gone}, gone

    def _read(self) -> tuple[list[str], dict[str, _Indexed], set[str]]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or doc.get("settings") != self.settings:
                return [], {}, set()
            commits = {
                sha: _Indexed(
                    int(time),
                    str(author),
                    bool(fix),
                    bool(merge),
                    tuple(FileTouch(p, o, k, int(a), int(d)) for p, o, k, a, d in files),
                )
                for sha, (time, author, fix, merge, files) in doc["commits"].items()
            }
            return [str(t) for t in doc["tips"]], commits, {str(g) for g in doc["gone"]}
        except (OSError, ValueError, KeyError, TypeError):
            return [], {}, set()  # none yet, or unreadable: built again

    def _write(self, tips: list[str], commits: dict[str, _Indexed], gone: set[str]) -> None:
        """Written whole under a temporary name, then renamed; a folder that cannot be
        written only costs the next review the same ``git log``."""
        doc = {
            "settings": self.settings,
            "tips": tips,
            "gone": sorted(gone),
            "commits": {
                sha: [
                    c.time, c.author, c.is_fix, c.is_merge,
                    [[f.path, f.old_path, f.change_type, f.added, f.deleted] for f in c.files],
                ]
                for sha, c in commits.items()
                if c.author not in gone
            },
        }  # fmt: skip
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, separators=(",", ":"))
            os.replace(tmp, self.path)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _existing(repo: Path, shas: Sequence[str]) -> list[str]:
    """The commits of `shas` the repository still has (a rewritten and collected history
    may have lost an indexed tip: ``git log --not`` would fail on it)."""
    if not shas:
        return []
    out = run_git(repo, "cat-file", "--batch-check", input="".join(f"{s}\n" for s in shas))
    return [parts[0] for parts in map(str.split, out.splitlines()) if parts[1:2] == ["commit"]]


def touching(history: Sequence[Change], paths: Iterable[str]) -> list[Change]:
    """The changes that touch `paths` or, following renames back, their earlier names
    (each with all its files), as a path-limited ``git log --full-diff`` finds them."""
    wanted = set(paths)
    while True:
        found = [
            c
            for c in history
            if any(
                t.path in wanted or (t.change_type == "R" and t.old_path in wanted) for t in c.files
            )
        ]
        earlier = earlier_names(found, wanted)
        if earlier <= wanted:
            return found
        wanted |= earlier


def discard_history_indexes(data_dir: Path) -> None:
    """Delete every review history index (``teamlens purge``: an index predating the
    opt-out list's last change may still hold someone who opted out)."""
    shutil.rmtree(data_dir / INDEX_DIR, ignore_errors=True)


def history_index(config: Config, repo_name: str) -> HistoryIndex | None:
    """The index of a configured repository, or None without a key already set up (the
    environment variable or an existing key file: a review never creates a key)."""
    privacy = config.privacy
    if (
        not os.environ.get(privacy.key_env)
        and not (privacy.key_file or default_key_file()).is_file()
    ):
        return None
    try:
        key = load_key(privacy, config.data_dir)
    except TeamlensError:
        return None  # a key that `mine` would refuse: reviews read git log instead
    return HistoryIndex(
        config.data_dir,
        repo_name,
        Pseudonymizer(key),
        config.mining.fix_patterns,
        config.mining.detect_copies,
        read_opt_out(privacy.opt_out),
    )
