"""An import-linter contract that the built-in ones do not cover: no private names.

``teamlens.<package>`` modules may import another package's public names only: a name
starting with an underscore is private to its package (``teamlens.mining.github._purge``
is mining's business). Configured in pyproject.toml; run by ``lint-imports``.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from grimp import ImportGraph
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


def _package(module: str, depth: int) -> str:
    return ".".join(module.split(".")[:depth])


def _private_imports(module: str, depth: int) -> list[tuple[str, int, str, str]]:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return []
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.module is None or node.level:
            continue
        if _package(node.module, depth) == _package(module, depth):
            continue
        found += [
            (module, node.lineno, node.module, alias.name)
            for alias in node.names
            if alias.name.startswith("_") and not alias.name.startswith("__")
        ]
    return found


class NoPrivateNamesContract(Contract):
    """No module imports a name starting with ``_`` from another package.

    Configuration options:

        - containers: the packages whose modules are checked (their sub-packages are the
          packages that keep their private names to themselves).
    """

    type_name = "no_private_names"

    containers = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        found = []
        for container in self.containers:  # type: ignore[attr-defined]
            depth = container.count(".") + 2
            for module in sorted(graph.find_descendants(container) | {container}):
                found += _private_imports(module, depth)
        return ContractCheck(kept=not found, metadata={"found": found})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for module, line, source, name in check.metadata["found"]:
            output.print_error(f"{module} (line {line}) imports {source}.{name}")
            output.new_line()
