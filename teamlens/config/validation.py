"""repos.yaml: schema, validation and the starter file written by `teamlens init`.

The file is parsed into frozen dataclasses. Every problem raises :class:`ConfigError`
with one line naming the file, the key (as a path such as ``repositories[1].path``)
and what was expected, before anything is written anywhere. Text from the file (keys,
paths) that would not print on one line is shown as a Python literal.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import subprocess
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.error import Mark
from yaml.nodes import MappingNode, Node, ScalarNode

from teamlens.errors import ConfigError

MIN_K = 5
DEFAULT_CONFIG_NAME = "repos.yaml"

#: Kamei et al. (TSE 2013) after Mockus & Votta: a message naming a bug, fix, defect or
#: patch marks a fix commit. ``fixes #12`` / ``closes #12`` style references count too.
DEFAULT_FIX_PATTERNS: tuple[str, ...] = (
    r"(?i)\b(fix(e[sd]|ing)?|bugs?|bugfix(es)?|defects?|patch(ed|es)?)\b",
    r"(?i)\b(close[sd]?|resolve[sd]?)\s+#\d+",
)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")
_GITHUB_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+\Z")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")

#: Deepest nesting (of collections, or of `<<` merge keys) a repos.yaml may have; the
#: real file nests 5 levels. Deeper input would exhaust PyYAML's recursion.
MAX_YAML_DEPTH = 50


@dataclass(frozen=True)
class TeamsConfig:
    """Teams defined by code ownership: team name -> path globs, or CODEOWNERS."""

    globs: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    codeowners: bool = False


@dataclass(frozen=True)
class RepositoryConfig:
    """One repository to mine: a local clone (`path`) or a URL cloned into `clones_dir`."""

    name: str
    path: Path | None = None
    url: str | None = None
    branch: str | None = None
    all_branches: bool = False
    github: str | None = None
    teams: TeamsConfig | None = None  # overrides the top-level teams for this repository


@dataclass(frozen=True)
class PrivacyConfig:
    """Privacy settings; see DESIGN.md rules 1-5."""

    k: int = MIN_K
    key_env: str = "TEAMLENS_KEY"
    key_file: Path | None = None
    opt_out: Path | None = None
    retention_days: int = 365
    dominance: float = 0.5  # no one person may make more than this share of a figure's changes


DEFAULT_BOTS = ("dependabot", "renovate", "renovate-bot", "github-actions", "codecov")


@dataclass(frozen=True)
class GithubConfig:
    """Where GitHub lives (github.com or an Enterprise base URL) and how to authenticate."""

    url: str | None = None
    token_env: str = "GITHUB_TOKEN"  # noqa: S105 - a variable name, not a secret
    bots: tuple[str, ...] = DEFAULT_BOTS  # logins (besides "[bot]" accounts) that are bots
    max_wait_seconds: int = 300  # total backoff a run may spend before it stops cleanly
    per_page: int = 100


@dataclass(frozen=True)
class MiningConfig:
    """How commits are read and classified."""

    fix_patterns: tuple[str, ...] = DEFAULT_FIX_PATTERNS
    detect_copies: bool = False
    batch_size: int = 2000
    split_commits: int = 200_000  # a first mining of more commits runs as several tasks


SZZ_VARIANTS = ("b-szz", "ag-szz", "r-szz")
SZZ_FILTERS = ("non-source", "comments", "cosmetic", "merges", "bulk")


@dataclass(frozen=True)
class LabelConfig:
    """SZZ labelling: which variants to compute, which one labels changes, and limits."""

    variants: tuple[str, ...] = SZZ_VARIANTS
    default_variant: str = "r-szz"
    maturity_days: int = 180
    bulk_files: int = 50
    filters: tuple[str, ...] = SZZ_FILTERS


#: Suggestion rules of the review bot and their thresholds (docs/review.md).
DEFAULT_RULE_THRESHOLDS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "split": MappingProxyType({"lines": 400, "files": 20, "directories": 8, "subsystems": 4}),
        "untested": MappingProxyType({"functions": 1}),
        "complexity": MappingProxyType({"increase": 5}),
        "hotspot": MappingProxyType({"fixes": 2}),
        "ownership": MappingProxyType({"files": 1}),
        "similar": MappingProxyType({"min_score": 4.0, "top": 2}),
    }
)


@dataclass(frozen=True)
class ReviewConfig:
    """The review bot: risk levels, rules and how loud it may be."""

    medium: float = 0.35  # risk at or above: medium
    high: float = 0.6  # risk at or above: high
    rules: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: DEFAULT_RULE_THRESHOLDS
    )
    disabled_rules: tuple[str, ...] = ()
    quiet: bool = True  # comment only at medium risk or above, or when a suggestion fires
    max_inline: int = 10  # inline comments per push at most
    review_drafts: bool = False


@dataclass(frozen=True)
class Config:
    """A validated repos.yaml. Paths are absolute, resolved against the file's folder."""

    path: Path
    data_dir: Path
    clones_dir: Path
    repositories: tuple[RepositoryConfig, ...]
    teams: TeamsConfig = TeamsConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    github: GithubConfig = GithubConfig()
    mining: MiningConfig = MiningConfig()
    labels: LabelConfig = LabelConfig()
    review: ReviewConfig = ReviewConfig()

    def repository(self, name: str) -> RepositoryConfig:
        for repo in self.repositories:
            if repo.name == name:
                return repo
        raise ConfigError(f"{_shown(self.path)}: repositories: no repository named {name!r}")


