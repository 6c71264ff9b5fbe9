"""SZZ precision filters on histories built here: each one changes exactly what it says."""

from __future__ import annotations

from pathlib import Path

import pytest

from teamlens.config import load_config
from teamlens.errors import ConfigError
from teamlens.mining.szz import (
    ALL_FILTERS,
    AgFilter,
    CommitInfo,
    MinorRule,
    SzzSession,
    Variant,
    label_fix,
    label_repository,
    variant_name,
)
from teamlens.mining.tasks import mine_all
from teamlens.store import Store
from tests.conftest import ConfigFactory
from tests.gitrepo import ALICE, BOB, CAROL, EVERYONE, ZOE, RepoBuilder


def _infos(repo: RepoBuilder) -> dict[str, CommitInfo]:
    out = repo.git("log", "--format=%H %P|%ct", "--name-only", "--no-renames", "HEAD")
    infos: dict[str, CommitInfo] = {}
    sha = ""
    for line in out.splitlines():
        if "|" in line:
            ids, when = line.split("|")
            sha, *parents = ids.split()
            infos[sha] = CommitInfo(len(parents) > 1, 0, int(when))
        elif line.strip():
            old = infos[sha]
            infos[sha] = CommitInfo(old.is_merge, old.n_files + 1, old.commit_time)
    return infos


def _found(
    repo: RepoBuilder,
    fix: str,
    extra: frozenset[AgFilter] = frozenset(),
    minor: MinorRule | None = None,
) -> dict[Variant, set[str]]:
    kwargs = {} if minor is None else {"minor": minor}
    results = label_fix(
        SzzSession(repo.path), fix, list(Variant), _infos(repo), 50, ALL_FILTERS | extra, **kwargs
    )
    return {r.variant: r.inducing() for r in results}


def test_a_version_bump_candidate_is_looked_through(repo_builder: RepoBuilder) -> None:
    r = repo_builder
    r.write("client.py", 'def make():\n    return Client(version="1.0.0", retries=0)\n')
    inducing = r.commit("Add the client", ALICE)
    r.write("client.py", 'def make():\n    return Client(version="1.1.0", retries=0)\n')
    r.write("other.py", "X = 1\n")  # a real change beside it: not a cosmetic commit
    bump = r.commit("Release 1.1.0", BOB)
    r.write("client.py", 'def make():\n    return Client(version="1.1.0", retries=3)\n')
    fix = r.commit("Fix retries", CAROL)
    classic = _found(r, fix)
    assert classic == {Variant.B: {bump}, Variant.AG: {bump}, Variant.R: {bump}}
    versions = _found(r, fix, frozenset({AgFilter.VERSIONS}))
    assert versions[Variant.AG] == versions[Variant.R] == {inducing}
    assert versions[Variant.B] == {bump}  # B-SZZ stays PyDriller's algorithm
    # Formatting alone does not look through a changed number.
    assert _found(r, fix, frozenset({AgFilter.FORMATTING}))[Variant.AG] == {bump}


def test_a_changed_number_that_is_no_version_is_kept(repo_builder: RepoBuilder) -> None:
    r = repo_builder
    r.write("calc.py", "def rate():\n    return scale(0.5, limit=1)\n")
    r.commit("Add rate", ALICE)
    r.write("calc.py", "def rate():\n    return scale(1.5, limit=1)\n")
    change = r.commit("Raise the rate", BOB)
    r.write("calc.py", "def rate():\n    return scale(1.5, limit=2)\n")
    fix = r.commit("Fix the limit", CAROL)
    assert _found(r, fix, frozenset({AgFilter.VERSIONS}))[Variant.AG] == {change}


_FORMATTED = (
    'def run(a, b):\n    return compute(\n        a,\n        b,\n        mode="{mode}",\n    )\n'
)


