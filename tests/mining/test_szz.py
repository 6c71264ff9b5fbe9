"""SZZ on a planted history: exact inducing commits per variant, and PyDriller agreement."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from pydriller import Git

from teamlens.config import load_config
from teamlens.mining.szz import (
    ALL_FILTERS,
    DEFAULT_FILTERS,
    AgFilter,
    CommitInfo,
    SzzSession,
    Variant,
    deleted_lines,
    label_fix,
    label_repository,
    variant_name,
)
from teamlens.mining.tasks import mine_all
from teamlens.store import Store
from tests.conftest import ConfigFactory
from tests.gitrepo import ALICE, BOB, CAROL, ERIN, ZOE, RepoBuilder


@dataclass(frozen=True)
class Planted:
    path: Path
    sub_bug: str  # introduces the wrong `sub`
    reformat: str  # whitespace-only re-indentation
    comment_edit: str  # edits only a comment
    rename: str  # calc.py -> mathops.py
    bulk: str  # touches 60 files, changes `scale`
    mul_bug: str  # introduces the wrong `mul`
    docs: str  # a README line the fix also edits
    fix: str


CALC = """def add(a, b):
{i}return a + b


def scale(x):
{i}return x * {factor}


def sub(a, b):
{i}# {comment}
{i}return a + b
"""


def _calc(
    indent: str = "    ", factor: int = 2, comment: str = "difference of a and b", mul: str = ""
) -> str:
    return CALC.format(i=indent, factor=factor, comment=comment) + mul


def build_planted(path: Path) -> Planted:
    r = RepoBuilder(path)
    r.write("calc.py", "def add(a, b):\n    return a + b\n\n\ndef scale(x):\n    return x * 2\n")
    r.write("README.md", "# calc\n")
    r.commit("Add calculator", ALICE)
    r.write("calc.py", _calc())
    sub_bug = r.commit("Add subtraction", BOB)
    r.write("calc.py", _calc(indent="  "))
    reformat = r.commit("Reformat with two-space indents", ZOE)
    r.write("calc.py", _calc(indent="  ", comment="a minus b"))
    comment_edit = r.commit("Clarify a comment", CAROL)
    r.git("mv", "calc.py", "mathops.py")
    rename = r.commit("Rename calc to mathops", ALICE, add_all=False)
    for i in range(59):
        r.write(f"gen/module_{i}.py", f"VALUE = {i}\n")
    r.write("mathops.py", _calc(indent="  ", comment="a minus b", factor=3))
    bulk = r.commit("Regenerate modules", ERIN)
    mul = "\n\ndef mul(a, b):\n  return a + b\n"
    r.write("mathops.py", _calc(indent="  ", comment="a minus b", factor=3, mul=mul))
    mul_bug = r.commit("Add multiplication", BOB)
    r.write("README.md", "# calc\n\nUse mathops.add.\n")
    docs = r.commit("Document", ZOE)
    fixed = (
        _calc(indent="  ", comment="a minus b, for real", factor=2)
        .replace("return a + b\n", "return a - b\n")
        .replace("def add(a, b):\n  return a - b", "def add(a, b):\n  return a + b")
    )
    r.write("mathops.py", fixed + "\n\ndef mul(a, b):\n  return a * b\n")
    r.write("README.md", "# calc\n\nUse mathops.add or mathops.sub.\n")
    fix = r.commit("Fix sub, scale and mul", CAROL)
    return Planted(path, sub_bug, reformat, comment_edit, rename, bulk, mul_bug, docs, fix)


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Planted:
    return build_planted(tmp_path_factory.mktemp("szz") / "repo")


def _infos(repo: Path) -> dict[str, CommitInfo]:
    out = Git(str(repo))
    infos = {}
    for commit in out.get_list_commits():
        infos[commit.hash] = CommitInfo(
            commit.merge, len(commit.modified_files), int(commit.committer_date.timestamp())
        )
    return infos


def _label(planted: Planted, infos: dict[str, CommitInfo] | None = None) -> dict[Variant, set[str]]:
    results = label_fix(
        SzzSession(planted.path),
        planted.fix,
        list(Variant),
        infos or _infos(planted.path),
        50,
    )
    return {r.variant: r.inducing() for r in results}


def test_each_variant_finds_exactly_the_planted_inducing_commits(planted: Planted) -> None:
    found = _label(planted)
    assert found[Variant.B] == {planted.sub_bug, planted.bulk, planted.mul_bug, planted.docs}
    assert found[Variant.AG] == {planted.sub_bug, planted.mul_bug}
    assert found[Variant.R] == {planted.mul_bug}
    never = {planted.reformat, planted.comment_edit, planted.rename}
    assert all(not (links & never) for links in found.values())


def test_b_szz_agrees_with_pydriller(planted: Planted) -> None:
    git = Git(str(planted.path))
    expected = set().union(
        *git.get_commits_last_modified_lines(git.get_commit(planted.fix)).values()
    )
    assert _label(planted)[Variant.B] == expected


def test_every_difference_of_the_filtered_variants_is_explained(planted: Planted) -> None:
    infos = _infos(planted.path)
    found = _label(planted, infos)
    dropped = found[Variant.B] - found[Variant.AG]
    reasons = {}
    for sha in dropped:
        if infos[sha].n_files > 50:
            reasons[sha] = "bulk"
        elif sha == planted.docs:
            reasons[sha] = "non-source"  # README.md
    assert reasons == {planted.bulk: "bulk", planted.docs: "non-source"}
    assert found[Variant.R] == {max(found[Variant.AG], key=lambda s: infos[s].commit_time)}


def test_merge_candidates_are_filtered(planted: Planted) -> None:
    infos = _infos(planted.path)
    infos[planted.mul_bug] = CommitInfo(
        True, infos[planted.mul_bug].n_files, infos[planted.mul_bug].commit_time
    )
    found = _label(planted, infos)
    assert found[Variant.AG] == {planted.sub_bug}
    assert planted.mul_bug in found[Variant.B]


def test_a_cosmetic_commit_is_recognised_with_tree_sitter(planted: Planted) -> None:
    session = SzzSession(planted.path)
    assert session.is_cosmetic(planted.reformat)
    assert session.is_cosmetic(planted.comment_edit)
    assert session.is_cosmetic(planted.rename)  # a pure rename changes no code
    assert not session.is_cosmetic(planted.sub_bug)
    assert not session.is_cosmetic(planted.bulk)  # adds files


def test_annotation_graph_looks_through_a_trailing_comment_edit(
    repo_builder: RepoBuilder,
) -> None:
    repo_builder.write("app.go", "package app\n\nfunc F() int {\n\treturn 1 // old note\n}\n")
    inducing = repo_builder.commit("Add F", ALICE)
    repo_builder.write("app.go", "package app\n\nfunc F() int {\n\treturn 1 // new note\n}\n")
    comment = repo_builder.commit("Reword a note", BOB)
    repo_builder.write("app.go", "package app\n\nfunc F() int {\n\treturn 2 // new note\n}\n")
    fix = repo_builder.commit("Fix F", CAROL)
    infos = _infos(repo_builder.path)
    results = {
        r.variant: r.inducing()
        for r in label_fix(SzzSession(repo_builder.path), fix, list(Variant), infos, 50)
    }
    # B-SZZ stops at the last textual change; AG-SZZ knows it only touched a comment.
    assert results == {Variant.B: {comment}, Variant.AG: {inducing}, Variant.R: {inducing}}


def test_label_command_stores_links_incrementally(
    planted: Planted, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> None:
    config = load_config(make_config({"calc": planted.path}))
    mine_all(config)
    report = label_repository(config, config.repositories[0])
    store = Store(data_dir)
    fixes = {sha for (sha,) in store.query("SELECT sha FROM commits WHERE is_fix").rows}
    assert fixes == {planted.fix}
    assert report.fixes_labelled == 1
    rows = store.query(
        "SELECT variant, inducing_sha, path, lines FROM szz_links ORDER BY variant, inducing_sha"
    ).rows
    # The default filters add the precision filters of docs/szz.md to AG/R-SZZ's names.
    ag, r = (variant_name(v, DEFAULT_FILTERS) for v in (Variant.AG, Variant.R))
    assert (ag, r) == ("ag-szz+formatting,last-touch,minor", "r-szz+formatting,last-touch,minor")
    assert {(v, s) for v, s, _, _ in rows} == {
        ("b-szz", planted.sub_bug),
        ("b-szz", planted.bulk),
        ("b-szz", planted.mul_bug),
        ("b-szz", planted.docs),
        (ag, planted.sub_bug),
        (ag, planted.mul_bug),
        (r, planted.mul_bug),
    }
    assert {p for _, _, p, _ in rows} == {"mathops.py", "README.md"}
    again = label_repository(config, config.repositories[0])
    assert (again.fixes_labelled, again.links_added) == (0, 0)
    assert store.query("SELECT count(*) FROM szz_fixes").rows == [(3,)]


def test_each_filter_can_be_switched_off_and_is_recorded(planted: Planted) -> None:
    infos = _infos(planted.path)
    without_bulk = ALL_FILTERS - {AgFilter.BULK}
    results = {
        r.variant: r
        for r in label_fix(
            SzzSession(planted.path),
            planted.fix,
            list(Variant),
            infos,
            50,
            without_bulk,
        )
    }
    assert results[Variant.AG].inducing() == {planted.sub_bug, planted.mul_bug, planted.bulk}
    assert results[Variant.AG].name == "ag-szz(without bulk)"
    assert results[Variant.R].name == "r-szz(without bulk)"
    assert results[Variant.B].name == "b-szz"
    no_source_filter = ALL_FILTERS - {AgFilter.NON_SOURCE}
    ag = next(
        r
        for r in label_fix(
            SzzSession(planted.path),
            planted.fix,
            [Variant.AG],
            infos,
            50,
            no_source_filter,
        )
    )
    assert planted.docs in ag.inducing()
    assert variant_name(Variant.AG, frozenset()) == (
        "ag-szz(without bulk,comments,cosmetic,merges,non-source)"
    )


def test_b_szz_agrees_with_pydriller_on_every_fix_of_the_tricky_repository(
    tricky_repo: Path, make_config: ConfigFactory, key_env: str, data_dir: Path
) -> None:
    config = load_config(make_config({"tricky": tricky_repo}))
    mine_all(config)
    fixes = [
        s
        for (s,) in Store(data_dir)
        .query("SELECT sha FROM commits WHERE is_fix AND NOT is_merge")
        .rows
    ]
    assert len(fixes) == 2  # "Fix bug in feature", "Remove copy; fixes #3"
    git = Git(str(tricky_repo))
    infos = _infos(tricky_repo)
    found = {}
    for fix in fixes:
        expected = set().union(*git.get_commits_last_modified_lines(git.get_commit(fix)).values())
        (b,) = label_fix(SzzSession(tricky_repo), fix, [Variant.B], infos, 50)
        assert b.inducing() == expected, fix
        found[fix] = len(expected)
    # One fix only adds lines (nothing to blame); the other deletes a copied file.
    assert sorted(found.values()) == [0, 1]


def test_a_fix_that_moves_a_submodule_is_labelled(repo_builder: RepoBuilder) -> None:
    repo_builder.write("lib.py", "def g():\n    return 1\n")
    first = repo_builder.commit("Add g", ALICE)
    repo_builder.git("update-index", "--add", "--cacheinfo", f"160000,{first},vendor/sub")
    repo_builder.commit("Add a submodule", BOB, add_all=False)
    repo_builder.git("update-index", "--cacheinfo", f"160000,{repo_builder.head()},vendor/sub")
    repo_builder.write("lib.py", "def g():\n    return 2\n")
    repo_builder.git("add", "lib.py")
    fix = repo_builder.commit("Fix g and bump the submodule", CAROL, add_all=False)
    infos = _infos(repo_builder.path)
    results = label_fix(SzzSession(repo_builder.path), fix, list(Variant), infos, 50)
    assert {r.variant: r.inducing() for r in results} == {
        Variant.B: {first},
        Variant.AG: {first},
        Variant.R: {first},
    }


def test_a_deleted_line_that_starts_with_two_dashes_is_not_a_file_header(
    repo_builder: RepoBuilder,
) -> None:
    repo_builder.write("q.sql", "SELECT 1;\n-- keep the old total\nSELECT 2;\n")
    inducing = repo_builder.commit("Add queries", ALICE)
    repo_builder.write("q.sql", "SELECT 1;\nSELECT 3;\n")
    fix = repo_builder.commit("Fix the second query", BOB)
    changed = deleted_lines(SzzSession(repo_builder.path), fix)
    assert changed == {"q.sql": [(2, "-- keep the old total"), (3, "SELECT 2;")]}
    infos = _infos(repo_builder.path)
    (b,) = label_fix(SzzSession(repo_builder.path), fix, [Variant.B], infos, 50)
    assert b.inducing() == {inducing}
