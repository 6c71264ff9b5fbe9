"""`teamlens review` starts quickly: it loads only its own command module, and a review
of a repository that was never mined imports none of pandas, pyarrow, DuckDB,
scikit-learn, SciPy or the lightgbm package (docs/review.md, "Speed")."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import click
import yaml

from teamlens.cli.core import COMMAND_MODULES, cli, command_modules
from tests.conftest import TEST_KEY
from tests.gitrepo import ALICE, BOB, RepoBuilder

HEAVY = ("pandas", "pyarrow", "duckdb", "sklearn", "scipy", "lightgbm")
PROBE = """
import json, sys
from teamlens.cli import main
args, heavy = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
sys.argv = ["teamlens", *args]
try:
    main()
except SystemExit as exc:
    code = exc.code
loaded = sorted({m.split(".")[0] for m in sys.modules} & heavy)
commands = sorted(__import__("teamlens.cli.core").cli.core.cli.commands)
print(json.dumps({"loaded": loaded, "commands": commands, "code": code}), file=sys.stderr)
"""


def _probe(args: list[str], tmp_path: Path) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True, text=True, check=False,
        env={"TEAMLENS_KEY": TEST_KEY, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    report: dict[str, object] = json.loads(result.stderr.strip().splitlines()[-1])
    report["stdout"] = result.stdout
    return report


def test_a_review_without_a_store_imports_no_heavy_package(
    repo_builder: RepoBuilder, tmp_path: Path
) -> None:
    repo_builder.write("geo/shapes.py", "def area(w, h):\n    return w * h\n")
    base = repo_builder.commit("Initial import", ALICE)
    repo_builder.write(
        "geo/shapes.py", "def area(w, h):\n    if w < 0:\n        return 0\n    return w * h\n"
    )
    head = repo_builder.commit("Negative widths", BOB)
    config = tmp_path / "work" / "repos.yaml"
    config.parent.mkdir()
    config.write_text(
        yaml.safe_dump({"repositories": [{"name": "shapes", "path": str(repo_builder.path)}]}),
        encoding="utf-8",
    )
    for fmt in ("json", "sarif", "md"):
        args = ["review", "--base", base, "--head", head, "--format", fmt, "--config", str(config)]
        report = _probe(args, tmp_path)
        assert report["code"] in (0, None), report
        assert report["loaded"] == [], report["loaded"]
        assert report["commands"] == ["bot", "review"]  # no other command module loaded
        if fmt == "json":
            assert json.loads(str(report["stdout"]))["level"] in ("low", "medium", "high")


def test_the_command_table_names_the_module_of_each_command() -> None:
    """A wrong entry would load the wrong module and then all of them (slow, not wrong)."""
    for name, module in COMMAND_MODULES.items():
        loaded = importlib.import_module(f"teamlens.cli.{module}")
        command = cli.commands.get(name)
        assert isinstance(command, click.Command), name
        assert command.callback is not None
        assert command.callback.__module__ == loaded.__name__, name
    assert set(COMMAND_MODULES.values()) <= set(command_modules())
