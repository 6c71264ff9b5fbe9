"""Bad input: one line on stderr naming the problem, a non-zero exit, the store untouched.

Every case runs the installed `teamlens` console script in a subprocess, as a user
would. Where the store held facts before, it is mined first (in-process, for speed),
then the input is broken, and every file under the data folder is compared byte for
byte before and after the failed command.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from teamlens.config import load_config
from teamlens.mining.tasks import mine_all
from teamlens.store import Store
from tests.conftest import TEST_KEY, ConfigFactory, teamlens_command
from tests.gitrepo import ALICE, BOB, CAROL, RepoBuilder

Snapshot = dict[str, bytes]


def _run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*teamlens_command(), *args],
        cwd=cwd,
        env={**os.environ} if env is None else env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _snapshot(folder: Path) -> Snapshot:
    """Every file under `folder` (relative path -> content); empty when it does not exist."""
    if not folder.exists():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


_PROGRESS_RE = re.compile(r"^mine [A-Za-z0-9._-]+: \d+/\d+ commits \(\d+%\), [\d,]+/s$")


def _one_line_error(
    result: subprocess.CompletedProcess[str], *needles: str, quiet: bool = True
) -> str:
    """Assert a failed run printed exactly one error line mentioning every needle.

    With ``quiet=False`` (a `mine` run without ``--quiet``) progress lines may precede it.
    """
    assert result.returncode != 0, result
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    if not quiet:  # `mine` reports progress on stderr before it fails; nothing else
        lines = [x for x in lines if not _PROGRESS_RE.match(x)]
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert result.stderr.endswith(line + "\n")
    assert line.startswith("teamlens: error: "), line
    assert "Traceback" not in line
    for needle in needles:
        assert needle in line, f"{needle!r} not in {line!r}"
    return line


def _build(path: Path, commits: int, start: int = 0) -> RepoBuilder:
    builder = RepoBuilder(path)
    _add_commits(builder, commits, start)
    return builder


def _add_commits(builder: RepoBuilder, n: int, start: int = 0) -> None:
    people = (ALICE, BOB, CAROL)
    for i in range(start, start + n):
        builder.write(f"src/mod{i}.py", f"def f{i}():\n    return {i}\n")
        builder.commit(f"Add module {i}", people[i % len(people)])


def _mine(config_path: Path) -> int:
    """Mine in-process; return the number of commits now in the store."""
    config = load_config(config_path)
    mine_all(config)
    return int(Store(config.data_dir).query("SELECT count(*) FROM commits").rows[0][0])


def _write_config(path: Path, doc: dict[str, Any] | str) -> None:
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False)
    path.write_text(text, encoding="utf-8")


def _loose_object(repo: Path, rev: str) -> Path:
    sha = subprocess.run(
        ["git", "rev-parse", rev], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    path = repo / ".git" / "objects" / sha[:2] / sha[2:]
    assert path.is_file(), f"{rev} is not a loose object"
    return path


def _corrupt(obj: Path) -> bytes:
    """Overwrite a loose object with garbage; return what it held."""
    original = obj.read_bytes()
    obj.chmod(0o644)  # git writes objects read-only
    obj.write_bytes(b"this is not a zlib stream\n")
    return original


@pytest.fixture(scope="module")
def mined_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built and mined once per module: <root>/repo (4 commits) and <root>/work/.teamlens."""
    root = tmp_path_factory.mktemp("mined")
    repo = _build(root / "repo", 4)
    (root / "work").mkdir()
    config = root / "work" / "repos.yaml"
    _write_config(config, {"repositories": [{"name": "app", "path": str(repo.path)}]})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TEAMLENS_KEY", TEST_KEY)
        assert _mine(config) == 4
    return root


@pytest.fixture
def mined(
    key_env: str, mined_template: Path, tmp_path: Path, data_dir: Path
) -> tuple[Path, Path, Snapshot]:
    """A fresh copy of a mined 4-commit repository: (config path, repository, snapshot)."""
    repo = tmp_path / "repo"
    shutil.copytree(mined_template / "repo", repo, symlinks=True)
    shutil.copytree(mined_template / "work" / ".teamlens", data_dir)
    config = tmp_path / "work" / "repos.yaml"
    _write_config(config, {"repositories": [{"name": "app", "path": str(repo)}]})
    before = _snapshot(data_dir)
    assert "store/app/manifest.json" in before
    return config, repo, before


# --------------------------------------------------------------------------- repositories


def test_missing_repository_path(
    mined: tuple[Path, Path, Snapshot], tmp_path: Path, data_dir: Path
) -> None:
    config, repo, before = mined
    repo.rename(tmp_path / "moved-away")

    result = _run("--config", str(config), "mine", cwd=tmp_path)

    _one_line_error(result, str(config), "repositories[0].path", f"{repo} does not exist")
    assert _snapshot(data_dir) == before


