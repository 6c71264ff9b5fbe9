"""Attack 3 of the privacy boundary: linking the research export back to commits with git.

The attacker holds the export (changes.csv) and a clone of the repository. With
``git log --numstat -M`` alone they compute every commit's date and its la, ld and nf, and
look for the commits consistent with each exported row: a row consistent with one commit
names its author, and the label beside it becomes that person's. The test plays the
attacker with its own git log parser, independently of teamlens's code.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from teamlens.store import Store
from tests.privacy.company import PEOPLE, featured, teamlens_ok

K = 5


@dataclass(frozen=True)
class Commit:
    sha: str
    email: str
    time: int
    la: int
    ld: int
    nf: int
    folders: frozenset[str]  # the top-level folders touched

    @property
    def day(self) -> str:
        return dt.datetime.fromtimestamp(self.time, dt.UTC).strftime("%Y-%m-%d")

    @property
    def month(self) -> int:
        when = dt.datetime.fromtimestamp(self.time, dt.UTC)
        return when.year * 12 + when.month - 1


@dataclass(frozen=True)
class Exported:
    work: Path
    repo: Path
    out: Path
    stdout: str


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    work = tmp_path_factory.mktemp("company-export")
    config = featured(work)
    stdout = teamlens_ok(config, "export", "--out", str(work / "out"))
    return Exported(work, work / "repo", work / "out", stdout)


def git_history(repo: Path) -> list[Commit]:
    """What `git log --numstat -M` shows: every non-merge commit's date and sizes."""
    text = subprocess.run(
        ["git", "log", "--no-merges", "--numstat", "-M", "--format=@%H %ct %ae"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    commits: list[Commit] = []
    head: list[str] | None = None
    sizes: list[tuple[int, int]] = []
    folders: set[str] = set()

    def flush() -> None:
        if head is not None:
            la = sum(a for a, _ in sizes)
            ld = sum(d for _, d in sizes)
            when, nf = int(head[1]), len(sizes)
            commits.append(Commit(head[0], head[2], when, la, ld, nf, frozenset(folders)))

    for line in text.splitlines():
        if line.startswith("@"):
            flush()
            head, sizes, folders = line[1:].split(" "), [], set()
        elif line.strip():
            added, deleted, path = line.split("\t", 2)
            folders.add(path.split("/")[0] if "/" in path else "")
            sizes.append((0 if added == "-" else int(added), 0 if deleted == "-" else int(deleted)))
    flush()
    return commits


def _range(text: str) -> tuple[int, int]:
    low, _, high = text.partition("..")
    return int(low), int(high or low)


def _months(text: str) -> tuple[int, int]:
    def month(label: str) -> int:
        year, number = label.split("-")
        return int(year) * 12 + int(number) - 1

    low, _, high = text.partition("..")
    return month(low), month(high or low)


def candidates(row: pd.Series, history: list[Commit]) -> list[Commit]:
    """The commits whose month, la, ld and nf are consistent with an exported row."""
    first, last = _months(str(row["period"]))
    la, ld, nf = _range(str(row["la"])), _range(str(row["ld"])), _range(str(row["nf"]))
    return [
        c
        for c in history
        if first <= c.month <= last
        and la[0] <= c.la <= la[1]
        and ld[0] <= c.ld <= ld[1]
        and nf[0] <= c.nf <= nf[1]
    ]


def _table(exported: Exported) -> pd.DataFrame:
    return pd.read_csv(exported.out / "changes.csv", dtype=str, keep_default_na=False)


def test_no_exported_row_can_be_narrowed_to_fewer_than_k_commits_or_people(
    exported: Exported,
) -> None:
    history = git_history(exported.repo)
    table = _table(exported)
    assert len(table) >= 250  # most of the ~300 changes survive, unlinkable
    counts = [candidates(row, history) for _, row in table.iterrows()]
    assert min(len(c) for c in counts) >= K
    assert min(len({c.email for c in found}) for found in counts) >= K
    unique = sum(len(c) == 1 for c in counts)
    under_k = sum(len(c) < K for c in counts)
    # The datasheet reports the same measurement: nothing singled out.
    datasheet = (exported.out / "datasheet.md").read_text(encoding="utf-8")
    overall = re.search(
        r"written (\d+\.\d) % \((\d+) of (\d+)\); fewer than 5 candidates exact "
        r"(\d+\.\d) %, written (\d+\.\d) %",
        datasheet,
    )
    assert overall is not None, datasheet
    assert int(overall.group(2)) == unique == 0
    assert int(overall.group(3)) == len(table)
    assert float(overall.group(5)) == 100 * under_k / len(table) == 0.0
    assert "0.0 % as written" in exported.stdout


def test_every_class_holds_k_rows_that_agree_on_every_column_but_the_label(
    exported: Exported,
) -> None:
    table = _table(exported)
    columns = [c for c in table.columns if c != "label"]
    sizes = table.groupby(columns).size()
    assert sizes.min() >= K
    assert len(sizes) > 10  # not one class: the table still tells changes apart
    periods = table["period"].map(_months)
    assert max(last - first for first, last in periods) < 12  # time order is kept
    assert set(table["label"]) <= {"", "0", "1"} and "1" in set(table["label"])
    assert list(table.itertuples(index=False)) == sorted(table.itertuples(index=False))


def test_exact_values_would_have_named_most_authors(exported: Exported) -> None:
    """What exports wrote before (day-level dates, exact sizes): git narrows nearly every row
    to fewer than k commits, and half of them to exactly one."""
    history = git_history(exported.repo)
    keys = Counter((c.day, c.la, c.ld, c.nf, c.folders) for c in history)
    unique = sum(keys[(c.day, c.la, c.ld, c.nf, c.folders)] == 1 for c in history)
    under_k = sum(keys[(c.day, c.la, c.ld, c.nf, c.folders)] < K for c in history)
    assert unique / len(history) >= 0.45
    assert under_k / len(history) > 0.9
    # teamlens measured the same attack (with more of git's columns) at export time.
    datasheet = (exported.out / "datasheet.md").read_text(encoding="utf-8")
    measured = re.search(r"exact (\d+\.\d) % \((\d+) of (\d+)\)", datasheet)
    assert measured is not None, datasheet
    assert int(measured.group(3)) == len(history)
    assert int(measured.group(2)) >= unique


def test_no_name_email_pseudonym_or_commit_id_in_the_export(exported: Exported) -> None:
    store = Store(exported.work / ".teamlens")
    pseudonyms = {a for (a,) in store.query("SELECT DISTINCT author_id FROM commits").rows}
    shas = {s for (s,) in store.query("SELECT sha FROM commits").rows}
    assert len(pseudonyms) == len(PEOPLE) and all(
        re.fullmatch(r"[0-9a-f]{32}", p) for p in pseudonyms
    )
    text = "".join(p.read_text(encoding="utf-8") for p in exported.out.iterdir()) + exported.stdout
    lowered = text.lower()
    needles = [
        *(p.name.lower() for p in PEOPLE),
        *(p.email.lower() for p in PEOPLE),
        *(p.email.split("@")[0].lower() for p in PEOPLE),
        *pseudonyms,
        *shas,
        *(s[:7] for s in shas if re.search("[a-f]", s[:7])),
    ]
    assert [n for n in needles if n in lowered] == []
