"""scripts/audit_deps.py: which pip-audit findings fail CI, and the runtime closure."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


@pytest.fixture(scope="module")
def audit_deps() -> ModuleType:
    path = Path(__file__).parents[1] / "scripts" / "audit_deps.py"
    spec = importlib.util.spec_from_file_location("audit_deps", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def _report(*vulns: tuple[str, str, list[str]]) -> dict[str, Any]:
    """pip-audit's JSON: (package, id, aliases) per vulnerability, plus a clean package."""
    deps: list[dict[str, Any]] = [{"name": "click", "version": "8.1.7", "vulns": []}]
    for name, ident, aliases in vulns:
        deps.append(
            {
                "name": name,
                "version": "1.0",
                "vulns": [{"id": ident, "aliases": aliases, "fix_versions": ["1.1"]}],
            }
        )
    return {"dependencies": deps, "fixes": []}


def test_a_runtime_vulnerability_fails(audit_deps: ModuleType) -> None:
    found = audit_deps.findings(_report(("PyArrow", "PYSEC-1", ["CVE-1"])))
    code, lines = audit_deps.decide(found, {"pyarrow"}, {})
    assert code == 1
    assert lines == ["VULNERABLE (runtime dependency): pyarrow 1.0: PYSEC-1 (CVE-1); fixed in: 1.1"]


def test_a_development_tool_vulnerability_only_warns(audit_deps: ModuleType) -> None:
    found = audit_deps.findings(_report(("pytest", "GHSA-x", [])))
    code, lines = audit_deps.decide(found, {"pyarrow"}, {})
    assert code == 0 and lines[0].startswith("warning (development tool only): pytest")


def test_an_ignored_id_or_alias_passes_and_a_stale_one_is_named(audit_deps: ModuleType) -> None:
    found = audit_deps.findings(_report(("pyarrow", "PYSEC-1", ["CVE-1"])))
    ignored = {"CVE-1": "does not apply: we never read IPC streams", "GHSA-old": "fixed"}
    code, lines = audit_deps.decide(found, {"pyarrow"}, ignored)
    assert code == 0
    assert lines == [
        "ignored: pyarrow 1.0: PYSEC-1 (CVE-1); fixed in: 1.1 -- does not apply: we never "
        "read IPC streams",
        "note: ignore entry GHSA-old matches nothing any more; remove it",
    ]


def test_the_runtime_closure_has_requirements_not_dev_tools(audit_deps: ModuleType) -> None:
    runtime = audit_deps.runtime_closure()
    assert {"pyarrow", "duckdb", "numpy", "requests", "urllib3"} <= runtime
    assert not {"pytest", "ruff", "mypy", "pip-audit", "teamlens"} & runtime


def test_the_ignore_list_gives_a_reason_for_each_entry(audit_deps: ModuleType) -> None:
    assert all(reason.strip() for reason in audit_deps.IGNORED.values())
