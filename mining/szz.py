"""SZZ: link fix commits to the commits that induced the lines they fixed.

For every fix commit (a non-merge commit whose message matches ``mining.fix_patterns``):
the lines it deletes or changes → ``git blame -w`` on the fix's parent, restricted to
those lines (git's blame follows whole-file renames) → the commits that last touched
them. Three variants, each a set of filters; ``szz_links.variant`` names the variant:

``b-szz``
    The basic algorithm as PyDriller implements it (``get_commits_last_modified_lines``):
    blame ignoring whitespace, skipping blank lines and lines that *start* like a
    comment (``#``, ``//``, ``/*``, ``*``, ``'''``, ``\"\"\"``). Kept as the field's baseline.
``ag-szz``
    Annotation-graph filters (Kim et al., ASE 2006; Davies et al. 2014): source files
    only; blank and comment-only lines found with tree-sitter (a trailing comment does
    not make a line comment-only); blame looks through *cosmetic* commits, whose code
    tokens (tree-sitter, comments and layout dropped) are unchanged in every file they
    touch; merge commits and bulk commits (more than ``labels.bulk_files`` files) are
    never inducing.
``r-szz``
    AG-SZZ keeping only the most recent inducing commit of each fix (Davies et al.;
    best F1 in Rosa et al., ICSE 2021). The default label.

Nothing here reads or writes an identity: links are between commits.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import pyarrow as pa

from mining.blobs import BlobReader
from mining.languages import language_of
from mining.miner import currently_lost
from mining.repository import GitRepository
from mining.syntax import code_tokens, comment_or_blank_lines
from teamlens.config import Config, RepositoryConfig
from teamlens.errors import RepositoryError
from teamlens.store import SCHEMAS, RepoWriter, Store

ProgressCallback = Callable[[str, int, int], None]
MAX_SOURCE_BYTES = 1_000_000  # larger files are not parsed: blank-line filtering only
_BLAME_HEADER_RE = re.compile(rb"^([0-9a-f]{40}) \d+ (\d+)")
_HUNK_RE = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,(\d+))? @@")


class Variant(StrEnum):
    B = "b-szz"
    AG = "ag-szz"
    R = "r-szz"


class AgFilter(StrEnum):
    """The filters AG-SZZ and R-SZZ add to B-SZZ; each can be switched off."""

    NON_SOURCE = "non-source"
    COMMENTS = "comments"
    COSMETIC = "cosmetic"
    MERGES = "merges"
    BULK = "bulk"


ALL_FILTERS = frozenset(AgFilter)


def variant_name(variant: Variant, filters: frozenset[AgFilter] = ALL_FILTERS) -> str:
    """The name stored in ``szz_links.variant``: the variant, and any filter switched off."""
    off = sorted(f.value for f in ALL_FILTERS - filters)
    if variant is Variant.B or not off:
        return variant.value
    return f"{variant.value}(without {','.join(off)})"


@dataclass(frozen=True)
class CommitInfo:
    """What the filters need to know about a candidate inducing commit."""

    is_merge: bool
    n_files: int
    commit_time: int


@dataclass(frozen=True)
class FixLinks:
    """The inducing commits of one fix for one variant: path -> {inducing sha: lines}."""

    fix_sha: str
    variant: Variant
    links: Mapping[str, Mapping[str, int]]
    name: str = ""  # variant_name(): what szz_links.variant records

    def inducing(self) -> set[str]:
        return {sha for by_sha in self.links.values() for sha in by_sha}


def _git(repo: Path, *args: str) -> bytes:
    result = subprocess.run(
        ["git", "-c", "core.quotepath=off", *args],
        cwd=repo,
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        err = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RepositoryError(f"{repo}: git {args[0]} failed: {err[0] if err else '?'}")
    return result.stdout


def _unquote(raw: bytes) -> str:
    """A path from a diff header, which git C-quotes when it has unusual bytes."""
    if raw.startswith(b'"') and raw.endswith(b'"'):
        raw = raw[1:-1].decode("unicode_escape").encode("latin-1")
    return raw.decode("utf-8", "backslashreplace")


def deleted_lines(repo: Path, fix_sha: str) -> dict[str, list[tuple[int, str]]]:
    """Old path -> (line number in the parent, text) of every line the fix deletes or changes."""
    out = _git(
        repo,
        "diff",
        # Three lines of context, as PyDriller's diff has: with none, git may align a
        # deleted block differently among repeated lines (it trims the common tail first).
        "-U3",
        "-M",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-prefix",
        "--ignore-submodules=all",  # a gitlink's "Subproject commit" line is not code
        f"{fix_sha}^",
        fix_sha,
    )
    found: dict[str, list[tuple[int, str]]] = {}
    current: list[tuple[int, str]] | None = None
    line_no = old_left = new_left = 0
    for raw in out.split(b"\n"):
        if old_left > 0 or new_left > 0:  # inside a hunk every line is content, even "--- x"
            tag = raw[:1]
            if tag == b"-":
                if current is not None:
                    current.append((line_no, raw[1:].decode("utf-8", "replace")))
                line_no += 1
                old_left -= 1
            elif tag == b"+":
                new_left -= 1
            elif tag == b" " or raw == b"":
                line_no += 1
                old_left -= 1
                new_left -= 1
            continue  # "\ No newline at end of file"
        if raw.startswith(b"--- "):
            name = raw[4:].rstrip(b"\t")  # git adds a tab after names with spaces
            current = None if name == b"/dev/null" else found.setdefault(_unquote(name), [])
        elif raw.startswith(b"@@"):
            match = _HUNK_RE.match(raw)
            if match:
                line_no = int(match.group(1))
                old_left = int(match.group(2)) if match.group(2) is not None else 1
                new_left = int(match.group(3)) if match.group(3) is not None else 1
    return {path: lines for path, lines in found.items() if lines}


def _ranges(lines: Iterable[int]) -> list[str]:
    ranges: list[str] = []
    numbers = sorted(set(lines))
    start = prev = numbers[0]
    for n in numbers[1:]:
        if n != prev + 1:
            ranges.append(f"-L{start},{prev}")
            start = n
        prev = n
    ranges.append(f"-L{start},{prev}")
    return ranges


def blame(
    repo: Path, rev: str, path: str, lines: Sequence[int], ignore: Sequence[str] = ()
) -> dict[int, str]:
    """Line number -> the commit that last changed it, as `git blame -w` sees at `rev`."""
    if not lines:
        return {}
    args = ["blame", "-w", "--porcelain", *_ranges(lines)]
    for sha in ignore:
        args += ["--ignore-rev", sha]
    try:
        out = _git(repo, *args, rev, "--", path)
    except RepositoryError as exc:
        if "no such path" in str(exc):
            return {}  # not a file at `rev` (e.g. a submodule): nothing to blame, as PyDriller
        raise
    found: dict[int, str] = {}
    for raw in out.split(b"\n"):
        header = _BLAME_HEADER_RE.match(raw)
        if header is not None:
            found[int(header.group(2))] = header.group(1).decode("ascii")
    return found


def _pydriller_useless(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith(("//", "#", "/*", "'''", '"""', "*"))