def _shown(text: object) -> str:
    """`text` as it is when it prints on one line; as a Python literal otherwise."""
    text = str(text)
    return text if text.isprintable() else repr(text)


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


class _Unusable(Exception):
    """A path string that names no usable path; the message says why."""


def _resolve(value: str | Path, base: Path | None) -> Path:
    """`value` with ``~`` expanded, against `base` (or the working folder), symlinks
    resolved."""
    if "\0" in str(value):
        raise _Unusable("it holds a NUL character")
    try:
        expanded = Path(value).expanduser()
    except RuntimeError:  # ~user names no user here, or there is no home directory
        raise _Unusable("its ~ names no home directory on this machine") from None
    try:
        return (expanded if base is None else base / expanded).resolve()
    except RuntimeError:
        raise _Unusable("a symlink loop") from None
    except OSError as exc:
        raise _Unusable(exc.strerror or type(exc).__name__) from None


def _stat(path: Path) -> os.stat_result | None:
    """The path's status; None when nothing is there."""
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:  # a name too long, no permission to look, ...
        raise _Unusable(exc.strerror or type(exc).__name__) from None


class _Section:
    """Reads one mapping of the file, tracking the key path for error messages."""

    def __init__(self, file: Path, where: str, value: object) -> None:
        if not isinstance(value, dict):
            raise ConfigError(
                f"{_shown(file)}: {where or 'top level'}: expected a mapping, got {_kind(value)}"
            )
        self.file = file
        self.where = where
        self.data: dict[str, Any] = value

    def key(self, name: str) -> str:
        return f"{self.where}.{_shown(name)}" if self.where else _shown(name)

    def error(self, name: str, problem: str) -> ConfigError:
        return ConfigError(f"{_shown(self.file)}: {self.key(name)}: {problem}")

    def fail(self, name: str, expected: str, value: object) -> ConfigError:
        return self.error(name, f"expected {expected}, got {_kind(value)}")

    def check_keys(self, allowed: set[str]) -> None:
        for name in self.data:
            if name not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.error(str(name), f"unknown key (known: {known})")

    def string(
        self,
        name: str,
        default: str | None = None,
        pattern: re.Pattern[str] | None = None,
        expected: str = "a non-empty string",
    ) -> str | None:
        value = self.data.get(name, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, expected, value)
        if pattern is not None and not pattern.match(value):
            raise self.fail(name, expected, value)
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, "true or false", value)
        return value

    def integer(self, name: str, default: int, minimum: int, expected: str) -> int:
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(name, expected, value)
        return value

    def path(self, name: str, base: Path) -> Path | None:
        value = self.string(name, expected="a path")
        if value is None:
            return None
        try:
            return _resolve(value, base)
        except _Unusable as exc:
            raise self.error(name, f"{value!r} cannot be used as a path ({exc})") from None

    def stat(self, name: str, path: Path) -> os.stat_result | None:
        """The status of the path under key `name`; None when nothing is there."""
        try:
            return _stat(path)
        except _Unusable as exc:
            raise self.error(name, f"{_shown(path)} cannot be used ({exc})") from None


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, (str, int, float, bool)):
        return f"{type(value).__name__} {value!r}"
    if isinstance(value, (list, dict)) and not value:
        return f"an empty {type(value).__name__}"
    return type(value).__name__


