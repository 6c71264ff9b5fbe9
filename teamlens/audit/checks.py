"""The audit's checks of the store and of research exports: person columns hold keyed
pseudonyms (rule 1), no row of anyone on the opt-out list and nothing left of their
pull requests and commits (rule 4), no review text past retention, ``team_period``
under the disclosure control (rule 3), exports that git's history does not narrow to
fewer than k commits or people (rule 7)."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from teamlens.aggregates import FIGURES, TEAM_PERIOD_FILE
from teamlens.audit.rules import (
    LINKABLE_EXPORT,
    NOT_A_PSEUDONYM,
    OPT_OUT,
    RETAINED_TEXT,
    RETENTION,
    SUPPRESSED_FIGURE,
    Violation,
    pseudonym_columns,
)
from teamlens.audit.scan import _files
from teamlens.config import Config
from teamlens.dashboard.published_check import check_published
from teamlens.errors import StoreError
from teamlens.mining.repository import Alias
from teamlens.model.dataset import DatasetError
from teamlens.privacy import (
    PSEUDONYM_HEX,
    Pseudonymizer,
    default_key_file,
    load_key,
    read_opt_out,
    verify_key_check,
)
from teamlens.store import SCHEMAS, Store

# --- the store ---------------------------------------------------------------------------


def _read_part(path: Path, columns: Sequence[str]) -> pa.Table:
    try:
        return pq.read_table(path, columns=list(columns))
    except (pa.ArrowException, OSError) as exc:
        raise StoreError(f"{path}: cannot be read ({exc})") from None


def _listed(store: Store, table: str, columns: Sequence[str]) -> Iterator[tuple[str, pa.Table]]:
    """(repo, rows) of each part file the manifests list for `table`, only `columns`."""
    for repo in store.repos():
        for part in store.manifest(repo).parts.get(table, ()):
            yield repo, _read_part(store.root / repo / part, columns)


_PSEUDONYM_RE = re.compile(rf"^[0-9a-f]{{{PSEUDONYM_HEX}}}$")


def _check_pseudonym_columns(store: Store) -> tuple[list[Violation], set[str]]:
    """Rule 1: person columns hold 32-hex keyed pseudonyms only. Also returns them all."""
    violations = []
    seen: set[str] = set()
    for table, schema in SCHEMAS.items():
        columns = pseudonym_columns(schema)
        if not columns:
            continue
        bad: dict[tuple[str, str], int] = {}
        for repo, rows in _listed(store, table, columns):
            for column in columns:
                values = [v for v in pc.unique(rows[column]).to_pylist() if v is not None]
                seen.update(values)
                wrong = [v for v in values if not _PSEUDONYM_RE.match(v)]
                if wrong:
                    bad[(repo, column)] = bad.get((repo, column), 0) + len(wrong)
        violations += [
            Violation(
                NOT_A_PSEUDONYM,
                f"store/{repo}, table {table}, column {column}",
                f"{n} distinct value{'s' if n != 1 else ''} not shaped like a keyed "
                f"pseudonym ({PSEUDONYM_HEX} lower-case hex characters)",
            )
            for (repo, column), n in sorted(bad.items())
        ]
    return violations, {v for v in seen if _PSEUDONYM_RE.match(v)}


def _available_key(config: Config) -> bytes | None:
    """The key, if one exists. Unlike load_key, never creates a key file."""
    privacy = config.privacy
    if os.environ.get(privacy.key_env) or (privacy.key_file or default_key_file()).exists():
        return load_key(privacy, config.data_dir)
    return None


def _key_matches(store: Store, repo: str, key: bytes) -> bool:
    recorded = store.manifest(repo).state.key_check
    return recorded is None or verify_key_check(key, recorded)


@dataclass(frozen=True)
class _OptOut:
    emails: frozenset[str]  # lower-cased, with every address .mailmap links to them
    logins: frozenset[str]


def _opt_out(config: Config, aliases: Iterable[Alias]) -> _OptOut:
    entries = read_opt_out(config.privacy.opt_out)
    emails = {e for e in entries if "@" in e}
    for alias in aliases:  # as mining.miner: an entry for any address opts out the person
        if alias.raw_email.lower() in emails or alias.email.lower() in emails:
            emails.add(alias.email.lower())
    return _OptOut(frozenset(emails), frozenset(e for e in entries if "@" not in e))


def _opted_out_pseudonyms(opt_out: _OptOut, key: bytes) -> dict[str, str]:
    """pseudonym -> 'an opted-out e-mail' / 'an opted-out login'."""
    names = Pseudonymizer(key)
    found = {names.person("", e): "an opted-out e-mail" for e in opt_out.emails}
    found.update({names.pseudonym(f"github:{x}"): "an opted-out login" for x in opt_out.logins})
    return found


def _check_opt_out(
    store: Store, gone: Mapping[str, str], repos: Collection[str]
) -> list[Violation]:
    violations = []
    ids = pa.array(sorted(gone), pa.string())
    for table, schema in SCHEMAS.items():
        columns = pseudonym_columns(schema)
        if not columns:
            continue
        counts: dict[tuple[str, str], int] = {}
        for repo, rows in _listed(store, table, columns):
            if repo not in repos:
                continue
            for column in columns:
                hit = pc.fill_null(pc.is_in(rows[column], value_set=ids), False)
                n = int(pc.sum(hit).as_py() or 0)
                if n:
                    counts[(repo, column)] = counts.get((repo, column), 0) + n
        violations += [
            Violation(
                OPT_OUT,
                f"store/{repo}, table {table}, column {column}",
                f"{n} row{'s' if n != 1 else ''} of people on the opt-out list",
            )
            for (repo, column), n in sorted(counts.items())
        ]
    return violations


#: Rows that belong to a pull request: gone with it when its author opts out.
_PULL_CHILDREN = ("pull_request_files", "reviews", "review_comments")
#: Rows that belong to a stored commit (one change): gone with it when its author opts out.
_CHANGE_CHILDREN = ("change_features", "changed_functions", "change_labels", "change_reviews")
#: SZZ tables and the columns naming a commit: a row goes when one is not stored.
_SZZ_COMMITS: Mapping[str, tuple[str, ...]] = {
    "szz_links": ("fix_sha", "inducing_sha"),
    "szz_fixes": ("fix_sha",),
}


def _pull_numbers(rows: pa.Table, gone: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(numbers of every stored pull request, numbers of those by opted-out authors)."""
    by_gone = pc.fill_null(pc.is_in(rows["author_id"], value_set=gone), False)
    return pc.unique(rows["number"]), pc.unique(rows.filter(by_gone)["number"])


