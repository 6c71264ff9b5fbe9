"""`teamlens privacy --output DIR` recomputes an export's linkability (rule 7).

The export (changes.csv beside its datasheet) is read back into ranges, its rows grouped
into classes, and each class measured against git's own history as the attacker would:
fewer than k rows, or fewer than k commits or people consistent with every range, is a
``linkable-export`` violation. The planted exports below are what a careless hand (or an
old teamlens) would write: exact values as ``git log --numstat`` shows them, or a class
trimmed below k rows.
"""

from __future__ import annotations

import math
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from teamlens.audit import LINKABLE_EXPORT, RULES
from teamlens.model.export import (
    ATTACKER_COLUMNS,
    BUCKETED_COLUMNS,
    EXPORT_COLUMNS,
    QUASI_IDENTIFIERS,
    codes,
    read_range,
    read_ranges,
    written,
)
from tests.privacy.company import PEOPLE, featured, run_teamlens, teamlens_ok
from tests.privacy.test_export_reidentification import Commit, git_history

K = 5
RULE_TEXT = RULES[LINKABLE_EXPORT]

# --- the parser: the inverse of `written` ---------------------------------------------


def _values(column: str, rng: random.Random, n: int) -> list[float]:
    """Raw values of `column` as git and the features hold them (NaN: missing)."""
    if column == "period":
        return [float(rng.randrange(1_262_304_000, 1_735_689_600)) for _ in range(n)]
    if column in ("entropy", "jit_entropy"):
        return [math.nan if rng.random() < 0.1 else rng.uniform(0, 6) for _ in range(n)]
    if column == "owner_share":
        return [rng.choice([math.nan, 0.0, 0.25, 1.0, rng.random()]) for _ in range(n)]
    if column in ("fix", "tests_touched"):
        return [float(rng.randrange(2)) for _ in range(n)]
    scale = rng.choice([3, 40, 3_000, 90_000_000])
    low = -scale if column == "max_complexity_increase" else 0
    return [float(rng.randint(low, scale)) for _ in range(n)]


def _expected(column: str, code: float, present: list[float], text: str) -> bool:
    """What the datasheet says a written cell means, on the value's code."""
    real = [c for c in present if c != -1.0]
    if column in ("entropy", "jit_entropy", "owner_share"):
        if code == -1.0:
            return -1.0 in present
        top = 1.0 if column == "owner_share" and text.endswith("..1") else max(real, default=-2)
        return bool(real) and min(real) <= code <= top
    return present[0] <= code <= present[-1]


@pytest.mark.parametrize(
    "column",
    ["period", "la", "lt", "max_complexity_increase", "age", "entropy", "owner_share", "fix"],
)
def test_read_range_is_the_inverse_of_written(column: str) -> None:
    """For random classes: a value is consistent with the written cell exactly when its
    code lies in the class's range (the comparison the export's own measurement makes)."""
    rng = random.Random(column)
    assert column == "period" or column in EXPORT_COLUMNS
    source = "time" if column == "period" else column
    for _ in range(200):
        probes = _values(column, rng, 60)
        klass = rng.sample(probes, rng.randint(1, 8))
        frame = pd.DataFrame({source: probes})
        coded = codes(frame, [column], {})[:, 0]
        present = sorted(set(codes(pd.DataFrame({source: klass}), [column], {})[:, 0].tolist()))
        text = written(column, present[0], present[-1], present, {})
        cell = read_range(column, text)
        held = cell.holds(probes)
        want = [_expected(column, c, present, text) for c in coded]
        assert held.tolist() == want, (text, present)


def test_read_range_reads_categories_and_exact_values() -> None:
    names = {"Python": 0, "Markdown": 1}
    text = written("language", -1.0, 1.0, [-1.0, 0.0], names)
    assert text == "Python|unknown"
    cell = read_range("language", text)
    assert cell.holds(["Python", None, "Markdown"]).tolist() == [True, True, False]
    # Exact values, as exports wrote them before ranges, stand for themselves.
    day = read_range("period", "2024-01-15")
    start = pd.Timestamp("2024-01-15", tz="UTC").timestamp()
    assert day.holds([start - 1, start, start + 86_399, start + 86_400]).tolist() == [
        False,
        True,
        True,
        False,
    ]
    assert read_range("la", "37").holds([32, 37, 38]).tolist() == [False, True, False]
    assert read_range("la", "32..63").holds([31, 32, 63, 64]).tolist() == [False, True, True, False]
    assert read_range("entropy", "1.25").holds([1.25, 1.3, math.nan]).tolist() == [
        True,
        False,
        False,
    ]
    assert read_range("la", "").holds([0, 10**9]).all()  # an empty cell says nothing
    row = dict.fromkeys(ATTACKER_COLUMNS, "")
    assert set(read_ranges(row)) == set(ATTACKER_COLUMNS)
    for column, text in [
        ("la", "many"),
        ("period", "2024-13"),
        ("entropy", "0..a"),
        ("ld", "9..3"),
    ]:
        with pytest.raises(ValueError):
            read_range(column, text)
    assert "la" in BUCKETED_COLUMNS


