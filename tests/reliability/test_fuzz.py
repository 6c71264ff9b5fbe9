# ruff: noqa: S608 - sending hostile SQL to `teamlens query` is the point of this file
"""Property-based fuzzing of every input teamlens reads from outside (hypothesis).

Inputs: repos.yaml, a repository's .mailmap, CODEOWNERS, GitHub patches, webhook
deliveries (over real HTTP to a real uvicorn server) and ``teamlens query`` SQL.

Every run is deterministic (``derandomize=True``, no example database), has no deadline
and a bounded number of examples: the file runs in under a minute on a 2-core machine.

Bugs these tests find and that are not fixed yet are listed in :data:`KNOWN_BUGS`
(empty at the moment). A known bug that *raises* is recognised by :func:`known_bug` (by
exception type and the frame that raised it), counted and tolerated by the fuzz tests,
so they keep guarding against every *other* failure; each known bug also gets a minimal
reproduction marked ``xfail(strict=True)``: when a fix lands it passes, the strict
marker turns that into a failure, and the entry must be deleted here (which re-arms the
fuzz tests) and the reproduction turned into a plain regression test, like those at the
end of this file. A known bug that returns a *wrong value* cannot be tolerated that way:
its property test is the xfail one. docs/reliability.md has the counts and what each
test found.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import socket
import tempfile
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pygit2
import pytest
import requests
import yaml
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from teamlens.bot.github import added_lines
from teamlens.bot.webhook import PullRequestEvent, Worker
from teamlens.config import DEFAULT_RULE_THRESHOLDS, Config, load_config
from teamlens.errors import ConfigError, QueryError, TeamlensError
from teamlens.features.changes import read_codeowners
from teamlens.mining.miner import MiningTask, mine_repository
from teamlens.mining.repository import GitRepository
from teamlens.store import QueryResult, RepoState, Store
from tests.bot.test_webhook import Recorder, pr_payload, running_server, sign
from tests.bot.test_webhook import settings as webhook_settings
from tests.gitrepo import ALICE, BOB, CAROL, CAROL_OLD, ZOE, RepoBuilder
from tests.test_store import _commits

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=False,
    report_multiple_bugs=False,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # the autouse key fixture only sets env vars
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


def fuzz(max_examples: int, *, shrink: bool = True) -> settings:
    """The shared settings with a bound on the number of examples.

    ``shrink=False`` for the xfail properties of known bugs: they fail by design, and
    shrinking the counterexample (tens of seconds) would only slow the suite down.
    """
    phases = tuple(Phase) if shrink else (Phase.explicit, Phase.generate)
    return settings(FUZZ, max_examples=max_examples, phases=phases)


#: Characters ``str.splitlines`` breaks lines at, besides "\n".
LINE_SEPARATORS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
#: What a terminal shows as a new line: a one-line message has neither.
NEWLINES = "\n\r"


# ---------------------------------------------------------------------------------------
# Known bugs
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownBug:
    """A bug found by these tests and not fixed yet."""

    what: str
    matches: Callable[[BaseException], bool]


def _raised_in(exc: BaseException, *names: str) -> bool:
    """Whether a frame of the exception's traceback lies in a file named like one of
    `names` (e.g. ``yaml/``, ``re/_parser``, ``mining/gitlog.py``)."""
    files = [f.filename.replace(os.sep, "/") for f in traceback.extract_tb(exc.__traceback__)]
    return any(name in f for f in files for name in names)


#: None open: the nine found so far are fixed, and each has a regression test at the end
#: of this file (see docs/reliability.md for what they were).
KNOWN_BUGS: dict[str, KnownBug] = {}

#: How often each known bug was hit in this run (shown by test_zz_known_bug_counts).
KNOWN_HITS: Counter[str] = Counter()


def known_bug(exc: BaseException) -> str | None:
    for name, bug in KNOWN_BUGS.items():
        if bug.matches(exc):
            KNOWN_HITS[name] += 1
            return name
    return None


# ---------------------------------------------------------------------------------------
# repos.yaml
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a repos.yaml, the folders and files its valid version names."""
    folder = tmp_path_factory.mktemp("config")
    (folder / "repo").mkdir()
    (folder / "optout.txt").write_text("nobody@example.com\n", encoding="utf-8")
    return folder


def valid_document(folder: Path) -> dict[str, Any]:
    """A repos.yaml that uses every section and key, and loads."""
    rule, limits = next(iter(DEFAULT_RULE_THRESHOLDS.items()))
    return {
        "data_dir": "data",
        "clones_dir": "clones",
        "repositories": [
            {
                "name": "app",
                "path": "repo",
                "branch": "main",
                "github": "acme/app",
                "teams": {"core": "src/**"},
            },
            {"name": "lib", "url": "https://git.example.com/lib.git", "all_branches": True},
        ],
        "teams": {"core": ["src/**", "lib/**"], "docs": "docs/**", "codeowners": True},
        "privacy": {
            "k": 5,
            "key_env": "TEAMLENS_KEY",
            "key_file": str(folder / "key"),
            "opt_out": "optout.txt",
            "retention_days": 365,
        },
        "github": {
            "url": "https://github.example.com/",
            "token_env": "GITHUB_TOKEN",
            "bots": ["dependabot"],
            "max_wait_seconds": 300,
            "per_page": 100,
        },
        "mining": {"fix_patterns": [r"(?i)\bfix"], "detect_copies": False, "batch_size": 2000},
        "labels": {
            "variants": ["b-szz", "r-szz"],
            "default_variant": "r-szz",
            "maturity_days": 180,
            "bulk_files": 50,
            "filters": ["non-source", "comments"],
        },
        "review": {
            "medium": 0.35,
            "high": 0.6,
            "rules": {rule: {next(iter(limits)): 3}},
            "disabled_rules": [],
            "quiet": True,
            "max_inline": 10,
            "review_drafts": False,
        },
    }