def _leftovers(
    read: Callable[[str, list[str]], pa.Table], has_rows: Callable[[str], bool], gone: pa.Array
) -> Iterator[tuple[str, pa.Array]]:
    """(table, mask of rows to drop): rows whose pull request or commit is not stored, or
    whose pull request's author opted out. `read(table, columns)` reads one repository."""
    if any(has_rows(t) for t in ("pull_requests", *_PULL_CHILDREN)):
        stored, by_gone = _pull_numbers(read("pull_requests", ["number", "author_id"]), gone)
        for table in _PULL_CHILDREN:
            if has_rows(table):
                number = read(table, ["number"])["number"]
                orphan = pc.invert(pc.is_in(number, value_set=stored))
                yield table, pc.or_(orphan, pc.is_in(number, value_set=by_gone))
    if any(has_rows(t) for t in (*_CHANGE_CHILDREN, *_SZZ_COMMITS)):
        shas = pc.unique(read("commits", ["sha"])["sha"])
        for table in _CHANGE_CHILDREN:
            if has_rows(table):
                yield table, pc.invert(pc.is_in(read(table, ["sha"])["sha"], value_set=shas))
        # SZZ rows naming a commit that is not stored (an opted-out person's: git blame
        # still sees it) as fix or as inducing commit.
        for table, columns in _SZZ_COMMITS.items():
            if has_rows(table):
                rows = read(table, list(columns))
                masks = [pc.invert(pc.is_in(rows[c], value_set=shas)) for c in columns]
                drop = masks[0]
                for mask in masks[1:]:
                    drop = pc.or_(drop, mask)
                yield table, drop


