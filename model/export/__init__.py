"""`teamlens export`: the labelled feature table for researchers, k-anonymous on what git shows.

Written to a folder: ``changes.csv`` and ``datasheet.md`` (after Gebru et al.,
"Datasheets for Datasets", CACM 2021). The table holds no pseudonym and no commit id
(a commit id leads straight back to its author in the repository), and no team names:
row-level team labels would let anyone compute figures for teams smaller than k. People
who opted out are not in the store, so they are not in the export.

Every feature column can be recomputed from the repository by anyone who can run git, so
every column but ``label`` is a *quasi-identifier*: exact values let an attacker find the
commit behind a row, and so the author behind a label (on flask, day-level dates and exact
sizes matched 93 % of the rows to exactly one commit with nothing but ``git log
--numstat``). The export therefore

1. codes every quasi-identifier coarsely (:func:`codes`): dates to the month, counts to
   logarithmic buckets (0, 1, 2-3, 4-7, ...), entropy and shares rounded down;
2. makes the table k-anonymous *with people* (k = ``privacy.k``): Mondrian partitioning
   (:func:`partition`) groups the rows of a repository into classes of at least k rows
   written by at least k distinct people, and every row of a class is written with the
   class's ranges (``4..15``, ``2024-01..2024-03``), so all columns but ``label`` are
   identical within a class;
3. measures linkability as the attacker would: from the stored git facts (``commits``,
   ``file_changes``: ``git log --numstat -M``) it computes every non-merge commit's own
   values of the columns numstat shows (:data:`ATTACKER_COLUMNS`) and counts, for each
   class, the commits consistent with its ranges and their distinct authors. Classes
   with fewer than k of either are suppressed (dropped). The same count on exact values
   and day-level dates (what exports wrote before) shows what generalisation bought;
   the datasheet and :class:`ExportReport` carry both.

Rows are written sorted by their exported values, never in commit order (the order
itself would reveal the sequence of commits).
"""

from teamlens.model.export.build import export
from teamlens.model.export.generalise import (
    ATTACKER_COLUMNS,
    BUCKETED_COLUMNS,
    ENTROPY_STEP,
    EXPORT_COLUMNS,
    QUASI_IDENTIFIERS,
    SHARE_STEP,
    bucket,
    codes,
    written,
)
from teamlens.model.export.linkability import exact, git_history, link_classes, link_exact
from teamlens.model.export.partition import SPLIT_WEIGHTS, partition
from teamlens.model.export.ranges import Range, read_range, read_ranges
from teamlens.model.export.report import ExportReport, Linkability, RepoPrivacy

__all__ = [
    "ATTACKER_COLUMNS",
    "BUCKETED_COLUMNS",
    "ENTROPY_STEP",
    "EXPORT_COLUMNS",
    "QUASI_IDENTIFIERS",
    "SHARE_STEP",
    "SPLIT_WEIGHTS",
    "ExportReport",
    "Linkability",
    "Range",
    "RepoPrivacy",
    "bucket",
    "codes",
    "exact",
    "export",
    "git_history",
    "link_classes",
    "link_exact",
    "partition",
    "read_range",
    "read_ranges",
    "written",
]