@dataclass
class _CosmeticCache:
    """Whether a commit changed only comments and layout, per commit, computed on demand.

    Also the run's one reader of file contents (a `git cat-file --batch` process).
    """

    repo: Path
    known: dict[str, bool] = field(default_factory=dict)
    blobs: BlobReader | None = None

    def read(self, rev: str, path: str) -> bytes | None:
        if self.blobs is None:
            self.blobs = BlobReader.open(self.repo)
        return self.blobs.read(rev, path, MAX_SOURCE_BYTES)

    def close(self) -> None:
        if self.blobs is not None:
            self.blobs.close()
            self.blobs = None

    def __call__(self, sha: str) -> bool:
        if sha not in self.known:
            self.known[sha] = self._check(sha)
        return self.known[sha]

    def _check(self, sha: str) -> bool:
        parents = _git(self.repo, "rev-list", "--parents", "-n", "1", sha).split()
        if len(parents) != 2:  # root or merge commits are never cosmetic
            return False
        raw = _git(self.repo, "diff-tree", "-r", "-M", "-z", "--no-commit-id", sha)
        tokens = raw.split(b"\0")
        i, changed = 0, 0
        while i < len(tokens) - 1:
            meta = tokens[i].lstrip(b":").split(b" ")
            status = meta[4][:1]
            old = tokens[i + 1].decode("utf-8", "surrogateescape")
            new = tokens[i + 2].decode("utf-8", "surrogateescape") if status in b"RC" else old
            i += 3 if status in b"RC" else 2
            changed += 1
            if status not in b"MR":
                return False  # adding or deleting a file is never cosmetic
            before, after = self.read(f"{sha}^", old), self.read(sha, new)
            if before is None or after is None:
                return False
            old_tokens, new_tokens = code_tokens(before, old), code_tokens(after, new)
            if old_tokens is None or new_tokens is None or old_tokens != new_tokens:
                return False
        return changed > 0


