"""Opt-out is total (issue 13, attack 7; DESIGN.md rule 4).

The company repository of tests/privacy/company.py is mined, labelled, featured and
trained on through the real CLI; then LONER (who works alone on examples/, and whose
"Fix the demo" commits repair lines of their own earlier commits) goes on the opt-out
list, and either `teamlens mine` or `teamlens purge` runs. Afterwards nothing under the
data folder names LONER: no SZZ row (also after `label` runs again, when git blame still
sees LONER's commits), no parent sha, no byte of any file (Parquet decoded too, listed or
not), no model trained on their data, and no output line counting what was removed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from teamlens.mining.miner import opt_out_fingerprint
from teamlens.model.registry import DEFAULT_ID, Registry
from teamlens.privacy import Pseudonymizer
from teamlens.store import Store
from tests.conftest import TEST_KEY, teamlens_command
from tests.privacy.company import LONER, TEAMS, build_company

DAY = 86_400


@dataclass(frozen=True)
class World:
    root: Path
    repo: Path
    work: Path
    env: dict[str, str]

    @property
    def config(self) -> Path:
        return self.work / "repos.yaml"

    @property
    def data_dir(self) -> Path:
        return self.work / ".teamlens"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*teamlens_command(), *args, "--config", str(self.config)],
            env=self.env,
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return done

    def write_config(self, opt_out: Path | None = None) -> None:
        doc: dict[str, object] = {
            "repositories": [{"name": "company", "path": str(self.repo)}],
            "teams": TEAMS,
            "labels": {"maturity_days": 0},
        }
        if opt_out is not None:
            doc["privacy"] = {"opt_out": str(opt_out)}
        self.config.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")

    def opt_out_loner(self) -> None:
        opt_out = self.root / "opt-out.txt"
        opt_out.write_text(f"# asked on 2024-05-02\n{LONER.email}\n", encoding="utf-8")
        self.write_config(opt_out)


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEAMLENS_")}
    env.update({"TEAMLENS_KEY": TEST_KEY, "XDG_CONFIG_HOME": str(root / "xdg")})
    return env


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A company world mined, labelled, featured and trained on, before any opt-out."""
    root = tmp_path_factory.mktemp("opt-out-total")
    build_company(root / "company")
    world = World(root, root / "company", root / "work", _env(root))
    world.work.mkdir()
    world.write_config()
    for step in (("mine",), ("label",), ("features",), ("train", "--no-tune")):
        world.run(*step)
    return root


@pytest.fixture
def world(trained: Path, tmp_path: Path) -> Iterator[World]:
    """A private copy of the trained world (the repository moves: the config follows)."""
    root = tmp_path / "world"
    shutil.copytree(trained, root, symlinks=True)
    world = World(root, root / "company", root / "work", _env(root))
    world.write_config()
    yield world


