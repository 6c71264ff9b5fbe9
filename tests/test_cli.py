"""The `teamlens` command line: query output formats, run, help texts, --config, --version.

Query and run go through the installed console script in a subprocess (the real entry
point, as scripts use it); the help walk and cheap checks use click's CliRunner.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner

from teamlens import __version__
from teamlens.cli import cli
from teamlens.config import load_config
from teamlens.mining.tasks import mine_all
from teamlens.store import Store
from tests.conftest import TEST_KEY, teamlens_command
from tests.gitrepo import ALICE, BOB, CAROL, DAVE, ERIN, EVERYONE, ZOE, RepoBuilder

VIEWS = ("commits", "file_changes", "lost_commits", "commits_all", "file_changes_all")


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*teamlens_command(), *args],
        cwd=cwd,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def _invoke(*args: str) -> Any:
    """Run the CLI in-process; assert success."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _build_team(path: Path) -> RepoBuilder:
    """Six commits by five people: a merge, a fix, Python, Go and Markdown files."""
    r = RepoBuilder(path)
    r.write("src/app.py", "def main():\n    return 1\n")
    r.write("README.md", "# team\n")
    r.commit("Initial import", ALICE)  # 2020-09-13 13:26:40 UTC
    r.write("src/util.py", "def helper():\n    return 2\n")
    r.commit("Add util, with Alice Liddell", BOB)
    r.git("checkout", "-q", "-b", "feature")
    r.write("src/feature.go", "package main\n")
    r.commit("Add feature in Go", CAROL)
    r.git("checkout", "-q", "main")
    r.write("src/app.py", "def main():\n    return 0\n")
    r.commit("Fix crash in main", ZOE)
    r.clock += 3600
    r.git("merge", "-q", "--no-ff", "-m", "Merge branch 'feature'", "feature", person=ERIN)
    r.clock += 86400
    r.write("docs/guide.md", "how to\n")
    r.commit("Write a guide", ERIN)  # 2020-09-14 18:26:40 UTC
    return r


def _build_solo(path: Path) -> RepoBuilder:
    r = RepoBuilder(path)
    for i in range(2):
        r.write(f"web/page{i}.js", f"export const page = {i};\n")
        r.commit(f"Add page {i}", DAVE)
    return r