INTERESTING_STRINGS = (
    "",
    " ",
    ".",
    "..",
    "../x",
    "../../etc",
    "/",
    "~",
    "~/x",
    "~nosuchuser-teamlens/x",
    "x\ny",
    "x\r\ny",
    "x\0y",
    "x" * 300,
    "5",
    "true",
    "null",
    "(",
    "[a-",
    "a{99999999999}",
    "(" * 2000 + ")" * 2000,
    "\u2028",
    "é",
    "C:\\x",
    "http://x",
    "https://",
    "owner/repo",
    "b-szz",
    "r-szz",
    "non-source",
    "split",
    "repo",
    "optout.txt",
    "data",
    "data/clones",
)
KNOWN_KEYS = (
    "data_dir", "clones_dir", "repositories", "teams", "privacy", "github", "mining",
    "labels", "review", "name", "path", "url", "branch", "all_branches", "codeowners", "k",
    "key_env", "key_file", "opt_out", "retention_days", "token_env", "bots", "per_page",
    "fix_patterns", "batch_size", "variants", "default_variant", "filters", "rules",
    "disabled_rules", "medium", "high",
)  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(INTERESTING_STRINGS),
)
keys = st.one_of(
    st.sampled_from(KNOWN_KEYS),
    st.sampled_from(["bad\nkey", "x\ry", "", " ", "\0"]),
    st.text(max_size=12),
    st.integers(-3, 3),
)
# The interesting strings first: st.one_of draws each branch about equally often.
values = st.one_of(
    st.sampled_from(INTERESTING_STRINGS),
    st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)
        ),
        max_leaves=12,
    ),
)
YAML_TOKENS = (
    "[", "]", "{", "}", ": ", "- ", "? ", ", ", "\n", "  ", "'", '"', "#", "&a ", "*a",
    "!!timestamp ", "!!binary ", "!!int ", "!!python/object:os.system ", "!!set ", "%YAML 1.1\n",
    "---\n", "...\n", "|\n", ">\n", "\t", "\\", "\ufeff", "\0", "2020-13-45", "0x1F", ".nan",
    "repositories", "name", "path", "privacy", "k",
)  # fmt: skip
yaml_soup = st.lists(st.one_of(st.sampled_from(YAML_TOKENS), st.text(max_size=6)), max_size=40).map(
    "".join
)
yaml_documents = st.one_of(
    values.map(lambda v: yaml.safe_dump(v, allow_unicode=True, sort_keys=False)),
    yaml_soup,
    st.text(max_size=200),
    st.integers(1, 120).map(lambda n: "a: " + "[" * n + "]" * n),
)


def load_outcome(folder: Path, text: str) -> Config | Exception:
    path = folder / "repos.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        return load_config(path)
    except Exception as exc:
        return exc


def check_config_contract(outcome: Config | Exception) -> None:
    """A Config, or a ConfigError of one non-empty line; nothing else (bar known bugs)."""
    if isinstance(outcome, Config):
        return
    if known_bug(outcome) is not None:
        return
    if isinstance(outcome, ConfigError):
        message = str(outcome)
        assert message.strip(), "an empty ConfigError"
        assert not any(c in message for c in NEWLINES), f"not one line: {message!r}"
        return
    details = "".join(traceback.format_exception(outcome))
    raise AssertionError(f"load_config raised {type(outcome).__name__}:\n{details}")


def test_the_valid_document_loads(config_dir: Path) -> None:
    outcome = load_outcome(config_dir, yaml.safe_dump(valid_document(config_dir)))
    assert isinstance(outcome, Config), outcome
    assert [r.name for r in outcome.repositories] == ["app", "lib"]


@fuzz(250)
@given(text=yaml_documents)
@example(text="a: " + "[" * 600 + "]" * 600)
@example(text="? !!timestamp 2020-13-45\n: 1\n")
@example(text="!!timestamp")
@example(text="!!int")
def test_arbitrary_yaml_is_a_config_or_one_line_config_error(config_dir: Path, text: str) -> None:
    check_config_contract(load_outcome(config_dir, text))


