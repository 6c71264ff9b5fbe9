"""The privacy inventory, the privacy audit and the retention purge.

* :func:`inventory` describes, as Markdown generated from the code's own schemas
  (``teamlens.store.SCHEMAS``, ``teamlens.aggregates.SCHEMA``) and repos.yaml, what teamlens
  collects, where it lives, how long it is kept and who can read it.
* :func:`audit` checks a data folder (and any report, CSV or export given as an output)
  against the privacy rules: no raw identity and no plain hash of one anywhere (rule 1),
  no pseudonym outside the store (rule 2), no team figure behind fewer than k people and
  no suppressed cell that subtraction reveals (rule 3), nobody who opted out (rule 4), no
  review text past ``privacy.retention_days``, and no class of an export's rows that git's
  own history narrows to fewer than k commits or people (rule 7).
* :func:`purge` applies the retention window and the opt-out list to every repository's
  store now, without mining.

A violation names the file, the column or line and the kind of identity. Of what it
found it shows only the word of a one-word name or e-mail local part (for the operator to
judge and ``--allow``) and the initials of a longer name; never an e-mail address, a hash,
a pseudonym or the key.

One module per job:

* ``rules``: the rules, :class:`Violation`, :class:`AuditReport`, the person and text
  columns of the schemas;
* ``people``: the identities the repositories' git histories and .mailmap name;
* ``scan``: the file-scan engine (raw identities, plain hashes, the key and pseudonyms in
  Parquet, text, markup and binary files);
* ``checks``: the checks of the store (pseudonym shape, opt-out and its leftovers,
  retention), of ``team_period`` and of research exports;
* ``run``: :func:`audit`, which runs them all;
* ``purging``: :func:`purge`;
* ``describe``: :func:`inventory`.
"""

from __future__ import annotations

from teamlens.audit.describe import inventory
from teamlens.audit.purging import PurgeReport, RepoPurge, purge
from teamlens.audit.rules import (
    GITHUB_TABLES,
    KEY_EXPOSED,
    LINKABLE_EXPORT,
    NOT_A_PSEUDONYM,
    OPT_OUT,
    PLAIN_HASH,
    PSEUDONYM_OUTSIDE,
    RAW_IDENTITY,
    RETAINED_TEXT,
    RETENTION,
    RULES,
    SUPPRESSED_FIGURE,
    TEXT_COLUMNS,
    AuditError,
    AuditReport,
    Violation,
    pseudonym_columns,
    text_columns,
)
from teamlens.audit.run import audit
from teamlens.audit.scan import _leaf_strings as _leaf_strings  # tests/reliability's scan

__all__ = [
    "GITHUB_TABLES",
    "KEY_EXPOSED",
    "LINKABLE_EXPORT",
    "NOT_A_PSEUDONYM",
    "OPT_OUT",
    "PLAIN_HASH",
    "PSEUDONYM_OUTSIDE",
    "RAW_IDENTITY",
    "RETAINED_TEXT",
    "RETENTION",
    "RULES",
    "SUPPRESSED_FIGURE",
    "TEXT_COLUMNS",
    "AuditError",
    "AuditReport",
    "PurgeReport",
    "RepoPurge",
    "Violation",
    "audit",
    "inventory",
    "pseudonym_columns",
    "purge",
    "text_columns",
]