def _check_leftovers(store: Store, gone: Mapping[str, str]) -> list[Violation]:
    ids = pa.array(sorted(gone), pa.string())
    violations = []
    for repo in store.repos():
        root = store.root / repo
        parts = store.manifest(repo).parts

        def read(table: str, columns: list[str], root: Path = root, parts: Any = parts) -> Any:
            files = [_read_part(root / p, columns) for p in parts.get(table, ())]
            return (
                pa.concat_tables(files) if files else SCHEMAS[table].empty_table().select(columns)
            )

        def has_rows(table: str, parts: Any = parts) -> bool:
            return bool(parts.get(table))

        for table, drop in _leftovers(read, has_rows, ids):
            n = int(pc.sum(drop).as_py() or 0)
            if n:
                what = "pull request" if table in _PULL_CHILDREN else "commit"
                violations.append(
                    Violation(
                        OPT_OUT,
                        f"store/{repo}, table {table}",
                        f"{n} row{'s' if n != 1 else ''} of a {what} that is no longer stored "
                        f"or whose author opted out; `teamlens purge` removes them",
                    )
                )
    return violations


def _check_retention(store: Store, days: int, now: dt.datetime) -> list[Violation]:
    cutoff = pa.scalar(now - dt.timedelta(days=days), type=pa.timestamp("s", tz="UTC"))
    violations = []
    for (table, text), when in RETAINED_TEXT.items():
        counts: dict[str, int] = {}
        for repo, rows in _listed(store, table, (when, text)):
            old = pc.fill_null(pc.less(rows[when], cutoff.cast(rows[when].type)), True)
            n = int(pc.sum(pc.and_(old, pc.is_valid(rows[text]))).as_py() or 0)
            if n:
                counts[repo] = counts.get(repo, 0) + n
        violations += [
            Violation(
                RETENTION,
                f"store/{repo}, table {table}, column {text}",
                f"{n} text{'s' if n != 1 else ''} older than {days} days "
                f"(by {when}) still stored; `teamlens purge` clears them",
            )
            for repo, n in sorted(counts.items())
        ]
    return violations


# --- rule 3: team_period -----------------------------------------------------------------


def _check_team_period(config: Config, key: bytes | None) -> tuple[list[Violation], list[str]]:
    """Suppressed rows carry nothing; shown ones pass the disclosure control, recomputed
    from the store and the ledger (dashboard.published_check)."""
    path = config.data_dir / TEAM_PERIOD_FILE
    if not path.exists():
        return [], []
    place = TEAM_PERIOD_FILE.as_posix()
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        return [], [f"{place}: cannot be read as Parquet ({exc}); rule 3 not checked"]
    missing = {"team", "period", "period_start", "suppressed"} - set(table.column_names)
    if missing:
        return [], [f"{place}: no column {', '.join(sorted(missing))}; rule 3 not checked"]
    figures = [c for c in FIGURES if c in table.column_names]
    violations = []
    for row in table.to_pylist():
        if row["suppressed"] is not True:
            continue
        carried = [c for c in figures if row[c] is not None]
        if carried:
            where = f"{place}, team {row['team']!r}, {row['period']} of {row['period_start']}"
            violations.append(
                Violation(SUPPRESSED_FIGURE, where, f"suppressed, yet carries {', '.join(carried)}")
            )
    try:
        problems, notes = check_published(config, key)
    except DatasetError as exc:
        return violations, [f"{place}: the store cannot be read for rule 3 ({exc})"]
    violations += [Violation(p.rule, p.where, p.detail) for p in problems]
    return violations, notes


# --- rule 7: research exports ------------------------------------------------------------

#: The first line of the datasheet `teamlens export` writes beside changes.csv.
_DATASHEET_TITLE = "# Datasheet: teamlens change table"