def _globs(file: Path, where: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(g, str) and g for g in value):
        raise ConfigError(
            f"{_shown(file)}: {where}: expected a list of path globs, got {_kind(value)}"
        )
    return tuple(value)


def _teams(file: Path, where: str, value: object) -> TeamsConfig:
    section = _Section(file, where, value if value is not None else {})
    codeowners = section.boolean("codeowners", False)
    globs = {
        str(name): _globs(file, section.key(str(name)), spec)
        for name, spec in section.data.items()
        if name != "codeowners"
    }
    for name in globs:
        if not _NAME_RE.fullmatch(name):
            raise section.error(name, "expected a team name of letters, digits, '.', '_' or '-'")
    return TeamsConfig(globs=MappingProxyType(globs), codeowners=codeowners)


def _repository(file: Path, index: int, value: object, base: Path) -> RepositoryConfig:
    section = _Section(file, f"repositories[{index}]", value)
    section.check_keys({"name", "path", "url", "branch", "all_branches", "github", "teams"})
    name = section.string(
        "name", pattern=_NAME_RE, expected="a name of letters, digits, '.', '_' or '-'"
    )
    if name is None:
        raise section.error("name", "expected a repository name, got nothing")
    path = section.path("path", base)
    url = section.string("url", expected="a clone URL")
    if (path is None) == (url is None):
        raise ConfigError(
            f"{_shown(file)}: {section.where}: expected exactly one of `path` or `url`"
        )
    if path is not None and section.stat("path", path) is None:
        raise section.error("path", f"{_shown(path)} does not exist")
    branch = section.string("branch", expected="a branch name")
    all_branches = section.boolean("all_branches", False)
    if branch is not None and all_branches:
        raise ConfigError(
            f"{_shown(file)}: {section.where}: expected `branch` or `all_branches`, not both"
        )
    github = section.string("github", pattern=_GITHUB_RE, expected="owner/repo")
    teams = None
    if "teams" in section.data:
        teams = _teams(file, section.key("teams"), section.data["teams"])
    return RepositoryConfig(
        name=name,
        path=path,
        url=url,
        branch=branch,
        all_branches=all_branches,
        github=github,
        teams=teams,
    )


def _privacy(file: Path, value: object, base: Path, data_dir: Path) -> PrivacyConfig:
    section = _Section(file, "privacy", value if value is not None else {})
    section.check_keys({"k", "key_env", "key_file", "opt_out", "retention_days", "dominance"})
    k = section.integer(
        "k", MIN_K, MIN_K, f"an integer of at least {MIN_K} (smaller groups can identify people)"
    )
    key_env = section.string("key_env", "TEAMLENS_KEY", _ENV_RE, "an environment variable name")
    key_file = section.path("key_file", base)
    if key_file is not None and key_file.is_relative_to(data_dir):
        raise section.error(
            "key_file",
            f"expected a path outside data_dir ({_shown(data_dir)}); "
            "the key must never travel with the data",
        )
    opt_out = section.path("opt_out", base)
    if opt_out is not None:
        found = section.stat("opt_out", opt_out)
        if found is None or not stat.S_ISREG(found.st_mode):
            raise section.error("opt_out", f"{_shown(opt_out)} is not a file")
    retention = section.integer("retention_days", 365, 1, "a positive number of days")
    dominance = section.integer(
        "dominance", 50, 1, "a percentage from 1 to 50 (one person above half of a figure is it)"
    )
    if dominance > 50:
        raise section.error(
            "dominance",
            f"expected a percentage from 1 to 50 (one person above half of a figure is it), "
            f"got {dominance}",
        )
    assert key_env is not None
    return PrivacyConfig(
        k=k,
        key_env=key_env,
        key_file=key_file,
        opt_out=opt_out,
        retention_days=retention,
        dominance=dominance / 100,
    )