def _containers(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Paths (keys and indexes) of every mapping and list in the document."""
    if isinstance(node, (dict, list)):
        yield path
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in items:
            yield from _containers(child, (*path, key))


def _keys(node: Any) -> list[Any]:
    return list(node) if isinstance(node, dict) else list(range(len(node)))


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


@fuzz(200)
@given(data=st.data())
def test_mutations_of_a_valid_file_are_a_config_or_one_line_config_error(
    config_dir: Path, data: st.DataObject
) -> None:
    doc = copy.deepcopy(valid_document(config_dir))
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        # An entry of any mapping or list, so the many leaves are hit more than the few
        # sections; or a new entry in any of them.
        entries = [(where, key) for where in _containers(doc) for key in _keys(_at(doc, where))]
        entries += [(where, None) for where in _containers(doc)]
        where, key = data.draw(st.sampled_from(sorted(entries, key=repr)), label="entry")
        node = _at(doc, where)
        if key is None:
            if isinstance(node, list):
                node.append(data.draw(values, label="item"))
            else:
                node[data.draw(keys, label="new key")] = data.draw(values, label="value")
            continue
        operation = data.draw(st.sampled_from(["set", "set", "delete", "rename"]), label="op")
        if operation == "set":
            node[key] = data.draw(values, label="value")
        elif operation == "delete":
            del node[key]
        elif isinstance(node, dict):
            node[data.draw(keys, label="renamed")] = node.pop(key)
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    check_config_contract(load_outcome(config_dir, text))


#: Keys whose strings reach the file system or re.compile.
STRING_KEYS: tuple[tuple[Any, ...], ...] = (
    ("data_dir",),
    ("clones_dir",),
    ("repositories", 0, "path"),
    ("repositories", 0, "name"),
    ("repositories", 0, "github"),
    ("privacy", "key_file"),
    ("privacy", "opt_out"),
    ("privacy", "key_env"),
    ("github", "url"),
    ("mining", "fix_patterns", 0),
    ("review", "disabled_rules"),
)
path_like = st.one_of(
    st.sampled_from(INTERESTING_STRINGS),
    st.lists(st.sampled_from(["~", "..", ".", "/", "x", "x" * 256, "\0", "\n", "é", " "])).map(
        "".join
    ),
    st.text(max_size=40),
    st.from_regex(r"(\(|\)|\[|\]|\{\d{1,12}\}|[a-z*+?|^$\\])*", fullmatch=True),
)


@fuzz(200)
@given(where=st.sampled_from(STRING_KEYS), value=st.one_of(path_like, values))
@example(where=("mining", "fix_patterns", 0), value="a{99999999999}")
def test_any_value_in_a_path_name_or_pattern_key(
    config_dir: Path, where: tuple[Any, ...], value: Any
) -> None:
    doc = copy.deepcopy(valid_document(config_dir))
    _at(doc, where[:-1])[where[-1]] = value
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    check_config_contract(load_outcome(config_dir, text))


# ---------------------------------------------------------------------------------------
# .mailmap
# ---------------------------------------------------------------------------------------

MAILMAP_PEOPLE = (ALICE, BOB, CAROL, CAROL_OLD, ZOE)


@dataclass(frozen=True)
class MailmapRepo:
    path: Path


@pytest.fixture(scope="module")
def mailmap_repo(tmp_path_factory: pytest.TempPathFactory) -> MailmapRepo:
    """Commits by five people, subjects naming them; .mailmap is rewritten per example."""
    root = tmp_path_factory.mktemp("mailmap")
    builder = RepoBuilder(root / "repo")
    for i, person in enumerate(MAILMAP_PEOPLE):
        builder.write(f"src/file{i}.py", f"value = {i}\n")
        builder.commit(f"Change {i} by {person.name} <{person.email}>", person)
    builder.write("README.md", "thanks\n")
    builder.commit(f"Thanks {ALICE.name}, {BOB.email} and {CAROL_OLD.email}", CAROL)
    return MailmapRepo(builder.path)


names = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0\n<>"), max_size=15)
emails = st.one_of(
    st.sampled_from([p.email for p in MAILMAP_PEOPLE]),
    st.emails(),
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0\n<>"), max_size=15),
)


@st.composite
def mailmap_line(draw: st.DrawFn) -> str:
    """One line of .mailmap: any of the four git forms, or free text."""
    form = draw(st.integers(0, 4))
    if form == 0:
        return draw(st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\0\n")))
    proper = f"{draw(names)} <{draw(emails)}>"
    if form == 1:
        return proper
    if form == 2:
        return f"<{draw(emails)}> <{draw(emails)}>"
    if form == 3:
        return f"{proper} <{draw(emails)}>"
    return f"{proper} {draw(names)} <{draw(emails)}>"


mailmaps = st.lists(mailmap_line(), max_size=6).map("\n".join)


def _parquet_strings(folder: Path) -> list[str]:
    found: list[str] = []
    for path in folder.rglob("*.parquet"):
        for row in pq.read_table(path).to_pylist():
            for value in row.values():
                items = value if isinstance(value, list) else [value]
                found += [v for v in items if isinstance(v, str)]
    return found


_PSEUDONYM = re.compile(r"[0-9a-f]{32}")


@fuzz(15)
@given(text=mailmaps)
@example(text=f"Evil\x1fName <evil@example.com> <{ALICE.email}>")
@example(text=f"<{ALICE.email}> <{BOB.email}>\n{CAROL.name} <{CAROL.email}> <{CAROL_OLD.email}>")
def test_any_mailmap_mines_or_fails_cleanly_and_never_stores_an_email(
    mailmap_repo: MailmapRepo, key_env: str, text: str
) -> None:
    (mailmap_repo.path / ".mailmap").write_text(text, encoding="utf-8")
    data_dir = Path(tempfile.mkdtemp(dir=mailmap_repo.path.parent))
    config = load_config(_mailmap_config(mailmap_repo.path, data_dir))
    task = MiningTask(
        config.repositories[0], config.data_dir, config.clones_dir, config.privacy, config.mining
    )
    try:
        try:
            report = mine_repository(task)
        except TeamlensError:
            return
        except Exception as exc:
            if known_bug(exc) is None:
                raise
            return
        assert report.commits_added == len(MAILMAP_PEOPLE) + 1
        strings = _parquet_strings(data_dir)
        assert strings, "nothing stored: the scan would prove nothing"
        mapped = {m.lower() for m in re.findall(r"<([^<>]*@[^<>]*)>", text) if len(m) > 4}
        people = {p.email.lower() for p in MAILMAP_PEOPLE} | {
            p.name.lower() for p in MAILMAP_PEOPLE
        }
        forbidden = people | mapped
        stored = "\n".join(strings).lower()
        assert not [e for e in forbidden if e in stored]
        ids = Store(config.data_dir).query("SELECT author_id, committer_id FROM commits").rows
        assert all(_PSEUDONYM.fullmatch(i) for row in ids for i in row if i is not None)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _mailmap_config(repo: Path, data_dir: Path) -> Path:
    path = data_dir / "repos.yaml"
    doc = {
        "data_dir": str(data_dir / "data"),
        "clones_dir": str(data_dir / "clones"),
        "repositories": [{"name": "mm", "path": str(repo)}],
    }
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------
# CODEOWNERS
# ---------------------------------------------------------------------------------------

#: A GitHub team handle without its "@": organisation login / team slug.
TEAM_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?/[A-Za-z0-9][A-Za-z0-9_.-]*")
MALFORMED_OWNERS = (
    "@alice@example.com/x",
    "@/x",
    "@org/",
    "@@org/team",
    "@org/team/extra",
    "@",
    "@/",
    "@-org/team",
    "@org/te am",
)


@dataclass
class CodeownersRepo:
    repo: GitRepository
    handle: pygit2.Repository

    def set_codeowners(self, where: str, content: bytes) -> None:
        """Commit `content` as `where` (CODEOWNERS, .github/CODEOWNERS, docs/CODEOWNERS)."""
        handle = self.handle
        blob = handle.create_blob(content)
        root = handle.TreeBuilder()
        folder, _, name = where.rpartition("/")
        if folder:
            sub = handle.TreeBuilder()
            sub.insert(name, blob, pygit2.enums.FileMode.BLOB)
            root.insert(folder, sub.write(), pygit2.enums.FileMode.TREE)
        else:
            root.insert(name, blob, pygit2.enums.FileMode.BLOB)
        sig = pygit2.Signature("Fuzz", "fuzz@example.com", 1_600_000_000, 0)
        parents = [] if handle.head_is_unborn else [handle.head.target]
        handle.create_commit("HEAD", sig, sig, "codeowners", root.write(), parents)


@pytest.fixture(scope="module")
def codeowners_repo(tmp_path_factory: pytest.TempPathFactory) -> CodeownersRepo:
    path = tmp_path_factory.mktemp("codeowners") / "repo"
    handle = pygit2.init_repository(str(path), initial_head="main")
    return CodeownersRepo(GitRepository("co", path, handle), handle)


good_teams = st.from_regex(
    r"@[a-z0-9][a-z0-9-]{0,6}[a-z0-9]/[a-z0-9][a-z0-9_.-]{0,8}", fullmatch=True
)
people = st.one_of(
    st.from_regex(r"@[a-z0-9][a-z0-9-]{0,10}", fullmatch=True),
    st.emails().filter(lambda e: "#" not in e),  # '#' starts a comment, even in an e-mail
)
patterns = st.one_of(
    st.sampled_from(["*", "/docs/", "src/**", "*.py", "/", "docs/*.md", "/a b"]),
    st.text(
        st.characters(exclude_categories=["Cs", "Zs", "Zl", "Zp", "Cc"], exclude_characters="#@"),
        min_size=1,
        max_size=10,
    ),
)
safe_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="@\n" + LINE_SEPARATORS),
    max_size=30,
)


@st.composite
def codeowners_file(draw: st.DrawFn, owners: st.SearchStrategy[str]) -> tuple[str, list[list[str]]]:
    """CODEOWNERS text and, per rule line, the owners written on it."""
    lines: list[str] = []
    rules: list[list[str]] = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            lines.append("# " + draw(safe_text))
        elif kind == 1:
            lines.append(draw(st.sampled_from(["", "   ", "*", "docs/"])))
        else:
            listed = draw(st.lists(owners, min_size=1, max_size=4))
            comment = draw(st.sampled_from(["", " # owners", "#x"]))
            lines.append(f"{draw(patterns)} {' '.join(listed)}{comment}")
            rules.append(listed)
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"])), rules


WHERE = st.sampled_from([".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"])


@fuzz(100)
@given(where=WHERE, file=codeowners_file(st.one_of(good_teams, people)))
def test_codeowners_gives_exactly_the_teams_of_a_well_formed_file(
    codeowners_repo: CodeownersRepo, where: str, file: tuple[str, list[list[str]]]
) -> None:
    text, rules = file
    codeowners_repo.set_codeowners(where, text.encode("utf-8"))
    teams = read_codeowners(codeowners_repo.repo)
    expected = {o[1:] for owners in rules for o in owners if o.startswith("@") and "/" in o}
    assert set(teams) == expected
    assert all(globs and all(isinstance(g, str) for g in globs) for globs in teams.values())


@fuzz(100)
@given(
    where=WHERE,
    content=st.one_of(
        st.binary(max_size=300),
        codeowners_file(
            st.one_of(good_teams, people, st.sampled_from(MALFORMED_OWNERS), st.text(max_size=8))
        ).map(lambda f: f[0].encode("utf-8", "surrogatepass")),
    ),
)
def test_codeowners_never_raises(
    codeowners_repo: CodeownersRepo, where: str, content: bytes
) -> None:
    codeowners_repo.set_codeowners(where, content)
    teams = read_codeowners(codeowners_repo.repo)
    assert isinstance(teams, dict)


@fuzz(100, shrink=False)
@given(
    where=WHERE,
    file=codeowners_file(st.one_of(good_teams, people, st.sampled_from(MALFORMED_OWNERS))),
)
def test_codeowners_returns_only_team_handles_never_a_person(
    codeowners_repo: CodeownersRepo, where: str, file: tuple[str, list[list[str]]]
) -> None:
    codeowners_repo.set_codeowners(where, file[0].encode("utf-8"))
    teams = read_codeowners(codeowners_repo.repo)
    assert all(TEAM_RE.fullmatch(team) for team in teams), sorted(teams)


def test_codeowners_without_a_usable_file_is_empty(tmp_path: Path) -> None:
    handle = pygit2.init_repository(str(tmp_path / "r"), initial_head="main")
    repo = CodeownersRepo(GitRepository("co", tmp_path / "r", handle), handle)
    assert read_codeowners(repo.repo) == {}  # unborn HEAD
    repo.set_codeowners("CODEOWNERS/inner", b"* @org/team\n")  # a folder named CODEOWNERS
    assert read_codeowners(repo.repo) == {}


# ---------------------------------------------------------------------------------------
# Patches (bot.github.added_lines)
# ---------------------------------------------------------------------------------------

PATCH_LINES = (
    "@@ -1 +1 @@",
    "@@ -0,0 +0,0 @@",
    "@@ -1,2 +3,4 @@ def f():",
    "@@ -99999999999999999999 +99999999999999999999 @@",
    "@@ -1 +",
    "@@@ -1,2 -1,2 +1,3 @@@",
    "+",
    "-",
    " ",
    "",
    "\\ No newline at end of file",
    "+++ b/x.py",
    "--- a/x.py",
    "diff --git a/x.py b/x.py",
    "Binary files a/x and b/x differ",
)
patch_soup = st.lists(
    st.one_of(st.sampled_from(PATCH_LINES), st.text(max_size=12)), max_size=30
).flatmap(lambda lines: st.sampled_from(["\n", "\r\n", "\r"]).map(lambda nl: nl.join(lines)))


@fuzz(400)
@given(patch=st.one_of(st.none(), st.text(), patch_soup))
def test_added_lines_never_raises(patch: str | None) -> None:
    found = added_lines(patch)
    assert isinstance(found, set) and all(isinstance(n, int) for n in found)


@fuzz(300, shrink=False)
@given(patch=st.one_of(st.text(), patch_soup))
def test_added_lines_are_real_line_numbers(patch: str) -> None:
    assert all(n >= 1 for n in added_lines(patch))


def _span(start: int, count: int) -> str:
    start = start if count else start - 1  # git: an empty side names the line before
    return str(start) if count == 1 else f"{start},{count}"


@st.composite
def valid_patch(draw: st.DrawFn, content: st.SearchStrategy[str]) -> tuple[str, set[int]]:
    """A patch as GitHub sends it (hunks, no file header) and the new lines it adds."""
    out: list[str] = []
    added: set[int] = set()
    old = new = draw(st.integers(1, 50))
    hunks = draw(st.integers(1, 4))
    for h in range(hunks):
        ops = draw(st.lists(st.sampled_from(" +-"), min_size=1, max_size=12))
        old_count = sum(op != "+" for op in ops)
        new_count = sum(op != "-" for op in ops)

        heading = draw(st.sampled_from(["", " def f():", " class A:"]))
        out.append(f"@@ -{_span(old, old_count)} +{_span(new, new_count)} @@{heading}")
        for op in ops:
            out.append(op + draw(content))
            if op == "+":
                added.add(new)
            if op != "-":
                new += 1
            if op != "+":
                old += 1
        if h == hunks - 1 and draw(st.booleans()):
            out.append("\\ No newline at end of file")
        gap = draw(st.integers(0, 30))
        old, new = old + gap, new + gap
    return "\n".join(out), added


plain_content = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\n" + LINE_SEPARATORS),
    max_size=20,
)


@fuzz(200)
@given(patch=valid_patch(plain_content))
def test_added_lines_of_valid_hunks_match_a_reference_count(patch: tuple[str, set[int]]) -> None:
    text, expected = patch
    assert added_lines(text) == expected


@fuzz(100, shrink=False)
@given(
    patch=valid_patch(
        st.lists(st.one_of(plain_content, st.sampled_from(list(LINE_SEPARATORS))), max_size=4).map(
            "".join
        )
    )
)
def test_added_lines_of_hunks_with_form_feeds_match_a_reference_count(
    patch: tuple[str, set[int]],
) -> None:
    text, expected = patch
    assert added_lines(text) == expected


# ---------------------------------------------------------------------------------------
# Webhook deliveries, over HTTP to a real uvicorn server
# ---------------------------------------------------------------------------------------


@dataclass
class Webhook:
    port: int
    base_url: str
    http: requests.Session
    recorder: Recorder
    worker: Worker
    queued: int = 0  # deliveries answered 202 {"queued": true}

    def health(self) -> dict[str, Any]:
        response = self.http.get(f"{self.base_url}/health", timeout=5)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    recorder = Recorder()
    config = webhook_settings(max_body_bytes=64 * 1024, queue_size=1000)
    with running_server(config, recorder) as srv:
        yield Webhook(srv.port, srv.base_url, srv.http, recorder, srv.worker)


HEADER_NAMES = (
    "X-GitHub-Event",
    "X-GitHub-Delivery",
    "X-Hub-Signature-256",
    "Content-Type",
    "X-GitHub-Hook-ID",
    "User-Agent",
    "Accept",
)
header_values = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0xFF, exclude_categories=["Cc"]),
    max_size=80,
).map(lambda v: v.strip())


def _check_answer(webhook: Webhook, response: requests.Response) -> None:
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code == 202 and response.json() == {"queued": True}:
        webhook.queued += 1


@fuzz(150)
@given(
    headers=st.dictionaries(
        st.one_of(
            st.sampled_from(HEADER_NAMES), st.from_regex(r"X-[A-Za-z0-9-]{1,20}", fullmatch=True)
        ),
        header_values,
        max_size=6,
    ),
    body=st.one_of(st.binary(max_size=2000), st.text(max_size=500).map(str.encode)),
    sign_it=st.booleans(),
)
def test_random_headers_and_bodies_never_get_a_5xx(
    webhook: Webhook, headers: dict[str, str], body: bytes, sign_it: bool
) -> None:
    if sign_it:
        headers = {**headers, "X-Hub-Signature-256": sign(body)}
    response = webhook.http.post(
        f"{webhook.base_url}/webhook", data=body, headers=headers, timeout=10
    )
    _check_answer(webhook, response)
    if not sign_it and "X-Hub-Signature-256" not in headers:
        assert response.status_code in (400, 401, 413), response.text


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["\ud800", "a" * 2000, "0" * 40, "f" * 64, "opened", "synchronize"]),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=15,
)


@st.composite
def pull_request_payloads(draw: st.DrawFn) -> Any:
    """A real pull_request payload with some fields replaced by anything."""
    payload: dict[str, Any] = pr_payload(
        draw(st.sampled_from(["opened", "synchronize", "reopened", "ready_for_review", "closed"])),
        number=draw(st.integers(1, 10**6)),
        head_sha=draw(st.from_regex(r"[0-9a-f]{40}", fullmatch=True)),
        draft=draw(st.booleans()),
    )
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(["", "pull_request", "pull_request.head", "repository"]))
        node: Any = payload
        for key in filter(None, where.split(".")):
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and node:
            node[draw(st.sampled_from(sorted(node)))] = draw(json_values)
    return payload


@fuzz(150)
@given(
    payload=st.one_of(json_values, pull_request_payloads()),
    event=st.one_of(
        st.sampled_from(["pull_request", "ping", "push", "issues"]), st.text(max_size=10)
    ),
    delivery=st.one_of(st.uuids().map(str), st.text(max_size=10)),
    ensure_ascii=st.booleans(),
)
@example(payload=None, event="pull_request", delivery="\x1b 0", ensure_ascii=False)
def test_correctly_signed_random_json_is_2xx_or_4xx(
    webhook: Webhook, payload: Any, event: str, delivery: str, ensure_ascii: bool
) -> None:
    body = json.dumps(payload, ensure_ascii=ensure_ascii).encode("utf-8", "surrogatepass")
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": event.encode("latin-1", "replace").decode("latin-1").strip(),
        "X-GitHub-Delivery": delivery.encode("latin-1", "replace").decode("latin-1").strip(),
        "X-Hub-Signature-256": sign(body),
    }
    # printable characters only, stripped after filtering ("\x1b 0" must not become " 0")
    headers = {k: "".join(c for c in v if c.isprintable()).strip() for k, v in headers.items()}
    response = webhook.http.post(
        f"{webhook.base_url}/webhook", data=body, headers=headers, timeout=10
    )
    _check_answer(webhook, response)
    assert response.status_code != 401, "a correctly signed delivery was refused"


def raw_exchange(port: int, data: bytes) -> bytes:
    """Send bytes, half-close, and read whatever the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close first (e.g. a 413 before the whole body)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return received


@st.composite
def raw_requests(draw: st.DrawFn) -> bytes:
    """HTTP/1.1 requests with broken request lines, headers, lengths and chunking."""
    body = draw(st.binary(max_size=300))
    method = draw(st.sampled_from([b"POST", b"GET", b"PUT", b"POST ", b"\x00", b"post"]))
    target = draw(st.sampled_from([b"/webhook", b"/health", b"*", b"/../webhook", b"/%00"]))
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/9.9", b""]))
    headers = [b"Host: 127.0.0.1"]
    length = draw(
        st.one_of(
            st.just(str(len(body)).encode()),
            st.sampled_from([b"-1", b"0", b"99999999999999999999", b"1e3", b" 5", b"5, 5"]),
            st.none(),
        )
    )
    if length is not None:
        headers.append(b"Content-Length: " + length)
    if draw(st.booleans()):
        headers.append(b"Transfer-Encoding: " + draw(st.sampled_from([b"chunked", b"gzip", b"x"])))
        body = draw(
            st.sampled_from(
                [b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body), b"zz\r\n", b"5\r\nab", body]
            )
        )
    headers += draw(st.lists(st.binary(max_size=40), max_size=3))
    return (
        method
        + b" "
        + target
        + b" "
        + version
        + b"\r\n"
        + b"\r\n".join(headers)
        + b"\r\n\r\n"
        + body
    )


