"""Every command's user errors are one line: `teamlens: error: ...`, a non-zero exit, no traceback.

Each case runs the installed console script in a subprocess, as a user would, on one
small repository mined once for the module (nothing here writes to its store: every
command fails before it would). A TeamlensError exits with 1, a bad option or argument
(click's usage errors) with 2; both print exactly one line on stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from teamlens.config import load_config
from teamlens.mining.tasks import mine_all
from teamlens.model.registry import DEFAULT_MODEL_DIR
from tests.conftest import TEST_KEY, teamlens_command
from tests.gitrepo import ALICE, BOB, CAROL, RepoBuilder


@dataclass(frozen=True)
class Place:
    """The module's files: a mined repository, its repos.yaml, a broken and a missing one."""

    root: Path
    repo: Path
    config: Path
    broken: Path
    missing: Path
    typo: Path  # a team glob that matches no file (`src/flaks/**`)

    def fill(self, arg: str) -> str:
        return arg.format(
            root=self.root,
            repo=self.repo,
            config=self.config,
            broken=self.broken,
            missing=self.missing,
            typo=self.typo,
        )


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Place:
    root = tmp_path_factory.mktemp("cli-errors")
    builder = RepoBuilder(root / "repo")
    for i, person in enumerate((ALICE, BOB, CAROL, ALICE)):
        builder.write(f"src/mod{i}.py", f"def f{i}():\n    return {i}\n")
        builder.commit(f"Add module {i}", person)
    work = root / "work"
    work.mkdir()
    config = work / "repos.yaml"
    doc = {"repositories": [{"name": "app", "path": str(builder.path)}]}
    config.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    typo = work / "typo.yaml"
    typo_doc = {**doc, "teams": {"core": "src/flaks/**"}}
    typo.write_text(yaml.safe_dump(typo_doc, sort_keys=False), encoding="utf-8")
    broken = root / "broken" / "repos.yaml"
    broken.parent.mkdir()
    broken.write_text("repositories: [\n  - name: app\n", encoding="utf-8")
    # CSVs for `score`: a cell that is not a number, and a file without the model's features.
    # bad.csv has every column the shipped default model reads, so only the cell is wrong.
    wanted = json.loads((DEFAULT_MODEL_DIR / "meta.json").read_text(encoding="utf-8"))["features"]
    header = ",".join(["_id", "date", "bug", *wanted]) + "\n"
    cells = ["many" if name == "la" else "1" for name in wanted]
    (root / "bad.csv").write_text(header + ",".join(["c1", "0", "0", *cells]) + "\n", "utf-8")
    (root / "thin.csv").write_text("_id,la\nc1,3\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TEAMLENS_KEY", TEST_KEY)
        mp.setenv("XDG_CONFIG_HOME", str(root / "xdg"))
        mine_all(load_config(config))  # a store with facts, no labels, no features
    return Place(
        root=root,
        repo=builder.path,
        config=config,
        broken=broken,
        missing=root / "nowhere" / "repos.yaml",
        typo=typo,
    )


def _environment(root: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TEAMLENS_WEBHOOK_SECRET", "TEAMLENS_SERVE_TOKEN", "GITHUB_TOKEN"}
    }
    env["TEAMLENS_KEY"] = TEST_KEY
    env["XDG_CONFIG_HOME"] = str(root / "xdg")
    return env


