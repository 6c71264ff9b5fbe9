# ruff: noqa: S608 - sending the attacks' SQL to `teamlens query` is the point of this file
"""`teamlens query` reads the published zone only (issue 13, attacks 1 and 2).

The company repository of tests/privacy/company.py is mined, labelled, featured and
reported through the real CLI; then the attacks are replayed through `teamlens query`
(real subprocesses), and the private store is read in-process to show what they would have
found.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml

from teamlens.aggregates import TEAM_PERIOD_FILE
from teamlens.errors import QueryError
from teamlens.store import PUBLISHED_RELATIONS, SCHEMAS, VIEWS, RepoState, Store
from tests.conftest import TEST_KEY, teamlens_command
from tests.privacy.company import TEAMS, build_company
from tests.reliability.test_fuzz import QueryStore, hostile_statements
from tests.test_store import _commits

#: Attack 1 of the issue: per-person bug-inducing rates.
ATTACK_1 = (
    "SELECT c.author_id, avg(ch.is_inducing::INT) FROM changes ch "
    "JOIN commits c USING (repo, sha) GROUP BY 1"
)
ROUTE = "researchers use `teamlens export` (k-anonymous) or `train`/`evaluate`"
PSEUDONYM = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class World:
    config: Path
    data_dir: Path
    env: dict[str, str]

    def query(self, sql: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*teamlens_command(), "query", sql, "--format", "json", "--config", str(self.config)],
            env=self.env,
            cwd=self.config.parent,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def rows(self, sql: str) -> list[dict[str, Any]]:
        result = self.query(sql)
        assert (result.returncode, result.stderr) == (0, ""), result.stderr
        rows: list[dict[str, Any]] = json.loads(result.stdout)
        return rows

    def refused(self, sql: str) -> str:
        """The one error line of a refused query."""
        result = self.query(sql)
        assert result.returncode == 1
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("teamlens: error: ")
        return lines[0]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("query-zone")
    company = build_company(root / "company")
    work = root / "work"
    work.mkdir()
    config = work / "repos.yaml"
    doc = {
        "repositories": [{"name": "company", "path": str(company.path)}],
        "teams": TEAMS,
        "labels": {"maturity_days": 0},
    }
    config.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEAMLENS_")}
    env.update({"TEAMLENS_KEY": TEST_KEY, "XDG_CONFIG_HOME": str(root / "xdg")})
    steps = [
        ("mine",),
        ("label",),
        ("features",),
        ("report", "--out", str(root / "report.html")),
    ]
    for step in steps:
        done = subprocess.run(
            [*teamlens_command(), *step, "--config", str(config)],
            env=env,
            cwd=work,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, (step, done.stderr)
    yield World(config, work / ".teamlens", env)


def _published_values(world: World) -> tuple[dict[str, list[str]], list[str]]:
    """Every published relation's columns, and every string value in them (lists flattened)."""
    columns: dict[str, list[str]] = {}
    values: list[str] = []
    for relation in PUBLISHED_RELATIONS:
        rows = world.rows(f"SELECT * FROM {relation}")
        columns[relation] = [r["column_name"] for r in world.rows(f"DESCRIBE {relation}")]
        for row in rows:
            for value in row.values():
                items = value if isinstance(value, list) else [value]
                values += [v for v in items if isinstance(v, str)]
    return columns, values


def test_attack_1_per_person_bug_rates_are_refused(world: World) -> None:
    # The private zone holds what the attack wants: one rate per person, twelve people.
    private = Store(world.data_dir).query(ATTACK_1).rows
    assert len(private) >= 10
    assert all(PSEUDONYM.fullmatch(author) for author, _ in private)

    line = world.refused(ATTACK_1)

    assert line == (
        "teamlens: error: 'changes' is in teamlens's private zone (change-level outcomes); "
        f"`teamlens query` reads the published zone only; {ROUTE}"
    )


@pytest.mark.parametrize(
    ("sql", "name", "why"),
    [
        ("SELECT reviewer_id, count(*) FROM reviews GROUP BY 1", "reviews", "person pseudonyms"),
        ("SELECT inducing_sha FROM szz_links", "szz_links", "change-level outcomes"),
        ("SELECT sha, is_inducing FROM change_labels", "change_labels", "change-level outcomes"),
        ("SELECT sha, la FROM change_features", "change_features", "change-level features"),
        ("SELECT * FROM query_table('szz_fixes')", "szz_fixes", "change-level outcomes"),
        ("SELECT * FROM _commits", "_commits", "internal tables"),
        ("SELECT author_id, count(*) FROM commits GROUP BY 1", "author_id", "person pseudonyms"),
        ("SELECT c.committer_id FROM commits_all c", "committer_id", "person pseudonyms"),
        ("SELECT message_subject FROM commits", "message_subject", "commit messages"),
    ],
)
def test_private_relations_and_columns_are_refused_by_name(
    world: World, sql: str, name: str, why: str
) -> None:
    line = world.refused(sql)

    assert line.startswith(f"teamlens: error: '{name}' is in teamlens's private zone (")
    assert why in line and ROUTE in line


@pytest.mark.parametrize("relation", sorted(set(VIEWS) | set(SCHEMAS)))
def test_every_other_store_relation_is_private(world: World, relation: str) -> None:
    """In-process, for speed: every view and stored table outside the published zone."""
    if relation in PUBLISHED_RELATIONS:
        assert Store(world.data_dir).query_published(f"SELECT count(*) FROM {relation}").rows
        return
    for name in (relation, f"_{relation}"):
        with pytest.raises(QueryError, match=f"^'{name}' is in teamlens's private zone"):
            Store(world.data_dir).query_published(f"SELECT * FROM {name}")