def _github(file: Path, value: object) -> GithubConfig:
    section = _Section(file, "github", value if value is not None else {})
    section.check_keys({"url", "token_env", "bots", "max_wait_seconds", "per_page"})
    url = section.string("url", pattern=re.compile(r"^https?://"), expected="an http(s) URL")
    token_env = section.string("token_env", "GITHUB_TOKEN", _ENV_RE, "an environment variable name")
    assert token_env is not None
    bots = section.data.get("bots", list(DEFAULT_BOTS))
    if not isinstance(bots, list) or not all(isinstance(b, str) and b for b in bots):
        raise section.fail("bots", "a list of GitHub logins", bots)
    per_page = section.integer("per_page", 100, 1, "a page size from 1 to 100")
    if per_page > 100:
        raise section.fail("per_page", "a page size from 1 to 100", per_page)
    return GithubConfig(
        url=url.rstrip("/") if url else None,
        token_env=token_env,
        bots=tuple(b.lower() for b in bots),
        max_wait_seconds=section.integer(
            "max_wait_seconds", 300, 0, "a number of seconds (0 or more)"
        ),
        per_page=per_page,
    )


def _mining(file: Path, value: object) -> MiningConfig:
    section = _Section(file, "mining", value if value is not None else {})
    section.check_keys({"fix_patterns", "detect_copies", "batch_size", "split_commits"})
    patterns = section.data.get("fix_patterns", list(DEFAULT_FIX_PATTERNS))
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
        raise section.fail("fix_patterns", "a list of regular expressions", patterns)
    for i, pattern in enumerate(patterns):
        problem = _regex_problem(pattern)
        if problem is not None:
            raise section.error(
                f"fix_patterns[{i}]", f"expected a regular expression ({_shown(problem)})"
            )
    return MiningConfig(
        fix_patterns=tuple(patterns),
        detect_copies=section.boolean("detect_copies", False),
        batch_size=section.integer("batch_size", 2000, 1, "a positive number of commits"),
        split_commits=section.integer(
            "split_commits", 200_000, 0, "a number of commits (0: never split)"
        ),
    )


def _regex_problem(pattern: str) -> str | None:
    """Why `pattern` is no usable regular expression, or None when it compiles cleanly."""
    with warnings.catch_warnings():
        # A "possible nested set" (`[[`, `&&`, `--`, ...) is a regex whose meaning will
        # change in a later Python: refused, not printed on stderr.
        warnings.simplefilter("error", FutureWarning)
        try:
            re.compile(pattern)
        except re.error as exc:
            return str(exc)
        except FutureWarning as exc:
            return f"ambiguous: {exc}; escape the character if it is meant literally"
        except OverflowError as exc:  # a{99999999999}
            return str(exc)
        except RecursionError:  # thousands of nested groups
            return "nested too deeply"
    return None


def _labels(file: Path, value: object) -> LabelConfig:
    section = _Section(file, "labels", value if value is not None else {})
    section.check_keys({"variants", "default_variant", "maturity_days", "bulk_files", "filters"})
    filters = section.data.get("filters", list(SZZ_FILTERS))
    if not isinstance(filters, list) or not all(
        isinstance(f, str) and f in SZZ_FILTERS for f in filters
    ):
        raise section.fail("filters", f"a list of {', '.join(SZZ_FILTERS)}", filters)
    variants = section.data.get("variants", list(SZZ_VARIANTS))
    if (
        not isinstance(variants, list)
        or not variants
        or not all(isinstance(v, str) and v in SZZ_VARIANTS for v in variants)
    ):
        raise section.fail("variants", f"a list of {', '.join(SZZ_VARIANTS)}", variants)
    default = section.string("default_variant", "r-szz", expected="one of the variants")
    if default not in variants:
        raise section.fail("default_variant", f"one of {', '.join(variants)}", default)
    assert default is not None
    return LabelConfig(
        variants=tuple(dict.fromkeys(variants)),
        default_variant=default,
        maturity_days=section.integer("maturity_days", 180, 0, "a number of days (0 or more)"),
        bulk_files=section.integer("bulk_files", 50, 1, "a positive number of files"),
        filters=tuple(dict.fromkeys(filters)),
    )