@pytest.mark.parametrize("kind", ["plain folder", "subfolder of a repository"])
def test_not_a_git_repository(
    mined: tuple[Path, Path, Snapshot],
    tmp_path: Path,
    data_dir: Path,
    kind: str,
) -> None:
    config, repo, before = mined
    if kind == "plain folder":
        other = tmp_path / "plain"
        other.mkdir()
        (other / "notes.txt").write_text("not versioned\n", encoding="utf-8")
        expected = f"repository 'other': {other} is not a git repository (no .git here)"
    else:  # `path: ./src` inside a clone: git would find the parent, teamlens does not
        other = repo / "src"
        expected = f"repository 'other': {other} is not a git repository (no .git here)"
    _write_config(
        config,
        {
            "repositories": [
                {"name": "app", "path": str(repo)},
                {"name": "other", "path": str(other)},
            ]
        },
    )

    result = _run("--config", str(config), "mine", cwd=tmp_path)

    _one_line_error(result, expected)
    assert _snapshot(data_dir) == before


def test_corrupt_object_on_first_mine(
    key_env: str, make_config: ConfigFactory, tmp_path: Path, data_dir: Path
) -> None:
    repo = _build(tmp_path / "repo", 3)
    _corrupt(_loose_object(repo.path, "HEAD~1:src/mod1.py"))
    config = make_config({"app": repo.path})

    result = _run("--config", str(config), "mine", cwd=tmp_path)

    _one_line_error(result, f"{repo.path}: git log failed", quiet=False)
    # No facts, no manifest: only the (empty) lock file of the attempted writer is left.
    after = _snapshot(data_dir)
    assert {k: v for k, v in after.items() if not k.endswith("/.lock")} == {}
    assert set(after.values()) <= {b""}
    assert Store(data_dir).repos() == []


def test_corrupt_object_after_a_successful_mine_leaves_the_store_as_it_was(
    mined: tuple[Path, Path, Snapshot], tmp_path: Path, data_dir: Path
) -> None:
    config, repo, before = mined
    # batch_size 1: the two new commits before the broken one are already published
    # when git fails, so the store must roll back published batches, not just stop.
    _write_config(
        config,
        {"repositories": [{"name": "app", "path": str(repo)}], "mining": {"batch_size": 1}},
    )
    builder = RepoBuilder(repo)  # reopens the existing repository
    builder.clock += 4 * 3600
    _add_commits(builder, 3, start=4)
    obj = _loose_object(repo, "HEAD:src/mod6.py")
    original = _corrupt(obj)

    result = _run("--config", str(config), "mine", "--quiet", cwd=tmp_path)

    _one_line_error(result, f"{repo}: git log failed")
    assert _snapshot(data_dir) == before
    assert Store(data_dir).query("SELECT count(*) FROM commits").rows == [(4,)]

    # Repaired, the repository mines on to exactly the full history.
    obj.write_bytes(original)
    assert _mine(config) == 7


# --------------------------------------------------------------------------- repos.yaml


def test_invalid_yaml(mined: tuple[Path, Path, Snapshot], tmp_path: Path, data_dir: Path) -> None:
    config, repo, before = mined
    _write_config(config, f"repositories:\n  - name: app\n    path: {repo}\n  - name: [x\n")

    result = _run("--config", str(config), "mine", cwd=tmp_path)

    _one_line_error(
        result,
        f"{config}: line 5: not valid YAML (expected ',' or ']', but got '<stream end>')",
    )
    assert _snapshot(data_dir) == before


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ({"colour": "blue"}, "colour: unknown key (known: clones_dir, data_dir, github,"),
        ({"privacy": {"kk": 5}}, "privacy.kk: unknown key (known: dominance, k, key_env,"),
    ],
)
def test_unknown_key(
    mined: tuple[Path, Path, Snapshot],
    tmp_path: Path,
    data_dir: Path,
    extra: dict[str, Any],
    needle: str,
) -> None:
    config, repo, before = mined
    _write_config(config, {"repositories": [{"name": "app", "path": str(repo)}], **extra})

    result = _run("--config", str(config), "mine", cwd=tmp_path)

    _one_line_error(result, f"{config}: {needle}")
    assert _snapshot(data_dir) == before


def test_k_below_five_is_refused(
    mined: tuple[Path, Path, Snapshot], tmp_path: Path, data_dir: Path
) -> None:
    config, repo, before = mined
    _write_config(
        config, {"repositories": [{"name": "app", "path": str(repo)}], "privacy": {"k": 3}}
    )

    result = _run("--config", str(config), "mine", cwd=tmp_path)

    _one_line_error(
        result,
        f"{config}: privacy.k: expected an integer of at least 5 "
        "(smaller groups can identify people), got int 3",
    )
    assert _snapshot(data_dir) == before