def test_a_reformat_only_candidate_is_looked_through(repo_builder: RepoBuilder) -> None:
    r = repo_builder
    r.write("job.py", "def run(a, b):\n    return compute(a, b, mode='fast')\n")
    inducing = r.commit("Add run", ALICE)
    # A formatter splits the call over lines, adds a trailing comma and changes the
    # quotes, in a commit that also changes code elsewhere (so not cosmetic as a whole).
    r.write("job.py", _FORMATTED.format(mode="fast"))
    r.write("other.py", "def g():\n    return 2\n")
    reformat = r.commit("Format with black and add g", ZOE)
    r.write("job.py", _FORMATTED.format(mode="safe"))
    fix = r.commit("Fix the mode", CAROL)
    assert SzzSession(r.path).is_cosmetic(reformat) is False
    classic = _found(r, fix)
    assert classic[Variant.AG] == {reformat}
    formatting = _found(r, fix, frozenset({AgFilter.FORMATTING}))
    assert formatting[Variant.AG] == formatting[Variant.R] == {inducing}
    assert formatting[Variant.B] == {reformat}


def test_an_added_only_fix_is_unlabelled_unless_asked_for_its_context(
    repo_builder: RepoBuilder,
) -> None:
    r = repo_builder
    r.write("div.py", "def ratio(a, b):\n    total = a + b\n    return a / total\n")
    inducing = r.commit("Add ratio", ALICE)
    r.write("notes.py", "NOTE = 1\n")
    r.commit("Add a note", BOB)
    r.write(
        "div.py",
        "def ratio(a, b):\n    total = a + b\n    if not total:\n        return 0.0\n"
        "    return a / total\n",
    )
    fix = r.commit("Fix division by zero", CAROL)
    # Nothing deleted: B-SZZ, AG-SZZ and R-SZZ have nothing to blame (docs/szz.md).
    assert _found(r, fix) == {Variant.B: set(), Variant.AG: set(), Variant.R: set()}
    context = _found(r, fix, frozenset({AgFilter.ADDED_CONTEXT}))
    assert context[Variant.AG] == context[Variant.R] == {inducing}
    assert context[Variant.B] == set()


def test_a_fix_that_also_deletes_a_line_blames_only_what_it_deletes(
    repo_builder: RepoBuilder,
) -> None:
    r = repo_builder
    r.write("m.py", "def f(x):\n    return x\n\n\ndef g(y):\n    return y + 1\n")
    first = r.commit("Add f and g", ALICE)
    r.write("m.py", "def f(x):\n    return x\n\n\ndef g(y):\n    return y + 2\n")
    second = r.commit("Change g", BOB)
    r.write("m.py", "def f(x):\n    check(x)\n    return x\n\n\ndef g(y):\n    return y + 3\n")
    fix = r.commit("Fix f and g", CAROL)
    found = _found(r, fix, frozenset({AgFilter.ADDED_CONTEXT}))
    assert found[Variant.AG] == {second}  # the added check's context is not blamed
    assert first not in found[Variant.AG]


def test_a_candidate_blamed_for_few_of_many_lines_is_dropped(repo_builder: RepoBuilder) -> None:
    r = repo_builder
    body = "".join(f"    v{i} = a * {i}\n" for i in range(12))
    r.write("big.py", f"def big(a):\n{body}    return v0\n")
    main = r.commit("Add big", ALICE)
    r.write("big.py", f"def big(a):\n{body}    return v1\n")
    small = r.commit("Return v1", BOB)
    fixed = "".join(f"    v{i} = a * {i + 1}\n" for i in range(12))
    r.write("big.py", f"def big(a):\n{fixed}    return v2\n")
    fix = r.commit("Fix big", CAROL)
    assert _found(r, fix)[Variant.AG] == {main, small}
    assert _found(r, fix)[Variant.R] == {small}  # the latest, blamed for 1 line of 13
    minor = _found(r, fix, frozenset({AgFilter.MINOR}), MinorRule(10, 0.1))
    assert minor[Variant.AG] == minor[Variant.R] == {main}
    # Under min_lines the rule does not apply.
    assert _found(r, fix, frozenset({AgFilter.MINOR}), MinorRule(20, 0.1))[Variant.AG] == {
        main,
        small,
    }