def _shas(repo: Path) -> list[str]:
    out = subprocess.run(
        ["git", "rev-list", "--author-date-order", "--reverse", "HEAD"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


@pytest.fixture(scope="module")
def repos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: <root>/team (6 commits by 5 people) and <root>/solo (2 commits by 1).

    Mining only reads a repository, so every test may point at these.
    """
    root = tmp_path_factory.mktemp("repos")
    _build_team(root / "team")
    _build_solo(root / "solo")
    return root


def _config_for(folder: Path, repos: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "repositories": [
            {"name": "team", "path": str(repos / "team")},
            {"name": "solo", "path": str(repos / "solo")},
        ]
    }
    path = folder / "repos.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def mined_config(repos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both repositories mined once; shared by tests that only read (query never writes)."""
    config = _config_for(tmp_path_factory.mktemp("mined"), repos)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TEAMLENS_KEY", TEST_KEY)
        mine_all(load_config(config))
    return config


@pytest.fixture(scope="module")
def empty_config(repos: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same repositories, never mined: the store does not exist."""
    return _config_for(tmp_path_factory.mktemp("empty"), repos)


# --------------------------------------------------------------------------- query


def test_query_csv_prints_a_header_and_one_row_per_result(
    mined_config: Path, repos: Path, tmp_path: Path
) -> None:
    sql = (
        "SELECT repo, sha, parent_shas, is_merge, is_fix, added, n_files "
        "FROM commits ORDER BY repo, author_time"
    )

    out = _ok(_run("--config", str(mined_config), "query", sql, "--format", "csv", cwd=tmp_path))

    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == [
        "repo",
        "sha",
        "parent_shas",
        "is_merge",
        "is_fix",
        "added",
        "n_files",
    ]
    body = rows[1:]
    assert len(body) == 8
    solo, team = _shas(repos / "solo"), _shas(repos / "team")
    assert [r[:2] for r in body] == [["solo", s] for s in solo] + [["team", s] for s in team]
    # A list column is one JSON-encoded cell.
    assert [json.loads(r[2]) for r in body[:2]] == [[], [solo[0]]]
    (merge,) = [r for r in body if r[3] == "true"]
    assert merge[:2] == ["team", team[4]]
    assert len(json.loads(merge[2])) == 2
    assert merge[6] == "0"
    assert [r[1] for r in body if r[4] == "true"] == [team[3]]  # "Fix crash in main"
    # Names in subjects are scrubbed before they reach the (private) store.
    subjects = Store(mined_config.parent / ".teamlens").query("SELECT message_subject FROM commits")
    assert ("Add util, with <person>",) in subjects.rows
    # solo: 1 + 1; team: 2 + 1 (first commit), 2, 1, 1, 0 (merge), 1.
    assert [int(r[5]) for r in body] == [1, 1, 3, 2, 1, 1, 0, 1]
    assert out.endswith("\n") and "\r" not in out  # Unix line ends, not csv's \r\n


def test_query_json_prints_an_array_of_objects(
    mined_config: Path, repos: Path, tmp_path: Path
) -> None:
    sql = (
        "SELECT sha, parent_shas, is_merge, author_time, commit_time, author_tz, "
        "is_fix, n_files FROM commits WHERE repo = 'team' ORDER BY author_time"
    )

    out = _ok(_run("query", sql, "--format", "json", "--config", str(mined_config), cwd=tmp_path))

    rows = json.loads(out)
    assert isinstance(rows, list)
    assert len(rows) == 6
    assert all(isinstance(r, dict) for r in rows)
    first = rows[0]
    assert list(first) == [
        "sha",
        "parent_shas",
        "is_merge",
        "author_time",
        "commit_time",
        "author_tz",
        "is_fix",
        "n_files",
    ]
    shas = _shas(repos / "team")
    assert [r["sha"] for r in rows] == shas
    assert first == {
        "sha": shas[0],
        "parent_shas": [],
        "is_merge": False,
        "author_time": "2020-09-13T13:26:40+00:00",
        "commit_time": "2020-09-13T13:26:40+00:00",
        "author_tz": 60,
        "is_fix": False,
        "n_files": 2,
    }
    assert [r["is_fix"] for r in rows] == [False, False, False, True, False, False]
    merge = rows[4]
    assert merge["is_merge"] is True and merge["n_files"] == 0
    assert isinstance(merge["parent_shas"], list) and len(merge["parent_shas"]) == 2
    assert rows[5]["author_time"] == "2020-09-14T18:26:40+00:00"


def test_query_json_of_no_rows_is_an_empty_array(mined_config: Path) -> None:
    result = _invoke(
        "--config", str(mined_config), "query", "SELECT * FROM lost_commits", "--format", "json"
    )
    assert json.loads(result.stdout) == []


def test_bad_sql_is_one_line_and_non_zero(mined_config: Path, tmp_path: Path) -> None:
    # DuckDB's own message is several lines ("Did you mean ...?"); the CLI keeps the first.
    result = _run("--config", str(mined_config), "query", "SELECT * FROM commitz", cwd=tmp_path)

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "teamlens: error: Catalog Error: Table with name commitz does not exist!\n"
    )


def test_views_exist_on_an_empty_store(empty_config: Path) -> None:
    data_dir = empty_config.parent / ".teamlens"
    counts = [f"(SELECT count(*) FROM {v}) AS {v}" for v in VIEWS]  # noqa: S608
    sql = "SELECT " + ", ".join(counts)

    result = _invoke("--config", str(empty_config), "query", sql, "--format", "json")

    assert json.loads(result.stdout) == [dict.fromkeys(VIEWS, 0)]
    assert not data_dir.exists()  # reading never creates the store


#: DESIGN.md "Facts (minimum schema)" as `teamlens query` publishes it; more columns may be
#: added. author_id and message_subject are stored too, in the private zone only.
MIN_COLUMNS = {
    "commits": {"repo", "sha", "parent_shas", "is_merge", "author_time", "commit_time",
                "author_tz", "is_fix"},
    "file_changes": {"repo", "sha", "path", "old_path", "change_type", "added", "deleted",
                     "is_binary", "language"},
    "lost_commits": {"repo", "sha"},
}  # fmt: skip


@pytest.mark.parametrize("view", VIEWS)
def test_empty_views_have_the_same_columns_as_filled_ones(
    empty_config: Path, mined_config: Path, view: str
) -> None:
    sql = f"SELECT * FROM {view} LIMIT 0"  # noqa: S608 - a fixed view name
    empty = _invoke("--config", str(empty_config), "query", sql).stdout
    filled = _invoke("--config", str(mined_config), "query", sql).stdout
    assert empty == filled
    header = empty.rstrip("\n").split(",")
    assert MIN_COLUMNS[view.removesuffix("_all")] <= set(header)
    assert not {"author_id", "committer_id", "message_subject"} & set(header)


@pytest.mark.parametrize("position", ["before", "after"])
def test_config_option_before_or_after_the_subcommand(
    mined_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, position: str
) -> None:
    query = ["query", "SELECT repo, count(*) AS n FROM commits GROUP BY repo ORDER BY repo"]
    option = ["--config", str(mined_config)]
    monkeypatch.chdir(tmp_path)  # no repos.yaml here

    result = _invoke(*(option + query if position == "before" else query + option))

    assert result.stdout == "repo,n\nsolo,2\nteam,6\n"


def test_without_config_the_cwd_file_is_used_or_missed(
    empty_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    monkeypatch.chdir(empty_config.parent)
    found = runner.invoke(cli, ["query", "SELECT 42 AS answer"], catch_exceptions=False)
    assert (found.exit_code, found.stdout) == (0, "answer\n42\n")

    monkeypatch.chdir(tmp_path)
    missing = runner.invoke(cli, ["query", "SELECT 1"], catch_exceptions=False)
    assert missing.exit_code == 1
    assert missing.stderr == (
        f"teamlens: error: {tmp_path.resolve()}/repos.yaml: not found "
        "(run `teamlens init` to write one)\n"
    )


def test_subcommand_config_wins_over_the_group_option(empty_config: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(tmp_path / "missing.yaml"),
            "query",
            "--config",
            str(empty_config),
            "SELECT 1 AS one",
        ],
        catch_exceptions=False,
    )
    assert (result.exit_code, result.stdout) == (0, "one\n1\n")


# --------------------------------------------------------------------------- run


def test_run_prints_one_summary_line_per_repository_and_no_people(
    key_env: str, repos: Path, tmp_path: Path
) -> None:
    team_config = _config_for(tmp_path / "work", repos)
    result = _run("run", "--config", str(team_config), cwd=tmp_path)

    out = _ok(result)
    lines = out.splitlines()
    assert len(lines) == 7
    assert re.fullmatch(r"team: 6 new commits, 6 file changes in \d+\.\ds", lines[0])
    assert re.fullmatch(r"solo: 2 new commits, 2 file changes in \d+\.\ds", lines[1])
    assert lines[2] == "label: nothing new in solo (no fix to label)"
    assert lines[3].startswith("model: not trained (store:team,solo: 1 labelled changes")
    assert lines[3].endswith("current model: default")
    assert lines[6] == f"report: {tmp_path / 'work' / '.teamlens' / 'reports' / 'report.html'}"
    assert lines[4:6] == [
        "solo: 2 commits (0 merges, 0 fixes) from 2020-09-13 to 2020-09-13; 2 file changes; "
        "languages: JavaScript 2; fewer than 5 contributors: team figures will stay hidden; "
        "0 changes labelled",
        "team: 6 commits (1 merges, 1 fixes) from 2020-09-13 to 2020-09-14; 6 file changes; "
        "languages: Python 3, Go 1; at least 5 contributors; 1 changes labelled "
        "(defect-inducing count hidden: fewer than 5 people)",
    ]  # one labelled change is one person's: its outcome is not printed
    everything = out + result.stderr
    for person in EVERYONE:
        words = [*person.name.split(), person.email, person.email.split("@")[0]]
        for word in words:
            assert not re.search(rf"\b{re.escape(word)}\b", everything, re.IGNORECASE), word

    # A second run mines nothing new and prints the same summary.
    again = _invoke("--config", str(team_config), "run", "--quiet")
    assert again.stdout.splitlines() == lines[4:]
    report = (tmp_path / "work" / ".teamlens" / "reports" / "report.html").read_text("utf-8")
    for person in EVERYONE:
        assert person.email not in report and person.name not in report


# --------------------------------------------------------------------------- help, version


def _walk(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found: list[tuple[tuple[str, ...], Any]] = []
    for name, command in sorted(group.commands.items()):
        found.append(((*prefix, name), command))
        if isinstance(command, click.Group):
            found.extend(_walk(command, (*prefix, name)))
    return found


COMMANDS = _walk(cli)


def test_there_are_commands_to_check() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"init", "mine", "run", "query"} <= names


@pytest.mark.parametrize(
    ("path", "command"), COMMANDS, ids=[" ".join(path) for path, _ in COMMANDS]
)
def test_every_command_has_help(path: tuple[str, ...], command: click.Command) -> None:
    assert command.help and command.help.strip(), f"teamlens {' '.join(path)} has no help text"
    for param in command.params:
        if isinstance(param, click.Option) and not param.hidden:
            assert param.help, f"teamlens {' '.join(path)} {param.opts[0]} has no help text"

    result = CliRunner().invoke(cli, [*path, "--help"], catch_exceptions=False)
    assert result.exit_code == 0
    assert command.help.strip().splitlines()[0] in result.stdout
    if any(isinstance(p, click.Option) and p.name == "config_path" for p in command.params):
        assert "--config" in result.stdout


def test_top_level_help_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"], catch_exceptions=False)
    assert result.exit_code == 0
    assert cli.help
    for path, _ in COMMANDS:
        if len(path) == 1:
            assert re.search(rf"^\s+{path[0]}\s+\S", result.stdout, re.MULTILINE), path


def test_version(tmp_path: Path) -> None:
    result = _run("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == f"teamlens, version {__version__}\n"
    assert __version__ == version("teamlens")
    assert result.stderr == ""
