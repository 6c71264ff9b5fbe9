"""The shape of repos.yaml: frozen dataclasses, their defaults and the fixed vocabularies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from teamlens.config.reading import _shown
from teamlens.errors import ConfigError

MIN_K = 5
DEFAULT_CONFIG_NAME = "repos.yaml"

#: Kamei et al. (TSE 2013) after Mockus & Votta: a message naming a bug, fix, defect or
#: patch marks a fix commit. ``fixes #12`` / ``closes #12`` style references count too.
DEFAULT_FIX_PATTERNS: tuple[str, ...] = (
    r"(?i)\b(fix(e[sd]|ing)?|bugs?|bugfix(es)?|defects?|patch(ed|es)?)\b",
    r"(?i)\b(close[sd]?|resolve[sd]?)\s+#\d+",
)


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
#: Every SZZ filter ``labels.filters`` may name (teamlens.mining.szz.AgFilter): the
#: annotation-graph filters, then the precision filters of docs/szz.md.
SZZ_FILTERS = (
    "non-source",
    "comments",
    "cosmetic",
    "merges",
    "bulk",
    "formatting",
    "versions",
    "minor",
    "added-context",
    "last-touch",
)
#: The filters on unless repos.yaml says otherwise (teamlens.mining.szz.DEFAULT_FILTERS).
DEFAULT_SZZ_FILTERS = (
    "non-source",
    "comments",
    "cosmetic",
    "merges",
    "bulk",
    "formatting",
    "minor",
    "last-touch",
)


@dataclass(frozen=True)
class LabelConfig:
    """SZZ labelling: which variants to compute, which one labels changes, and limits."""

    variants: tuple[str, ...] = SZZ_VARIANTS
    default_variant: str = "r-szz"
    maturity_days: int = 180
    bulk_files: int = 50
    filters: tuple[str, ...] = DEFAULT_SZZ_FILTERS


#: Suggestion rules of the review bot and their thresholds (docs/review.md).
DEFAULT_RULE_THRESHOLDS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "split": MappingProxyType({"lines": 400, "files": 20, "directories": 8, "subsystems": 4}),
        "untested": MappingProxyType({"functions": 1, "together": 2}),
        "complexity": MappingProxyType({"increase": 5}),
        "hotspot": MappingProxyType({"fixes": 3, "changes": 5, "density": 0.5, "days": 365}),
        "ownership": MappingProxyType({"files": 1, "lines": 10, "share": 0.2}),
        "similar": MappingProxyType({"min_score": 4.0, "top": 2}),
        "risky-line": MappingProxyType({"top": 3}),  # bot.lines
    }
)


#: Files every rule of the review ignores (``review.ignore`` adds to these;
#: ``review.ignore_defaults: false`` drops them): changelogs, lock files, generated and
#: minified files, vendored folders. A glob without ``/`` matches a name at any depth;
#: case matters (``CHANGES*`` is a changelog, ``changes.py`` code).
DEFAULT_REVIEW_IGNORE: tuple[str, ...] = (
    "CHANGES*", "CHANGELOG*", "HISTORY*", "NEWS*", "RELEASE_NOTES*", "RELEASES*",
    "Changelog*", "ChangeLog*", "changelog.md", "changelog.rst", "changelog.txt",
    "changes.md", "changes.rst", "history.md", "history.rst", "news.md", "news.rst",
    "*.lock", "package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "go.sum",
    "*.min.js", "*.min.css", "*.map", "*_pb2.py", "*_pb2_grpc.py", "*.pb.go",
    "*.generated.*", "*_generated.*", "*.g.dart",
    "vendor/**", "*/vendor/*", "third_party/**", "*/third_party/*",
    "node_modules/**", "*/node_modules/*",
)  # fmt: skip


@dataclass(frozen=True)
class ReviewConfig:
    """The review bot: risk levels, rules and how loud it may be."""

    medium: float = 0.35  # risk at or above: medium
    high: float = 0.6  # risk at or above: high
    rules: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: DEFAULT_RULE_THRESHOLDS
    )
    disabled_rules: tuple[str, ...] = ()
    #: ``review.rules.<name>.enabled`` where repos.yaml sets it; other rules follow
    #: their default (teamlens.bot.rules.DEFAULT_ENABLED).
    enabled_rules: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    ignore: tuple[str, ...] = DEFAULT_REVIEW_IGNORE  # path globs no rule looks at
    quiet: bool = True  # comment only at medium risk or above, or when a suggestion fires
    max_inline: int = 10  # inline comments per push at most
    review_drafts: bool = False


@dataclass(frozen=True)
class ModelConfig:
    """When `teamlens run` trains a new model (docs/configuration.md)."""

    #: Labels that must have matured since the current model's data before `run` trains
    #: again; fewer, and the current model stays (and no duplicate is ever stored).
    retrain_min_new_labels: int = 50


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
    model: ModelConfig = ModelConfig()

    def repository(self, name: str) -> RepositoryConfig:
        for repo in self.repositories:
            if repo.name == name:
                return repo
        raise ConfigError(f"{_shown(self.path)}: repositories: no repository named {name!r}")
