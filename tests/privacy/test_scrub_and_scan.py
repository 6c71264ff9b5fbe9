"""Texts lose first names and logins; the audit stops finding names in markup (issue 13).

One world, built through the real CLI (subprocesses): the company repository of
tests/privacy/company.py plus three people whose names are traps (Judy Hopps, thanked by
first name in a commit subject; Max Width, whose name and local part are CSS's `max-width`;
Grid Template, `grid-template-columns`, local part `nav`), and a GitHub-compatible server
(tests/github_server/) whose pull request carries logins in its branch name, in URLs and
in prose. `teamlens mine`, `label`, `features`, `report` and `privacy` run on it; the
stored Parquet files are then read directly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from tests.conftest import TEST_KEY, teamlens_command
from tests.github_server import FakeGitHub, FileChange
from tests.gitrepo import Person, RepoBuilder
from tests.privacy.company import DAY, PEOPLE, START, build_company

#: One team owning everything: this file is about identities, not differencing.
TEAMS = {"everything": ["src/**", "docs/**", "examples/**"]}

JUDY = Person("Judy Hopps", "jhopps@company.test")
MAX = Person("Max Width", "max@company.test")
GRID = Person("Grid Template", "nav@company.test")

TOKEN = "gh-scrub-token"
TOKEN_ENV = "GH_TOKEN_FOR_SCRUB_TESTS"
GITHUB_REPO = "acme/company"
#: login -> profile name. "Reva" is known only from her GitHub profile; "lurker-li" is
#: only a requested reviewer, named in prose without an @.
USERS = {
    "jonozzz": "Jonas Ozolins",
    "Stranger6667": "Dmitry Stranger",
    "reva-k": "Reva Kowalski",
    "lurker-li": None,
}
FORBIDDEN = ("jonozzz", "stranger6667", "reva", "lurker-li", "judy", "jonas", "dmitry")


@dataclass(frozen=True)
class World:
    root: Path
    config: Path
    data_dir: Path
    out: Path
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*teamlens_command(), *args, "--config", str(self.config)],
            env=self.env,
            cwd=self.config.parent,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def strings(self, table: str) -> dict[str, list[str]]:
        """column -> every string stored in the table's Parquet parts (read directly)."""
        found: dict[str, list[str]] = {}
        parts = sorted((self.data_dir / "store" / "company").glob(f"{table}/**/*.parquet"))
        assert parts, f"no Parquet part for {table}"
        for part in parts:
            data = pq.read_table(part)
            for name in data.column_names:
                values = data.column(name).to_pylist()
                found.setdefault(name, []).extend(v for v in values if isinstance(v, str))
        return found


def _build_repository(path: Path) -> None:
    build_company(path)
    r = RepoBuilder(path)  # git init again: harmless, the history stays
    r.clock = START + 121 * DAY
    for week in range(6):
        for i, who in enumerate((JUDY, MAX, GRID)):
            r.clock += DAY
            r.write(f"src/tuning{i}.py", f"def tune(x):\n    return x + {week}\n")
            r.commit("Tune mod", who)
    r.clock += DAY
    r.write("docs/index.md", "# Docs\n\nreviewed\n")
    r.commit("Thanks Judy for the review", PEOPLE[1])


