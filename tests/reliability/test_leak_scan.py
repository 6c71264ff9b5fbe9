"""End-to-end privacy leak scan: every command, every file, every log, every write to GitHub.

A repository with seven people (distinctive names, e-mails and GitHub logins, a .mailmap
alias, a CODEOWNERS file naming people as well as teams) and a GitHub-compatible server
(tests/github_server/) whose pull requests, reviews and review comments mention people by
@login, by name and by e-mail. The real `teamlens` commands run as subprocesses, each with
its stdout and stderr in a log file: init, mine (git and GitHub), label, features, train,
report (HTML and CSV), export, review (md, json, sarif, and --post to the server), bot stats,
query, models and privacy. Then every file under the data folder, every output and every
log, and every request body teamlens sent to the server, is searched for each person's
name, name parts, e-mail, e-mail local part and its parts, and login, case-insensitively,
and for the plain MD5, SHA-1 and SHA-256 hex of them: in the raw bytes, in the decoded
text, and in every string of every Parquet file (pages may be compressed, so raw bytes
alone would miss them).

The scan is independent of `teamlens privacy` (``teamlens.audit``), which runs as one of the
commands: a blind spot of the audit's own scanner cannot hide a leak from both. Only the
audit's Parquet string reader (``_leaf_strings``) is shared.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import html
import io
import json
import lzma
import os
import re
import shutil
import subprocess
import time
import unicodedata
import urllib.parse
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from teamlens.audit import _leaf_strings
from teamlens.store import Store
from tests.bot.rules_support import every_rule_on
from tests.bot.test_review_github import _patch
from tests.conftest import TEST_KEY, teamlens_command
from tests.github_server import FakeGitHub, FileChange
from tests.gitrepo import Person, RepoBuilder
from tests.model.conftest import build_history


@dataclass(frozen=True)
class Contributor:
    person: Person
    login: str


ZEBULON = Contributor(
    Person("Zebulon Quillfeather", "Zebulon.Quillfeather@quillworks.test", "+0100"), "zquill-gh"
)
MARISOL = Contributor(
    Person("Marisol Thistlewood", "marisol.thistlewood@acme-mail.test", "-0500"), "mthistlewood"
)
OLUWASEUN = Contributor(
    Person("Oluwaseun Brackenridge", "seun.brackenridge@acme-mail.test", "+0100"), "seunbrack"
)
IGNATIUS = Contributor(
    Person("Ignatius Wobblethorpe", "iggy.wobblethorpe@iggymail.test", "+0000"), "wobblethorpe-i"
)
HENRIETTA = Contributor(
    Person("Henrietta Fizzlewick", "henrietta.fizzlewick@fizzco.test", "+0200"), "hfizzlewick"
)
SOREN = Contributor(
    Person("Søren Kjærgaard", "soren.kjaergaard@nordmail.test", "+0100"), "skjaergaard"
)
XANTHIPPE = Contributor(
    Person("Xanthippe Grumbleweed", "xanthippe.g@grumbleco.test", "+0300"), "xgrumbleweed"
)
#: On GitHub only: never in the git history, so only her profile tells her name.
PHILIPPA = Contributor(
    Person("Philippa Augustine-Marchbanks", "philippa.am@qa-house.test"), "pmarchbanks"
)
#: Zebulon's old identity; .mailmap maps it to ZEBULON.
ZEBULON_OLD = Person("Z. Quillfeather", "zquillfeather1999@oldmail.test", "+0100")

PEOPLE = (ZEBULON, MARISOL, OLUWASEUN, IGNATIUS, HENRIETTA, SOREN, XANTHIPPE, PHILIPPA)
#: Who works on src/core and src/web (six people); the tiny team has two.
BIG_TEAMS = (ZEBULON, MARISOL, OLUWASEUN, IGNATIUS, HENRIETTA, SOREN)
TINY_TEAM = (XANTHIPPE, SOREN)
ORG = "acme-widgets"
GITHUB_REPO = f"{ORG}/widgets"
TOKEN = "leak-scan-token"
TOKEN_ENV = "LEAK_SCAN_GH_TOKEN"
BOT_LOGIN = "teamlens-review-bot"
TINY = f"{ORG}/tiny"  # the team's name: its CODEOWNERS handle without the @
CODEOWNERS = f"""\
# teams own code; people named here must be ignored
/src/core/  @{ORG}/core  @{MARISOL.login}
/src/web/   @{ORG}/web   {HENRIETTA.person.email}
/src/tiny/  @{TINY}
/docs/      @{ZEBULON.login} {IGNATIUS.person.email}
"""
MAILMAP = (
    f"{ZEBULON.person.name} <{ZEBULON.person.email}> {ZEBULON_OLD.name} <{ZEBULON_OLD.email}>\n"
)
GADGET = "def gadget(n):\n    return n + {n}\n"
RISKY = (
    "def classify(a, b, c, d=0):\n"
    + "".join(f"    if a == {i} and b > {i}:\n        return {i}\n" for i in range(8))
    + "    while c > 0:\n        c -= 1\n        if c == 7:\n            break\n"
    "    return -1\n"
)
PATCH = "@@ -1,3 +1,4 @@\n def compute():\n-    x0 = 0\n+    x0 = 1\n+    x1 = 2\n     x2 = 0"


# --- the world: repository, GitHub, configuration ------------------------------------------


@dataclass(frozen=True)
class Shas:
    merge: str  # "Merge pull request #1 from zquill-gh/fix-parser"
    review_base: str  # main, where the reviewed branch starts
    review_head: str  # the reviewed branch (pull request #3)


def _build_repository(path: Path) -> tuple[RepoBuilder, Shas]:
    """About 300 changes by six people (planted defects and their fixes, so that training
    runs), then a .mailmap alias, CODEOWNERS, a two-person team, a GitHub-style merge and
    commit subjects that name people, and a branch to review."""
    repo = build_history(path, changes=280, seed=11, authors=[c.person for c in BIG_TEAMS])
    repo.write(".mailmap", MAILMAP)
    repo.write(".github/CODEOWNERS", CODEOWNERS)
    repo.write("docs/guide.md", "# Guide\n")
    repo.commit("Add mailmap and code owners", ZEBULON.person)
    repo.write("src/core/m1.py", repo.git("show", "HEAD:src/core/m1.py") + "# tidied\n")
    repo.commit("Tidy m1 (old address)", ZEBULON_OLD)
    for n, who in enumerate([*TINY_TEAM, *TINY_TEAM]):
        repo.write("src/tiny/gadget.py", GADGET.format(n=n))
        repo.commit(f"Tune gadget, step {n}", who.person)
    repo.git("checkout", "-q", "-b", f"{ZEBULON.login}/fix-parser")
    repo.write("src/core/m0.py", repo.git("show", "HEAD:src/core/m0.py") + "# parser fix\n")
    repo.commit(
        f"Fix parser crash reported by {HENRIETTA.person.name} (thanks @{HENRIETTA.login})",
        ZEBULON.person,
    )
    repo.git("checkout", "-q", "main")
    repo.clock += 3600
    repo.git(
        "merge", "-q", "--no-ff", "-m",
        f"Merge pull request #1 from {ZEBULON.login}/fix-parser\n\nFix parser crash",
        f"{ZEBULON.login}/fix-parser", person=MARISOL.person,
    )  # fmt: skip
    merge = repo.head()
    repo.write("src/web/m3.py", repo.git("show", "HEAD:src/web/m3.py") + "# reverted\n")
    repo.commit(
        f"Revert change by {IGNATIUS.person.email} ({IGNATIUS.person.name}); "
        f"co-authored with {SOREN.person.name.upper()}",
        OLUWASEUN.person,
    )
    repo.write("src/core/classify.py", "def classify(a, b, c):\n    return a\n")
    base = repo.commit("Add a classifier stub", HENRIETTA.person)
    repo.git("checkout", "-q", "-b", "risky-classifier")
    repo.write("src/core/classify.py", RISKY)
    head = repo.commit("Flesh out the classifier", OLUWASEUN.person)
    repo.git("checkout", "-q", "main")
    return repo, Shas(merge, base, head)


def _populate_github(server: FakeGitHub, repo: RepoBuilder, shas: Shas) -> int:
    """Users with names and e-mails, and three pull requests whose texts mention people by
    @login, name and e-mail; returns the number of the pull request to review."""
    server.add_user(ORG, type="Organization")
    for c in PEOPLE:
        server.add_user(c.login, name=c.person.name, email=c.person.email)
    server.add_repo(GITHUB_REPO, members=[c.login for c in PEOPLE])
    fork = server.add_repo(f"{ZEBULON.login}/widgets")
    first = server.add_pull(
        GITHUB_REPO,
        author=ZEBULON.login,
        title=f"Fix parser crash (thanks @{HENRIETTA.login} and {HENRIETTA.person.name})",
        body=f"Reported by {MARISOL.person.name} <{MARISOL.person.email}>; ping {OLUWASEUN.login}",
        created_at="2026-11-20T09:00:00Z",
        head_ref="fix-parser",
        fork=fork.full_name,
        files=[FileChange("src/core/m0.py", patch=PATCH)],
    )
    review = server.add_review(
        GITHUB_REPO,
        first.number,
        user=MARISOL.login,
        state="APPROVED",
        submitted_at="2026-11-20T10:00:00Z",
        body=f"Looks good, @{ZEBULON.login}. {IGNATIUS.person.name} should double-check "
        f"({IGNATIUS.person.email}).",
    )
    thread = server.add_review_comment(
        GITHUB_REPO,
        first.number,
        user=OLUWASEUN.login,
        body=f"Why this value? {XANTHIPPE.person.name} changed it last; cc @{SOREN.login} "
        f"and @{IGNATIUS.login}, or mail {SOREN.person.email}",
        created_at="2026-11-20T11:00:00Z",
        path="src/core/m0.py",
        line=2,
        review_id=review.id,
    )
    server.add_review_comment(
        GITHUB_REPO,
        first.number,
        user=ZEBULON.login,
        body=f"Fixed, thanks {OLUWASEUN.person.name.split()[0]} and {MARISOL.login}",
        created_at="2026-11-20T12:00:00Z",
        in_reply_to=thread.id,
    )
    server.close_pull(
        GITHUB_REPO,
        first.number,
        at="2026-11-20T13:00:00Z",
        merged=True,
        merged_by=MARISOL.login,
    )
    server.update_pull(GITHUB_REPO, first.number, merge_commit_sha=shas.merge)
    second = server.add_pull(
        GITHUB_REPO,
        author=SOREN.login,
        title=f"{SOREN.person.name}: gadget tweaks for {XANTHIPPE.login}",
        created_at="2026-11-21T09:00:00Z",
        files=[FileChange("src/tiny/gadget.py", patch="@@ -1 +1 @@\n-x = 1\n+x = 2")],
    )
    server.add_review(
        GITHUB_REPO,
        second.number,
        user=XANTHIPPE.login,
        state="COMMENTED",
        submitted_at="2026-11-21T10:00:00Z",
        body=f"Godt arbejde, {SOREN.person.name.split()[0]}! Ask {ZEBULON_OLD.email} too.",
    )
    server.add_review(
        GITHUB_REPO,
        second.number,
        user=PHILIPPA.login,
        state="APPROVED",
        submitted_at="2026-11-21T11:00:00Z",
        body=f"QA sign-off: {PHILIPPA.person.name} ({PHILIPPA.login}).",
    )
    reviewed = server.add_pull(
        GITHUB_REPO,
        author=OLUWASEUN.login,
        title=f"Add a classifier (pairing with {HENRIETTA.login})",
        body=f"Co-authored-by: {HENRIETTA.person.name} <{HENRIETTA.person.email}>",
        created_at="2026-11-22T09:00:00Z",
        base_sha=shas.review_base,
        head_sha=shas.review_head,
        head_ref="risky-classifier",
        files=_patch(repo, shas.review_base, shas.review_head),
    )
    server.add_review(
        GITHUB_REPO,
        reviewed.number,
        user=HENRIETTA.login,
        state="COMMENTED",
        submitted_at="2026-11-22T10:00:00Z",
        body=f"Paired on this with {OLUWASEUN.login}; {ZEBULON.person.name} knows the parser.",
    )
    return reviewed.number


# --- running the commands -------------------------------------------------------------------


@dataclass(frozen=True)
class Ran:
    name: str
    returncode: int
    stdout: Path
    stderr: Path
    seconds: float = 0.0

    @property
    def out(self) -> str:
        return self.stdout.read_text(encoding="utf-8", errors="replace")

    @property
    def err(self) -> str:
        return self.stderr.read_text(encoding="utf-8", errors="replace")


@dataclass
class World:
    root: Path
    work: Path  # repos.yaml
    repo: Path
    data_dir: Path
    outputs: Path  # report, CSV, export, init's repos.yaml
    logs: Path  # stdout and stderr of every command, and what GitHub received
    github_writes: list[dict[str, Any]] = field(default_factory=list)
    ran: dict[str, Ran] = field(default_factory=dict)

    def scan_roots(self) -> list[Path]:
        """Everything teamlens wrote: repos.yaml's folder (the data folder, and clones_dir
        with its commit-graphs), the outputs, and the logs."""
        return [self.work, self.outputs, self.logs]


def _environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEAMLENS_")}
    env.update({"TEAMLENS_KEY": TEST_KEY, "XDG_CONFIG_HOME": str(root / "xdg"), TOKEN_ENV: TOKEN})
    return env


def _runner(world: World, env: dict[str, str]) -> Any:
    def run(name: str, *args: str, cwd: Path | None = None) -> Ran:
        ran = Ran(name, -1, world.logs / f"{name}.stdout", world.logs / f"{name}.stderr")
        start = time.perf_counter()
        with ran.stdout.open("wb") as out, ran.stderr.open("wb") as err:
            proc = subprocess.run(
                [*teamlens_command(), *args],
                cwd=cwd or world.work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                timeout=600,
                check=False,
            )
        seconds = time.perf_counter() - start
        world.ran[name] = ran = Ran(name, proc.returncode, ran.stdout, ran.stderr, seconds)
        return ran

    return run


def _run_everything(world: World, server: FakeGitHub, pull: int) -> None:
    run = _runner(world, _environment(world.root))
    reports = world.outputs / "report"
    run("init", "init", cwd=world.repo)
    shutil.move(world.repo / "repos.yaml", world.outputs / "init-repos.yaml")
    for step in ("mine", "label", "features", "train"):
        run(step, step)
    # Both periods write aggregates/team_period.parquet: the weekly one, last, is audited.
    run("report-month", "report", "--period", "month", "--out", str(reports / "month.html"))
    review = ("review", "--base", "main", "--head", "risky-classifier")
    # Everything `teamlens query` publishes (the free texts are private: read in-process).
    published = (
        "SELECT to_json(c) AS row FROM commits_all c UNION ALL SELECT to_json(f) FROM"
        " file_changes_all f UNION ALL SELECT to_json(l) FROM lost_commit_events l"
        " UNION ALL SELECT to_json(t) FROM team_period t"
    )
    jobs: list[tuple[str, tuple[str, ...]]] = [
        ("report", ("report", "--out", str(reports / "report.html"), "--csv", str(reports))),
        ("export", ("export", "--out", str(world.outputs / "export"))),
        ("review-md", (*review, "--format", "md")),
        ("review-json", (*review, "--format", "json")),
        ("review-sarif", (*review, "--format", "sarif")),
        ("models", ("models",)),
        ("query-published", ("query", published, "--format", "json")),
        ("query-teams", ("query", "SELECT team, count(*) FROM team_period GROUP BY ALL")),
    ]
    with ThreadPoolExecutor(max_workers=3) as pool:
        posted = pool.submit(
            run, "review-post", "review", "--github", f"{GITHUB_REPO}#{pull}", "--post"
        )
        list(pool.map(lambda job: run(job[0], *job[1]), jobs))
        posted.result()
    for comment in server.review_comments(GITHUB_REPO, pull):  # someone rates the bot
        if comment.user == BOT_LOGIN:
            server.add_reaction("review_comment", comment.id, user=HENRIETTA.login, content="-1")
    run("bot-stats", "bot", "stats")
    run("privacy", "privacy", "--output", str(world.outputs))
    world.github_writes = [
        {"method": r.method, "path": r.path, "status": r.status, "body": r.body}
        for r in server.requests
        if r.method != "GET" and r.method != "HEAD"
    ]
    (world.logs / "github-writes.json").write_text(
        json.dumps(world.github_writes, ensure_ascii=False, indent=1), encoding="utf-8"
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Everything built, mined and run once; the server stays up for the module."""
    root = tmp_path_factory.mktemp("leakscan")
    repo, shas = _build_repository(root / "widgets")
    work = root / "work"
    world = World(root, work, repo.path, work / ".teamlens", root / "outputs", root / "logs")
    for folder in (work, world.outputs, world.logs):
        folder.mkdir()
    with FakeGitHub(token=TOKEN, login=BOT_LOGIN, max_per_page=2) as server:
        pull = _populate_github(server, repo, shas)
        doc = {
            "repositories": [{"name": "widgets", "path": str(repo.path), "github": GITHUB_REPO}],
            "teams": {"codeowners": True},
            "github": {"url": server.url, "token_env": TOKEN_ENV},
            "labels": {"maturity_days": 1},
            # every rule on (most are off by default): their messages are scanned too
            "review": every_rule_on({"quiet": False}),
        }
        (work / "repos.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        _run_everything(world, server, pull)
        assert not server.errors
        yield world


# --- the scanner ------------------------------------------------------------------------------

_HASHES = ("md5", "sha1", "sha256")
_HEX_PREFIX = 16  # a digest, or any truncation of it down to 16 hex characters
_COMPRESSED = {b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", b"BZh": "bz2", b"\xfd7zXZ": "xz"}
_ZSTD = b"\x28\xb5\x2f\xfd"


@dataclass(frozen=True)
class Needle:
    text: str  # case-folded
    what: str


def _spellings(text: str) -> set[str]:
    """The text as it may be written: case-folded, NFC and NFD, JSON \\u, HTML &#..;, URL %."""
    forms = {unicodedata.normalize(f, text) for f in ("NFC", "NFD")}
    out = set()
    for form in forms:
        out |= {
            form,
            json.dumps(form)[1:-1],
            form.encode("ascii", "xmlcharrefreplace").decode(),
            html.escape(form),
            urllib.parse.quote(form),
            urllib.parse.quote_plus(form),
        }
    return {s.casefold() for s in out}


def plain_hex(algo: str, text: str) -> str:
    return hashlib.new(algo, text.encode("utf-8")).hexdigest()


def needles(people: tuple[Contributor, ...], aliases: tuple[Person, ...] = ()) -> list[Needle]:
    """What would identify each person: names and their parts, e-mails and their local parts
    and parts, logins, and the plain hashes of all of those (and of ``github:<login>``)."""
    found: dict[str, str] = {}
    identities = [(c.person, c.login) for c in people] + [(p, None) for p in aliases]
    for person, login in identities:
        email = person.email
        local = email.split("@")[0]
        plain = {
            "name": person.name,
            "e-mail": email,
            "e-mail local part": local,
            **({"login": login} if login else {}),
        }
        for what, text in plain.items():
            for spelling in _spellings(text):
                found.setdefault(spelling, what)
        hashed = {person.name, person.name.lower(), email, email.lower(), local, local.lower()}
        if login:
            hashed |= {login, login.lower(), f"github:{login}", f"github:{login.lower()}"}
        for text in hashed:
            for algo in _HASHES:
                digest = plain_hex(algo, text)[:_HEX_PREFIX]
                found.setdefault(digest, f"plain {algo} of a name, e-mail or login")
    return [Needle(text, what) for text, what in sorted(found.items())]


@dataclass
class ScanResult:
    files: int = 0
    bytes: int = 0
    parquet_files: int = 0
    parquet_strings: int = 0
    decompressed: int = 0
    needles: int = 0
    leaks: list[str] = field(default_factory=list)


def _parquet_strings(path: Path) -> list[str]:
    """Every string in every column (lists, structs, dictionaries), decoded from the pages."""
    table = pq.read_table(path)
    found = [*table.column_names]
    for column in table.columns:
        for chunk in column.chunks:
            found += _leaf_strings(chunk)
    return found


def _expand(data: bytes) -> list[bytes]:
    """The contents of a gzip, bz2, xz or zip file; nothing for other data."""
    kind = next((k for magic, k in _COMPRESSED.items() if data.startswith(magic)), None)
    if kind == "gzip":
        return [gzip.decompress(data)]
    if kind == "bz2":
        return [bz2.decompress(data)]
    if kind == "xz":
        return [lzma.decompress(data)]
    if kind == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [archive.read(n) for n in archive.namelist()]
    return []


def _search(data: bytes, place: str, found: list[Needle], result: ScanResult) -> None:
    raw = data.lower()
    text = data.decode("utf-8", "replace").casefold()
    for needle in found:
        if needle.text.encode("utf-8") in raw or needle.text in text:
            result.leaks.append(f"{place}: {needle.what} {needle.text!r}")


def scan(roots: list[Path], found: list[Needle]) -> ScanResult:
    """Search every file under `roots`: raw bytes, decoded text, decoded Parquet strings,
    and the contents of compressed files. Zstandard files cannot be opened here: a leak."""
    result = ScanResult(needles=len(found))
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            data = path.read_bytes()
            result.files += 1
            result.bytes += len(data)
            _search(data, str(path), found, result)
            if data.startswith(b"PAR1"):
                strings = _parquet_strings(path)
                result.parquet_files += 1
                result.parquet_strings += len(strings)
                _search("\n".join(strings).encode("utf-8"), f"{path} (decoded)", found, result)
            elif data.startswith(_ZSTD):
                result.leaks.append(f"{path}: zstd-compressed, cannot be scanned")
            for i, inner in enumerate(_expand(data)):
                result.decompressed += 1
                _search(inner, f"{path} (member {i})", found, result)
    return result


ALL_NEEDLES = needles(PEOPLE, (ZEBULON_OLD,))


# --- tests ---------------------------------------------------------------------------------


def test_every_command_succeeded(world: World) -> None:
    failed = {n: r.err[-2000:] for n, r in world.ran.items() if r.returncode != 0}
    assert failed == {}
    assert len(world.ran) == 17


def test_the_outputs_hold_the_expected_artefacts(world: World) -> None:
    store = Store(world.data_dir)
    counts = {
        t: store.query(f"SELECT count(*) FROM {t}").rows[0][0]  # noqa: S608
        for t in ("commits", "change_features", "change_labels", "pull_requests", "reviews")
    }
    assert counts["commits"] > 280 and counts["change_features"] > 280
    assert counts["pull_requests"] == 3 and counts["reviews"] >= 5
    # The texts that named people were stored, scrubbed: the scan really read them.
    texts = [
        str(v)
        for sql in (
            "SELECT body FROM review_comments",
            "SELECT body FROM reviews",
            "SELECT title FROM pull_requests",
            "SELECT message_subject FROM commits",
        )
        for (v,) in store.query(sql).rows
    ]
    assert sum("<person>" in t for t in texts) >= 10
    assert "Merge pull request #1 from <person>/fix-parser" in texts
    assert (world.data_dir / "aggregates" / "team_period.parquet").stat().st_size > 0
    assert [p for p in (world.data_dir / "models").iterdir() if (p / "card.md").exists()]
    # The trained model is either made current or stays behind a better one on the
    # same test window (the shipped default model can win): both are named.
    train_out = world.ran["train"].out
    assert "written to" in train_out and "current model:" in train_out, train_out
    reports = world.outputs / "report"
    assert {"report.html", "month.html", "team_period.csv", "latest.csv"} <= {
        p.name for p in reports.iterdir()
    }
    export = world.outputs / "export"
    assert (export / "datasheet.md").stat().st_size > 0
    assert len((export / "changes.csv").read_text().splitlines()) > 200
    assert (world.outputs / "init-repos.yaml").stat().st_size > 0
    assert "untested" in world.ran["review-md"].out
    assert json.loads(world.ran["review-json"].out)["suggestions"]
    assert json.loads(world.ran["review-sarif"].out)["runs"][0]["results"]
    published = [json.loads(r["row"]) for r in json.loads(world.ran["query-published"].out)]
    assert sum("sha" in r for r in published) > 280 and any("team" in r for r in published)
    assert "core" in world.ran["query-teams"].out
    assert "No violation found" in world.ran["privacy"].out
    assert world.ran["models"].out.strip() and world.ran["bot-stats"].out.strip()
    # What teamlens sent to GitHub: the summary comment and the commit status.
    sent = [(w["method"], w["path"].split("/")[-2]) for w in world.github_writes]
    assert ("POST", "3") in sent and any(p == "statuses" for _, p in sent)
    assert all(w["status"] in (200, 201) for w in world.github_writes)


def test_no_identity_in_any_file_log_or_github_write(world: World) -> None:
    result = scan(world.scan_roots(), ALL_NEEDLES)
    (world.root / "scan.json").write_text(json.dumps(result.__dict__, indent=1))
    assert result.files > 60 and result.parquet_files > 15 and result.parquet_strings > 2000
    assert result.leaks == []


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("mail.txt", f"contact {ZEBULON.person.email.upper()}".encode()),
        ("login.log", f"by {PHILIPPA.login}".encode()),
        ("name.json", json.dumps({"who": SOREN.person.name}).encode()),  # S\u00f8ren
        (
            "name.html",
            b"<td>" + SOREN.person.name.encode("ascii", "xmlcharrefreplace") + b"</td>",
        ),
        ("hash.txt", plain_hex("sha256", f"github:{MARISOL.login}")[:32].encode()),
        (
            "hash.bin",
            b"\0\1" + plain_hex(_HASHES[0], XANTHIPPE.person.email).upper().encode(),
        ),
        ("alias.gz", gzip.compress(f"old address {ZEBULON_OLD.email}".encode())),
    ],
)
def test_the_scan_finds_a_planted_leak(name: str, content: bytes, tmp_path: Path) -> None:
    (tmp_path / name).write_bytes(content)
    (tmp_path / "clean.txt").write_text("nothing about anyone here")
    leaks = scan([tmp_path], ALL_NEEDLES).leaks
    assert leaks and all(leak.startswith(str(tmp_path / name)) for leak in leaks)


