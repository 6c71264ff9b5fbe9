"""Parsing repos.yaml: a safe YAML loader whose every failure is a one-line ConfigError."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode

from teamlens.config.reading import _shown
from teamlens.errors import ConfigError

#: Deepest nesting (of collections, or of `<<` merge keys) a repos.yaml may have; the
#: real file nests 5 levels. Deeper input would exhaust PyYAML's recursion.
MAX_YAML_DEPTH = 50


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader whose every failure is a ``yaml.YAMLError`` with a line.

    Plain ``SafeLoader`` lets a tag its constructor cannot build escape as
    AttributeError (``!!timestamp``), IndexError (``!!int``), KeyError (``!!bool x``)
    or ValueError (``!!timestamp 2020-13-45``), and deep nesting as RecursionError.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    @contextlib.contextmanager
    def _nested(self, what: str, mark: Mark | None) -> Iterator[None]:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise ComposerError(None, None, f"{what} deeper than {MAX_YAML_DEPTH} levels", mark)
            yield
        finally:
            self._depth -= 1

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        mark: Mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        with self._nested("nested", mark):
            return super().compose_node(parent, index)

    def flatten_mapping(self, node: MappingNode) -> None:
        # Recursive, and an alias can make a chain of merges as long as the document.
        with self._nested("merge keys (<<) nested", node.start_mark):
            super().flatten_mapping(node)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (AttributeError, LookupError, ValueError):
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            text = f" from {node.value!r}" if isinstance(node, ScalarNode) else ""
            raise ConstructorError(
                None, None, f"cannot build a {tag}{text}", node.start_mark
            ) from None


def _load_yaml(path: Path, text: str) -> object:
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "somewhere"
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{_shown(path)}: {where}: not valid YAML ({_shown(problem)})") from None
