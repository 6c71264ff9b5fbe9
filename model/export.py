"""`teamlens export`: the labelled feature table for researchers, with a datasheet.

Written to a folder: ``changes.csv`` and ``datasheet.md`` (after Gebru et al.,
"Datasheets for Datasets", CACM 2021). The table holds no pseudonym and no commit id
(a commit id leads straight back to its author in the repository), and dates are
rounded to the day. Team names are left out too: row-level team labels would let
anyone compute figures for teams smaller than k. People who opted out are not in the
store, so they are not in the export.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from model.dataset import (
    FEATURE_DEFINITIONS,
    JIT_COMPATIBLE_COLUMNS,
    KAMEI_FEATURES,
    TEAMLENS_FEATURES,
    load_store,
)
from teamlens.config import Config
from teamlens.store import Store

EXPORT_COLUMNS: tuple[str, ...] = (
    "repo",
    "date",
    *KAMEI_FEATURES,
    *TEAMLENS_FEATURES,
    *JIT_COMPATIBLE_COLUMNS,
    "language",
    "label",
)


@dataclass(frozen=True)
class ExportReport:
    folder: Path
    rows: int
    labelled: int
    defect_inducing: int


def export(config: Config, out: Path, repos: Sequence[str] = ()) -> ExportReport:
    names = list(repos) or [r.name for r in config.repositories]
    data = load_store(Store(config.data_dir), names)
    frame = data.frame.copy()
    frame["date"] = pd.to_datetime(frame["time"], unit="s", utc=True).dt.strftime("%Y-%m-%d")
    table = frame.loc[:, list(EXPORT_COLUMNS)]
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "changes.csv", table.to_csv(index=False, lineterminator="\n"))
    labelled = int(table["label"].notna().sum())
    inducing = int((table["label"] == 1).sum())
    _write(out / "datasheet.md", _datasheet(config, names, len(table), labelled, inducing))
    return ExportReport(out, len(table), labelled, inducing)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


_JIT_DEFINITIONS = {
    "jit_ns": "ns as the public JIT benchmark counts it: only files that existed and changed",
    "jit_nd": "nd, benchmark definition (same file set)",
    "jit_nf": "distinct file names (not paths) among those files",
    "jit_entropy": "entropy over those files",
    "jit_la": "lines added to those files",
    "jit_lt": "lines before the change in those files",
}


def _datasheet(config: Config, repos: Sequence[str], rows: int, labelled: int, bad: int) -> str:
    labels = config.labels
    lines = [
        "# Datasheet: teamlens change table",
        "",
        f"Exported {time.strftime('%Y-%m-%d', time.gmtime())} from repositories: "
        + ", ".join(repos)
        + ".",
        "",
        "## Composition",
        "",
        f"- {rows} changes (non-merge commits), one row each; {labelled} with a label, "
        f"{bad} of them defect-inducing.",
        "- `label` is 1 (defect-inducing), 0 (clean) or empty (younger than the "
        f"label-maturity window of {labels.maturity_days} days before the newest change, "
        "or no fix labelled yet): empty is *unknown*, not clean.",
        "",
        "## Columns",
        "",
        "| column | meaning |",
        "|---|---|",
        "| `repo` | repository name from repos.yaml |",
        "| `date` | commit date (UTC), rounded to the day |",
    ]
    for name in (*KAMEI_FEATURES, *TEAMLENS_FEATURES):
        lines.append(f"| `{name}` | {FEATURE_DEFINITIONS[name]} |")
    for name in JIT_COMPATIBLE_COLUMNS:
        lines.append(f"| `{name}` | {_JIT_DEFINITIONS[name]} |")
    lines += [
        "| `language` | programming language with the most changed lines |",
        f"| `label` | defect-inducing by SZZ variant `{labels.default_variant}` |",
        "",
        "Full definitions and sources: docs/features.md of teamlens.",
        "",
        "## How labels were made",
        "",
        f"Fix commits are those whose message matches the configured patterns; the lines "
        f"they delete or change are blamed on the fix's parent (`git blame -w`), and the "
        f"blamed commits are defect-inducing. Variant `{labels.default_variant}`: "
        "source files only, blank and comment-only lines skipped (tree-sitter), "
        "cosmetic commits looked through, merge and bulk commits "
        f"(more than {labels.bulk_files} files) never inducing, and only the most recent "
        "candidate of each fix kept (R-SZZ).",
        "",
        "## Known biases",
        "",
        "- SZZ is noisy: published precision and recall of its variants are about 0.5-0.7 "
        "(Rosa et al., ICSE 2021). Fixes not described as such in their message are "
        "missed; changes that only add lines cannot be blamed.",
        "- Team ownership uses today's globs and CODEOWNERS for old changes too.",
        "- Tangled commits (several concerns in one) share one label.",
        "- Recent changes are unlabelled; time-ordered evaluation must respect the gap.",
        "",
        "## Privacy",
        "",
        "No names, e-mail addresses, logins, pseudonyms or commit ids; dates to the day; "
        "no team names. No column describes an individual (Kamei's exp, rexp and sexp are "
        "never computed). People on the opt-out list are absent.",
    ]
    return "\n".join(lines) + "\n"
