"""Building the export: each repository's rows generalised, partitioned, measured against
the attacker and suppressed where weak; then changes.csv and datasheet.md written."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from teamlens.config import Config
from teamlens.model.dataset import load_store
from teamlens.model.export.datasheet import _datasheet
from teamlens.model.export.generalise import (
    ATTACKER_COLUMNS,
    EXPORT_COLUMNS,
    QUASI_IDENTIFIERS,
    codes,
    written,
)
from teamlens.model.export.linkability import _measure, git_history, link_classes, link_exact
from teamlens.model.export.partition import SPLIT_WEIGHTS, partition
from teamlens.model.export.report import ExportReport, RepoPrivacy, _total
from teamlens.store import Store


def export(config: Config, out: Path, repos: Sequence[str] = ()) -> ExportReport:
    names = list(repos) or [r.name for r in config.repositories]
    store = Store(config.data_dir)
    frame = load_store(store, names).frame
    k = config.privacy.k
    history = git_history(store, names)
    parts: list[pd.DataFrame] = []
    results: list[RepoPrivacy] = []
    for name in names:
        rows = frame[frame["repo"] == name].reset_index(drop=True)
        if rows.empty:
            continue
        table, result = _protect(rows, history[history["repo"] == name].reset_index(drop=True), k)
        parts.append(table)
        results.append(result)
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=EXPORT_COLUMNS)
    table = table.loc[:, list(EXPORT_COLUMNS)]
    table["label"] = table["label"].astype("Int64")  # 0, 1 or empty (unknown)
    # Sorted by value: the commit order would tell the attacker the sequence of commits.
    table = table.sort_values(list(EXPORT_COLUMNS), kind="stable", na_position="first")
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "changes.csv", table.to_csv(index=False, lineterminator="\n"))
    labelled = int(table["label"].notna().sum())
    inducing = int((table["label"] == 1).sum())
    report = ExportReport(
        out,
        len(table),
        labelled,
        inducing,
        sum(r.suppressed for r in results),
        _total([r.exact for r in results]),
        _total([r.published for r in results]),
        tuple(results),
    )
    _write(out / "datasheet.md", _datasheet(config, names, report))
    return report


def _protect(rows: pd.DataFrame, history: pd.DataFrame, k: int) -> tuple[pd.DataFrame, RepoPrivacy]:
    columns = [c for c in QUASI_IDENTIFIERS if c == "period" or c in rows.columns]
    categories: dict[str, dict[str, int]] = {}
    x = codes(rows, columns, categories)
    person_codes = {
        p: i for i, p in enumerate(pd.unique(pd.concat([rows["people"], history["person"]])))
    }
    people = np.array([person_codes[p] for p in rows["people"]], dtype=np.int64)
    weights = np.array([SPLIT_WEIGHTS.get(c, 1.0) for c in columns], dtype=np.float64)
    classes = partition(x, people, k, weights)
    small = 0 if classes else len(rows)
    attacker = [columns.index(c) for c in ATTACKER_COLUMNS]
    seen = codes(history, ATTACKER_COLUMNS, categories)
    authors = np.array([person_codes[p] for p in history["person"]], dtype=np.int64)
    commits, candidates_people = link_classes(x[:, attacker], classes, seen, authors)
    weak = (commits < k) | (candidates_people < k)
    kept = [c for c, w in zip(classes, weak, strict=True) if not w]
    linked = sum(len(c) for c, w in zip(classes, weak, strict=True) if w)
    sizes = np.array([len(c) for c in kept], dtype=np.int64)
    published = _measure(
        np.repeat(commits[~weak], sizes), np.repeat(candidates_people[~weak], sizes), k
    )
    out: dict[str, list[object]] = {c: [] for c in EXPORT_COLUMNS}
    for rows_of_class in kept:
        part = x[rows_of_class]
        for j, column in enumerate(columns):
            present = sorted(set(part[:, j].tolist()))
            text = written(column, present[0], present[-1], present, categories.get(column, {}))
            out[column] += [text] * len(rows_of_class)
        out["label"] += rows["label"].iloc[rows_of_class].tolist()
    table = pd.DataFrame({c: v for c, v in out.items() if v or c == "label"})
    result = RepoPrivacy(
        str(rows["repo"].iloc[0]),
        len(rows),
        len(kept),
        small,
        linked,
        link_exact(rows, history, k),
        published,
    )
    return table, result


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