def label_fix(
    repo: Path,
    fix_sha: str,
    variants: Sequence[Variant],
    commits: Mapping[str, CommitInfo],
    bulk_files: int,
    cosmetic: _CosmeticCache,
    filters: frozenset[AgFilter] = ALL_FILTERS,
) -> list[FixLinks]:
    """Run the requested SZZ variants on one fix commit."""
    parent = f"{fix_sha}^"
    changed = deleted_lines(repo, fix_sha)
    results: list[FixLinks] = []
    if Variant.B in variants:
        links: dict[str, dict[str, int]] = {}
        for path, lines in changed.items():
            wanted = [n for n, text in lines if not _pydriller_useless(text)]
            for sha in blame(repo, parent, path, wanted).values():
                by_sha = links.setdefault(path, {})
                by_sha[sha] = by_sha.get(sha, 0) + 1
        results.append(FixLinks(fix_sha, Variant.B, links, variant_name(Variant.B)))
    if Variant.AG in variants or Variant.R in variants:
        ag = _annotation_graph(repo, parent, changed, commits, bulk_files, cosmetic, filters)
        if Variant.AG in variants:
            results.append(FixLinks(fix_sha, Variant.AG, ag, variant_name(Variant.AG, filters)))
        if Variant.R in variants:
            latest = _latest_only(ag, commits)
            results.append(FixLinks(fix_sha, Variant.R, latest, variant_name(Variant.R, filters)))
    return results


def _annotation_graph(
    repo: Path,
    parent: str,
    changed: Mapping[str, list[tuple[int, str]]],
    commits: Mapping[str, CommitInfo],
    bulk_files: int,
    cosmetic: _CosmeticCache,
    filters: frozenset[AgFilter],
) -> dict[str, dict[str, int]]:
    links: dict[str, dict[str, int]] = {}
    for path, lines in changed.items():
        if AgFilter.NON_SOURCE in filters and language_of(path) is None:
            continue
        skip: set[int] | None = {n for n, text in lines if not text.strip()}
        if AgFilter.COMMENTS in filters:
            source = cosmetic.read(parent, path)
            # None: a language tree-sitter does not cover; blank lines only, then.
            skip = (comment_or_blank_lines(source, path) if source is not None else None) or skip
        wanted = [n for n, _ in lines if n not in (skip or ())]
        ignore: list[str] = []
        while True:  # look through cosmetic commits until the blame holds none
            blamed = blame(repo, parent, path, wanted, ignore)
            if AgFilter.COSMETIC not in filters:
                break
            more = sorted({sha for sha in blamed.values() if sha not in ignore and cosmetic(sha)})
            if not more:
                break
            ignore += more
        for sha in blamed.values():
            if sha in ignore:
                continue  # git was told to look through this cosmetic commit
            info = commits.get(sha)
            if info is not None and (
                (AgFilter.MERGES in filters and info.is_merge)
                or (AgFilter.BULK in filters and info.n_files > bulk_files)
            ):
                continue
            by_sha = links.setdefault(path, {})
            by_sha[sha] = by_sha.get(sha, 0) + 1
    return links


def _latest_only(
    links: Mapping[str, Mapping[str, int]], commits: Mapping[str, CommitInfo]
) -> dict[str, dict[str, int]]:
    candidates = {sha for by_sha in links.values() for sha in by_sha}
    if not candidates:
        return {}
    latest = max(candidates, key=lambda s: (commits[s].commit_time if s in commits else 0, s))
    return {
        path: {latest: n}
        for path, by_sha in links.items()
        for sha, n in by_sha.items()
        if sha == latest
    }


@dataclass(frozen=True)
class LabelReport:
    repo: str
    fixes_labelled: int
    links_added: int
    seconds: float


