"""Every change feature teamlens computes, in one place.

A :class:`Feature` names one column of the store's ``change_features`` table: its type,
definition, unit, how its value reads to a reviewer, the stage that computes it and
whether a model (and the shipped default model) may read it. The store's schema
(teamlens.store.schema), the model's columns (model.dataset), the research export's
datasheet, the review's explanations and docs/features.md are all built from
:data:`FEATURES`; adding a feature is adding one entry here and computing it in its
stage (features.pipeline).

This is a spine module: the store, features, model and bot layers all import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


class Stage(StrEnum):
    """Where a feature's value comes from."""

    DIFF = "diff"  # the change's own file list and line counts
    HISTORY = "history"  # the replay of earlier changes (files and functions)
    CODE = "code"  # tree-sitter parses of the touched files before and after
    TOKENS = "tokens"  # the code tokens of added and deleted lines
    REVIEW = "review"  # the pull request's review (GitHub data)


class Dtype(StrEnum):
    """How a feature is stored (the Arrow type of its column)."""

    INT32 = "int32"
    INT64 = "int64"
    FLOAT64 = "float64"
    BOOL = "bool"
    STRINGS = "list<string>"

    @property
    def arrow(self) -> pa.DataType:
        import pyarrow as pa  # only the store needs Arrow types (a review does not)

        types: Mapping[Dtype, pa.DataType] = {
            Dtype.INT32: pa.int32(),
            Dtype.INT64: pa.int64(),
            Dtype.FLOAT64: pa.float64(),
            Dtype.BOOL: pa.bool_(),
            Dtype.STRINGS: pa.list_(pa.string()),
        }
        return types[self]


class Group(StrEnum):
    """Which family a feature belongs to (the model's column lists are built by group)."""

    KAMEI = "kamei"  # Kamei et al.'s change metrics that describe the change
    TEAMLENS = "teamlens"  # teamlens's own
    JIT = "jit"  # the public JIT benchmark's definitions, for the shipped default model
    TOKENS = "tokens"  # code tokens of the added and removed lines (features.code_tokens)
    CONTEXT = "context"  # stored for grouping, never a model input


@dataclass(frozen=True)
class Feature:
    """One change feature: a column of ``change_features``.

    ``sentence`` is a :meth:`str.format` template with ``value`` (the number as the
    model saw it, a float), e.g. ``"adds {value:,.0f} lines"``; ``sentence_one`` is used
    instead when the value rounds to 1, and ``sentence_zero`` when it is 0 (or false).
    """

    name: str
    dtype: Dtype
    definition: str
    unit: str
    sentence: str
    stage: Stage
    group: Group
    #: The default model (trained on a corpus of other repositories) may read it: the
    #: value means the same in every repository (not tied to this repository's teams).
    default_model: bool = True
    sentence_one: str | None = None
    sentence_zero: str | None = None

    @property
    def model(self) -> bool:
        """A model input at all (list-valued grouping columns are not)."""
        return self.group is not Group.CONTEXT

    def describe(self, value: float) -> str:
        """The plain sentence for one value of this feature."""
        template = self.sentence
        if self.sentence_zero is not None and value == 0:
            template = self.sentence_zero
        elif self.sentence_one is not None and round(value) == 1:
            template = self.sentence_one
        return template.format(value=value)


def _f(
    name: str,
    dtype: Dtype,
    stage: Stage,
    group: Group,
    unit: str,
    definition: str,
    sentence: str,
    one: str | None = None,
    zero: str | None = None,
    default_model: bool = True,
) -> Feature:
    return Feature(name, dtype, definition, unit, sentence, stage, group, default_model, one, zero)


_I, _L, _D, _B = Dtype.INT32, Dtype.INT64, Dtype.FLOAT64, Dtype.BOOL
_DIFF, _HIST, _CODE, _TOK = Stage.DIFF, Stage.HISTORY, Stage.CODE, Stage.TOKENS
_BUCKETS = 32  # features.code_tokens.BUCKETS (a test checks they agree)
_K, _T, _J = Group.KAMEI, Group.TEAMLENS, Group.JIT

