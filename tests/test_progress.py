"""Progress: a redrawn bar on a terminal, plain log lines elsewhere, nothing with --quiet."""

from __future__ import annotations

import io
import os
import subprocess

from teamlens.progress import Progress
from tests.conftest import ConfigFactory, teamlens_command
from tests.gitrepo import ALICE, RepoBuilder, lines


def test_terminal_gets_one_redrawn_bar() -> None:
    out = io.StringIO()
    progress = Progress(out, interactive=True)
    for done in (0, 250, 500):
        progress("repo", done, 500)
    text = out.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n") and text.count("\n") == 1
    assert "repo [##############################] 500/500 commits" in text


def test_non_terminal_gets_plain_lines_not_more_than_every_few_seconds() -> None:
    out = io.StringIO()
    progress = Progress(out, interactive=False)
    for done in range(0, 1001, 250):
        progress("repo", done, 1000)
    logged = out.getvalue().splitlines()
    # The start only starts the clock; the calls in between come within seconds of it.
    assert [line.split(",")[0] for line in logged] == ["mine repo: 1000/1000 commits (100%)"]


def test_mine_logs_progress_and_quiet_silences_it(
    repo_builder: RepoBuilder, make_config: ConfigFactory, key_env: str
) -> None:
    for i in range(3):
        repo_builder.write("a.py", lines(i + 1))
        repo_builder.commit(f"c{i}", ALICE)
    config = make_config({"r": repo_builder.path})
    loud = subprocess.run(
        [*teamlens_command(), "mine", "--config", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ},
        check=True,
    )
    assert "mine r: 3/3 commits (100%)" in loud.stderr
    assert loud.stdout.startswith("r: 3 new commits, 3 file changes")
    repo_builder.write("a.py", "changed\n")
    repo_builder.commit("c3", ALICE)
    quiet = subprocess.run(
        [*teamlens_command(), "mine", "--quiet", "--config", str(config)],
        capture_output=True,
        text=True,
        env={**os.environ},
        check=True,
    )
    assert (quiet.stdout, quiet.stderr) == ("", "")


def test_a_real_terminal_gets_the_bar(
    repo_builder: RepoBuilder, make_config: ConfigFactory, key_env: str
) -> None:
    import pty

    repo_builder.write("a.py", "x\n")
    repo_builder.commit("c0", ALICE)
    config = make_config({"r": repo_builder.path})
    master, slave = pty.openpty()
    try:
        subprocess.run(
            [*teamlens_command(), "mine", "--config", str(config)],
            stderr=slave,
            stdout=subprocess.DEVNULL,
            env={**os.environ},
            check=True,
        )
        os.close(slave)
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    assert b"\rr [##############################] 1/1 commits" in seen
