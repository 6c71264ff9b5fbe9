"""Mine one repository's commits and file changes into the store: incremental, resumable.

How resuming stays exact: commits stream parents first, so the commits mined so far are
closed under ancestry, and the store's manifest records the *frontier* of that set (the
mined commits none of whose children are mined yet). The next run asks git for
``tips --not <frontier> <previous tips>``, which is precisely what is missing. Each batch
of rows and the new frontier are published in one atomic manifest replace, so a kill
at any moment leaves a consistent store from which the next run continues.

A rewritten branch (force-push) shows as a previous tip that is no longer an ancestor of
the branch. The commits it drops stay in the facts (facts are append-only) and are
listed in ``lost_commits``; the ``commits`` view hides them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from teamlens.config import MiningConfig, PrivacyConfig, RepositoryConfig
from teamlens.errors import StoreError
from teamlens.mining.domain import Commit, CommitRange
from teamlens.mining.gitlog import git_log
from teamlens.mining.languages import language_of
from teamlens.mining.repository import (
    EVERY_REF,
    Alias,
    GitRepository,
    name_email_pairs,
    people_of,
)
from teamlens.privacy import (
    Pseudonymizer,
    Scrubber,
    load_key,
    normalise_identity,
    read_opt_out,
    upgraded_key_check,
    verify_key_check,
)
from teamlens.store import SCHEMAS, RepoWriter, Store

#: Called with (repository name, commits done, commits to do).
ProgressCallback = Callable[[str, int, int], None]
PROGRESS_EVERY = 250


@dataclass(frozen=True)
class MiningTask:
    """Everything needed to mine one repository; picklable, so it can run anywhere."""

    repository: RepositoryConfig
    data_dir: Path
    clones_dir: Path
    privacy: PrivacyConfig
    mining: MiningConfig
    commit_range: CommitRange | None = None  # one part of a split history (mining.ranges)
    #: The other configured repositories' local copies: their people are scrubbed from
    #: this repository's subjects too (a subject may thank a contributor of another one).
    neighbours: tuple[Path, ...] = ()

    @property
    def label(self) -> str:
        """What progress and errors call this task: the repository, and the part."""
        r = self.commit_range
        name = self.repository.name
        return name if r is None else f"{name} [{r.index + 1}/{r.count}]"


@dataclass(frozen=True)
class RewrittenRef:
    """A ref whose previously mined tip is no longer in its history."""

    ref: str
    old_tip: str
    new_tip: str | None
    lost_commits: int


@dataclass(frozen=True)
class MiningReport:
    """What one run did to one repository."""

    repo: str
    commits_added: int = 0
    file_changes_added: int = 0
    commits_opted_out: int = 0
    rows_purged: int = 0
    rewritten: tuple[RewrittenRef, ...] = ()
    commits_restored: int = 0
    seconds: float = 0.0


@dataclass
class _Batch:
    """Column lists for one batch of rows, turned into Arrow tables on flush."""

    commits: dict[str, list[Any]] = field(default_factory=lambda: _columns("commits"))
    file_changes: dict[str, list[Any]] = field(default_factory=lambda: _columns("file_changes"))
    n_commits: int = 0
    n_file_changes: int = 0

    def tables(self) -> dict[str, pa.Table]:
        return {
            "commits": pa.Table.from_pydict(self.commits, schema=SCHEMAS["commits"]),
            "file_changes": pa.Table.from_pydict(self.file_changes, schema=SCHEMAS["file_changes"]),
        }


def _columns(table: str) -> dict[str, list[Any]]:
    return {name: [] for name in SCHEMAS[table].names}


class _Identities:
    """Pseudonyms for this run, cached per identity, and the opt-out check."""

    def __init__(
        self,
        pseudonymizer: Pseudonymizer,
        opted_out: frozenset[str],
        known: set[str] | None = None,
    ) -> None:
        self.pseudonymizer = pseudonymizer
        self.opted_out = opted_out  # pseudonyms
        self._cache: dict[str, str] = {}
        # Which commits a parent may be named by (docs/schema.md, commits.parent_shas):
        # those stored before this run (`known`; None: not known, as in a range task)
        # and those stored by it. Commits left out (opt-out) -> their parents, so that a
        # tip that is one of them can be replaced by stored ancestors.
        self.known = known
        self.stored: set[str] = set()
        self.dropped: dict[str, tuple[str, ...]] = {}

    def kept_ancestors(self, sha: str) -> set[str]:
        """The nearest ancestors of a left-out commit that were not left out."""
        found: set[str] = set()
        todo, seen = [sha], {sha}
        while todo:
            for parent in self.dropped.get(todo.pop(), ()):
                if parent in seen:
                    continue
                seen.add(parent)
                if parent in self.dropped:
                    todo.append(parent)
                else:
                    found.add(parent)
        return found

    def parents(self, parent_shas: Sequence[str]) -> list[str]:
        """The parents a stored commit names: never a commit of someone who opted out."""
        if not self.opted_out:
            return list(parent_shas)
        return [
            p
            for p in parent_shas
            if p not in self.dropped and (self.known is None or p in self.known or p in self.stored)
        ]

    def of(self, identity: str) -> str:
        found = self._cache.get(identity)
        if found is None:
            found = self._cache[identity] = self.pseudonymizer.pseudonym(identity)
        return found


def _warm_up_arrow() -> None:
    """Pay pyarrow's one-off set-up (it imports pandas on first use, ~0.4 s) in a thread.

    The main thread spends most of a run blocked on git's output pipe, so the set-up
    overlaps with git's work instead of delaying the first batch.
    """
    threading.Thread(target=pa.array, args=([0],), daemon=True).start()


def _opted_out_pseudonyms(
    aliases: set[Alias], entries: Sequence[str], pseudonymizer: Pseudonymizer
) -> frozenset[str]:
    """Pseudonyms of opted-out people, under every address .mailmap links to theirs."""
    emails = {e for e in entries if "@" in e}  # logins are matched by the GitHub miner
    for alias in aliases:
        if alias.raw_email.lower() in emails or alias.email.lower() in emails:
            emails.add(alias.email.lower())
    return frozenset(pseudonymizer.pseudonym(normalise_identity("", e)) for e in emails)


#: Tables whose rows belong to one stored commit (column `sha`): gone with the commit.
COMMIT_ROWS = (
    "file_changes",
    "lost_commits",
    "change_features",
    "changed_functions",
    "change_labels",
    "change_reviews",
)


_OPT_OUT_LABEL = b"teamlens opt-out list v1\0"


def opt_out_fingerprint(key: bytes, entries: Sequence[str]) -> str:
    """A keyed fingerprint of an opt-out list: HMAC-SHA256(key, its sorted pseudonyms).

    E-mail entries count as the person's pseudonym, logins as ``github:<login>``'s. The
    fingerprint names nobody and, without the key, cannot be tested against a guessed
    list. The miner records it in the manifest (``state.opt_out``: the list its purge
    applied) and models record the one their data was purged under (model.registry).
    """
    names = Pseudonymizer(key)
    ids = sorted(
        {
            names.person("", e) if "@" in e else names.pseudonym(f"github:{e}")
            for e in (x.strip().lower() for x in entries)
            if e
        }
    )
    return hmac.new(key, _OPT_OUT_LABEL + "\n".join(ids).encode(), hashlib.sha256).hexdigest()


def purge_opted_out(writer: RepoWriter, opted_out: frozenset[str]) -> int:
    """Remove what people who opted out after they were mined left in the store.

    Their commits go, and with them every row about those commits (COMMIT_ROWS, and SZZ
    links and fixes naming them as fix or as inducing commit); `committer_id` is nulled
    where they only committed; other commits' `parent_shas`, `lost_commits` tips and the
    miner's tips stop naming them (:func:`_unname_unstored`). Replaced part files are
    deleted at once. Returns the rows removed (for tests: never printed, since a count
    would tell how much one person did).
    """
    if not opted_out or not writer.has_rows("commits"):
        return 0
    import pyarrow.compute as pc  # only needed here; keeps start-up light

    ids = pa.array(sorted(opted_out), pa.string())
    people = writer.read("commits", ["author_id", "committer_id"])
    by_author = pc.fill_null(pc.is_in(people["author_id"], value_set=ids), False)
    by_committer = pc.fill_null(pc.is_in(people["committer_id"], value_set=ids), False)
    removed = 0
    parents: dict[str, tuple[str, ...]] = {}
    if pc.any(by_author).as_py() or pc.any(by_committer).as_py():
        commits = writer.read("commits")
        gone = commits.filter(by_author)
        parents = dict(
            zip(
                gone["sha"].to_pylist(),
                (tuple(p) for p in gone["parent_shas"].to_pylist()),
                strict=True,
            )
        )
        kept = commits.filter(pc.invert(by_author))
        committer_hit = pc.fill_null(pc.is_in(kept["committer_id"], value_set=ids), False)
        kept = kept.set_column(
            kept.schema.get_field_index("committer_id"),
            "committer_id",
            pc.if_else(committer_hit, pa.scalar(None, pa.string()), kept["committer_id"]),
        )
        writer.replace({"commits": kept}, writer.manifest.state, purge=True)
        removed = gone.num_rows
    return removed + _unname_unstored(writer, parents)


def _unname_unstored(writer: RepoWriter, parents: Mapping[str, Sequence[str]] | None = None) -> int:
    """Make every row and the miner's state name stored commits only (opt-out in force).

    Commits of people who opted out are not stored; nothing may name them: rows keyed by
    such a sha (COMMIT_ROWS) and SZZ rows whose fix or inducing commit is one go; a
    parent in `parent_shas` and a tip in `lost_commits` that is one is left out (null);
    a tip in the state that is one is replaced by its nearest stored ancestors, found
    through `parents` (removed commit -> its parents), the others joining the frontier.
    Everything is written in one purge (replaced files deleted at once). Returns rows
    removed.
    """
    import pyarrow.compute as pc

    if not writer.has_rows("commits"):
        return 0
    commits = writer.read("commits", ["sha", "parent_shas"])
    stored = set(commits["sha"].to_pylist())
    stored_array = pa.array(sorted(stored), pa.string())
    replaced: dict[str, pa.Table] = {}
    removed = 0
    listed = commits["parent_shas"].to_pylist()
    named = [[p for p in ps if p in stored] for ps in listed]
    if named != listed:
        full = writer.read("commits")
        index = full.schema.get_field_index("parent_shas")
        replaced["commits"] = full.set_column(
            index, "parent_shas", pa.array(named, pa.list_(pa.string()))
        )
    drops: dict[str, tuple[str, ...]] = {t: ("sha",) for t in COMMIT_ROWS}
    drops["szz_links"] = ("fix_sha", "inducing_sha")
    drops["szz_fixes"] = ("fix_sha",)
    for table, columns in drops.items():
        if not writer.has_rows(table):
            continue
        keys = writer.read(table, list(columns))
        drop = pa.array([False] * keys.num_rows, pa.bool_())
        for column in columns:
            drop = pc.or_(drop, pc.invert(pc.is_in(keys[column], value_set=stored_array)))
        if table == "lost_commits":
            rows = writer.read(table)
            ends = {
                c: [t if t is None or t in stored else None for t in rows[c].to_pylist()]
                for c in ("old_tip", "new_tip")
            }
            if pc.any(drop).as_py() or any(
                ends[c] != rows[c].to_pylist() for c in ("old_tip", "new_tip")
            ):
                for c, values in ends.items():
                    rows = rows.set_column(
                        rows.schema.get_field_index(c), c, pa.array(values, pa.string())
                    )
                replaced[table] = rows.filter(pc.invert(drop))
                removed += keys.num_rows - replaced[table].num_rows
        elif pc.any(drop).as_py():
            replaced[table] = writer.read(table).filter(pc.invert(drop))
            removed += keys.num_rows - replaced[table].num_rows
    state = writer.manifest.state
    tips, extra = stored_tips(state.tips, stored.__contains__, parents or {})
    frontier = tuple(sorted({*(s for s in state.frontier if s in stored), *extra}))
    if tips != state.tips or frontier != state.frontier:
        state = state.replace(tips=tips, frontier=frontier)
    if replaced or state != writer.manifest.state:
        writer.replace(replaced, state, purge=True)
    return removed


def stored_tips(
    tips: Mapping[str, str],
    is_stored: Callable[[str], bool],
    parents: Mapping[str, Sequence[str]],
) -> tuple[dict[str, str], list[str]]:
    """Tips that name stored commits only: (ref -> tip, further commits for the frontier).

    A tip that is not stored (its author opted out) becomes its nearest stored ancestor
    along `parents` (the first one found; the others go to the frontier, so the next run
    still starts where this one ended). A tip whose ancestors are not known is dropped:
    the next run then walks that ref's history again, and skips what is stored.
    """
    result: dict[str, str] = {}
    extra: list[str] = []
    for ref, tip in sorted(tips.items()):
        if is_stored(tip):
            result[ref] = tip
            continue
        found: list[str] = []
        todo, seen = [tip], {tip}
        while todo:
            sha = todo.pop(0)
            if is_stored(sha):
                found.append(sha)
                continue
            for parent in parents.get(sha, ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        if found:
            result[ref] = found[0]
            extra += found[1:]
    return result, extra


def currently_lost(events: pa.Table) -> set[str]:
    """Shas whose `lost` events outnumber their `restored` ones."""
    balance: dict[str, int] = {}
    for sha, event in zip(events["sha"].to_pylist(), events["event"].to_pylist(), strict=True):
        balance[sha] = balance.get(sha, 0) + (1 if event == "lost" else -1)
    return {sha for sha, n in balance.items() if n > 0}


def _lost_rows(
    writer: RepoWriter, repo: GitRepository, tips: dict[str, str], old_tips: dict[str, str]
) -> tuple[pa.Table | None, tuple[RewrittenRef, ...], int]:
    """Detect rewritten or deleted refs and the commits they dropped or brought back.

    Returns the events to append ('lost' for mined commits no ref reaches any more,
    'restored' for lost ones reachable again), a report per rewritten ref and the number
    restored. Each lost commit is attributed to the rewritten ref whose previous tip
    reached it; when that tip's object is gone too (a fresh clone, a gc), to the first
    rewritten ref whose tip cannot be read.
    """
    rewritten = [
        (ref, old, tips.get(ref))
        for ref, old in sorted(old_tips.items())
        if tips.get(ref) is None or not repo.is_ancestor(old, tips[ref])
    ]
    if not rewritten and not writer.has_rows("lost_commits"):
        return None, (), 0
    lost_now = currently_lost(writer.read("lost_commits", ["sha", "event"]))
    if not rewritten and not (lost_now and tips != old_tips):
        return None, (), 0
    reachable = repo.reachable(sorted(set(tips.values())))
    restored = sorted(lost_now & reachable)
    lost = [
        sha
        for sha in writer.read("commits", ["sha"])["sha"].to_pylist()
        if sha not in reachable and sha not in lost_now
    ]
    owner: dict[str, int] = {}
    for i, (_, old, _) in enumerate(rewritten):
        if repo.has_commit(old):
            for sha in repo.reachable([old]) - reachable:
                owner.setdefault(sha, i)
    fallback = next((i for i, (_, old, _) in enumerate(rewritten) if not repo.has_commit(old)), 0)
    index = [owner.get(sha, fallback) for sha in lost]
    now = int(time.time())
    n = len(lost) + len(restored)
    table = pa.Table.from_pydict(
        {
            "repo": [repo.name] * n,
            "sha": lost + restored,
            "ref": [rewritten[i][0] for i in index] + [None] * len(restored),
            "old_tip": [rewritten[i][1] for i in index] + [None] * len(restored),
            "new_tip": [rewritten[i][2] for i in index] + [None] * len(restored),
            "detected_at": [now] * n,
            "event": ["lost"] * len(lost) + ["restored"] * len(restored),
        },
        schema=SCHEMAS["lost_commits"],
    )
    reports = tuple(
        RewrittenRef(ref, old, new, index.count(i)) for i, (ref, old, new) in enumerate(rewritten)
    )
    return table, reports, len(restored)


def mine_repository(task: MiningTask, progress: ProgressCallback | None = None) -> MiningReport:
    """Mine new commits of one repository into the store under ``task.data_dir``.

    Raises
    ------
    RepositoryError, KeyFileError, StoreError
        Before anything is written, or after rolling the store back to where it was.
    """
    if task.commit_range is not None:
        raise ValueError("a commit range is mined by teamlens.mining.ranges.mine_task")
    started = time.monotonic()
    _warm_up_arrow()
    config = task.repository
    repo = GitRepository.open(config, task.clones_dir)
    key = load_key(task.privacy, task.data_dir)
    pseudonymizer = Pseudonymizer(key)
    fix_res = [re.compile(p) for p in task.mining.fix_patterns]
    tips = repo.tips(config.branch, config.all_branches)
    revisions = sorted(set(tips.values()))
    opt_out_entries = read_opt_out(task.privacy.opt_out)
    # One `git log` pass over every identity; skipped when nothing needs it (no opt-outs
    # to link through .mailmap, nothing new to scrub). Every ref, not only the mined
    # ones: "thanks <name>" may name someone who only worked on another branch.
    aliases: set[Alias] | None = repo.identities(EVERY_REF) if opt_out_entries else None
    opted_out = _opted_out_pseudonyms(aliases or set(), opt_out_entries, pseudonymizer)
    identities = _Identities(pseudonymizer, opted_out)

    with Store(task.data_dir).writer(config.name) as writer:
        recorded = writer.manifest.state.key_check
        if recorded is not None and not verify_key_check(key, recorded):
            raise StoreError(
                f"repository {config.name!r}: the pseudonymisation key differs from "
                "the one this store was written with; pseudonyms would not link. "
                "Restore the old key or use a new data_dir"
            )
        check = upgraded_key_check(key, recorded)  # a legacy check is rewritten as scrypt
        purged = purge_opted_out(writer, opted_out)
        state = writer.manifest.state  # the purge may have moved tips off its commits
        old_tips: dict[str, str] = dict(state.tips)
        lost, rewritten, restored = _lost_rows(writer, repo, tips, old_tips)
        frontier = {s for s in [*old_tips.values(), *state.frontier] if repo.has_commit(s)}
        exclude = sorted(frontier)
        with git_log(repo.path, revisions, exclude, task.mining.detect_copies) as commits:
            # git walks the history before its first commit comes out: meanwhile, count
            # what is to do and gather the identities to scrub, in other processes.
            total = repo.count(revisions, exclude)
            known = (
                set(writer.read("commits", ["sha"])["sha"].to_pylist())
                if writer.has_rows("commits")
                else set()
            )
            identities.known = known
            if aliases is None and total:
                aliases = repo.identities(EVERY_REF)
            scrub = Scrubber(
                name_email_pairs(aliases or ()) | (people_of(task.neighbours) if total else set())
            )
            if progress is not None and total:
                progress(config.name, 0, total)
            # Keys other stages keep in the state (e.g. which SZZ variants ran) survive.
            base_state = state.replace(key_check=check, tips=old_tips)
            if lost is not None and lost.num_rows:
                writer.commit({"lost_commits": lost}, base_state.replace(frontier=tuple(exclude)))

            batch = _Batch()
            done = added = changes_added = opted = 0
            for done, commit in enumerate(commits, start=1):
                if commit.sha not in known:
                    stored = _add_commit(batch, config.name, commit, identities, scrub, fix_res)
                    opted += not stored
                frontier.difference_update(commit.parent_shas)
                if commit.sha in identities.dropped:
                    # The frontier names stored commits only: the nearest kept ancestors.
                    frontier.update(identities.kept_ancestors(commit.sha))
                else:
                    frontier.add(commit.sha)
                if done % task.mining.batch_size == 0:
                    writer.commit(
                        batch.tables(), base_state.replace(frontier=tuple(sorted(frontier)))
                    )
                    added += batch.n_commits
                    changes_added += batch.n_file_changes
                    batch = _Batch()
                if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
                    progress(config.name, done, total)
        added += batch.n_commits
        changes_added += batch.n_file_changes
        # Tips name stored commits only: a tip left out (opt-out) becomes its nearest
        # stored ancestors, and the next run starts from them.
        kept_tips, extra = stored_tips(
            tips, lambda s: s not in identities.dropped, identities.dropped
        )
        final_state = state.replace(
            key_check=check,
            tips=kept_tips,
            frontier=tuple(sorted(set(extra))),
            opt_out=opt_out_fingerprint(key, opt_out_entries),
        )
        if batch.n_commits or final_state != state:
            writer.commit(batch.tables(), final_state)
        if lost is not None and any(t in identities.dropped for t in lost["new_tip"].to_pylist()):
            purged += _unname_unstored(writer)  # a rewritten ref's new tip is left out
        writer.compact()
    if progress is not None and total == 0:
        progress(config.name, 0, 0)
    return MiningReport(
        repo=config.name,
        commits_added=added,
        file_changes_added=changes_added,
        commits_opted_out=opted,
        rows_purged=purged,
        rewritten=rewritten,
        commits_restored=restored,
        seconds=time.monotonic() - started,
    )


def _add_commit(
    batch: _Batch,
    repo: str,
    commit: Commit,
    identities: _Identities,
    scrub: Scrubber,
    fix_res: Sequence[re.Pattern[str]],
) -> bool:
    """Append one commit's rows; False when its author opted out (nothing appended)."""
    author = commit.author
    author_id = identities.of(normalise_identity(author.name, author.email))
    raw_author = identities.of(normalise_identity(author.name, author.raw_email))
    if author_id in identities.opted_out or raw_author in identities.opted_out:
        identities.dropped[commit.sha] = tuple(commit.parent_shas)
        return False
    committer = commit.committer
    committer_id: str | None = identities.of(normalise_identity(committer.name, committer.email))
    raw_committer = identities.of(normalise_identity(committer.name, committer.raw_email))
    if committer_id in identities.opted_out or raw_committer in identities.opted_out:
        committer_id = None
    c = batch.commits
    c["repo"].append(repo)
    c["sha"].append(commit.sha)
    c["parent_shas"].append(identities.parents(commit.parent_shas))
    c["is_merge"].append(commit.is_merge)
    c["author_time"].append(commit.author_time)
    c["author_tz"].append(commit.author_tz)
    c["commit_time"].append(commit.commit_time)
    c["committer_tz"].append(commit.committer_tz)
    c["author_id"].append(author_id)
    c["committer_id"].append(committer_id)
    c["message_subject"].append(scrub(commit.subject))
    c["is_fix"].append(any(r.search(commit.message) for r in fix_res))
    c["n_files"].append(len(commit.file_changes))
    c["added"].append(sum(f.added for f in commit.file_changes))
    c["deleted"].append(sum(f.deleted for f in commit.file_changes))
    f = batch.file_changes
    for change in commit.file_changes:
        f["repo"].append(repo)
        f["sha"].append(commit.sha)
        f["path"].append(change.path)
        f["old_path"].append(change.old_path)
        f["change_type"].append(change.change_type.value)
        f["added"].append(change.added)
        f["deleted"].append(change.deleted)
        f["is_binary"].append(change.is_binary)
        f["is_submodule"].append(change.is_submodule)
        f["similarity"].append(change.similarity)
        f["language"].append(language_of(change.path))
    batch.n_commits += 1
    batch.n_file_changes += len(commit.file_changes)
    if identities.opted_out:
        identities.stored.add(commit.sha)
    return True
