"""What the audit reports: the rule a finding breaks (:data:`RULES`), a finding
(:class:`Violation`) and the report, and which schema columns hold people or text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

from teamlens.dashboard.published_check import (
    DIFFERENCING,
    DOMINANCE,
    REPUBLICATION,
    SMALL_GROUP,
    STALE,
    UNRECORDED,
)
from teamlens.errors import TeamlensError

# --- what the schemas hold ---------------------------------------------------------------

#: Free-text columns: scrubbed of names and e-mail addresses before they are stored.
TEXT_COLUMNS: frozenset[str] = frozenset({"message_subject", "title", "body", "diff_hunk", "patch"})
#: String ``*_id`` columns that do not hold people (``commit_id`` is a commit sha).
_NOT_PEOPLE = frozenset({"commit_id"})
#: Text kept only within ``privacy.retention_days``: (table, text column) -> time column.
RETAINED_TEXT: Mapping[tuple[str, str], str] = {
    ("reviews", "body"): "submitted_at",
    ("review_comments", "body"): "created_at",
}
GITHUB_TABLES = ("pull_requests", "pull_request_files", "reviews", "review_comments")


def pseudonym_columns(schema: pa.Schema) -> tuple[str, ...]:
    """Columns holding keyed pseudonyms: string columns named ``*_id`` that are people."""
    return tuple(
        f.name
        for f in schema
        if f.name.endswith("_id") and pa.types.is_string(f.type) and f.name not in _NOT_PEOPLE
    )


def text_columns(schema: pa.Schema) -> tuple[str, ...]:
    return tuple(name for name in schema.names if name in TEXT_COLUMNS)


# --- rules -------------------------------------------------------------------------------

RAW_IDENTITY = "raw-identity"
PLAIN_HASH = "plain-hash"
NOT_A_PSEUDONYM = "not-a-pseudonym"
KEY_EXPOSED = "key-exposed"
PSEUDONYM_OUTSIDE = "pseudonym-outside-store"
SUPPRESSED_FIGURE = "suppressed-figure"
OPT_OUT = "opt-out"
RETENTION = "retention"
LINKABLE_EXPORT = "linkable-export"

#: Violation.rule -> what it breaks.
RULES: Mapping[str, str] = {
    RAW_IDENTITY: "rule 1: a raw name, e-mail address or e-mail local part",
    PLAIN_HASH: "rule 1: a plain (unkeyed) hash of a name or e-mail address",
    NOT_A_PSEUDONYM: "rule 1: a person column holding something other than a keyed pseudonym",
    KEY_EXPOSED: "rule 1: the pseudonymisation key itself",
    PSEUDONYM_OUTSIDE: "rule 2: a pseudonym outside the store (output keyed by a person)",
    SMALL_GROUP: "rule 3: a shown team figure with fewer than k people behind it",
    SUPPRESSED_FIGURE: "rule 3: a suppressed row that still carries a figure",
    DIFFERENCING: "rule 3: a set of changes with fewer than k people (or one dominant) that "
    "published figures add up to (other teams, totals, weeks and months, earlier copies)",
    DOMINANCE: "rule 3: a shown figure most of whose changes one person made",
    REPUBLICATION: "rule 3: a figure republished after a change with fewer than k people behind it",
    UNRECORDED: "rule 3: shown figures the ledger of publications does not know",
    STALE: "rule 4: shown figures that still include changes of people who opted out",
    OPT_OUT: "rule 4: rows of a person who opted out",
    RETENTION: "retention: review text older than privacy.retention_days",
    LINKABLE_EXPORT: "rule 7: exported rows that git's own history narrows to fewer than k "
    "commits or people",
}


class AuditError(TeamlensError):
    """An output given to the audit does not exist or cannot be read."""


@dataclass(frozen=True)
class Violation:
    rule: str  # a key of RULES
    where: str  # file (relative to data_dir when inside it) and column, line or row
    detail: str  # what was found: the kind of identity and a count, never the identity


@dataclass(frozen=True)
class AuditReport:
    violations: tuple[Violation, ...]
    unchecked: tuple[str, ...] = ()  # checks that could not run, and why
    files_scanned: int = 0
    k: int = 5

    @property
    def ok(self) -> bool:
        return not self.violations

    def render(self) -> str:
        """Markdown: a verdict, one table row per violation, then what was not checked."""
        lines = ["## Privacy audit", ""]
        lines.append(f"{self.files_scanned} files scanned; k = {self.k}.")
        lines.append("")
        if self.ok:
            lines.append("**No violation found.**")
        else:
            n = len(self.violations)
            lines += [
                f"**{n} violation{'s' if n != 1 else ''}.**",
                "",
                "| rule | where | found |",
                "|---|---|---|",
            ]
            lines += [
                f"| {_cell(RULES.get(v.rule, v.rule))} | {_cell(v.where)} | {_cell(v.detail)} |"
                for v in self.violations
            ]
        if self.unchecked:
            lines += ["", "Not checked:", ""]
            lines += [f"- {note}" for note in self.unchecked]
        return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