def _export_tables(outputs: Sequence[Path]) -> list[Path]:
    """The changes.csv of every teamlens export in `outputs` (by the datasheet beside it;
    the header is checked when the table is read)."""
    found: dict[Path, Path] = {}
    for root in outputs:
        for path in _files(root):
            if path.name != "changes.csv":
                continue
            datasheet = path.parent / "datasheet.md"
            try:
                with open(datasheet, encoding="utf-8", errors="replace") as fh:
                    title = fh.readline().rstrip("\r\n")
            except OSError:
                continue
            if title == _DATASHEET_TITLE:
                found.setdefault(path.resolve(), path)
    return list(found.values())


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _check_exports(
    config: Config, store: Store, outputs: Sequence[Path], data_root: Path
) -> tuple[list[Violation], list[str]]:
    """Rule 7: each class of an export (rows with the same quasi-identifiers) has k rows,
    and git's own history (the store's commits and file changes, as ``git log --numstat
    -M`` shows them) holds at least k commits by k people consistent with every range of
    the class: the attacker's count at export time (model.export), recomputed."""
    tables = _export_tables(outputs)
    if not tables:
        return [], []
    import numpy as np  # only when there is an export to read
    import numpy.typing as npt
    import pandas as pd

    from teamlens.model.export import (
        ATTACKER_COLUMNS,
        EXPORT_COLUMNS,
        QUASI_IDENTIFIERS,
        Range,
        git_history,
        read_range,
    )

    k = config.privacy.k
    stored = set(store.repos())
    violations: list[Violation] = []
    unchecked: list[str] = []
    histories: dict[frozenset[str], pd.DataFrame] = {}
    for path in tables:
        real = path.resolve()
        place = (
            real.relative_to(data_root).as_posix() if real.is_relative_to(data_root) else str(path)
        )
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            unchecked.append(f"{place}: cannot be read as CSV ({exc}); rule 7 not checked")
            continue
        if tuple(table.columns) != EXPORT_COLUMNS:
            continue  # not a teamlens export: scanned for identities only
        classes = table.groupby(list(QUASI_IDENTIFIERS), sort=False).indices
        unreadable: list[str] = []
        absent: dict[str, int] = {}
        masks: dict[tuple[frozenset[str], str, str], npt.NDArray[np.bool_]] = {}
        for rows in sorted(classes.values(), key=min):
            first = int(min(rows))
            line = first + 2  # line 1 is the header
            ranges: dict[str, Range] = {}
            texts = {c: str(table.at[first, c]) for c in ATTACKER_COLUMNS}
            for column, text in texts.items():
                try:
                    ranges[column] = read_range(column, text)
                except ValueError:
                    unreadable.append(f"line {line} column {column}")
                    ranges[column] = Range()
            repos = ranges["repo"].names
            missing = sorted((repos or frozenset()) - stored) if repos else ["(none named)"]
            if missing:
                for name in missing:
                    absent[name] = absent.get(name, 0) + len(rows)
                continue
            assert repos is not None
            if repos not in histories:
                histories[repos] = git_history(store, sorted(repos))
            history = histories[repos]
            inside = np.ones(len(history), dtype=np.bool_)
            for column, text in texts.items():
                key = (repos, column, text)
                if key not in masks:  # most classes share some cells: each is read once
                    values = history["time" if column == "period" else column]
                    masks[key] = ranges[column].holds(values)
                inside &= masks[key]
            commits = int(inside.sum())
            people = int(history["person"][inside].nunique())
            if len(rows) < k or commits < k or people < k:
                where = f"{place}, line {line}"
                if len(rows) > 1:
                    where += f" (the first of {len(rows)} rows with the same values)"
                violations.append(
                    Violation(
                        LINKABLE_EXPORT,
                        where,
                        f"a class of {_plural(len(rows), 'row')} that git's history narrows "
                        f"to {_plural(commits, 'commit')} by "
                        f"{_plural(people, 'person', 'people')} (k = {k})",
                    )
                )
        if unreadable:
            unchecked.append(
                f"{place}: {_plural(len(unreadable), 'cell')} teamlens does not write "
                f"(first: {unreadable[0]}), read as saying nothing about the change"
            )
        unchecked += [
            f"{place}: repository {name!r} is not in the store, so the linkability of its "
            f"{_plural(n, 'row')} (rule 7) is not checked"
            for name, n in sorted(absent.items())
        ]
    return violations, unchecked
