""":func:`inventory`: what teamlens collects, where it lives, how long it is kept and
who can read it, as Markdown generated from the code's schemas and repos.yaml."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from teamlens.aggregates import FIGURES, TEAM_PERIOD_FILE
from teamlens.aggregates import SCHEMA as TEAM_PERIOD_SCHEMA
from teamlens.audit.rules import RETAINED_TEXT, pseudonym_columns, text_columns
from teamlens.config import Config
from teamlens.privacy import default_key_file
from teamlens.store import MANIFEST, SCHEMAS, Store

_TABLE_NOTES: Mapping[str, str] = {
    "commits": "One row per mined commit; authors and committers as pseudonyms only",
    "file_changes": "One row per file a non-merge commit touched",
    "lost_commits": "Commits a force-push or deleted branch dropped, and their return",
    "szz_links": "SZZ: which earlier commit a fix's removed lines came from",
    "szz_fixes": "SZZ: each fix processed, per variant",
    "change_features": "Per-change features (no per-person metric); owning teams by path",
    "changed_functions": "Per change, each changed function and its complexity",
    "change_labels": "Per change: defect-inducing or not (after the maturity window)",
    "change_reviews": "Per change merged through a pull request: review counts and times",
    "pull_requests": "Per pull request fetch: state, sizes, times; author as a pseudonym",
    "pull_request_files": "Per pull request fetch and file: sizes and the patch",
    "reviews": "Per review: state, time; reviewer as a pseudonym",
    "review_comments": "Per review comment: position, diff hunk, text; author as a pseudonym",
}


def _mode(path: Path) -> str:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return "does not exist yet"
    who = "every local user" if mode & stat.S_IROTH else "its owner and group"
    if not mode & (stat.S_IROTH | stat.S_IRGRP):
        who = "its owner only"
    return f"mode {mode:o}: readable by {who}"


def _codes(names: Iterable[str]) -> str:
    listed = [f"`{n}`" for n in names]
    return ", ".join(listed) if listed else "none"


def _rows(store: Store, table: str) -> tuple[int, int]:
    """(rows, repositories) of a stored table, from the Parquet footers."""
    rows = repos = 0
    for repo in store.repos():
        parts = store.manifest(repo).parts.get(table, ())
        if parts:
            repos += 1
        for part in parts:
            try:
                rows += pq.ParquetFile(store.root / repo / part).metadata.num_rows
            except (pa.ArrowException, OSError):
                continue
    return rows, repos


def inventory(config: Config) -> str:
    """A Markdown data inventory, generated from the schemas and repos.yaml; never the key."""
    from teamlens.model.export import EXPORT_COLUMNS  # pandas: only for this page

    privacy = config.privacy
    store = Store(config.data_dir)
    data_dir = config.data_dir
    key_file = privacy.key_file or default_key_file()
    env_set = bool(os.environ.get(privacy.key_env))
    key_where = (
        f"environment variable `{privacy.key_env}` (set)"
        if env_set
        else f"key file `{key_file}` ({_mode(key_file)}); "
        f"environment variable `{privacy.key_env}` not set"
    )
    text_days = privacy.retention_days
    out = [
        "# Data inventory",
        "",
        f"Generated from the code's schemas and `{config.path}`. Every person is stored as "
        "a keyed pseudonym (HMAC-SHA256 with the key below, 32 hex characters) that exists "
        "only to count distinct people; no output is keyed, grouped or filtered by it.",
        "",
        "## Where it lives",
        "",
        "| what | where | who can read it |",
        "|---|---|---|",
        f"| facts (the store) | `{store.root}/<repo>/` | whoever can read the data folder "
        f"`{data_dir}` ({_mode(data_dir)}); `teamlens query` reads every table |",
        f"| team aggregate | `{data_dir / TEAM_PERIOD_FILE}` | the data folder's readers; the "
        "served page and the HTML report show only this table |",
        f"| reports | `{data_dir / 'reports'}/` by default (the HTML report and its CSV files) "
        "| whoever receives them; built from `team_period` only |",
        f"| models | `{data_dir / 'models'}/<id>/` (model.txt or logistic.json, "
        "calibration.json, meta.json, card.md, levels.json) "
        "| the data folder's readers; no pseudonym, no commit id |",
        f"| training-data fingerprints | `{data_dir / 'training'}/fingerprints.json` (per "
        "model, a keyed HMAC of the data it was trained on, so identical data is never "
        "trained twice) | teamlens train and run only (0600); no commit id, no label |",
        f"| run records | `{data_dir / 'runs'}/` (what `teamlens run`'s features, training, "
        "summary and report stages last did, with a SHA-256 digest of the store, settings "
        "and teamlens they did it from; the summary's per-repository counts) | teamlens run "
        "only (0600); no commit id, no pseudonym |",
        f"| review levels | `{data_dir / 'levels'}/<model>/<repo>.json` (risk cut points and "
        "feature quantiles of the repository's recent changes) | teamlens review only; "
        "aggregates of at least k people, deleted when the opt-out list changes |",
        f"| review history index | `{data_dir / 'review-history'}/<repo>.json` (for a "
        "repository with no store: commit ids and times, file changes, fix flags, authors "
        "as keyed pseudonyms; no name, e-mail or message) | teamlens review only (0600); "
        "opted-out people never indexed; rebuilt when the key, opt-out list or patterns "
        "change; deleted by `teamlens purge` |",
        "| exports | the folder given to `teamlens export --out` (changes.csv, datasheet.md) "
        "| whoever receives them; no pseudonym, commit id or team |",
        f"| clones | `{config.clones_dir}/<repo>` (`url:` repositories) and "
        f"`{config.clones_dir}/.graphs/<repo>/` | its readers; a clone is the repository "
        "itself, with every name and e-mail git records |",
        f"| pseudonymisation key | {key_where} | its owner; outside the data folder, never "
        "printed, never stored with the data |",
        f"| opt-out list | `{privacy.opt_out}` | its readers |"
        if privacy.opt_out
        else "| opt-out list | none configured (`privacy.opt_out`) | — |",
        "",
        "## Retention",
        "",
        f"- Review and review-comment text (`reviews.body`, `review_comments.body`): "
        f"{text_days} days (`privacy.retention_days`) after it was written; older text is "
        "not stored, and is cleared on every `teamlens mine` and by `teamlens purge`.",
        "- Everything else is kept until the data folder is deleted: facts are append-only. "
        "Pull request titles, diff hunks and patches are kept scrubbed.",
        "- People on the opt-out list are removed from every table on the next `mine` or "
        "`purge`; rebuild aggregates and models afterwards.",
        f"- Team figures (`team_period`) need at least k = {privacy.k} distinct people; "
        "smaller cells are suppressed, never shown as zero.",
        "",
        "## Tables in the store",
        "",
        "Pseudonyms: keyed HMAC, for counting people only. Text: scrubbed of known names, "
        "e-mail local parts, any e-mail address (and @mentions, for GitHub text).",
    ]
    for table, schema in SCHEMAS.items():
        people = pseudonym_columns(schema)
        texts = text_columns(schema)
        facts = [n for n in schema.names if n not in people and n not in texts]
        rows, repos = _rows(store, table)
        retained = [
            f"`{t}` for {text_days} days (by `{w}`)"
            for (name, t), w in RETAINED_TEXT.items()
            if name == table
        ]
        out += [
            "",
            f"### `{table}`",
            "",
            f"{_TABLE_NOTES.get(table, 'Facts mined or derived from git and GitHub')}. "
            f"`{store.root}/<repo>/{table}/*.parquet` (only the files manifest.json lists); "
            f"now {rows} row{'s' if rows != 1 else ''} in {repos} "
            f"repositor{'ies' if repos != 1 else 'y'}.",
            "",
            f"- Facts: {_codes(facts)}",
            f"- Pseudonyms: {_codes(people)}",
            f"- Text (scrubbed): {_codes(texts)}",
            f"- Kept: {'; '.join(retained) + ', the rest ' if retained else ''}until the data "
            "folder is deleted; opted-out people's rows removed.",
        ]
    dims = [n for n in TEAM_PERIOD_SCHEMA.names if n not in FIGURES]
    out += [
        "",
        "## Aggregates",
        "",
        f"### `team_period` (`{data_dir / TEAM_PERIOD_FILE}`)",
        "",
        "Team-level figures per week or month; the only table the served page, the HTML "
        f"report and its CSV files read. A row has at least k = {privacy.k} distinct people "
        "behind it, or is suppressed with every figure null.",
        "",
        f"- Dimensions: {_codes(dims)}",
        f"- Figures: {_codes(FIGURES)}",
        "- Pseudonyms: none",
        "- Text: none (`hotspots` are file paths)",
        "- Kept: until rebuilt or the data folder is deleted.",
        "",
        "## Exports",
        "",
        f"`teamlens export`: `changes.csv` with {_codes(EXPORT_COLUMNS)}, and "
        "`datasheet.md`. No pseudonym, commit id, team or text; every other column is a "
        "range shared by at least k changes of at least k people (k-anonymous).",
        "",
        "## Manifests",
        "",
        f"`{store.root}/<repo>/{MANIFEST}`: the part files of each table, the refs mined "
        "and their commits, and a 16-hex fingerprint of the key (HMAC of a fixed label), "
        "which cannot be turned back into the key.",
    ]
    return "\n".join(out) + "\n"