#: Every change feature, in the column order of ``change_features``.
FEATURES: tuple[Feature, ...] = (
    # Kamei et al.'s change metrics (TSE 2013), without the per-person ones.
    _f("ns", _I, _DIFF, _K, "subsystems",
       "subsystems (first path component; `root` at the top level) touched",
       "spans {value:,.0f} subsystems (top-level folders)",
       one="spans 1 subsystem (top-level folder)"),
    _f("nd", _I, _DIFF, _K, "directories", "distinct directories touched",
       "touches {value:,.0f} directories", one="touches 1 directory"),
    _f("nf", _I, _DIFF, _K, "files", "files touched (added, changed, renamed or deleted)",
       "touches {value:,.0f} files", one="touches 1 file"),
    _f("entropy", _D, _DIFF, _K, "bits",
       "Shannon entropy of the modified lines (added + deleted) over the touched files, "
       "not normalised",
       "spreads its {value:.1f} bits of edit entropy over several files",
       zero="keeps its edits in one file"),
    _f("la", _L, _DIFF, _K, "lines",
       "lines added in all files, new ones included (git numstat; binary files 0)",
       "adds {value:,.0f} lines", one="adds 1 line"),
    _f("ld", _L, _DIFF, _K, "lines", "lines deleted (git numstat; binary files 0)",
       "deletes {value:,.0f} lines", one="deletes 1 line"),
    _f("lt", _L, _HIST, _K, "lines",
       "lines in the touched files before the change, summed (replayed line counts)",
       "the touched files held {value:,.0f} lines before the change",
       one="the touched files held 1 line before the change"),
    _f("fix", _B, _DIFF, _K, "yes/no", "the change is a bug fix (message patterns)",
       "is a bug fix", zero="is not a bug fix"),
    _f("ndev", _I, _HIST, _K, "people",
       "distinct earlier contributors to the touched files (a count of pseudonyms)",
       "the touched files had {value:,.0f} earlier contributors",
       one="the touched files had 1 earlier contributor"),
    _f("age", _D, _HIST, _K, "days",
       "mean over the touched files of the days since each last changed (0 for new files)",
       "the touched files last changed {value:,.0f} days earlier on average",
       one="the touched files last changed 1 day earlier on average"),
    _f("nuc", _I, _HIST, _K, "changes", "distinct earlier changes to the touched files",
       "the touched files had {value:,.0f} earlier changes",
       one="the touched files had 1 earlier change"),
    # Team context: depends on this repository's team globs, so not for the default model.
    _f("n_teams", _I, _DIFF, _T, "teams", "teams owning any touched file",
       "touches files of {value:,.0f} teams", one="touches files of 1 team",
       zero="touches files no team owns", default_model=False),
    _f("owner_share", _D, _HIST, _T, "share",
       "share of the earlier changes to the touched files that stayed within one team's "
       "files (null without history)",
       "{value:.0%} of earlier changes to these files stayed within one team",
       default_model=False),
    _f("recent_fixes", _I, _HIST, _T, "fixes",
       "distinct fix commits that touched the files in the 90 days before",
       "the touched files had {value:,.0f} fixes in the last 90 days",
       one="the touched files had 1 fix in the last 90 days"),
    _f("tests_touched", _B, _DIFF, _T, "yes/no", "test code touched alongside",
       "touches tests too", zero="changes no test files"),
    _f("code_metrics_files", _I, _CODE, _T, "files",
       "files tree-sitter parsed (Python, Java, JavaScript, TypeScript, Go; under 1 MB)",
       "changes {value:,.0f} parsed source files", one="changes 1 parsed source file"),
    _f("functions_changed", _I, _CODE, _T, "functions",
       "functions whose lines the change deleted or added (new and deleted ones included)",
       "changes {value:,.0f} functions", one="changes 1 function"),
    _f("complexity_before", _I, _CODE, _T, "McCabe",
       "summed cyclomatic complexity of the changed functions before",
       "the changed functions had complexity {value:,.0f} before"),
    _f("complexity_after", _I, _CODE, _T, "McCabe",
       "summed cyclomatic complexity of the changed functions after",
       "the changed functions have complexity {value:,.0f} after"),
    _f("max_complexity_increase", _I, _CODE, _T, "McCabe",
       "largest complexity increase of a changed function that existed before",
       "a function's cyclomatic complexity grew by {value:,.0f}",
       zero="no function's complexity grew"),
    _f("largest_function_complexity", _I, _CODE, _T, "McCabe",
       "largest complexity of a changed function after the change",
       "the most complex changed function has complexity {value:,.0f}"),
    _f("comment_lines_added", _I, _CODE, _T, "lines", "comment-only lines added",
       "adds {value:,.0f} comment-only lines", one="adds 1 comment-only line"),
    _f("whitespace_lines_added", _I, _CODE, _T, "lines", "blank lines added",
       "adds {value:,.0f} blank lines", one="adds 1 blank line"),
    # Features that see all code: new and deleted files, history of files and functions.
    _f("files_added", _I, _DIFF, _T, "files", "files the change adds (copies included)",
       "adds {value:,.0f} new files", one="adds 1 new file", zero="adds no new file"),
    _f("files_deleted", _I, _DIFF, _T, "files", "files the change deletes",
       "deletes {value:,.0f} files", one="deletes 1 file", zero="deletes no file"),
    _f("la_new_files", _L, _DIFF, _T, "lines", "lines added in the files the change adds",
       "adds {value:,.0f} lines in new files", one="adds 1 line in a new file",
       zero="adds no line in new files"),
    _f("prior_fixes", _I, _HIST, _T, "fixes",
       "distinct earlier fix commits that touched the files (all time)",
       "the touched files had {value:,.0f} earlier fixes",
       one="the touched files had 1 earlier fix", zero="the touched files never had a fix"),
    _f("prior_churn", _L, _HIST, _T, "lines",
       "lines added plus deleted by earlier changes to the touched files",
       "earlier changes added or deleted {value:,.0f} lines in the touched files"),
    _f("functions_prior_changes", _I, _HIST, _T, "changes",
       "distinct earlier changes to the changed functions (by file and name; renames "
       "followed)",
       "the changed functions had {value:,.0f} earlier changes",
       one="the changed functions had 1 earlier change"),
    _f("functions_prior_fixes", _I, _HIST, _T, "fixes",
       "distinct earlier fix commits that touched the changed functions",
       "the changed functions had {value:,.0f} earlier fixes",
       one="the changed functions had 1 earlier fix",
       zero="the changed functions never had a fix"),
    _f("functions_age", _D, _HIST, _T, "days",
       "mean over the changed functions of the days since each last changed (0 for new "
       "ones)",
       "the changed functions last changed {value:,.0f} days earlier on average",
       one="the changed functions last changed 1 day earlier on average"),
    # Structure of the added and removed code (features.code_metrics.structure).
    _f("new_source_files", _I, _CODE, _T, "files",
       "source files the change adds (parsed languages)",
       "adds {value:,.0f} new source files", one="adds 1 new source file",
       zero="adds no new source file"),
    _f("new_source_lines", _I, _CODE, _T, "lines", "lines of the source files the change adds",
       "adds {value:,.0f} lines in new source files", one="adds 1 line in a new source file"),
    _f("deleted_source_files", _I, _CODE, _T, "files", "source files the change deletes",
       "deletes {value:,.0f} source files", one="deletes 1 source file",
       zero="deletes no source file"),
    _f("deleted_source_lines", _I, _CODE, _T, "lines", "lines of the source files it deletes",
       "deletes {value:,.0f} lines with deleted source files"),
    _f("code_lines_added", _I, _CODE, _T, "lines",
       "added lines holding code (not blank, not only comments)",
       "adds {value:,.0f} lines of code", one="adds 1 line of code"),
    _f("code_lines_removed", _I, _CODE, _T, "lines", "deleted lines holding code",
       "removes {value:,.0f} lines of code", one="removes 1 line of code"),
    _f("decisions_added", _I, _CODE, _T, "decision points",
       "decision points (branches, loops, cases, handlers, boolean operators) on added lines",
       "adds {value:,.0f} decision points", one="adds 1 decision point"),
    _f("decisions_removed", _I, _CODE, _T, "decision points", "decision points on deleted lines",
       "removes {value:,.0f} decision points", one="removes 1 decision point"),
    _f("functions_added", _I, _CODE, _T, "functions", "new functions (no counterpart before)",
       "adds {value:,.0f} functions", one="adds 1 function", zero="adds no function"),
    _f("functions_removed", _I, _CODE, _T, "functions", "functions removed",
       "removes {value:,.0f} functions", one="removes 1 function"),
    _f("max_nesting_added", _I, _CODE, _T, "levels", "deepest nesting of an added line of code",
       "adds code nested {value:,.0f} levels deep", one="adds code nested 1 level deep"),
    _f("calls_added", _I, _CODE, _T, "calls", "calls starting on added lines",
       "adds {value:,.0f} calls", one="adds 1 call"),
    _f("returns_added", _I, _CODE, _T, "statements", "return statements on added lines",
       "adds {value:,.0f} return statements", one="adds 1 return statement"),
    _f("raises_added", _I, _CODE, _T, "statements", "raise and throw statements on added lines",
       "adds {value:,.0f} raise/throw statements", one="adds 1 raise/throw statement"),
    _f("handlers_added", _I, _CODE, _T, "handlers", "exception handlers on added lines",
       "adds {value:,.0f} exception handlers", one="adds 1 exception handler"),
    _f("literals_added", _I, _CODE, _T, "literals", "number and string literals on added lines",
       "adds {value:,.0f} literals", one="adds 1 literal"),
    _f("magic_numbers_added", _I, _CODE, _T, "literals",
       "number literals other than 0, 1 and 2 on added lines",
       "adds {value:,.0f} magic numbers", one="adds 1 magic number"),
    # Code tokens of the added and removed lines (features.code_tokens, after JITLine).
    _f("tokens_added", _I, _TOK, Group.TOKENS, "tokens", "code tokens on the added lines",
       "adds {value:,.0f} code tokens", one="adds 1 code token"),
    _f("tokens_removed", _I, _TOK, Group.TOKENS, "tokens", "code tokens on the deleted lines",
       "removes {value:,.0f} code tokens", one="removes 1 code token"),
    _f("distinct_tokens_added", _I, _TOK, Group.TOKENS, "tokens",
       "distinct tokens on the added lines of each file, summed over the files",
       "uses {value:,.0f} distinct tokens", one="uses 1 distinct token"),
    _f("new_token_share_added", _D, _TOK, Group.TOKENS, "share",
       "share of the added word pieces that occur nowhere in the file before",
       "{value:.0%} of the words it adds are new to their files"),
    *(
        _f(f"token_{side}_{i:02d}", _I, _TOK, Group.TOKENS, "tokens",
           f"{side} tokens in hash bucket {i:02d} of {_BUCKETS} (CRC-32; a hashed bag of tokens)",
           f"{verb} {{value:,.0f}} tokens of one kind", default_model=False)
        for side, verb in (("added", "adds"), ("removed", "removes"))
        for i in range(_BUCKETS)
    ),
    # The public JIT benchmark's definitions (Zeng et al., ISSTA 2021).
    _f("jit_ns", _I, _DIFF, _J, "subsystems",
       "ns as the public JIT benchmark counts it: only files that existed and changed",
       "spans {value:,.0f} subsystems with edited existing files"),
    _f("jit_nd", _I, _DIFF, _J, "directories", "nd, benchmark definition (same file set)",
       "touches {value:,.0f} directories with edited existing files"),
    _f("jit_nf", _I, _DIFF, _J, "files", "distinct file names (not paths) among those files",
       "edits {value:,.0f} existing files", one="edits 1 existing file"),
    _f("jit_entropy", _D, _DIFF, _J, "bits", "entropy over those files",
       "spreads its edits of existing files over several files ({value:.1f} bits)",
       zero="keeps its edits of existing files in one file"),
    _f("jit_la", _L, _DIFF, _J, "lines", "lines added to those files",
       "adds {value:,.0f} lines to existing files", one="adds 1 line to an existing file"),
    _f("jit_lt", _L, _HIST, _J, "lines", "lines before the change in those files",
       "the edited existing files held {value:,.0f} lines before"),
    # Grouping only.
    Feature("owning_teams", Dtype.STRINGS,
            "teams owning any touched file (repos.yaml globs; CODEOWNERS team handles)",
            "teams", "touches files of its owning teams", Stage.DIFF, Group.CONTEXT, False),
)  # fmt: skip