@fuzz(100)
@given(data=st.one_of(st.binary(max_size=500), raw_requests()))
def test_raw_bytes_never_get_a_5xx_and_the_server_stays_up(webhook: Webhook, data: bytes) -> None:
    answer = raw_exchange(webhook.port, data)
    for status in re.findall(rb"^HTTP/1\.[01] (\d{3})", answer, flags=re.MULTILINE):
        assert int(status) < 500, answer[:300]
    assert webhook.health()["status"] == "ok"


def test_every_queued_delivery_was_handled_exactly_once(webhook: Webhook) -> None:
    """Runs after the webhook fuzz tests above (file order): 202 queued <=> handled."""
    assert webhook.worker.join_idle(10)
    handled: list[PullRequestEvent] = webhook.recorder.snapshot()
    assert len(handled) == webhook.queued
    assert len({e.head_key for e in handled}) == len(handled)
    assert webhook.health()["failed"] == 0


# ---------------------------------------------------------------------------------------
# teamlens query: a single SELECT, over the store's files only
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryStore:
    store: Store
    outside: Path  # a folder next to the data folder, where nothing may appear
    secret: Path  # a readable file outside the store
    foreign_parquet: Path  # a Parquet file outside the store


@pytest.fixture(scope="module")
def query_store(tmp_path_factory: pytest.TempPathFactory) -> QueryStore:
    root = tmp_path_factory.mktemp("query")
    store = Store(root / "data")
    with store.writer("r") as writer:
        writer.commit({"commits": _commits("a", "b", "c")}, RepoState())
    outside = root / "outside"
    outside.mkdir()
    secret = root / "secret.txt"
    secret.write_text("the pseudonymisation key, say\n", encoding="utf-8")
    foreign = root / "foreign.parquet"
    pq.write_table(_commits("from-elsewhere"), foreign)
    return QueryStore(store, outside, secret, foreign)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def hostile_statements(qs: QueryStore) -> list[str]:
    out = qs.outside
    listed = next(iter((qs.store.root / "r" / "commits").glob("*.parquet")))
    return [
        f"COPY (SELECT 1) TO '{out}/x.csv'",
        f"COPY commits TO '{out}/commits.parquet' (FORMAT parquet)",
        f"EXPORT DATABASE '{out}/export'",
        f"IMPORT DATABASE '{out}'",
        f"ATTACH '{out}/x.db' AS x",
        "DETACH x",
        "INSTALL httpfs",
        "LOAD httpfs",
        "FORCE INSTALL httpfs",
        "SET enable_external_access = true",
        "RESET lock_configuration",
        "SET allowed_paths = ['/']",
        "PRAGMA enable_profiling",
        "PRAGMA version",
        "CREATE TABLE t AS SELECT 1",
        "CREATE OR REPLACE VIEW commits AS SELECT 1",
        "CREATE SECRET (TYPE s3, KEY_ID 'x', SECRET 'y')",
        "INSERT INTO commits SELECT * FROM commits",
        "UPDATE commits SET sha = 'x'",
        "DELETE FROM commits",
        "DROP VIEW commits",
        "CALL pragma_version()",
        "CHECKPOINT",
        "BEGIN TRANSACTION",
        "VACUUM",
        "USE memory",
        "EXPLAIN ANALYZE SELECT 1",
        "PIVOT (SELECT 1 AS a) ON a",
        "SELECT 1; SELECT 2",
        f"SELECT 1; COPY (SELECT 1) TO '{out}/y.csv'",
        f"SELECT 1 -- comment\n; COPY (SELECT 1) TO '{out}/z.csv'",
        f"/* hidden */ COPY (SELECT 1) TO '{out}/w.csv'",
        "",
        " ; ",
        "-- nothing",
        "SELECT * FROM read_csv('/etc/passwd')",
        f"SELECT * FROM read_text('{qs.secret}')",
        f"SELECT * FROM read_blob('{qs.secret}')",
        f"SELECT * FROM read_json('{qs.secret}')",
        f"SELECT * FROM read_csv_auto('{qs.secret}')",
        f"SELECT * FROM sniff_csv('{qs.secret}')",
        f"SELECT * FROM '{qs.secret}'",
        f"SELECT * FROM glob('{qs.secret.parent}/*')",
        f"SELECT * FROM read_parquet('{qs.foreign_parquet}')",
        f"SELECT * FROM parquet_scan('{qs.foreign_parquet}')",
        f"SELECT * FROM parquet_metadata('{qs.foreign_parquet}')",
        f"SELECT * FROM read_parquet('{listed}/../../../../foreign.parquet')",
        f"WITH x AS (SELECT * FROM read_text('{qs.secret}')) SELECT * FROM x",
        f"SELECT (SELECT content FROM read_text('{qs.secret}'))",
        f"SELECT * FROM query('SELECT * FROM read_text(''{qs.secret}'')')",
        "SELECT * FROM 'https://example.com/data.csv'",
    ]


