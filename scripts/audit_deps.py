"""Audit the installed dependencies for known vulnerabilities (pip-audit, PyPI's service).

Run by scripts/test (so by CI) with the project's .venv interpreter:

    .venv/bin/python scripts/audit_deps.py

Policy (docs/reliability.md, "Dependency audit"):

* Every distribution installed in the venv is checked, except teamlens itself (editable).
* A known vulnerability in a **runtime** dependency (teamlens's own requirements and
  theirs, no extras) fails the run, unless its id is in IGNORED with a reason.
* A vulnerability only in development tools (the ``dev`` extra: pytest, ruff, mypy,
  playwright, ...) is printed as a warning and does not fail the run: they never ship
  and run only here and in CI.
* If the vulnerability service cannot be reached (connection refused, DNS, time-out,
  5xx), the audit did **not** happen: a loud ``SKIPPED`` warning is printed and the run
  goes on, so a network blip does not turn CI red. ``TEAMLENS_AUDIT_REQUIRED=1`` makes
  that a failure instead. Any other pip-audit error fails the run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

#: Vulnerability id (PYSEC-…, GHSA-…, CVE-…) -> why it does not apply or cannot be fixed.
#: Each entry needs a reason and should be removed as soon as a fixed release is usable.
#: Example: "GHSA-xxxx-xxxx-xxxx": "no fixed release yet; only affects --foo, which we never use",
IGNORED: Mapping[str, str] = {}

PROJECT = "teamlens"
_UNREACHABLE = re.compile(
    r"requests\.exceptions\.(ConnectionError|ProxyError|Timeout|ConnectTimeout|ReadTimeout|SSLError)"
    r"|Max retries exceeded|Failed to establish a new connection|Temporary failure in name "
    r"resolution|ServiceError|50[0-9] Server Error",
)


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    vuln: str
    aliases: tuple[str, ...]
    fixed_in: tuple[str, ...]

    def line(self) -> str:
        fix = ", ".join(self.fixed_in) or "no fixed release"
        also = f" ({', '.join(self.aliases)})" if self.aliases else ""
        return f"{self.package} {self.version}: {self.vuln}{also}; fixed in: {fix}"


def runtime_closure(project: str = PROJECT) -> set[str]:
    """Canonical names of `project`'s runtime requirements, recursively (no extras)."""
    seen: set[str] = set()
    todo = [project]
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    seen.discard(canonicalize_name(project))
    return seen


def findings(report: Mapping[str, Any]) -> list[Finding]:
    """The vulnerabilities in pip-audit's JSON report."""
    found = []
    for dep in report.get("dependencies", []):
        for vuln in dep.get("vulns", []):
            found.append(
                Finding(
                    canonicalize_name(dep["name"]),
                    dep.get("version", "?"),
                    vuln["id"],
                    tuple(vuln.get("aliases", [])),
                    tuple(vuln.get("fix_versions", [])),
                )
            )
    return found


def is_ignored(finding: Finding, ignored: Iterable[str]) -> bool:
    ids = {finding.vuln, *finding.aliases}
    return any(i in ids for i in ignored)


def decide(
    found: list[Finding], runtime: set[str], ignored: Mapping[str, str]
) -> tuple[int, list[str]]:
    """(exit code, lines to print): 1 when a runtime finding is not ignored."""
    lines = []
    code = 0
    for f in found:
        if is_ignored(f, ignored):
            reason = next(ignored[i] for i in (f.vuln, *f.aliases) if i in ignored)
            lines.append(f"ignored: {f.line()} -- {reason}")
        elif f.package in runtime:
            lines.append(f"VULNERABLE (runtime dependency): {f.line()}")
            code = 1
        else:
            lines.append(f"warning (development tool only): {f.line()}")
    used = {i for f in found for i in (f.vuln, *f.aliases)}
    lines += [
        f"note: ignore entry {i} matches nothing any more; remove it"
        for i in ignored
        if i not in used
    ]
    return code, lines


def main() -> int:
    started = time.perf_counter()
    cmd = [
        str(Path(sys.executable).parent / "pip-audit"),
        "--skip-editable",
        "--progress-spinner=off",
        "--format=json",
        "--timeout=20",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        report = None
    if report is None:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        if _UNREACHABLE.search(proc.stderr):
            print(
                f"dependency audit: SKIPPED, NOT AUDITED: the vulnerability service could not be "
                f"reached ({last[:300]})",
                file=sys.stderr,
            )
            return 1 if os.environ.get("TEAMLENS_AUDIT_REQUIRED") == "1" else 0
        print(f"dependency audit: pip-audit failed (exit {proc.returncode}): {last[:300]}")
        return 1
    packages = len(report.get("dependencies", []))
    code, lines = decide(findings(report), runtime_closure(), IGNORED)
    for line in lines:
        print(f"dependency audit: {line}")
    verdict = "FAILED" if code else "ok"
    print(
        f"dependency audit: {verdict}: {packages} installed distributions checked against "
        f"PyPI's vulnerability data in {took:.1f}s; {len(IGNORED)} ignored id(s)"
    )
    return code


if __name__ == "__main__":
    sys.exit(main())
