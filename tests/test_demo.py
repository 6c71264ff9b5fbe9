"""`teamlens demo --small` end to end: a populated report, a model folder, a review, and
no synthetic person's name, e-mail or login in anything it publishes."""

from __future__ import annotations

import csv
import datetime as dt
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from teamlens.cli import cli
from teamlens.demo.company import DemoSize, build_company
from teamlens.demo.gitwrite import write_repository
from teamlens.demo.history import DAY, ChangeKind, History
from teamlens.demo.run import MARKER, RISKY_BRANCH, end_of, prepare_folder

END = dt.date(2026, 11, 30)


@dataclass(frozen=True)
class DemoRun:
    folder: Path
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    folder = tmp_path_factory.mktemp("demo") / "out"
    # A fixed last day: the same history on every run of the test.
    result = CliRunner().invoke(
        cli,
        ["demo", "--dir", str(folder), "--small", "--end", END.isoformat()],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    return DemoRun(folder, result.stdout, result.stderr)


def _identities() -> list[str]:
    company = build_company(DemoSize.SMALL, random.Random(0))
    found = ["demo person", "demo.invalid", "demo-person"]
    for p in company.people:
        found += [p.name.lower(), p.email.lower(), p.login.lower(), p.email.split("@")[0]]
    return found


def _published(run: DemoRun) -> dict[str, str]:
    """Everything a person reads: command output, report, CSV, model folders, review."""
    texts = {"stdout": run.stdout, "stderr": run.stderr}
    data = run.folder / "data"
    for path in [*(data / "reports").rglob("*"), *(data / "models").rglob("*")]:
        if path.is_file():
            texts[str(path.relative_to(run.folder))] = path.read_bytes().decode("utf-8", "replace")
    texts["review.md"] = (run.folder / "review.md").read_text(encoding="utf-8")
    return texts


def test_last_line_is_the_report_and_it_shows_teams(demo_run: DemoRun) -> None:
    report = Path(demo_run.stdout.strip().splitlines()[-1])
    assert report == demo_run.folder.resolve() / "data" / "reports" / "report.html"
    assert report.is_file() and report.stat().st_size > 10_000
    with (report.parent / "team_period.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    teams = {"payments", "search", "web", "platform"}
    shown = {r["team"] for r in rows if r["suppressed"] == "no"}
    assert teams <= shown  # every team has windows with at least k people behind them
    html = report.read_text(encoding="utf-8")
    assert all(team in html for team in teams)


def test_a_model_is_trained_with_its_card(demo_run: DemoRun) -> None:
    models = [p for p in (demo_run.folder / "data" / "models").iterdir() if p.is_dir()]
    assert len(models) == 1
    card = (models[0] / "card.md").read_text(encoding="utf-8")
    assert card.startswith(f"# Model card: {models[0].name}")
    assert f"model card: {models[0] / 'card.md'}" in demo_run.stdout
    assert "ROC-AUC on the held-out window" in card


def test_the_risky_change_is_reviewed_with_reasons_and_suggestions(demo_run: DemoRun) -> None:
    review = (demo_run.folder / "review.md").read_text(encoding="utf-8")
    first = review.splitlines()[0]
    assert first.startswith(("**teamlens: high risk**", "**teamlens: medium risk**"))
    why = review.split("**Why**")[1].split("**Suggestions**")[0]
    assert why.count("\n- ") >= 1
    suggestions = review.split("**Suggestions**")[1]
    assert suggestions.count("\n  - ") >= 2  # rules fired, each naming code
    assert "payments/" in suggestions
    assert f"review of the planted risky change: {demo_run.folder / 'review.md'}" in (
        demo_run.stdout
    )


def test_szz_names_the_changes_that_planted_the_bugs(demo_run: DemoRun) -> None:
    """The demo's fixes let SZZ find the change that wrote the buggy line, as designed."""
    import pyarrow.parquet as pq

    rng = random.Random(0)  # the fixture's company and history, with its ground truth
    company = build_company(DemoSize.SMALL, rng)
    changes = History(company, rng, end_of(END)).build()
    shas = subprocess.run(
        ["git", "-C", str(demo_run.folder / "company"), "rev-list", "--reverse", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(shas) == len(changes)
    planter = {bug: shas[i] for i, c in enumerate(changes) for bug in c.planted}
    truth = {
        (shas[i], planter[c.fixes_bug]) for i, c in enumerate(changes) if c.fixes_bug is not None
    }
    links: set[tuple[str, str]] = set()
    for part in (demo_run.folder / "data").rglob("szz_links/*.parquet"):
        table = pq.read_table(part, columns=["fix_sha", "inducing_sha"])
        pairs = zip(table["fix_sha"].to_pylist(), table["inducing_sha"].to_pylist(), strict=True)
        links |= set(pairs)
    assert len(truth) >= 100
    assert len(truth & links) >= 0.9 * len(truth)  # recall
    assert len(truth & links) >= 0.9 * len(links)  # precision


def test_progress_and_pull_requests(demo_run: DemoRun) -> None:
    assert "demo: building the company" in demo_run.stderr
    for stage in ("mine", "label", "features"):
        assert stage in demo_run.stderr
    # The recorded pull requests and reviews went through the GitHub miner into the report.
    with (demo_run.folder / "data" / "reports" / "team_period.csv").open(encoding="utf-8") as f:
        coverage = [r["review_coverage"] for r in csv.DictReader(f)]
    assert any(c not in ("", "n/a") and float(c) > 0 for c in coverage)


def test_no_synthetic_identity_leaks(demo_run: DemoRun) -> None:
    texts = _published(demo_run)
    assert any(name.endswith("report.html") for name in texts)
    assert any(name.endswith("model.txt") for name in texts)
    leaks = [
        (name, needle)
        for name, text in texts.items()
        for needle in _identities()
        if needle in text.lower()
    ]
    assert leaks == []
    # ...while the raw history does hold them (so the check above can fail).
    log = subprocess.run(
        ["git", "-C", str(demo_run.folder / "company"), "log", "-1", "--format=%an <%ae>"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Demo Person" in log and "@demo.invalid" in log


def test_same_seed_same_history(tmp_path: Path) -> None:
    def head(seed: int, folder: Path) -> tuple[str, str]:
        rng = random.Random(seed)
        company = build_company(DemoSize.SMALL, rng)
        last = end_of(dt.date(2026, 6, 30))
        history = History(company, rng, last)
        changes = history.build()
        assert max(c.author_time for c in changes) < last + DAY // 2
        risky = history.risky_change(last + 8 * 3600)
        assert any(c.kind is ChangeKind.FIX for c in changes)
        shas = write_repository(folder, changes, {RISKY_BRANCH: risky})
        branch = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", RISKY_BRANCH],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return shas[-1], branch

    first, second, other = (
        head(3, tmp_path / "a"),
        head(3, tmp_path / "b"),
        head(4, tmp_path / "c"),
    )
    assert first == second
    assert other[0] != first[0]


def test_a_folder_it_did_not_make_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["demo", "--dir", str(tmp_path), "--small"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"teamlens: error: {tmp_path}: not empty and not made by `teamlens demo`; "
        "choose another --dir"
    ]
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine\n"


def test_a_folder_an_earlier_demo_made_is_replaced(tmp_path: Path) -> None:
    prepare_folder(tmp_path / "demo")
    (tmp_path / "demo" / "company").mkdir()
    (tmp_path / "demo" / "company" / "old.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "demo" / "review.md").write_text("old\n", encoding="utf-8")
    (tmp_path / "demo" / "notes.txt").write_text("kept\n", encoding="utf-8")
    prepare_folder(tmp_path / "demo")
    left = sorted(p.name for p in (tmp_path / "demo").iterdir())
    assert left == sorted([MARKER, "notes.txt"])  # only the demo's own files go


def test_the_replay_server_answers_as_github_does(tmp_path: Path) -> None:
    """github3.py (the GitHub miner's client) reads the recorded pull requests page by page."""
    import github3

    from teamlens.demo.recorded import record_pull_requests
    from teamlens.demo.replay import replay_server

    rng = random.Random(5)
    company = build_company(DemoSize.SMALL, rng)
    history = History(company, rng, end_of(dt.date(2026, 6, 30)))
    changes = history.build()
    shas = [f"{i:040x}" for i in range(len(changes))]
    with replay_server() as server:
        server.recording = record_pull_requests(company, changes, shas, rng, server.url)
        gh = github3.GitHubEnterprise(server.url, token="any")
        repo = gh.repository("demo-company", "shop")
        assert repo is not None and repo.full_name == "demo-company/shop"
        listing = repo.pull_requests(state="all", sort="updated", direction="desc")
        listing.params["per_page"] = 7
        numbers = [int(p.number) for p in listing]
        assert len(numbers) == len(server.recording.pulls) > 7  # every page was read
        assert len(set(numbers)) == len(numbers)
        pull = repo.pull_request(numbers[0])
        assert pull.merge_commit_sha in shas and pull.merged_at is not None
        assert [f.filename for f in pull.files()]
        reviews = list(pull.reviews())
        assert reviews and all(r.user.login.startswith("demo-person-") for r in reviews)
        assert gh.user("demo-person-01").email == "person01@demo.invalid"
        with pytest.raises(github3.exceptions.NotFoundError):
            gh.repository("demo-company", "nosuch")
