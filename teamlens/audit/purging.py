""":func:`purge`: the retention window and the opt-out list applied to every stored
repository now, without mining."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from teamlens.audit.checks import _available_key, _key_matches, _leftovers, _opt_out
from teamlens.audit.people import _People, _people
from teamlens.config import Config
from teamlens.features.history_index import discard_history_indexes
from teamlens.privacy import Pseudonymizer, read_opt_out
from teamlens.store import RepoWriter, Store


@dataclass(frozen=True)
class RepoPurge:
    repo: str
    texts_cleared: int = 0  # review and review-comment bodies past retention set to null
    github_rows_removed: int = 0  # pull requests, reviews, comments by opted-out logins
    git_rows_removed: int = 0  # commits and file changes by opted-out e-mails
    derived_rows_removed: int = 0  # rows of pull requests or commits no longer stored

    @property
    def rows_changed(self) -> int:
        return (
            self.texts_cleared
            + self.github_rows_removed
            + self.git_rows_removed
            + self.derived_rows_removed
        )


@dataclass(frozen=True)
class PurgeReport:
    repos: tuple[RepoPurge, ...]
    retention_days: int
    unchecked: tuple[str, ...] = ()
    models_removed: bool = False  # models trained before the opt-out list changed

    @property
    def rows_changed(self) -> int:
        return sum(r.rows_changed for r in self.repos)

    def render(self) -> str:
        # No count of opted-out people's rows: it would say how much one person did.
        lines = [
            f"{r.repo}: {r.texts_cleared} review texts older than {self.retention_days} days "
            "cleared"
            + (
                "; opt-out applied"
                if r.github_rows_removed or r.git_rows_removed or r.derived_rows_removed
                else ""
            )
            for r in self.repos
        ]
        if not self.repos:
            lines.append("nothing stored yet")
        lines += [f"not purged: {note}" for note in self.unchecked]
        if self.models_removed:
            lines.append(
                "opt-out applied: models trained before it were removed; `teamlens train` "
                "(or `teamlens run`) trains a new one"
            )
        if self.rows_changed:
            lines.append(
                "aggregates and exports built before this purge still reflect the removed "
                "rows: rebuild them"
            )
        return "\n".join(lines) + "\n"


def _no_profile(login: str) -> tuple[str | None, str | None]:
    return None, None  # offline: matching GitHub profiles' e-mails is `mine`'s job


_TEXT_KEYS = {"reviews": "review_id", "review_comments": "comment_id"}


def _texts(writer: RepoWriter) -> dict[tuple[str, int, int, int], bool]:
    """(table, number, fetch_id, id) -> whether the row holds text."""
    found = {}
    for table, ident in _TEXT_KEYS.items():
        if writer.has_rows(table):
            rows = writer.read(table, ["number", "fetch_id", ident, "body"])
            for number, fetch, row_id, body in zip(
                *(rows[c].to_pylist() for c in rows.column_names), strict=True
            ):
                found[(table, number, fetch, row_id)] = body is not None
    return found


def _drop_leftovers(writer: RepoWriter, gone: pa.Array) -> int:
    replaced = {}
    removed = 0
    for table, drop in list(_leftovers(writer.read, writer.has_rows, gone)):
        if pc.any(drop).as_py():
            data = writer.read(table)
            replaced[table] = data.filter(pc.invert(drop))
            removed += data.num_rows - replaced[table].num_rows
    if replaced:
        writer.replace(replaced, writer.manifest.state, purge=True)
    return removed


def purge(config: Config) -> PurgeReport:
    """Apply privacy.retention_days and the opt-out list to every stored repository now.

    The miners' own purges do the work (``teamlens.mining.github.purge_pull_requests`` for
    GitHub rows and review text past retention, ``teamlens.mining.miner.purge_opted_out``
    for commits), so the
    result is what the next ``mine`` would do; then the rows that belonged to removed
    pull requests or commits (files, reviews and comments of the pull request, features
    and labels of the change) go too. Replaced part files are deleted at once.

    Raises
    ------
    StoreError
        Another process is writing a repository (its lock is held).
    KeyFileError, ConfigError, RepositoryError
        The key, the opt-out file or a repository cannot be read.
    """
    from teamlens.mining.github import Actors, purge_pull_requests
    from teamlens.mining.miner import opt_out_fingerprint, purge_opted_out
    from teamlens.mining.ranges import staging_dir
    from teamlens.model.reference import discard_stale_references
    from teamlens.model.registry import Registry, retire_models

    store = Store(config.data_dir)
    key = _available_key(config)
    entries = read_opt_out(config.privacy.opt_out)
    people = (
        _people(config) if any("@" in e for e in entries) else _People(frozenset(), frozenset(), ())
    )
    opt_out = _opt_out(config, people.aliases)
    wanted = bool(opt_out.emails or opt_out.logins)
    unchecked = list(people.unchecked)
    if key is None and wanted:
        unchecked.append("opt-out: no key, so the pseudonyms of opted-out people are unknown")
    results = []
    for repo in store.repos():
        usable = key is not None and _key_matches(store, repo, key)
        if key is not None and not usable and wanted:
            unchecked.append(f"opt-out in repository {repo!r}: written with another key")
        names = Pseudonymizer(key if key is not None else b"")  # unused without opt-outs
        logins = opt_out.logins if usable else frozenset()
        emails = opt_out.emails if usable else frozenset()
        actors = Actors(names, frozenset(config.github.bots), logins, frozenset(), _no_profile)
        gone = pa.array(sorted(actors.pseudonym(x) for x in logins), pa.string())
        with store.writer(repo) as writer:
            texts = _texts(writer)
            github_removed = purge_pull_requests(writer, actors, config.privacy.retention_days)
            git_removed = purge_opted_out(writer, frozenset(names.person("", e) for e in emails))
            derived = _drop_leftovers(writer, gone)
            cleared = sum(1 for row, has in _texts(writer).items() if texts.get(row) and not has)
            if usable and key is not None:
                # The opt-out list this repository's rows are now purged under (as `mine`
                # records it): models trained from them carry it (model.registry).
                fingerprint = opt_out_fingerprint(key, entries)
                if writer.manifest.state.opt_out != fingerprint:
                    writer.commit({}, writer.manifest.state.replace(opt_out=fingerprint))
        if wanted:  # ranges of a split first mining staged before the opt-out hold rows too
            shutil.rmtree(staging_dir(config.data_dir, repo), ignore_errors=True)
        results.append(RepoPurge(repo, cleared, github_removed, git_removed, derived))
    models_removed = False
    if key is not None:
        fingerprint = opt_out_fingerprint(key, entries)
        registry = Registry.for_data_dir(config.data_dir)
        models_removed = bool(retire_models(registry, fingerprint, not entries))
    discard_stale_references(config.data_dir)  # review levels built from purged rows
    discard_history_indexes(config.data_dir)  # reviews' history caches: rebuilt when used
    return PurgeReport(
        tuple(results), config.privacy.retention_days, tuple(unchecked), models_removed
    )