def _populate(server: FakeGitHub) -> None:
    for login, name in USERS.items():
        server.add_user(login, name=name)
    server.add_user("acme", type="Organization")
    server.add_repo(GITHUB_REPO)
    pull = server.add_pull(
        GITHUB_REPO,
        author="jonozzz",
        title="Merge develop into jonozzz/features",
        body=(
            "Ported from https://github.com/Stranger6667/pytest/pull/3 "
            "(thanks Judy and JONOZZZ); cc lurker-li"
        ),
        head_ref="jonozzz/features",
        created_at="2026-10-01T00:00:00Z",
        files=[FileChange("src/core.py", patch="@@ -1 +1 @@\n-a\n+b  # by Stranger6667")],
        requested_reviewers=["lurker-li"],
    )
    review = server.add_review(
        GITHUB_REPO,
        pull.number,
        user="reva-k",
        state="CHANGES_REQUESTED",
        submitted_at="2026-10-02T00:00:00Z",
        body="See https://example.test/jonozzz/features/blob/x, Reva will look again",
    )
    server.add_review_comment(
        GITHUB_REPO,
        pull.number,
        user="Stranger6667",
        body="Thanks Reva; jonozzz, rebase on Stranger6667/pytest please",
        created_at="2026-10-02T01:00:00Z",
        path="src/core.py",
        line=1,
        review_id=review.id,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("scrub-and-scan")
    _build_repository(root / "company")
    with FakeGitHub(token=TOKEN) as server:
        _populate(server)
        work = root / "work"
        work.mkdir()
        config = work / "repos.yaml"
        doc = {
            "repositories": [
                {"name": "company", "path": str(root / "company"), "github": GITHUB_REPO}
            ],
            "teams": TEAMS,
            "labels": {"maturity_days": 0},
            "github": {"url": server.url, "token_env": TOKEN_ENV},
            "privacy": {"retention_days": 36500},
        }
        config.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TEAMLENS_")}
        env.update(
            {"TEAMLENS_KEY": TEST_KEY, "XDG_CONFIG_HOME": str(root / "xdg"), TOKEN_ENV: TOKEN}
        )
        out = root / "published"
        w = World(root, config, work / ".teamlens", out, env)
        for step in (
            ("mine",),
            ("label",),
            ("features",),
            ("report", "--out", str(out / "report.html"), "--csv", str(out)),
        ):
            done = w.run(*step)
            assert done.returncode == 0, (step, done.stderr)
        yield w


# --- scrubbing ---------------------------------------------------------------------------


def test_a_first_name_alone_is_scrubbed_from_commit_subjects(world: World) -> None:
    subjects = world.strings("commits")["message_subject"]
    assert "Thanks <person> for the review" in subjects
    assert not [s for s in subjects if "judy" in s.lower()]
    assert "Tune mod" in subjects  # ordinary subjects are kept as they were


def test_github_texts_lose_logins_in_branch_names_urls_and_prose(world: World) -> None:
    pulls = world.strings("pull_requests")
    assert pulls["title"] == ["Merge develop into <person>/features"]
    assert pulls["head_ref"] == ["<person>/features"]
    [body] = world.strings("reviews")["body"]
    assert body == "See https://example.test/<person>/features/blob/x, <person> will look again"
    [comment] = world.strings("review_comments")["body"]
    assert comment == "Thanks <person>; <person>, rebase on <person>/pytest please"
    [patch] = world.strings("pull_request_files")["patch"]
    assert patch.endswith("+b  # by <person>")
    # Nothing of anyone is left in any string of any GitHub table.
    for table in ("pull_requests", "pull_request_files", "reviews", "review_comments"):
        for column, values in world.strings(table).items():
            for value in values:
                low = value.lower()
                assert not [f for f in FORBIDDEN if f in low], (table, column, value)
    # The organisation that owns the repository is not a person: its name stays in URLs.
    assert "acme" not in FORBIDDEN


# --- the audit and markup ----------------------------------------------------------------


def _privacy(world: World, output: Path) -> subprocess.CompletedProcess[str]:
    return world.run("privacy", "--output", str(output))


def _raw_identity_rows(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("| rule 1")]


def test_css_and_html_words_that_are_names_are_not_findings(world: World) -> None:
    html = (world.out / "report.html").read_text(encoding="utf-8")
    # The traps are there: the names are words of the page's CSS and markup.
    assert "max-width" in html and "grid-template-columns" in html and "<nav " in html
    done = _privacy(world, world.out)
    assert done.returncode == 0, done.stdout
    assert "No violation found" in done.stdout

    # The same page read as plain text (not markup) is full of those names: the check
    # above is not vacuous.
    control = world.root / "control"
    control.mkdir()
    (control / "page.txt").write_text("saved page:\n" + html, encoding="utf-8")
    done = _privacy(world, control)
    assert done.returncode == 1
    found = "\n".join(_raw_identity_rows(done.stdout))
    assert "page.txt" in found and "a contributor's name" in found
    assert "a contributor's e-mail local part" in found


def test_names_in_visible_text_and_csv_and_addresses_anywhere_are_found(
    world: World,
) -> None:
    planted = world.root / "planted"
    shutil.copytree(world.out, planted)
    page = planted / "report.html"
    html = page.read_text(encoding="utf-8")
    # In a CSS class, an id or a style: still markup, still no finding.
    html = html.replace("<main>", '<main class="max nav" id="grid-template" style="max-width:9em">')
    page.write_text(html, encoding="utf-8")
    assert _privacy(world, planted).returncode == 0

    # The real name in the text a reader sees (entities decoded), and in a CSV.
    html = html.replace("</h1>", "</h1><p>Curated by Max&#32;Width</p>", 1)
    page.write_text(html, encoding="utf-8")
    (planted / "people.csv").write_text("team,owner\ncore,Grid Template\n", encoding="utf-8")
    done = _privacy(world, planted)
    assert done.returncode == 1
    rows = _raw_identity_rows(done.stdout)
    assert any("report.html" in r and "a contributor's name" in r for r in rows), rows
    assert any("people.csv, line 2" in r and "a contributor's name" in r for r in rows), rows
    assert "Max Width" not in done.stdout and "Grid Template" not in done.stdout

    # An e-mail address hidden in an attribute is found too.
    page.write_text(
        html.replace("</h1>", '</h1><a href="mailto:nav@company.test" class="x">?</a>', 1),
        encoding="utf-8",
    )
    done = _privacy(world, planted)
    rows = _raw_identity_rows(done.stdout)
    assert any("report.html" in r and "a contributor's e-mail address" in r for r in rows), rows
    assert "nav@company.test" not in done.stdout


def test_names_in_an_svg_title_and_comment_are_found_not_in_code(world: World) -> None:
    planted = world.root / "svg"
    planted.mkdir()
    (planted / "chart.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><style>.max{max-width:1px}</style>'
        '<rect class="nav"/><title>Commits of Judy Hopps</title><!-- drawn for Max Width -->'
        "</svg>\n",
        encoding="utf-8",
    )
    (planted / "app.js").write_text(
        'const nav = document.querySelector("nav"); nav.style.maxWidth = "max-width";\n',
        encoding="utf-8",
    )
    done = _privacy(world, planted)
    assert done.returncode == 1
    rows = _raw_identity_rows(done.stdout)
    assert [r for r in rows if "chart.svg" in r and "a contributor's name" in r], rows
    assert not [r for r in rows if "app.js" in r], rows
    assert not [r for r in rows if "chart.svg" in r and "contributor's e-mail local" in r], rows
    # Judy Hopps in the title and Max Width in the comment: one finding each, by initials
    svg = "\n".join(r for r in rows if "chart.svg" in r)
    assert '"j*** h****": a contributor\'s name (1 text)' in svg, svg
    assert '"m** w****": a contributor\'s name (1 text)' in svg, svg