def test_the_published_zone_has_exactly_its_relations(world: World) -> None:
    rows = world.rows(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'main' ORDER BY table_name"
    )
    assert [r["table_name"] for r in rows] == sorted(PUBLISHED_RELATIONS)


def test_no_published_value_is_a_pseudonym_or_a_message(world: World) -> None:
    stored = Store(world.data_dir).read("commits").to_pydict()
    authors = set(stored["author_id"]) | {c for c in stored["committer_id"] if c}
    subjects = {s for s in stored["message_subject"] if s}
    assert len(authors) == 12 and len(subjects) >= 5  # the private zone has both

    columns, values = _published_values(world)

    assert len(values) > 1000  # shas, paths, refs, teams: the scan really read rows
    shaped = {m for v in values for m in PSEUDONYM.findall(v)}
    assert shaped  # 40-hex shas hold 32-hex runs: the pattern does match something
    assert not shaped & authors
    assert not set(values) & (authors | subjects)
    for relation, names in columns.items():
        assert names, relation
        assert not [n for n in names if n.endswith("_id")], relation
        assert not {"message_subject", "title", "body", "patch", "diff_hunk"} & set(names)
    assert "author_id" not in columns["commits"] and "is_fix" in columns["commits"]


def test_a_part_file_listed_in_the_manifest_cannot_be_read(world: World) -> None:
    store = Store(world.data_dir)
    manifest = store.manifest("company")
    part = str(store.root / "company" / manifest.parts["commits"][0])
    # The private connection (teamlens's own stages) can read it: the file is real.
    assert store.query(f"SELECT count(*) FROM read_parquet('{part}')").rows[0][0] > 0

    for sql in (
        f"SELECT author_id FROM read_parquet('{part}')",
        f"SELECT * FROM '{part}'",
        f"SELECT * FROM read_csv('{part}')",
        f"SELECT * FROM read_text('{part}')",
        f"SELECT * FROM read_blob('{part}')",
        f"SELECT * FROM parquet_metadata('{part}')",
        f"SELECT * FROM glob('{store.root}/*/*/*.parquet')",
        f"SELECT * FROM read_parquet('{world.data_dir / TEAM_PERIOD_FILE}')",
    ):
        line = world.refused(sql)
        assert "disabled by configuration" in line or "does not exist" in line, (sql, line)
        assert "author_id" not in line.replace(sql, "")


@pytest.mark.parametrize(
    "sql",
    [
        "ATTACH ':memory:' AS other",
        "COPY commits TO 'out.csv'",
        "SET enable_external_access = true",
        "SELECT 1; SELECT * FROM read_text('/etc/hostname')",
    ],
)
def test_statements_that_would_reach_files_are_refused(world: World, sql: str) -> None:
    line = world.refused(sql)

    assert "only a single SELECT" in line
    assert not (world.config.parent / "out.csv").exists()


def test_team_period_remains_queryable(world: World) -> None:
    stored = pq.read_table(world.data_dir / TEAM_PERIOD_FILE)
    assert stored.num_rows > 0

    rows = world.rows("SELECT team, period, suppressed, changes FROM team_period")

    assert len(rows) == stored.num_rows
    assert {"core", "docs"} <= {r["team"] for r in rows}
    assert any(not r["suppressed"] and r["changes"] for r in rows)


def test_git_facts_stay_queryable(world: World) -> None:
    rows = world.rows(
        "SELECT count(*) AS commits, count(*) FILTER (WHERE is_fix) AS fixes,"
        " (SELECT count(*) FROM file_changes) AS changes FROM commits"
    )
    stored = Store(world.data_dir).read("commits").to_pydict()

    assert rows == [
        {
            "commits": len(stored["sha"]),
            "fixes": sum(stored["is_fix"]),
            "changes": Store(world.data_dir).read("file_changes").num_rows,
        }
    ]


def test_the_fuzzers_hostile_statements_are_refused_on_the_published_zone(tmp_path: Path) -> None:
    """tests/reliability/test_fuzz.py's list, sent to the published connection."""
    store = Store(tmp_path / "data")
    with store.writer("r") as writer:
        writer.commit({"commits": _commits("a", "b", "c")}, RepoState())
    (tmp_path / "outside").mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("the pseudonymisation key, say\n", encoding="utf-8")
    foreign = tmp_path / "foreign.parquet"
    pq.write_table(_commits("from-elsewhere"), foreign)
    qs = QueryStore(store, tmp_path / "outside", secret, foreign)
    listed = str(store.root / "r" / store.manifest("r").parts["commits"][0])
    before = {p: p.read_bytes() for p in sorted(store.data_dir.rglob("*")) if p.is_file()}

    for sql in [*hostile_statements(qs), f"SELECT * FROM read_parquet('{listed}')"]:
        with pytest.raises(QueryError) as refused:
            store.query_published(sql)
        assert "\n" not in str(refused.value), sql
        assert "the pseudonymisation key" not in str(refused.value)

    assert {p: p.read_bytes() for p in sorted(store.data_dir.rglob("*")) if p.is_file()} == before
    assert list(qs.outside.iterdir()) == []
    assert store.query_published("SELECT count(*) FROM commits").rows == [(3,)]