# --- the audit on a real export ---------------------------------------------------------


@dataclass(frozen=True)
class Exported:
    work: Path
    config: Path
    out: Path
    history: list[Commit]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    work = tmp_path_factory.mktemp("company-export-audit")
    config = featured(work)
    teamlens_ok(config, "export", "--out", str(work / "out"))
    return Exported(work, config, work / "out", git_history(work / "repo"))


def _copy(exported: Exported, tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    out = tmp_path / "export"
    shutil.copytree(exported.out, out)
    table = pd.read_csv(out / "changes.csv", dtype=str, keep_default_na=False)
    return out, table


def _write(out: Path, table: pd.DataFrame) -> None:
    (out / "changes.csv").write_text(table.to_csv(index=False, lineterminator="\n"), "utf-8")


def _findings(exported: Exported, out: Path) -> tuple[int, list[tuple[str, str]], str]:
    """(exit status, (where, found) of each linkable-export row, the whole report)."""
    result = run_teamlens(exported.config, "privacy", "--output", str(out))
    assert result.returncode in (0, 1), result.stderr
    rows = [
        (cells[1], cells[2])
        for line in result.stdout.splitlines()
        if line.startswith("| ") and (cells := [c.strip() for c in line.strip("|").split(" | ")])
        if cells[0] == RULE_TEXT.replace("|", "\\|")
    ]
    return result.returncode, rows, result.stdout


def _classes(table: pd.DataFrame) -> list[list[int]]:
    groups = table.groupby(list(QUASI_IDENTIFIERS), sort=False).indices
    return sorted((sorted(int(i) for i in rows) for rows in groups.values()), key=min)


def _unique_commit(history: list[Commit]) -> Commit:
    """A commit that its day, la, ld and nf single out in the whole history."""
    keys = [(c.day, c.la, c.ld, c.nf) for c in history]
    return next(c for c, key in zip(history, keys, strict=True) if keys.count(key) == 1)


def _broad(table: pd.DataFrame) -> dict[str, str]:
    """Ranges of the other columns git shows that every commit of the company lies in."""
    return {
        "ns": "0..1023",
        "nd": "0..1023",
        "entropy": "0..64",
        "fix": "0..1",
        "language": "|".join(sorted({n for t in table["language"] for n in t.split("|")})),
    }


def test_a_fresh_export_is_not_linkable(exported: Exported, tmp_path: Path) -> None:
    out, table = _copy(exported, tmp_path)
    status, rows, report = _findings(exported, out)
    assert rows == [], report
    assert status == 0, report  # nothing else in the company's store or export either
    assert "not in the store" not in report
    assert len(_classes(table)) > 10


def test_exact_values_in_a_whole_class_are_found(exported: Exported, tmp_path: Path) -> None:
    """A class keeps its k rows, but its cells now hold one commit's own date and sizes:
    git's history narrows it to that one commit, and the class's labels to its author."""
    out, table = _copy(exported, tmp_path)
    target = _unique_commit(exported.history)
    rows = _classes(table)[3]
    assert len(rows) >= K
    broad = _broad(table)
    planted = {"period": target.day, "la": str(target.la), "ld": str(target.ld)}
    for column, text in {**broad, **planted, "nf": str(target.nf)}.items():
        table.loc[rows, column] = text
    _write(out, table)
    status, found, report = _findings(exported, out)
    assert status == 1, report
    assert found == [
        (
            f"{out / 'changes.csv'}, line {rows[0] + 2} (the first of {len(rows)} rows with "
            "the same values)",
            f"a class of {len(rows)} rows that git's history narrows to 1 commit by 1 person "
            f"(k = {K})",
        )
    ], report
    # Never the commit or its author.
    lowered = report.lower()
    assert target.sha[:7] not in lowered and target.email.split("@")[0] not in lowered
    assert not any(p.name.split()[0].lower() in lowered for p in PEOPLE)


def _people_box(history: list[Commit]) -> tuple[list[Commit], dict[str, str]]:
    """Day-level and exact ranges (as an old or hand-edited export might write them) around
    k or more commits of one person that leave at least k commits, but of fewer than k
    people, consistent: (those commits, the cells)."""
    timeline = sorted(history, key=lambda c: c.time)
    for email in sorted({c.email for c in timeline}):
        own = [c for c in timeline if c.email == email]
        for start in range(len(own) - K + 1):
            some = own[start : start + K]
            cells = {"period": f"{some[0].day}..{some[-1].day}"}
            spans = {}
            for column in ("la", "ld", "nf"):
                values = [getattr(c, column) for c in some]
                spans[column] = (min(values), max(values))
                cells[column] = f"{min(values)}..{max(values)}"
            inside = [
                c
                for c in timeline
                if some[0].day <= c.day <= some[-1].day
                and all(lo <= getattr(c, col) <= hi for col, (lo, hi) in spans.items())
            ]
            if len(inside) >= K and len({c.email for c in inside}) < K:
                return inside, cells
    raise AssertionError("the company has no such commits")


def test_a_class_of_too_few_people_is_found(exported: Exported, tmp_path: Path) -> None:
    """k rows and k commits are not enough: the commits must be by k people, or the
    class's labels are pinned on fewer than k of them."""
    out, table = _copy(exported, tmp_path)
    commits, cells = _people_box(exported.history)
    people = len({c.email for c in commits})
    rows = _classes(table)[2]
    assert len(rows) >= K
    for column, text in {**_broad(table), **cells}.items():
        table.loc[rows, column] = text
    _write(out, table)
    status, found, report = _findings(exported, out)
    assert status == 1, report
    assert found == [
        (
            f"{out / 'changes.csv'}, line {rows[0] + 2} (the first of {len(rows)} rows with "
            "the same values)",
            f"a class of {len(rows)} rows that git's history narrows to {len(commits)} commits "
            f"by {people} people (k = {K})",
        )
    ], report


def test_one_row_with_exact_values_is_its_own_class(exported: Exported, tmp_path: Path) -> None:
    out, table = _copy(exported, tmp_path)
    target = _unique_commit(exported.history)
    rows = next(r for r in _classes(table) if len(r) > K)
    row = rows[1]
    table.loc[row, ["period", "la", "ld", "nf"]] = [
        target.day,
        str(target.la),
        str(target.ld),
        str(target.nf),
    ]
    _write(out, table)
    status, found, report = _findings(exported, out)
    assert status == 1, report
    assert len(found) == 1, report
    where, detail = found[0]
    assert where == f"{out / 'changes.csv'}, line {row + 2}"
    assert re.fullmatch(
        rf"a class of 1 row that git's history narrows to [01] commits? by [01] (person|people) "
        rf"\(k = {K}\)",
        detail,
    ), detail


def test_a_class_cut_below_k_rows_is_found(exported: Exported, tmp_path: Path) -> None:
    out, table = _copy(exported, tmp_path)
    rows = _classes(table)[5]
    keep = rows[: K - 1]
    table = table.drop(index=rows[K - 1 :]).reset_index(drop=True)
    _write(out, table)
    status, found, report = _findings(exported, out)
    assert status == 1, report
    assert len(found) == 1, report
    where, detail = found[0]
    assert where.startswith(f"{out / 'changes.csv'}, line {keep[0] + 2} (the first of {K - 1}")
    assert detail.startswith(f"a class of {K - 1} rows that git's history narrows to ")


def test_an_export_of_another_repository_is_listed_as_not_checked(
    exported: Exported, tmp_path: Path
) -> None:
    out, table = _copy(exported, tmp_path)
    rows = _classes(table)[0]
    table["repo"] = "elsewhere"
    table = table.drop(index=rows[1:])  # would be linkable, if it could be measured
    _write(out, table)
    status, found, report = _findings(exported, out)
    assert found == [], report
    assert status == 0, report
    assert re.search(
        r"changes\.csv: repository 'elsewhere' is not in the store, so the linkability of its "
        rf"{len(table)} rows \(rule 7\) is not checked",
        report,
    ), report


def test_a_csv_that_is_no_teamlens_export_is_only_scanned(
    exported: Exported, tmp_path: Path
) -> None:
    out, table = _copy(exported, tmp_path)
    table = table.iloc[: K - 1]  # one small class
    _write(out, table)
    (out / "datasheet.md").write_text("# Some other datasheet\n", encoding="utf-8")
    status, found, report = _findings(exported, out)
    assert (status, found) == (0, []), report
    # The same table with teamlens's datasheet is an export, and the class is found.
    shutil.copy(exported.out / "datasheet.md", out / "datasheet.md")
    status, found, report = _findings(exported, out)
    assert status == 1 and len(found) == 1, report