def _share(section: _Section, name: str, default: float) -> float:
    value = section.data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise section.fail(name, "a risk between 0 and 1", value)
    return float(value)


def _review(file: Path, value: object) -> ReviewConfig:
    section = _Section(file, "review", value if value is not None else {})
    section.check_keys(
        {"medium", "high", "rules", "disabled_rules", "quiet", "max_inline", "review_drafts"}
    )
    medium, high = _share(section, "medium", 0.35), _share(section, "high", 0.6)
    if high < medium:
        raise section.fail("high", f"a risk at least medium ({medium})", high)
    raw_rules = section.data.get("rules", {}) or {}
    if not isinstance(raw_rules, dict):
        raise section.fail("rules", "a mapping of rule -> thresholds", raw_rules)
    rules = {name: dict(limits) for name, limits in DEFAULT_RULE_THRESHOLDS.items()}
    for name, limits in raw_rules.items():
        where = f"rules.{_shown(name)}"
        if name not in rules:
            raise section.fail(where, f"one of {', '.join(rules)}", name)
        if not isinstance(limits, dict):
            raise section.fail(where, "a mapping of threshold -> number", limits)
        for key, number in limits.items():
            if key not in rules[name]:
                known = ", ".join(rules[name])
                raise section.fail(f"{where}.{_shown(key)}", f"one of {known}", key)
            if isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0:
                raise section.fail(f"{where}.{_shown(key)}", "a number (0 or more)", number)
            rules[name][key] = float(number)
    disabled = section.data.get("disabled_rules", [])
    if not isinstance(disabled, list) or not all(
        isinstance(d, str) and d in rules for d in disabled
    ):
        raise section.fail("disabled_rules", f"a list of {', '.join(rules)}", disabled)
    flags = {}
    for name, default in (("quiet", True), ("review_drafts", False)):
        flag = section.data.get(name, default)
        if not isinstance(flag, bool):
            raise section.fail(name, "true or false", flag)
        flags[name] = flag
    return ReviewConfig(
        medium=medium,
        high=high,
        rules=MappingProxyType({k: MappingProxyType(v) for k, v in rules.items()}),
        disabled_rules=tuple(disabled),
        quiet=flags["quiet"],
        max_inline=section.integer("max_inline", 10, 0, "a number of comments (0 or more)"),
        review_drafts=flags["review_drafts"],
    )


def load_config(path: Path) -> Config:
    """Read and validate a repos.yaml.

    Raises
    ------
    ConfigError
        With one line naming the file, the key and what was expected.
    """
    try:
        path = _resolve(path, None)
    except _Unusable as exc:
        raise ConfigError(f"{str(path)!r}: cannot be used as a path ({exc})") from None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{_shown(path)}: not found (run `teamlens init` to write one)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{_shown(path)}: cannot be read ({_shown(exc)})") from None
    raw = _load_yaml(path, text)
    base = path.parent
    top = _Section(path, "", raw if raw is not None else {})
    top.check_keys(
        {
            "data_dir",
            "clones_dir",
            "repositories",
            "teams",
            "privacy",
            "github",
            "mining",
            "labels",
            "review",
        }
    )
    data_dir = top.path("data_dir", base) or (base / ".teamlens").resolve()
    clones_dir = top.path("clones_dir", base) or (base / ".teamlens-clones").resolve()
    if clones_dir.is_relative_to(data_dir):
        raise top.error(
            "clones_dir",
            "expected a folder outside data_dir; clones hold raw identities and the "
            "data folder must not",
        )
    repos_raw = top.data.get("repositories")
    if not isinstance(repos_raw, list) or not repos_raw:
        raise top.fail("repositories", "a non-empty list of repositories", repos_raw)
    repositories = tuple(_repository(path, i, r, base) for i, r in enumerate(repos_raw))
    seen: set[str] = set()
    for i, repo in enumerate(repositories):
        if repo.name in seen:
            raise top.error(
                f"repositories[{i}].name", f"{repo.name!r} is used twice; expected unique names"
            )
        seen.add(repo.name)
    return Config(
        path=path,
        data_dir=data_dir,
        clones_dir=clones_dir,
        repositories=repositories,
        teams=_teams(path, "teams", top.data.get("teams")),
        privacy=_privacy(path, top.data.get("privacy"), base, data_dir),
        github=_github(path, top.data.get("github")),
        mining=_mining(path, top.data.get("mining")),
        labels=_labels(path, top.data.get("labels")),
        review=_review(path, top.data.get("review")),
    )


