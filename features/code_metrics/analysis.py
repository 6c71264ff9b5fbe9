"""Both per-file results of one changed file from a single parse: the changed functions
with their complexity (:mod:`.file_metrics`) and the structure of the added and removed
code (:mod:`.structure`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from teamlens.features.code_metrics.file_metrics import (
    FileCodeMetrics,
    _file_metrics,
    _parse_versions,
)
from teamlens.features.code_metrics.structure import FileCodeStructure, _file_structure


@dataclass(frozen=True)
class FileCodeAnalysis:
    """What :func:`file_code_metrics` and :func:`file_code_structure` give for one file."""

    metrics: FileCodeMetrics
    structure: FileCodeStructure


def file_code_analysis(
    path: str,
    before: bytes | None,
    after: bytes | None,
    deleted_lines: Sequence[int],
    added_lines: Sequence[int],
) -> FileCodeAnalysis | None:
    """Metrics and structure of one changed file, each version parsed once (arguments as
    for :func:`file_code_metrics`); None for a language tree-sitter does not cover here."""
    versions = _parse_versions(path, before, after, deleted_lines, added_lines)
    if versions is None:
        return None
    return FileCodeAnalysis(_file_metrics(versions), _file_structure(versions))