def test_hostile_statements_are_refused_and_touch_nothing(query_store: QueryStore) -> None:
    qs = query_store
    data_before = _snapshot(qs.store.data_dir)
    for sql in hostile_statements(qs):
        with pytest.raises(QueryError) as refused:
            qs.store.query(sql)
        message = str(refused.value)
        assert "\n" not in message, (sql, message)
        assert "the pseudonymisation key" not in message
    assert _snapshot(qs.store.data_dir) == data_before
    assert list(qs.outside.iterdir()) == []
    assert qs.store.query("SELECT count(*) FROM commits").rows == [(3,)]


@pytest.mark.parametrize(
    "sql",
    [
        "COPY (SELECT 1) TO 'x.csv'",
        "ATTACH 'x.db'",
        "SELECT 1; SELECT 2",
        "INSTALL httpfs",
        "PRAGMA version",
        "CREATE TABLE t (a INT)",
    ],
)
def test_non_select_statements_name_the_rule(query_store: QueryStore, sql: str) -> None:
    with pytest.raises(
        QueryError, match=r"^only a single SELECT \(or WITH \.\.\. SELECT\) is allowed: "
    ):
        query_store.store.query(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) FROM commits",
        "WITH c AS (SELECT sha FROM commits) SELECT count(*) FROM c",
        "FROM commits SELECT count(*)",
        "SELECT count(*) FROM commits;",
        "VALUES (3)",
        "(SELECT 3)",
        "SELECT 3 UNION ALL SELECT 4 EXCEPT SELECT 4",
    ],
)
def test_read_statements_still_work(query_store: QueryStore, sql: str) -> None:
    assert query_store.store.query(sql).rows == [(3,)]