STARTER = """\
# repos.yaml: what teamlens mines and how it protects the people behind the history.
# Reference: docs/configuration.md. Every key below is optional unless marked.

data_dir: .teamlens                 # facts (Parquet), models and reports; no raw identities

repositories:                       # required: at least one
  - name: {name}                    # unique; letters, digits, '.', '_' or '-'
    path: {path}                         # a local clone; or `url:` to clone into clones_dir
{branch_line}
    # all_branches: true            # mine every branch instead of one
    # github: owner/repo            # also mine pull requests (later releases)

teams: {{}}                           # team name -> path globs it owns, e.g.
#   core: ["src/**"]
#   docs: ["docs/**", "*.md"]
#   codeowners: true                # or read .github/CODEOWNERS

privacy:
  k: 5                              # minimum group size for any team figure; below 5 is refused
  key_env: TEAMLENS_KEY             # environment variable holding the pseudonymisation key;
  # key_file: ~/.config/teamlens/key  # used when the variable is unset (created 0600)
  # opt_out: optout.txt             # one e-mail per line (logins: with GitHub mining)
  retention_days: 365               # raw text older than this will be purged (`purge`)
  # dominance: 50                   # % of a figure's changes one person may make at most

# mining:
#   detect_copies: false            # also detect copies (git -C); renames are always detected
#   fix_patterns:                   # regexes on the whole commit message marking a fix;
#                                   # these two are the defaults
#     - '(?i)\\b(fix(e[sd]|ing)?|bugs?|bugfix(es)?|defects?|patch(ed|es)?)\\b'
#     - '(?i)\\b(close[sd]?|resolve[sd]?)\\s+#\\d+'

# github:
#   url: https://github.example.com # GitHub Enterprise base URL; omit for github.com
#   token_env: GITHUB_TOKEN
"""


def _toplevel(folder: Path) -> Path | None:
    result = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
    )
    top = result.stdout.strip()
    return Path(top).resolve() if result.returncode == 0 and top else None


def _current_branch(folder: Path) -> str | None:
    result = subprocess.run(
        ["git", "-C", str(folder), "symbolic-ref", "--short", "-q", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    branch = result.stdout.strip()
    return branch or None


def write_starter(folder: Path, force: bool = False) -> Path:
    """Write a commented repos.yaml for the repository in `folder` and return its path."""
    target = folder / DEFAULT_CONFIG_NAME
    if target.exists() and not force:
        raise ConfigError(f"{target}: already exists (use --force to overwrite)")
    top = _toplevel(folder)
    if top is None:
        raise ConfigError(
            f"{folder}: not inside a git repository; run `teamlens init` in a clone "
            "or write repos.yaml by hand (see docs/configuration.md)"
        )
    name = re.sub(r"[^A-Za-z0-9._-]", "-", top.name).lstrip("._-") or "repo"
    branch = _current_branch(folder)
    # Quoted: a folder `2024` or a branch `1.0` / `null` would otherwise load as a number.
    branch_line = (
        f"    branch: {json.dumps(branch, ensure_ascii=False)}"
        "                  # default: the repository's HEAD branch"
        if branch
        else "    # branch: main                # default: the HEAD branch"
    )
    path = json.dumps(os.path.relpath(top, folder.resolve()))
    text = STARTER.format(name=json.dumps(name), path=path, branch_line=branch_line)
    target.write_text(text, encoding="utf-8")
    load_config(target)  # the starter must always be valid
    return target