BY_NAME: Mapping[str, Feature] = {f.name: f for f in FEATURES}


def feature(name: str) -> Feature:
    """The registry entry of `name` (KeyError for an unknown feature)."""
    return BY_NAME[name]


def names(group: Group | None = None, stage: Stage | None = None) -> tuple[str, ...]:
    """Feature names in registry order, optionally of one group and/or stage."""
    return tuple(
        f.name
        for f in FEATURES
        if (group is None or f.group is group) and (stage is None or f.stage is stage)
    )


def model_features() -> tuple[str, ...]:
    """Every feature a model may read (not the grouping columns)."""
    return tuple(f.name for f in FEATURES if f.model)


def change_features_schema() -> pa.Schema:
    """The Arrow schema of the store's ``change_features`` table: the key columns (repo,
    sha, commit_time), then the features."""
    import pyarrow as pa

    keys = [
        ("repo", pa.string()),
        ("sha", pa.string()),
        ("commit_time", pa.timestamp("s", tz="UTC")),
    ]
    return pa.schema([*keys, *((f.name, f.dtype.arrow) for f in FEATURES)])


def sentence(name: str, value: float) -> str:
    """How `value` of feature `name` reads to a reviewer (a fallback for unknown names)."""
    spec = BY_NAME.get(name)
    return spec.describe(value) if spec is not None else f"{name} is {value:g}"
