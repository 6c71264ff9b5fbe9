""":func:`audit`: every check of the privacy audit, over a data folder and the outputs
given (reports, CSV files, exports)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from pathlib import Path

from teamlens.audit.checks import (
    _available_key,
    _check_exports,
    _check_leftovers,
    _check_opt_out,
    _check_pseudonym_columns,
    _check_retention,
    _check_team_period,
    _key_matches,
    _opt_out,
    _opted_out_pseudonyms,
)
from teamlens.audit.people import _people
from teamlens.audit.rules import AuditError, AuditReport, Violation
from teamlens.audit.scan import _files, _Finder, _scan_file
from teamlens.config import Config
from teamlens.store import Store


def audit(
    config: Config,
    outputs: Sequence[Path] = (),
    allow: Collection[str] = (),
    now: dt.datetime | None = None,
    ordinary_words: bool = True,
) -> AuditReport:
    """Check data_dir and `outputs` (files or folders) against the privacy rules.

    `allow` lists words or names that are not identities although a contributor's name or
    e-mail local part is spelled the same (an ordinary word such as "mark"); e-mail
    addresses and hashes are always reported. `ordinary_words` False looks for one-word
    names and local parts even when they are ordinary words (teamlens.audit.common_words).

    Raises
    ------
    AuditError
        An output does not exist or cannot be read.
    RepositoryError, StoreError, KeyFileError, ConfigError
        A repository, the store, the key or the opt-out file cannot be read.
    """
    now = now or dt.datetime.now(dt.UTC)
    for output in outputs:
        if not output.exists():
            raise AuditError(f"{output}: no such file or folder to audit")
    store = Store(config.data_dir)
    people = _people(config)
    unchecked = list(people.unchecked)
    violations: list[Violation] = []

    shape, pseudonyms = _check_pseudonym_columns(store)
    violations += shape
    key = _available_key(config)
    opt_out = _opt_out(config, people.aliases)
    if opt_out.emails or opt_out.logins:
        if key is None:
            unchecked.append(
                f"opt-out (rule 4): no key (${config.privacy.key_env} unset and no key file), "
                "so the pseudonyms of opted-out people cannot be computed"
            )
        else:
            matching = [r for r in store.repos() if _key_matches(store, r, key)]
            unchecked += [
                f"opt-out (rule 4) in repository {r!r}: the store was written with another key"
                for r in store.repos()
                if r not in matching
            ]
            violations += _check_opt_out(store, _opted_out_pseudonyms(opt_out, key), matching)
    usable_gone = _opted_out_pseudonyms(opt_out, key) if key is not None else {}
    violations += _check_leftovers(store, usable_gone)
    if opt_out.emails and any(r.github for r in config.repositories):
        unchecked.append(
            "opt-out by e-mail for GitHub rows: a login's profile e-mail is not in the store "
            "(only `teamlens mine` can match it, from GitHub)"
        )
    violations += _check_retention(store, config.privacy.retention_days, now)
    team_violations, team_notes = _check_team_period(config, key)
    violations += team_violations
    unchecked += team_notes

    finder = _Finder(people.pairs, allow, pseudonyms, key, None if ordinary_words else frozenset())
    if finder.ordinary:
        n = len(finder.ordinary)
        unchecked.append(
            f"{n} one-word name{'s' if n != 1 else ''} or e-mail local "
            f'part{"s" if n != 1 else ""} spelled like an ordinary word (such as "mark" or '
            '"main") not looked for alone: only within longer names and e-mail addresses'
        )
    store_root = store.root.resolve()
    data_root = config.data_dir.resolve()
    export_violations, export_notes = _check_exports(config, store, outputs, data_root)
    violations += export_violations
    unchecked += export_notes
    seen: set[Path] = set()
    roots = [config.data_dir, *outputs] if config.data_dir.exists() else list(outputs)
    for root in roots:
        for path in _files(root):
            real = path.resolve()
            if real in seen:
                continue
            seen.add(real)
            inside = real.is_relative_to(data_root)
            place = real.relative_to(data_root).as_posix() if inside else str(path)
            outside = not real.is_relative_to(store_root)
            violations += _scan_file(path, place, finder, outside)
    if any(r.github for r in config.repositories):
        unchecked.append(
            "GitHub logins: git does not record them, so a raw login is found only where it "
            "is also a name or e-mail local part in git"
        )
    return AuditReport(tuple(violations), tuple(unchecked), len(seen), config.privacy.k)
