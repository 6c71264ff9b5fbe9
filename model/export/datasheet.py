"""datasheet.md (after Gebru et al., "Datasheets for Datasets", CACM 2021): what the
exported table holds, how each column is written and what the export did to privacy."""

from __future__ import annotations

import time
from collections.abc import Sequence

from teamlens.config import Config
from teamlens.feature_registry import feature
from teamlens.model.dataset import JIT_COMPATIBLE_COLUMNS, KAMEI_FEATURES, TEAMLENS_FEATURES
from teamlens.model.export.generalise import (
    _CATEGORY_COLUMNS,
    _ENTROPY_COLUMNS,
    _SHARE_COLUMNS,
    ATTACKER_COLUMNS,
    BUCKETED_COLUMNS,
    ENTROPY_STEP,
    SHARE_STEP,
)
from teamlens.model.export.report import ExportReport


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "0.0 %"


def _how(column: str) -> str:
    if column == "period":
        return "months `2024-01` or a range of months `2024-01..2024-06`"
    if column in _CATEGORY_COLUMNS:
        return "the values in the class, `|`-separated (`unknown`: none)"
    if column in BUCKETED_COLUMNS:
        extra = " (`age`: whole days)" if column == "age" else ""
        return f"inclusive range `lo..hi` of bucket bounds, or one value{extra}"
    if column in _ENTROPY_COLUMNS:
        return f"`a..b`: a <= value < b, in steps of {ENTROPY_STEP:g}"
    if column in _SHARE_COLUMNS:
        return f"`a..b`: a <= value < b (1 included), steps of {SHARE_STEP:g}; or `unknown`"
    return "`0`, `1` or `0..1`"


def _datasheet(config: Config, repos: Sequence[str], report: ExportReport) -> str:
    labels = config.labels
    k = config.privacy.k
    lines = [
        "# Datasheet: teamlens change table",
        "",
        f"Exported {time.strftime('%Y-%m-%d', time.gmtime())} from repositories: "
        + ", ".join(repos)
        + ".",
        "",
        "## Composition",
        "",
        f"- {report.rows} changes (non-merge commits), one row each; {report.labelled} with "
        f"a label, {report.defect_inducing} of them defect-inducing. {report.suppressed} "
        "more changes were suppressed (see Privacy).",
        "- `label` is 1 (defect-inducing), 0 (clean) or empty (younger than the "
        f"label-maturity window of {labels.maturity_days} days before the newest change, "
        "or no fix labelled yet): empty is *unknown*, not clean.",
        "- Rows are sorted by their values, not by commit time; `period` is the only "
        "time order there is (time-ordered evaluation splits by period).",
        "",
        "## Columns",
        "",
        "| column | meaning | as written |",
        "|---|---|---|",
        f"| `repo` | repository name from repos.yaml | {_how('repo')} |",
        f"| `period` | commit date (UTC) | {_how('period')} |",
    ]
    for name in (*KAMEI_FEATURES, *TEAMLENS_FEATURES, *JIT_COMPATIBLE_COLUMNS):
        spec = feature(name)  # the feature registry's definition and unit
        lines.append(f"| `{name}` | {spec.definition} ({spec.unit}) | {_how(name)} |")
    lines += [
        f"| `language` | programming language with the most changed lines | {_how('language')} |",
        f"| `label` | defect-inducing by SZZ variant `{labels.default_variant}` | as is |",
        "",
        "Every column but `label` is the same for all rows of a class (see Privacy); a range "
        "such as `4..15` says the change's value lies in it. Full definitions and sources: "
        "docs/features.md of teamlens.",
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
        "- Suppressed changes are the unusual ones (rare sizes, lone periods): very large "
        "or very scattered changes are under-represented.",
        "",
        "## Privacy",
        "",
        "No names, e-mail addresses, logins, pseudonyms or commit ids; no team names. No "
        "column describes an individual (Kamei's exp, rexp and sexp are never computed). "
        "People on the opt-out list are absent.",
        "",
        "Every column but `label` can be recomputed from the repository with git, so every "
        f"one is generalised, and the table is k-anonymous with k = {k}: rows are grouped "
        f"into classes of at least {k} changes by at least {k} different people (Mondrian "
        "partitioning, LeFevre et al., ICDE 2006), and every column but `label` holds the "
        "class's range, the same for each of its rows. Before grouping, dates are coded to "
        f"the month, counts to buckets 0, 1, 2-3, 4-7, ..., entropy to {ENTROPY_STEP:g} bit "
        f"and shares to {SHARE_STEP:g}.",
        "",
        "**Linkability, measured at export time.** For every row, teamlens counted the "
        "commits of the repository's own history (`git log --numstat -M`, merges left out) "
        "whose values of " + ", ".join(f"`{c}`" for c in ATTACKER_COLUMNS) + " are "
        "consistent with it, as someone holding the export and a clone would. Rows "
        f"consistent with fewer than {k} commits, or with commits of fewer than {k} "
        "people, were suppressed too. *Exact* is the same measurement on day-level dates "
        "and exact values, as exports were written before this generalisation.",
        "",
        "| repository | changes | classes | suppressed (repository < k) | suppressed (history) "
        "| exact: one commit | exact: < k commits | written: one commit "
        "| written: < k commits | written: < k people |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report.repos:
        lines.append(
            f"| {r.repo} | {r.changes} | {r.classes} "
            f"| {r.suppressed_small} | {r.suppressed_linked} "
            f"| {_pct(r.exact.unique, r.exact.rows)} | {_pct(r.exact.under_k, r.exact.rows)} "
            f"| {_pct(r.published.unique, r.published.rows)} "
            f"| {_pct(r.published.under_k, r.published.rows)} "
            f"| {_pct(r.published.under_k_people, r.published.rows)} |"
        )
    e, p = report.exact, report.published
    lines += [
        "",
        f"Overall: re-identified (one candidate commit) exact {_pct(e.unique, e.rows)} "
        f"({e.unique} of {e.rows}), written {_pct(p.unique, p.rows)} "
        f"({p.unique} of {p.rows}); fewer than {k} candidates exact "
        f"{_pct(e.under_k, e.rows)}, written {_pct(p.under_k, p.rows)}.",
        "",
        "What this does not cover: the label of a class whose rows are all defect-inducing "
        "applies to each of its changes, and the rows of one period still sum to that "
        "period's totals. Do not publish rows of this table; publish figures over groups.",
    ]
    return "\n".join(lines) + "\n"
