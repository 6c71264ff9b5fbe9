"""Progress: a redrawn bar on a terminal, plain log lines elsewhere, nothing with --quiet;
every stage of `teamlens run` named, and a heartbeat where a step has nothing to count."""

from __future__ import annotations

import io
import itertools
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
import yaml

from teamlens.config import load_config
from teamlens.pipeline import run
from teamlens.progress import Progress, RunProgress
from tests.conftest import ConfigFactory, teamlens_command
from tests.gitrepo import ALICE, BOB, CAROL, ERIN, EVERYONE, ZOE, RepoBuilder, lines

#: A heartbeat line: what is going on, then the time it has taken so far.
HEARTBEAT = re.compile(r", \d[\d,]*(\.\d)? s$")


class TimedLines(io.StringIO):
    """A stream that remembers when each of its lines was completed."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[float, str]] = []
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self._partial += text
            *done, self._partial = self._partial.split("\n")
            now = time.monotonic()
            self.lines += [(now, line) for line in done]
        return super().write(text)


def test_terminal_gets_one_redrawn_bar_named_by_its_stage() -> None:
    out = io.StringIO()
    progress = Progress(out, interactive=True, unit="changes", verb="features")
    for done in (0, 250, 1500):
        progress("repo", done, 1500)
    text = out.getvalue()
    # Redrawn at most ten times a second, and always at the end: 250 came too soon.
    assert text.count("\r") == 2 and text.endswith("\n") and text.count("\n") == 1
    assert "\rfeatures repo [------------------------------] 0/1,500 changes" in text
    assert "\rfeatures repo [##############################] 1,500/1,500 changes" in text


def test_non_terminal_gets_plain_lines_not_more_than_every_few_seconds() -> None:
    out = io.StringIO()
    progress = Progress(out, interactive=False)
    for done in range(0, 1001, 250):
        progress("repo", done, 1000)
    logged = out.getvalue().splitlines()
    # The start only starts the clock; the calls in between come within seconds of it.
    assert [line.split(", ")[0] for line in logged] == ["mine repo: 1,000/1,000 commits (100%)"]


def test_nothing_to_count_says_so() -> None:
    out = io.StringIO()
    Progress(out, interactive=False, unit="fixes", verb="label")("repo", 0, 0)
    assert out.getvalue() == "label repo: no new fixes\n"


def test_a_step_without_counts_gets_heartbeats_until_the_stage_ends() -> None:
    out = TimedLines()
    shown = RunProgress(out, interactive=False, heartbeat_seconds=0.05)
    with shown.stage("train", "labelled changes", "loading the labelled changes") as stage:
        time.sleep(0.3)
        stage.step("fitting lightgbm on 3,000 changes")
        time.sleep(0.3)
    text = [line for _, line in out.lines]
    assert text[0] == "train: loading the labelled changes"
    fitting = text.index("train: fitting lightgbm on 3,000 changes")
    before, after = text[1:fitting], text[fitting + 1 :]
    assert before and all(
        re.fullmatch(r"train: loading the labelled changes, 0\.\d s", x) for x in before
    )
    assert after and all(
        re.fullmatch(r"train: fitting lightgbm on 3,000 changes, 0\.\d s", x) for x in after
    )
    # The heartbeat thread ends with the stage: nothing more is written afterwards.
    count = len(out.lines)
    time.sleep(0.2)
    assert len(out.lines) == count
    assert not any(t.name.startswith("teamlens-train") for t in threading.enumerate())


def test_stalled_counts_get_heartbeats_with_the_latest_counts() -> None:
    out = TimedLines()
    shown = RunProgress(out, interactive=False, heartbeat_seconds=0.05)
    with shown.stage("features", "changes") as stage:
        stage("repo", 0, 3400)
        time.sleep(0.3)
        stage("repo", 3400, 3400)
    text = [line for _, line in out.lines]
    assert re.fullmatch(r"features repo: 0/3,400 changes \(0%\), 0/s, 0\.\d s", text[0])
    assert text[-1].startswith("features repo: 3,400/3,400 changes (100%), ")


def test_a_terminal_gets_the_heartbeat_on_the_bar_and_a_newline_at_the_stage_end() -> None:
    out = io.StringIO()
    shown = RunProgress(out, interactive=True, heartbeat_seconds=0.05)
    with shown.stage("report", "tables", "building the team tables"):
        time.sleep(0.2)
    text = out.getvalue()
    assert text.startswith("\rreport: building the team tables")
    assert re.search(r"\rreport: building the team tables, 0\.\d s", text)
    assert text.endswith("\n") and text.count("\n") == 1


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
    assert b"\rmine r [##############################] 1/1 commits" in seen


# --------------------------------------------------------------------------- teamlens run


@pytest.fixture(scope="module")
def five_people(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five commits by five people, one of them a fix of an earlier line."""
    r = RepoBuilder(tmp_path_factory.mktemp("progress") / "small")
    r.write("src/app.py", "def main():\n    return 1\n")
    r.commit("Initial import", ALICE)
    r.write("src/util.py", "def helper():\n    return 2\n")
    r.commit("Add util", BOB)
    r.write("src/feature.go", "package main\n")
    r.commit("Add feature in Go", CAROL)
    r.write("src/app.py", "def main():\n    return 0\n")
    r.commit("Fix crash in main", ZOE)
    r.clock += 86400
    r.write("docs/guide.md", "how to\n")
    r.commit("Write a guide", ERIN)
    return r.path


def test_run_names_every_stage_and_is_never_silent(
    key_env: str, five_people: Path, tmp_path: Path
) -> None:
    config_path = tmp_path / "repos.yaml"
    doc = {"repositories": [{"name": "small", "path": str(five_people)}]}
    config_path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    out = TimedLines()
    # A heartbeat interval this short makes every step of this small run a slow one.
    started = time.monotonic()
    run(
        load_config(config_path),
        progress=RunProgress(out, interactive=False, heartbeat_seconds=0.05),
    )
    ended = time.monotonic()

    text = [line for _, line in out.lines]
    stages = [line.split(" ")[0].rstrip(":") for line in text]
    order = ["mine", "label", "features", "train", "summary", "report"]
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == order
    assert "mine small: 5/5 commits (100%), " in "\n".join(text)
    assert any(line.startswith("features small: 5/5 changes (100%), ") for line in text)
    assert "train: loading the labelled changes" in text
    assert any(line.startswith("report: building the team tables") for line in text)
    beats = [line for line in text if HEARTBEAT.search(line)]
    assert beats, text
    # No stretch without output: from the start, between lines, and to the end.
    times = [started, *(t for t, _ in out.lines), ended]
    assert max(b - a for a, b in itertools.pairwise(times)) < 5.0
    everything = out.getvalue()
    for person in EVERYONE:
        for word in (*person.name.split(), person.email, person.email.split("@")[0]):
            assert not re.search(rf"\b{re.escape(word)}\b", everything, re.IGNORECASE), word