def test_the_scan_finds_a_name_in_a_compressed_parquet_page(tmp_path: Path) -> None:
    path = tmp_path / "planted.parquet"
    table = pa.table({"subject": [f"thanks {HENRIETTA.person.name}"] + ["filler"] * 1000})
    pq.write_table(table, path, compression="gzip", use_dictionary=False, write_statistics=False)
    assert HENRIETTA.person.name.encode() not in path.read_bytes()  # raw bytes alone miss it
    leaks = scan([tmp_path], ALL_NEEDLES).leaks
    assert leaks == [f"{path} (decoded): name {HENRIETTA.person.name.casefold()!r}"]


def test_the_scan_finds_a_leak_planted_in_a_copy_of_the_outputs(
    world: World, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(world.data_dir, copy / "data")
    shutil.copytree(world.outputs, copy / "outputs")
    planted = copy / "outputs" / "report" / "notes.txt"
    planted.write_text(f"ask {IGNATIUS.person.email}\n")
    leaks = scan([copy], ALL_NEEDLES).leaks
    assert leaks and {leak.split(": ")[0] for leak in leaks} == {str(planted)}


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_a_team_of_two_is_in_no_figure(world: World) -> None:
    from teamlens.aggregates import FIGURES

    # The tiny team really has two people, the big ones five or more: not vacuous.
    store = Store(world.data_dir)
    people = dict(
        store.query(
            "SELECT t, count(DISTINCT c.author_id) FROM change_features f"
            " JOIN commits c USING (repo, sha), unnest(f.owning_teams) AS u(t) GROUP BY t"
        ).rows
    )
    assert people[TINY] == 2 and people[f"{ORG}/core"] >= 5 and people[f"{ORG}/web"] >= 5
    table = pq.read_table(world.data_dir / "aggregates" / "team_period.parquet").to_pylist()
    tiny = [r for r in table if r["team"] == TINY]
    assert tiny and all(r["suppressed"] for r in tiny)
    assert all(r[c] is None for r in tiny for c in FIGURES)
    assert any(not r["suppressed"] for r in table if r["team"] == f"{ORG}/core")
    reports = world.outputs / "report"
    for name in ("team_period.csv", "latest.csv"):
        rows = [r for r in _csv_rows(reports / name) if r["team"] == TINY]
        assert rows, name
        for row in rows:
            assert row["suppressed"] == "yes" and row["reason"].startswith("fewer than 5")
            assert all(not row[c] for c in FIGURES if c in row), (name, row)
    page = (reports / "report.html").read_text(encoding="utf-8")
    shown: list[str] = re.findall(rf'<tr><th scope="row">{re.escape(TINY)}</th>(.*?)</tr>', page)
    # its table rows, the notes' list of teams hidden everywhere and its collapsed entry
    assert shown and page.count(TINY) == len(shown) + 2
    for html_row in shown:
        cells = re.findall(r"<td([^>]*)>(.*?)</td>", html_row)
        figures = [text for attrs, text in cells if 'class="text"' not in attrs]
        assert figures and all(text.startswith("hidden") for text in figures), html_row


def test_every_command_took_its_time_on_record(world: World) -> None:
    seconds = {n: round(r.seconds, 1) for n, r in world.ran.items()}
    (world.root / "timings.json").write_text(json.dumps(seconds, indent=1))
    assert all(0 < s < 300 for s in seconds.values())