def test_describe_and_the_listed_files_are_readable(query_store: QueryStore) -> None:
    store = query_store.store
    assert ("sha",) in [r[:1] for r in store.query("DESCRIBE commits").rows]
    listed = next(iter((store.root / "r" / "commits").glob("*.parquet")))
    assert store.query(f"SELECT count(*) FROM read_parquet('{listed}')").rows == [(3,)]


IDENT = st.sampled_from(["sha", "repo", "author_id", "n_files", "added", "is_fix", "*", "1"])
VIEW = st.sampled_from(["commits", "file_changes", "lost_commits", "changes", "team_period", "x"])
SQL_TOKENS = (
    "SELECT", "FROM", "WHERE", "GROUP BY", "ORDER BY", "LIMIT", "WITH", "AS", "(", ")", ",",
    ";", "--", "/*", "*/", "'", '"', "COPY", "TO", "ATTACH", "INSTALL", "LOAD", "SET",
    "PRAGMA", "CREATE", "INSERT", "INTO", "DROP", "CALL", "EXPORT", "DATABASE",
    "read_text('/etc/hostname')", "glob('*')", "'/etc/passwd'", "query('SELECT 1')",
    "count(*)", "commits", "1", "NULL", "UNION", "\n",
)  # fmt: skip


@st.composite
def select_statements(draw: st.DrawFn) -> str:
    columns = ", ".join(draw(st.lists(IDENT, min_size=1, max_size=3)))
    sql = f"SELECT {columns} FROM {draw(VIEW)}"
    if draw(st.booleans()):
        sql += f" WHERE {draw(IDENT)} {draw(st.sampled_from(['=', '<>', 'IS NOT']))} NULL"
    if draw(st.booleans()):
        sql += f" LIMIT {draw(st.integers(-1, 5))}"
    if draw(st.booleans()):
        sql = f"WITH q AS ({sql}) SELECT * FROM q"
    return sql + draw(st.sampled_from(["", ";", " ; ", "; SELECT 1", "; DROP VIEW commits"]))