# (command, arguments after `teamlens`, exit code, a piece of the one line)
USER = 1  # a TeamlensError
USAGE = 2  # a bad option or argument
_EMPTY_GLOB = (
    "team 'core': glob 'src/flaks/**' matches no file of any repository "
    "(at the mined tip or in the mined history)"
)
CASES: list[tuple[str, list[str], int, str]] = [
    ("init", ["init"], USER, "already exists (use --force to overwrite)"),
    ("mine", ["--config", "{missing}", "mine"], USER, "not found (run `teamlens init`"),
    ("mine", ["mine", "--workers", "0"], USAGE, "Invalid value for '--workers'"),
    ("label", ["label", "--repo", "nope"], USER, "no repository named 'nope'"),
    ("features", ["--config", "{broken}", "features"], USER, "not valid YAML"),
    ("run", ["--config", "{missing}", "run"], USER, "not found (run `teamlens init`"),
    ("run", ["run", "--workers", "0"], USAGE, "Invalid value for '--workers'"),
    ("evaluate", ["evaluate"], USER, "run `teamlens features` first"),
    ("evaluate", ["evaluate", "--rolling", "99"], USAGE, "Invalid value for '--rolling'"),
    ("train", ["train"], USER, "run `teamlens features` first"),
    ("train", ["train", "--until", "yesterday"], USER, "'yesterday' is not a date"),
    ("score", ["score", "--model", "default"], USAGE, "Missing option '--dataset'"),
    (
        "score",
        ["score", "--dataset", "{root}/none.csv", "--model", "default"],
        USER,
        "none.csv: no such file",
    ),
    (
        "score",
        ["score", "--dataset", "{root}/bad.csv", "--model", "nope"],
        USER,
        "no model 'nope' (known: default",
    ),
    (
        "score",
        ["score", "--dataset", "{root}/bad.csv", "--model", "default"],
        USER,
        "bad.csv: column la on line 2 is 'many', not a number",
    ),
    (
        "score",
        ["score", "--dataset", "{root}/thin.csv", "--model", "default"],
        USER,
        "needs feature column(s) the CSV lacks: ns, nd, nf, entropy, ld, lt",
    ),
    ("models", ["models", "--current", "nope"], USER, "no model 'nope'"),
    ("export", ["export", "--out", "{root}/export"], USER, "run `teamlens features` first"),
    ("export", ["export"], USAGE, "Missing option '--out'"),
    ("review", ["review", "--base", "nope", "--head", "HEAD"], USER, "'nope' is not a commit"),
    ("review", ["review"], USAGE, "give --base and --head"),
    (
        "review",
        ["review", "--base", "HEAD~1", "--head", "HEAD", "--model", "nope"],
        USER,
        "no model 'nope' (known: default",
    ),
    ("bot serve", ["bot", "serve"], USER, "TEAMLENS_WEBHOOK_SECRET"),
    ("bot serve", ["bot", "serve", "--port", "0"], USAGE, "Invalid value for '--port'"),
    ("bot stats", ["bot", "stats"], USER, "names a GitHub repository"),
    ("bot stats", ["bot", "stats", "--pulls", "0"], USAGE, "Invalid value for '--pulls'"),
    ("report", ["report"], USER, "no changes with features for app; run `teamlens features`"),
    ("report", ["report", "--period", "day"], USAGE, "Invalid value for '--period'"),
    ("serve", ["serve", "--host", "0.0.0.0"], USER, "refusing to serve on '0.0.0.0'"),  # noqa: S104
    ("serve", ["serve", "--certfile", "{config}"], USER, "give both --certfile and --keyfile"),
    ("query", ["query", "SELECT * FROM nope"], USER, "nope does not exist"),
    ("query", ["query"], USAGE, "Missing argument 'SQL'"),
    ("privacy", ["privacy", "--output", "{root}/nothing"], USER, "no such file or folder"),
    ("purge", ["--config", "{missing}", "purge"], USER, "not found (run `teamlens init`"),
    ("mine", ["--config", "{typo}", "mine"], USER, _EMPTY_GLOB),
    ("features", ["--config", "{typo}", "features"], USER, _EMPTY_GLOB),
    ("run", ["--config", "{typo}", "run"], USER, _EMPTY_GLOB),
    ("report", ["--config", "{typo}", "report"], USER, _EMPTY_GLOB),
    (
        "review",
        ["--config", "{typo}", "review", "--base", "HEAD~1", "--head", "HEAD"],
        USER,
        _EMPTY_GLOB,
    ),
    ("demo", ["demo", "--dir", "{repo}"], USER, "not empty and not made by `teamlens demo`"),
    ("demo", ["demo", "--end", "tomorrow"], USAGE, "Invalid value for '--end'"),
    ("(none)", ["nosuch"], USAGE, "No such command 'nosuch'"),
    ("(none)", ["--nope"], USAGE, "No such option '--nope'"),
]


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [pytest.param(args, code, needle, id=" ".join(args)) for _, args, code, needle in CASES],
)
def test_a_user_error_is_one_line(place: Place, args: list[str], code: int, needle: str) -> None:
    result = subprocess.run(
        [*teamlens_command(), *(place.fill(a) for a in args)],
        cwd=place.config.parent,
        env=_environment(place.root),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == code, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert result.stderr == lines[0] + "\n"
    assert lines[0].startswith("teamlens: error: "), lines[0]
    assert place.fill(needle) in lines[0], lines[0]


def test_every_command_has_a_case() -> None:
    """A new command needs a case here: every command and subcommand of `teamlens --help`."""
    import click

    from teamlens.cli import cli

    names: set[str] = set()
    for name, command in cli.commands.items():
        if isinstance(command, click.Group):
            names.update(f"{name} {sub}" for sub in command.commands)
        else:
            names.add(name)
    assert names <= {command for command, *_ in CASES}, names - {c for c, *_ in CASES}