def _loner_shas(repo: Path) -> set[str]:
    out = subprocess.run(
        ["git", "log", "--all", "--format=%H", f"--author={LONER.email}"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def _loner_pseudonym() -> str:
    return Pseudonymizer(TEST_KEY.encode()).person(LONER.name, LONER.email)


def _parquet_strings(path: Path) -> str:
    """Every string a Parquet file holds: values (lists included), names and metadata."""
    table = pq.read_table(path)
    found = [json.dumps(table.to_pylist(), default=str)]
    found.append(" ".join(table.schema.names))
    found.append(str(table.schema.metadata or {}))
    return "\n".join(found)


def _files_naming(data_dir: Path, needles: set[str]) -> list[str]:
    """Every file under data_dir (listed by a manifest or not) that holds a needle."""
    hits = []
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert sum(p.suffix == ".parquet" for p in files) >= 5, "nearly empty: the scan proves nothing"
    for path in files:
        raw = path.read_bytes()
        texts = [raw.decode("latin-1")]
        if raw[:4] == b"PAR1":
            texts.append(_parquet_strings(path))
        hits += [f"{path}: {n}" for n in needles if any(n in t for t in texts)]
    return hits


def _table(world: World, table: str) -> pa.Table:
    return Store(world.data_dir).read(table)


def _assert_loner_gone(world: World, shas: set[str]) -> None:
    links = _table(world, "szz_links")
    assert not shas & set(links["inducing_sha"].to_pylist())
    assert not shas & set(links["fix_sha"].to_pylist())
    assert not shas & set(_table(world, "szz_fixes")["fix_sha"].to_pylist())
    commits = _table(world, "commits")
    assert not shas & {p for ps in commits["parent_shas"].to_pylist() for p in ps}
    assert not shas & set(commits["sha"].to_pylist())
    assert _files_naming(world.data_dir, shas | {_loner_pseudonym()}) == []


def _counts_in(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\d+", text)}


def _before(world: World, shas: set[str]) -> tuple[str, ...]:
    """What the world holds before the opt-out: LONER is in it (so the test can fail)."""
    links = _table(world, "szz_links")
    assert shas & set(links["inducing_sha"].to_pylist()), "LONER induced no fix: weak test"
    assert shas & {p for ps in _table(world, "commits")["parent_shas"].to_pylist() for p in ps}
    assert _files_naming(world.data_dir, shas)
    models = tuple(Registry.for_data_dir(world.data_dir).ids())
    assert models, "nothing was trained: the model part would prove nothing"
    return models


def _plant_garbage(store_root: Path) -> Path:
    """A superseded copy of the commits, listed as garbage still in its grace period."""
    manifest = json.loads((store_root / "manifest.json").read_text())
    rel = "commits/" + "0" * 32 + ".parquet"
    shutil.copyfile(store_root / manifest["parts"]["commits"][0], store_root / rel)
    manifest["garbage"] = [*manifest.get("garbage", []), [rel, time.time()]]
    (store_root / "manifest.json").write_text(json.dumps(manifest))
    return store_root / rel


def test_mine_after_an_opt_out_leaves_nothing_of_them(world: World) -> None:
    shas = _loner_shas(world.repo)
    assert len(shas) >= 10
    models = _before(world, shas)
    # A compaction before the opt-out leaves superseded part files waiting out their
    # grace period: those hold LONER's rows too, and must go with the purge.
    store_root = world.data_dir / "store" / "company"
    planted = _plant_garbage(store_root)

    world.opt_out_loner()
    mined = world.run("mine")
    out = mined.stdout + mined.stderr
    assert "opt-out applied" in out
    assert len(shas) not in _counts_in(
        "\n".join(line for line in out.splitlines() if "opt" in line)
    ), out
    assert "models trained before it were removed" in out
    registry = Registry.for_data_dir(world.data_dir)
    assert not set(models) & set(registry.ids())
    assert registry.current_id() == DEFAULT_ID
    assert not planted.exists()
    _assert_loner_gone(world, shas)

    # SZZ runs again over git's history, where LONER's commits still are: new links to
    # them are not stored either.
    shutil.rmtree(store_root / "szz_links")
    shutil.rmtree(store_root / "szz_fixes")
    manifest = json.loads((store_root / "manifest.json").read_text())
    manifest["parts"].pop("szz_links")
    manifest["parts"].pop("szz_fixes")
    (store_root / "manifest.json").write_text(json.dumps(manifest))
    world.run("label")
    assert _table(world, "szz_fixes").num_rows > 0, "label did not run again"
    assert _table(world, "szz_links").num_rows > 0
    world.run("features")
    _assert_loner_gone(world, shas)

    # The retrained model records the opt-out list it was trained under, keyed; its
    # training window is whole days.
    world.run("train", "--no-tune")
    (model_id,) = registry.ids()
    meta = json.loads((registry.root / model_id / "meta.json").read_text())
    assert meta["opt_out"] == opt_out_fingerprint(TEST_KEY.encode(), [LONER.email])
    assert LONER.email not in json.dumps(meta)
    assert meta["window"] and all(v % DAY == 0 for v in meta["window"].values())
    _assert_loner_gone(world, shas)
    # The same list again retires nothing.
    again = world.run("mine")
    assert "models trained before it were removed" not in again.stdout + again.stderr
    assert registry.ids() == [model_id]


def test_purge_after_an_opt_out_leaves_nothing_of_them(world: World) -> None:
    shas = _loner_shas(world.repo)
    models = _before(world, shas)
    store_root = world.data_dir / "store" / "company"
    planted = _plant_garbage(store_root)
    # A range of a split first mining, staged before the opt-out.
    staged = world.data_dir / "staging" / "company" / "0123" / "store" / "company" / "commits"
    staged.mkdir(parents=True)
    shutil.copyfile(planted, staged / "part.parquet")
    world.opt_out_loner()
    purged = world.run("purge")
    out = purged.stdout + purged.stderr
    assert "opt-out applied" in out
    assert len(shas) not in _counts_in(re.sub(r"older than \d+ days", "", out)), out
    assert not planted.exists() and not (world.data_dir / "staging" / "company").exists()
    assert "models trained before it were removed" in out
    assert not set(models) & set(Registry.for_data_dir(world.data_dir).ids())
    _assert_loner_gone(world, shas)
    world.run("label")
    _assert_loner_gone(world, shas)
    assert world.run("purge").stdout.count("opt-out applied") == 0  # nothing left to do


def test_models_trained_before_this_teamlens_are_kept_only_without_opt_outs(
    world: World,
) -> None:
    registry = Registry.for_data_dir(world.data_dir)
    (model_id,) = registry.ids()
    meta_path = registry.root / model_id / "meta.json"
    meta = json.loads(meta_path.read_text())
    assert meta["opt_out"] == opt_out_fingerprint(TEST_KEY.encode(), [])
    assert all(v % DAY == 0 for v in meta["window"].values())
    meta.pop("opt_out")  # as written by an older teamlens
    meta_path.write_text(json.dumps(meta))
    world.run("mine")
    assert registry.ids() == [model_id]  # nobody opted out: nothing to remove
    world.opt_out_loner()
    world.run("mine")
    assert registry.ids() == []
