"""repos.yaml: what load_config makes of valid files, and what `teamlens init` writes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from teamlens.cli import cli
from teamlens.config import (
    DEFAULT_FIX_PATTERNS,
    MIN_K,
    Config,
    GithubConfig,
    MiningConfig,
    PrivacyConfig,
    load_config,
)
from teamlens.errors import ConfigError
from tests.conftest import ConfigFactory
from tests.gitrepo import ALICE, RepoBuilder


def _write(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- defaults


def test_minimal_file_gets_documented_defaults(
    make_config: ConfigFactory, repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    path = make_config({"app": repo_builder.path})
    config = load_config(path)

    assert isinstance(config, Config)
    assert config.path == path.resolve()
    assert config.data_dir == (tmp_path / "work" / ".teamlens").resolve()
    assert config.clones_dir == (tmp_path / "work" / ".teamlens-clones").resolve()
    assert not config.clones_dir.is_relative_to(config.data_dir)

    assert config.privacy == PrivacyConfig()
    assert config.privacy.k == MIN_K == 5
    assert config.privacy.key_env == "TEAMLENS_KEY"
    assert config.privacy.key_file is None
    assert config.privacy.opt_out is None
    assert config.privacy.retention_days == 365

    assert config.github == GithubConfig(url=None, token_env="GITHUB_TOKEN")
    assert config.mining == MiningConfig()
    assert config.mining.fix_patterns == DEFAULT_FIX_PATTERNS
    assert config.mining.detect_copies is False
    assert config.mining.batch_size == 2000
    assert config.model.retrain_min_new_labels == 50

    assert dict(config.teams.globs) == {}
    assert config.teams.codeowners is False

    (repo,) = config.repositories
    assert repo.name == "app"
    assert repo.path == repo_builder.path.resolve()
    assert repo.url is None
    assert repo.branch is None
    assert repo.all_branches is False
    assert repo.github is None
    assert repo.teams is None
    assert config.repository("app") is repo


def test_unknown_repository_name_is_a_config_error(
    make_config: ConfigFactory, repo_builder: RepoBuilder
) -> None:
    config = load_config(make_config({"app": repo_builder.path}))
    with pytest.raises(ConfigError, match=r"repositories: no repository named 'nope'$"):
        config.repository("nope")


def test_paths_resolve_against_the_file_not_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    RepoBuilder(tmp_path / "proj" / "code")
    (tmp_path / "proj" / "conf" / "optout.txt").parent.mkdir(parents=True)
    (tmp_path / "proj" / "conf" / "optout.txt").write_text("x@example.com\n", encoding="utf-8")
    path = _write(
        tmp_path / "proj" / "conf" / "repos.yaml",
        {
            "data_dir": "../facts",
            "clones_dir": "clones",
            "repositories": [{"name": "code", "path": "../code"}],
            "privacy": {"key_file": "../secrets/key", "opt_out": "optout.txt"},
        },
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    config = load_config(Path("../proj/conf/repos.yaml"))

    proj = (tmp_path / "proj").resolve()
    assert config.path == path.resolve()
    assert config.data_dir == proj / "facts"
    assert config.clones_dir == proj / "conf" / "clones"
    assert config.repositories[0].path == proj / "code"
    assert config.privacy.key_file == proj / "secrets" / "key"
    assert config.privacy.opt_out == proj / "conf" / "optout.txt"


def test_data_dir_and_clones_dir_given_explicitly(
    make_config: ConfigFactory, repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    config = load_config(
        make_config({"app": repo_builder.path}, data_dir="store-here", clones_dir="/abs/clones")
    )
    assert config.data_dir == (tmp_path / "work" / "store-here").resolve()
    assert config.clones_dir == Path("/abs/clones")


def test_every_section_filled_in(
    make_config: ConfigFactory, repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    path = make_config(
        {"app": repo_builder.path},
        privacy={"k": 7, "key_env": "MY_KEY", "retention_days": 30},
        github={"url": "http://127.0.0.1:8999/api/v3/", "token_env": "GHE_TOKEN"},
        mining={"fix_patterns": [r"(?i)\bhotfix\b"], "detect_copies": True, "batch_size": 10},
    )
    config = load_config(path)
    assert config.privacy == PrivacyConfig(k=7, key_env="MY_KEY", retention_days=30)
    # The trailing slash of an Enterprise base URL is dropped.
    assert config.github == GithubConfig(url="http://127.0.0.1:8999/api/v3", token_env="GHE_TOKEN")
    assert config.mining == MiningConfig(
        fix_patterns=(r"(?i)\bhotfix\b",), detect_copies=True, batch_size=10
    )


@pytest.mark.parametrize(
    ("message", "is_fix"),
    [
        ("Fix crash on empty input", True),
        ("fixes the parser", True),
        ("Fixed typo", True),
        ("bugfix: off by one", True),
        ("Patch the leak", True),
        ("Squash a defect", True),
        ("Closes #12", True),
        ("resolved #7 at last", True),
        ("Add prefix handling", False),
        ("debugging output", False),
        ("Close the file handle", False),
        ("Refactor the suffix tree", False),
    ],
)
def test_default_fix_patterns(message: str, is_fix: bool) -> None:
    assert any(re.search(p, message) for p in DEFAULT_FIX_PATTERNS) is is_fix


# --------------------------------------------------------------------------- teams


def test_teams_with_globs_and_codeowners(
    make_config: ConfigFactory, repo_builder: RepoBuilder
) -> None:
    config = load_config(
        make_config(
            {"app": repo_builder.path},
            teams={
                "core": ["teamlens/**", "mining/**"],
                "docs": "docs/**",
                "web-ui": ["web/**/*.ts", "*.css"],
                "codeowners": True,
            },
        )
    )
    assert dict(config.teams.globs) == {
        "core": ("teamlens/**", "mining/**"),
        "docs": ("docs/**",),  # one glob may be written without a list
        "web-ui": ("web/**/*.ts", "*.css"),
    }
    assert config.teams.codeowners is True
    assert config.repositories[0].teams is None


def test_codeowners_alone(make_config: ConfigFactory, repo_builder: RepoBuilder) -> None:
    config = load_config(make_config({"app": repo_builder.path}, teams={"codeowners": True}))
    assert config.teams.codeowners is True
    assert dict(config.teams.globs) == {}


def test_per_repository_teams_override(tmp_path: Path) -> None:
    RepoBuilder(tmp_path / "a")
    RepoBuilder(tmp_path / "b")
    path = _write(
        tmp_path / "repos.yaml",
        {
            "repositories": [
                {"name": "a", "path": "a", "teams": {"frontend": ["ui/**"], "ops": "deploy/**"}},
                {"name": "b", "path": "b"},
                {"name": "c", "path": "b", "teams": {}},
                {"name": "d", "path": "b", "teams": {"codeowners": True}},
            ],
            "teams": {"core": ["src/**"]},
        },
    )
    config = load_config(path)
    a, b, c, d = config.repositories
    assert a.teams is not None
    assert dict(a.teams.globs) == {"frontend": ("ui/**",), "ops": ("deploy/**",)}
    assert a.teams.codeowners is False
    assert b.teams is None  # falls back to the top-level teams
    assert c.teams is not None  # an explicit empty override: no teams in this repository
    assert (dict(c.teams.globs), c.teams.codeowners) == ({}, False)
    assert d.teams is not None
    assert (dict(d.teams.globs), d.teams.codeowners) == ({}, True)
    assert dict(config.teams.globs) == {"core": ("src/**",)}
    assert config.teams.codeowners is False


def test_url_repositories(tmp_path: Path) -> None:
    RepoBuilder(tmp_path / "local")
    path = _write(
        tmp_path / "repos.yaml",
        {
            "repositories": [
                {"name": "remote", "url": "https://git.example.com/org/remote.git"},
                {"name": "ssh", "url": "git@git.example.com:org/ssh.git", "branch": "develop"},
                {"name": "local", "path": "local", "all_branches": True, "github": "org/local"},
            ]
        },
    )
    remote, ssh, local = load_config(path).repositories
    assert (remote.name, remote.path, remote.url) == (
        "remote",
        None,
        "https://git.example.com/org/remote.git",
    )
    assert (ssh.url, ssh.branch, ssh.path) == ("git@git.example.com:org/ssh.git", "develop", None)
    assert (local.path, local.url, local.all_branches, local.github) == (
        (tmp_path / "local").resolve(),
        None,
        True,
        "org/local",
    )


# --------------------------------------------------------------------------- invalid files


def _repo(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": "app", "path": "repo", **(extra or {})}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"repositories": []},
            "repositories: expected a non-empty list of repositories, got an empty list",
        ),
        ({}, "repositories: expected a non-empty list of repositories, got nothing"),
        ("- just\n- a list\n", "top level: expected a mapping, got list"),
        (
            {"repositories": [_repo(), _repo()]},
            "repositories[1].name: 'app' is used twice; expected unique names",
        ),
        (
            {"repositories": [{"name": "app"}]},
            "repositories[0]: expected exactly one of `path` or `url`",
        ),
        (
            {"repositories": [_repo({"url": "https://x.test/a.git"})]},
            "repositories[0]: expected exactly one of `path` or `url`",
        ),
        (
            {"repositories": [{"path": "repo"}]},
            "repositories[0].name: expected a repository name, got nothing",
        ),
        (
            {"repositories": [_repo()], "model": {"retrain_min_new_labels": 0}},
            "model.retrain_min_new_labels: expected a positive number of labels, got int 0",
        ),
        (
            {"repositories": [_repo()], "model": {"retrain_after": 5}},
            "model.retrain_after: unknown key (known: retrain_min_new_labels)",
        ),
        (
            {"repositories": [_repo({"name": "has space"})]},
            "repositories[0].name: expected a name of letters, digits, '.', '_' or '-', "
            "got str 'has space'",
        ),
        (
            {"repositories": [_repo({"branch": "main", "all_branches": True})]},
            "repositories[0]: expected `branch` or `all_branches`, not both",
        ),
        (
            {"repositories": [_repo({"github": "not a slug"})]},
            "repositories[0].github: expected owner/repo, got str 'not a slug'",
        ),
        (
            {"repositories": [_repo({"teams": {"core": []}})]},
            "repositories[0].teams.core: expected a list of path globs, got an empty list",
        ),
        (
            {"repositories": [_repo()], "teams": {"bad name": ["x/**"]}},
            "teams.bad name: expected a team name",
        ),
        (
            {"repositories": [_repo()], "teams": {"codeowners": "yes"}},
            "teams.codeowners: expected true or false, got str 'yes'",
        ),
        (
            {"repositories": [_repo()], "privacy": {"k": 4}},
            "privacy.k: expected an integer of at least 5",
        ),
        (
            {"repositories": [_repo()], "privacy": {"k": True}},
            "privacy.k: expected an integer of at least 5",
        ),
        (
            {"repositories": [_repo()], "privacy": {"key_env": "not-a-var"}},
            "privacy.key_env: expected an environment variable name",
        ),
        (
            {"repositories": [_repo()], "privacy": {"opt_out": "missing.txt"}},
            "privacy.opt_out:",
        ),
        (
            {"repositories": [_repo()], "privacy": {"retention_days": 0}},
            "privacy.retention_days: expected a positive number of days, got int 0",
        ),
        (
            {"repositories": [_repo()], "privacy": {"key_file": ".teamlens/key"}},
            "privacy.key_file: expected a path outside data_dir",
        ),
        (
            {"repositories": [_repo()], "clones_dir": ".teamlens/clones"},
            "clones_dir: expected a folder outside data_dir",
        ),
        (
            {"repositories": [_repo()], "github": {"url": "ftp://x"}},
            "github.url: expected an http(s) URL, got str 'ftp://x'",
        ),
        (
            {"repositories": [_repo()], "mining": {"fix_patterns": ["("]}},
            "mining.fix_patterns[0]: expected a regular expression",
        ),
        (
            {"repositories": [_repo()], "mining": {"batch_size": 0}},
            "mining.batch_size: expected a positive number of commits, got int 0",
        ),
        (
            {"repositories": [_repo()], "privacy": None, "mining": {"colour": 1}},
            "mining.colour: unknown key "
            "(known: batch_size, detect_copies, fix_patterns, split_commits)",
        ),
        (
            {"repositories": [_repo({"paht": "x"})]},
            "repositories[0].paht: unknown key",
        ),
    ],
)
def test_invalid_files_raise_one_line_naming_file_and_key(
    tmp_path: Path, doc: Any, message: str
) -> None:
    RepoBuilder(tmp_path / "repo")
    path = _write(tmp_path / "repos.yaml", doc)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(f"{path.resolve()}: ")
    assert message in text


def test_missing_file_suggests_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert (
        str(info.value)
        == f"{tmp_path.resolve()}/nope.yaml: not found (run `teamlens init` to write one)"
    )


# --------------------------------------------------------------------------- teamlens init


def _init_repo(path: Path, branch: str = "main") -> RepoBuilder:
    builder = RepoBuilder(path, branch=branch)
    builder.write("README.md", "# hello\n")
    builder.commit("Initial commit")
    return builder


def test_init_writes_a_loadable_file_for_the_current_repo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _init_repo(tmp_path / "payments-service", branch="trunk")
    monkeypatch.chdir(repo.path)

    result = CliRunner().invoke(cli, ["init"], catch_exceptions=False)

    target = repo.path / "repos.yaml"
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        f"wrote {target}\nadded /.teamlens/, /.teamlens-clones/ to .git/info/exclude\n"
    )
    config = load_config(target)
    (entry,) = config.repositories
    assert entry.name == "payments-service"
    assert entry.path == repo.path.resolve()
    assert entry.branch == "trunk"
    assert config.privacy.k == 5
    assert config.privacy.key_env == "TEAMLENS_KEY"
    assert config.data_dir == repo.path.resolve() / ".teamlens"


@pytest.mark.parametrize(
    ("folder", "branch", "name"),
    [
        ("My Service (v2)", "main", "My-Service--v2-"),
        ("2024", "1.0", "2024"),  # YAML would read both as numbers unless quoted
        ("true", "null", "true"),
        ("svc", "feature/x-1", "svc"),
        ("svc", "#12", "svc"),  # unquoted, a YAML comment: the branch would vanish
        ("svc", "!wip", "svc"),  # unquoted, a YAML tag
        ("svc", "{x}", "svc"),  # unquoted, a YAML mapping
        ("svc", "it's-zoë's", "svc"),
    ],
)
def test_init_names_and_branches_survive_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str, branch: str, name: str
) -> None:
    repo = _init_repo(tmp_path / folder, branch=branch)
    monkeypatch.chdir(repo.path)

    result = CliRunner().invoke(cli, ["init"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    (entry,) = load_config(repo.path / "repos.yaml").repositories
    assert entry.name == name
    assert entry.branch == branch


def test_init_on_a_detached_head_records_no_branch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _init_repo(tmp_path / "detached")
    repo.git("checkout", "-q", "--detach")
    monkeypatch.chdir(repo.path)

    result = CliRunner().invoke(cli, ["init"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    (entry,) = load_config(repo.path / "repos.yaml").repositories
    assert entry.branch is None


def test_second_init_without_force_fails_and_keeps_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _init_repo(tmp_path / "svc")
    monkeypatch.chdir(repo.path)
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], catch_exceptions=False).exit_code == 0
    target = repo.path / "repos.yaml"
    edited = target.read_text(encoding="utf-8") + "# my own edit\n"
    target.write_text(edited, encoding="utf-8")

    again = runner.invoke(cli, ["init"], catch_exceptions=False)

    assert again.exit_code == 1
    assert again.stdout == ""
    assert again.stderr == (
        f"teamlens: error: {target}: already exists (use --force to overwrite)\n"
    )
    assert target.read_text(encoding="utf-8") == edited

    forced = runner.invoke(cli, ["init", "--force"], catch_exceptions=False)

    assert forced.exit_code == 0, forced.output
    assert "# my own edit" not in target.read_text(encoding="utf-8")
    assert load_config(target).repositories[0].branch == "main"


def test_init_in_a_subfolder_points_at_the_top_of_the_repository(
    repo_builder: RepoBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo_builder.write("src/a.py", "x = 1\n")
    repo_builder.commit("first", ALICE)
    monkeypatch.chdir(repo_builder.path / "src")
    result = CliRunner().invoke(cli, ["init"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    config = load_config(repo_builder.path / "src" / "repos.yaml")
    assert config.repositories[0].path == repo_builder.path.resolve()
    assert config.repositories[0].name == "repo"


def test_init_outside_a_repository_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["init"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "not inside a git repository" in result.output
    assert not (tmp_path / "repos.yaml").exists()