def test_variant_names_record_the_precision_filters() -> None:
    assert variant_name(Variant.R) == "r-szz"
    both = ALL_FILTERS | {AgFilter.MINOR, AgFilter.FORMATTING}
    assert variant_name(Variant.R, both) == "r-szz+formatting,minor"
    assert (
        variant_name(Variant.AG, both - {AgFilter.BULK}) == "ag-szz(without bulk)+formatting,minor"
    )
    assert variant_name(Variant.B, both) == "b-szz"


def test_precision_filters_are_configured_by_name_and_stored_without_identities(
    repo_builder: RepoBuilder,
    make_config: ConfigFactory,
    key_env: str,
    data_dir: Path,
) -> None:
    r = repo_builder
    r.write("client.py", 'def make():\n    return Client(version="1.0.0", retries=0)\n')
    inducing = r.commit("Add the client", ALICE)
    r.write("client.py", 'def make():\n    return Client(version="1.1.0", retries=0)\n')
    r.write("other.py", "X = 1\n")
    r.commit("Release 1.1.0", BOB)
    r.write("client.py", 'def make():\n    return Client(version="1.1.0", retries=3)\n')
    fix = r.commit("Fix retries", CAROL)
    filters = [*sorted(f.value for f in ALL_FILTERS), "versions", "formatting"]
    config = load_config(
        make_config(
            {"app": r.path},
            labels={"variants": ["r-szz"], "default_variant": "r-szz", "filters": filters},
        )
    )
    mine_all(config)
    label_repository(config, config.repositories[0])
    rows = Store(data_dir).query("SELECT fix_sha, inducing_sha, variant FROM szz_links").rows
    assert rows == [(fix, inducing, "r-szz+formatting,versions")]
    stored = b"".join(p.read_bytes() for p in data_dir.rglob("*") if p.is_file())
    for person in EVERYONE:
        assert person.email.encode() not in stored
        assert person.name.encode() not in stored


def test_an_unknown_filter_name_is_a_config_error(
    repo_builder: RepoBuilder, make_config: ConfigFactory
) -> None:
    repo_builder.write("a.py", "A = 1\n")
    repo_builder.commit("Add a", ALICE)
    with pytest.raises(ConfigError, match="filters"):
        load_config(make_config({"app": repo_builder.path}, labels={"filters": ["versoins"]}))


def test_a_fix_with_no_candidate_names_the_last_change_to_its_files(
    repo_builder: RepoBuilder,
) -> None:
    r = repo_builder
    r.write("div.py", "def ratio(a, b):\n    total = a + b\n    return a / total\n")
    r.commit("Add ratio", ALICE)
    r.write(
        "div.py",
        "def ratio(a, b):\n    total = a + b\n    return a / total\n\n\n"
        "def share(a, b):\n    return ratio(a, b)\n",
    )
    latest = r.commit("Add share", BOB)
    for i in range(60):  # a bulk commit touches div.py later: never a candidate
        r.write(f"gen/m{i}.py", f"V = {i}\n")
    r.write("div.py", "# generated header\n" + (r.path / "div.py").read_text())
    r.commit("Regenerate", ZOE)
    r.write("README.md", "# notes\n")
    r.commit("Document", ALICE)  # does not touch div.py
    source = (r.path / "div.py").read_text()
    r.write(
        "div.py",
        source.replace(
            "    return a / total\n",
            "    if not total:\n        return 0.0\n    return a / total\n",
        ),
    )
    r.write("README.md", "# notes\n\nratio is safe now\n")
    fix = r.commit("Fix division by zero", CAROL)
    assert _found(r, fix)[Variant.R] == set()
    last = _found(r, fix, frozenset({AgFilter.LAST_TOUCH}))
    assert last[Variant.AG] == last[Variant.R] == {latest}
    assert last[Variant.B] == set()
    results = label_fix(
        SzzSession(r.path), fix, [Variant.R], _infos(r), 50, ALL_FILTERS | {AgFilter.LAST_TOUCH}
    )
    assert results[0].links == {"div.py": {latest: 0}}  # no line blamed: linked for 0 lines