# --------------------------------------------------------------------------- the key


@pytest.fixture
def mined_with_key_file(
    mined: tuple[Path, Path, Snapshot], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[Path, Path, Snapshot]:
    """The mined store, now used with a 0600 key file and TEAMLENS_KEY unset."""
    config, repo, before = mined
    monkeypatch.delenv("TEAMLENS_KEY")
    key = tmp_path / "secrets" / "key"
    key.parent.mkdir(mode=0o700)
    key.write_text(TEST_KEY + "\n", encoding="ascii")
    key.chmod(0o600)
    _write_config(
        config,
        {"repositories": [{"name": "app", "path": str(repo)}], "privacy": {"key_file": str(key)}},
    )
    assert _mine(config) == 4  # the key file works: same key, nothing new, nothing written
    assert _snapshot(config.parent / ".teamlens") == before
    return config, key, before


BreakKey = Callable[[Path], None]


def _to_folder(key: Path) -> None:
    key.unlink()
    key.mkdir(mode=0o700)


@pytest.mark.parametrize(
    ("breaker", "needle"),
    [
        pytest.param(
            lambda key: key.chmod(0o644),
            "{key}: key file is accessible to other users (mode 644); run `chmod 600 {key}`",
            id="readable-by-others",
        ),
        pytest.param(_to_folder, "{key}: expected a key file, found a folder", id="a-folder"),
        pytest.param(
            lambda key: key.chmod(0o000),
            "{key}: key file cannot be read (permission denied)",
            id="mode-0000",
            marks=pytest.mark.skipif(
                os.geteuid() == 0, reason="root reads a mode 0000 file regardless"
            ),
        ),
    ],
)
def test_unusable_key_file(
    mined_with_key_file: tuple[Path, Path, Snapshot],
    tmp_path: Path,
    data_dir: Path,
    breaker: BreakKey,
    needle: str,
) -> None:
    config, key, before = mined_with_key_file
    breaker(key)

    result = _run("--config", str(config), "mine", cwd=tmp_path)

    _one_line_error(result, needle.format(key=key))
    assert _snapshot(data_dir) == before


def test_key_file_inside_the_data_folder(
    mined: tuple[Path, Path, Snapshot], tmp_path: Path, data_dir: Path
) -> None:
    config, repo, before = mined
    inside = data_dir / "key"
    _write_config(
        config,
        {
            "repositories": [{"name": "app", "path": str(repo)}],
            "privacy": {"key_file": str(inside)},
        },
    )

    result = _run("--config", str(config), "mine", cwd=tmp_path)

    _one_line_error(result, f"{config}: privacy.key_file: expected a path outside data_dir")
    assert not inside.exists()
    assert _snapshot(data_dir) == before


def test_key_from_environment_too_short(
    mined: tuple[Path, Path, Snapshot], tmp_path: Path, data_dir: Path
) -> None:
    config, _, before = mined
    short = "tiny-key-31-characters-long-abc"
    assert len(short) == 31

    result = _run(
        "--config", str(config), "mine", cwd=tmp_path, env={**os.environ, "TEAMLENS_KEY": short}
    )

    line = _one_line_error(
        result,
        "environment variable TEAMLENS_KEY: the key must be at least 32 bytes long, got 31; "
        "use 32 random bytes",
    )
    assert short not in line  # the key itself is never printed
    assert _snapshot(data_dir) == before


def test_a_different_key_is_refused(
    mined: tuple[Path, Path, Snapshot], tmp_path: Path, data_dir: Path
) -> None:
    """A valid key that is not the store's would write unlinkable pseudonyms."""
    config, _, before = mined
    other = "0b7e2d94c1a5f83e6d20b9c4a7f1e5d38c62a0f4b9e17d5c3a8f2b06e4d91c7a"

    result = _run(
        "--config", str(config), "mine", cwd=tmp_path, env={**os.environ, "TEAMLENS_KEY": other}
    )

    line = _one_line_error(result, "repository 'app': the pseudonymisation key differs")
    assert other not in line
    assert _snapshot(data_dir) == before


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_damaged_store_is_one_line_for_a_query(
    mined: tuple[Path, Path, Snapshot], tmp_path: Path, data_dir: Path, damage: str
) -> None:
    """A part the manifest lists is gone, or cut short: `teamlens query` names the damage."""
    config, _, _ = mined
    part = next((data_dir / "store" / "app" / "commits").glob("*.parquet"))
    if damage == "missing":
        part.unlink()
    else:
        part.write_bytes(part.read_bytes()[:100])

    result = _run("--config", str(config), "query", "SELECT count(*) FROM commits", cwd=tmp_path)

    if damage == "missing":
        line = _one_line_error(result, "the store is damaged: 1 files its manifests list")
        assert f"app/commits/{part.name}" in line and "mine it again" in line
    else:
        _one_line_error(result, part.name)