sql_inputs = st.one_of(
    select_statements(),
    st.lists(st.sampled_from(SQL_TOKENS), max_size=15).map(" ".join),
    st.text(max_size=60),
)


@fuzz(40)
@given(sql=sql_inputs)
def test_any_sql_is_a_result_or_a_query_error_and_changes_nothing(
    query_store: QueryStore, sql: str
) -> None:
    qs = query_store
    before = _snapshot(qs.store.data_dir)
    try:
        result = qs.store.query(sql)
    except QueryError as exc:
        assert str(exc).strip() and "\n" not in str(exc)
    else:
        assert isinstance(result, QueryResult)
    assert _snapshot(qs.store.data_dir) == before
    assert list(qs.outside.iterdir()) == []


def test_the_store_still_answers_after_the_fuzzing(query_store: QueryStore) -> None:
    assert query_store.store.query("SELECT count(*) FROM commits").rows == [(3,)]


# ---------------------------------------------------------------------------------------
# Fixed bugs: the minimal reproductions, kept as regression tests
# ---------------------------------------------------------------------------------------

_BASE_YAML = "repositories:\n  - name: a\n    path: repo\n"
#: Per fixed bug (the KNOWN_BUGS names it had): a repos.yaml and what its one-line
#: ConfigError must say.
CONFIG_REGRESSIONS: dict[str, tuple[str, str]] = {
    "config-yaml-recursion": (
        "a: " + "[" * 600 + "]" * 600 + "\n",
        "line 1: not valid YAML (nested deeper than 50 levels)",
    ),
    "config-yaml-recursion-merge-chain": (
        "defs: [&a0 {x: 1}"
        + "".join(f", &a{i} {{<<: *a{i - 1}}}" for i in range(1, 2000))
        + "]\nuse: {<<: *a1999}\n",
        "not valid YAML (merge keys (<<) nested deeper than 50 levels)",
    ),
    "config-yaml-constructor": ("!!timestamp\n", "line 1: not valid YAML (cannot build"),
    "config-yaml-constructor-int": ("!!int\n", "not valid YAML (cannot build a !!int from '')"),
    "config-yaml-constructor-key": (
        "? !!timestamp 2020-13-45\n: 1\n",
        "not valid YAML (cannot build a !!timestamp from '2020-13-45')",
    ),
    "config-yaml-constructor-bool": ("a: !!bool maybe\n", "cannot build a !!bool from 'maybe'"),
    "config-path-nul": (
        'repositories:\n  - name: a\n    path: "re\\0po"\n',
        "repositories[0].path: 're\\x00po' cannot be used as a path (it holds a NUL character)",
    ),
    "config-path-too-long": (
        f"repositories:\n  - name: a\n    path: {'x' * 300}\n",
        "x cannot be used (File name too long)",
    ),
    "config-path-unknown-user": (
        "repositories:\n  - name: a\n    path: ~nosuchuser-teamlens/x\n",
        "'~nosuchuser-teamlens/x' cannot be used as a path (its ~ names no home directory",
    ),
    "config-unhashable": (
        _BASE_YAML + "review:\n  disabled_rules: [[1]]\n",
        "review.disabled_rules: expected a list of split, ",
    ),
    "config-regex-limits": (
        _BASE_YAML + "mining:\n  fix_patterns: ['a{99999999999}']\n",
        "mining.fix_patterns[0]: expected a regular expression (the repetition number is too",
    ),
    "config-regex-limits-nesting": (
        _BASE_YAML + "mining:\n  fix_patterns: ['" + "(" * 2000 + ")" * 2000 + "']\n",
        "mining.fix_patterns[0]: expected a regular expression (nested too deeply)",
    ),
    "config-regex-future-warning": (
        _BASE_YAML + "mining:\n  fix_patterns: ['[[a]']\n",
        "expected a regular expression (ambiguous: Possible nested set at position 1;",
    ),
    "config-multi-line-message": (
        _BASE_YAML + '"bad\\nkey": 1\n',
        ": 'bad\\nkey': unknown key (known: ",
    ),
    "config-multi-line-message-rule": (
        _BASE_YAML + 'review:\n  rules:\n    "x\\u2028y": {}\n',
        "review.rules.'x\\u2028y': expected one of split, ",
    ),
    "config-multi-line-message-path": (
        'repositories:\n  - name: a\n    path: "no\\rthere"\n',
        "no\\rthere' does not exist",
    ),
}