def label_repository(
    config: Config, repo_config: RepositoryConfig, progress: ProgressCallback | None = None
) -> LabelReport:
    """Label the fix commits of one repository not yet labelled (incremental)."""
    started = time.monotonic()
    repo = GitRepository.open(repo_config, config.clones_dir)
    variants = [Variant(v) for v in config.labels.variants]
    store = Store(config.data_dir)
    with store.writer(repo_config.name) as writer:
        commits_table = writer.read(
            "commits", ["sha", "is_merge", "n_files", "commit_time", "is_fix", "parent_shas"]
        )
        lost = currently_lost(writer.read("lost_commits", ["sha", "event"]))
        commits: dict[str, CommitInfo] = {}
        fixes: list[str] = []
        rows = zip(
            commits_table["sha"].to_pylist(),
            commits_table["is_merge"].to_pylist(),
            commits_table["n_files"].to_pylist(),
            commits_table["commit_time"].cast(pa.int64()).to_pylist(),
            commits_table["is_fix"].to_pylist(),
            commits_table["parent_shas"].to_pylist(),
            strict=True,
        )
        for sha, is_merge, n_files, when, is_fix, parents in rows:
            commits[sha] = CommitInfo(is_merge, n_files, when)
            if is_fix and not is_merge and parents and sha not in lost:
                fixes.append(sha)
        done_table = writer.read("szz_fixes", ["fix_sha", "variant"])
        done = set(
            zip(done_table["fix_sha"].to_pylist(), done_table["variant"].to_pylist(), strict=True)
        )
        filters = frozenset(AgFilter(f) for f in config.labels.filters)
        names = {v: variant_name(v, filters) for v in variants}
        todo = [f for f in fixes if any((f, names[v]) not in done for v in variants)]
        cosmetic = _CosmeticCache(repo.path)
        try:
            links_added = _label_all(
                writer,
                repo.name,
                repo.path,
                todo,
                done,
                variants,
                names,
                commits,
                config.labels.bulk_files,
                cosmetic,
                filters,
                progress,
            )
        finally:
            cosmetic.close()
        # Record that these variants ran, even with no fix to label: then a change with
        # no link is known clean (once mature), not merely unlabelled.
        ran = sorted({*writer.manifest.state.get("szz_variants", []), *names.values()})
        if ran != writer.manifest.state.get("szz_variants"):
            writer.commit({}, {**writer.manifest.state, "szz_variants": ran})
    return LabelReport(repo.name, len(todo), links_added, time.monotonic() - started)


def _label_all(
    writer: RepoWriter,
    repo_name: str,
    repo_path: Path,
    todo: Sequence[str],
    done: set[tuple[str, str]],
    variants: Sequence[Variant],
    names: Mapping[Variant, str],
    commits: Mapping[str, CommitInfo],
    bulk_files: int,
    cosmetic: _CosmeticCache,
    filters: frozenset[AgFilter],
    progress: ProgressCallback | None,
) -> int:
    """Label `todo` fixes, publishing links every 200 fixes; returns the links added."""
    if progress is not None and todo:
        progress(repo_name, 0, len(todo))
    link_rows: dict[str, list[object]] = {n: [] for n in SCHEMAS["szz_links"].names}
    fix_rows: dict[str, list[object]] = {n: [] for n in SCHEMAS["szz_fixes"].names}
    links_added = 0
    now = int(time.time())
    for i, fix in enumerate(todo, start=1):
        wanted = [v for v in variants if (fix, names[v]) not in done]
        for result in label_fix(repo_path, fix, wanted, commits, bulk_files, cosmetic, filters):
            n = 0
            for path, by_sha in sorted(result.links.items()):
                for sha, lines in sorted(by_sha.items()):
                    for column, value in (
                        ("repo", repo_name),
                        ("fix_sha", fix),
                        ("inducing_sha", sha),
                        ("path", path),
                        ("variant", result.name),
                        ("lines", lines),
                    ):
                        link_rows[column].append(value)
                    n += 1
            for column, value in (
                ("repo", repo_name),
                ("fix_sha", fix),
                ("variant", result.name),
                ("links", n),
                ("labelled_at", now),
            ):
                fix_rows[column].append(value)
            links_added += n
        if i % 200 == 0 or i == len(todo):
            writer.commit(
                {
                    "szz_links": pa.Table.from_pydict(link_rows, schema=SCHEMAS["szz_links"]),
                    "szz_fixes": pa.Table.from_pydict(fix_rows, schema=SCHEMAS["szz_fixes"]),
                },
                writer.manifest.state,
            )
            link_rows = {n: [] for n in SCHEMAS["szz_links"].names}
            fix_rows = {n: [] for n in SCHEMAS["szz_fixes"].names}
        if progress is not None:
            progress(repo_name, i, len(todo))
    return links_added
