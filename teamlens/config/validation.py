"""Validating repos.yaml: each section of the parsed file becomes its dataclass.

:func:`load_config` reads, parses and checks the whole file before anything is written
anywhere; the first problem raises a one-line :class:`ConfigError`.
"""

from __future__ import annotations

import re
import stat
import warnings
from pathlib import Path
from types import MappingProxyType

from teamlens.config.reading import _kind, _resolve, _Section, _shown, _Unusable
from teamlens.config.schema import (
    DEFAULT_BOTS,
    DEFAULT_FIX_PATTERNS,
    DEFAULT_REVIEW_IGNORE,
    DEFAULT_RULE_THRESHOLDS,
    DEFAULT_SZZ_FILTERS,
    MIN_K,
    SZZ_FILTERS,
    SZZ_VARIANTS,
    Config,
    GithubConfig,
    LabelConfig,
    MiningConfig,
    ModelConfig,
    PrivacyConfig,
    RepositoryConfig,
    ReviewConfig,
    TeamsConfig,
)
from teamlens.config.yaml_loader import _load_yaml
from teamlens.errors import ConfigError

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")
_GITHUB_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+\Z")
_ENV_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")


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
    filters = section.data.get("filters", list(DEFAULT_SZZ_FILTERS))
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


def _model(file: Path, value: object) -> ModelConfig:
    section = _Section(file, "model", value if value is not None else {})
    section.check_keys({"retrain_min_new_labels"})
    return ModelConfig(
        retrain_min_new_labels=section.integer(
            "retrain_min_new_labels", 50, 1, "a positive number of labels"
        )
    )


def _share(section: _Section, name: str, default: float) -> float:
    value = section.data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise section.fail(name, "a risk between 0 and 1", value)
    return float(value)


def _review(file: Path, value: object) -> ReviewConfig:
    section = _Section(file, "review", value if value is not None else {})
    section.check_keys(
        {
            "medium", "high", "rules", "disabled_rules", "quiet", "max_inline",
            "review_drafts", "ignore", "ignore_defaults",
        }
    )  # fmt: skip
    medium, high = _share(section, "medium", 0.35), _share(section, "high", 0.6)
    if high < medium:
        raise section.fail("high", f"a risk at least medium ({medium})", high)
    raw_rules = section.data.get("rules", {}) or {}
    if not isinstance(raw_rules, dict):
        raise section.fail("rules", "a mapping of rule -> thresholds", raw_rules)
    rules = {name: dict(limits) for name, limits in DEFAULT_RULE_THRESHOLDS.items()}
    enabled: dict[str, bool] = {}
    for name, limits in raw_rules.items():
        where = f"rules.{_shown(name)}"
        if name not in rules:
            raise section.fail(where, f"one of {', '.join(rules)}", name)
        if not isinstance(limits, dict):
            raise section.fail(where, "a mapping of threshold -> number", limits)
        for key, number in limits.items():
            if key == "enabled":
                if not isinstance(number, bool):
                    raise section.fail(f"{where}.enabled", "true or false", number)
                enabled[name] = number
                continue
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
    both = sorted(name for name in disabled if enabled.get(name))
    if both:
        where = f"rules.{both[0]}.enabled"
        raise section.fail(where, "not true for a rule in disabled_rules", True)
    ignore = section.data.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(g, str) and g for g in ignore):
        raise section.fail("ignore", "a list of path globs", ignore)
    defaults = section.data.get("ignore_defaults", True)
    if not isinstance(defaults, bool):
        raise section.fail("ignore_defaults", "true or false", defaults)
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
        enabled_rules=MappingProxyType(enabled),
        ignore=(DEFAULT_REVIEW_IGNORE if defaults else ()) + tuple(ignore),
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
            "model",
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
        model=_model(path, top.data.get("model")),
    )