@pytest.mark.parametrize("bug", sorted(CONFIG_REGRESSIONS))
def test_fixed_config_bug_is_a_one_line_config_error(config_dir: Path, bug: str) -> None:
    text, message = CONFIG_REGRESSIONS[bug]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = load_outcome(config_dir, text)
    assert isinstance(outcome, ConfigError), repr(outcome)
    assert not any(c in str(outcome) for c in NEWLINES), str(outcome)
    assert message in str(outcome)
    assert not caught, [str(w.message) for w in caught]  # nothing printed on stderr either


def test_a_symlink_loop_in_a_path_is_a_one_line_config_error(tmp_path: Path) -> None:
    """Found while fixing the path bugs: Path.resolve() raises RuntimeError on a loop."""
    (tmp_path / "loop").symlink_to("loop")
    outcome = load_outcome(tmp_path, "repositories:\n  - name: a\n    path: loop/x\n")
    assert isinstance(outcome, ConfigError), repr(outcome)
    assert str(outcome).endswith(
        "repositories[0].path: 'loop/x' cannot be used as a path (a symlink loop)"
    )


def test_a_mailmap_holding_the_old_field_separator_mines(
    mailmap_repo: MailmapRepo, key_env: str
) -> None:
    """`mailmap-unit-separator`: \\x1f in a .mailmap name or e-mail shifted the fields of
    mining/gitlog.py's parser and `teamlens mine` died with ValueError."""
    evil = "evil\x1f@example.com"
    (mailmap_repo.path / ".mailmap").write_text(
        f"Evil\x1fName <{evil}> <{ALICE.email}>\n", encoding="utf-8"
    )
    data_dir = Path(tempfile.mkdtemp(dir=mailmap_repo.path.parent))
    try:
        config = load_config(_mailmap_config(mailmap_repo.path, data_dir))
        task = MiningTask(
            config.repositories[0],
            config.data_dir,
            config.clones_dir,
            config.privacy,
            config.mining,
        )
        assert mine_repository(task).commits_added == len(MAILMAP_PEOPLE) + 1
        stored = "\n".join(_parquet_strings(data_dir)).lower()
        assert stored and "evil" not in stored and ALICE.email not in stored
        ids = Store(config.data_dir).query("SELECT author_id, committer_id FROM commits").rows
        assert all(_PSEUDONYM.fullmatch(i) for row in ids for i in row if i is not None)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def test_zz_known_bug_counts() -> None:
    """Not a check: prints how often the fuzzing above hit each known bug (-s shows it)."""
    for name in sorted(KNOWN_BUGS):
        print(f"{name}: {KNOWN_HITS[name]} hit(s)")
