"""The shipped default model (model/default/) and the scripts that build it.

The default model reads only columns the feature registry allows it (the same names as
``change_features``); the review computes every one of them; and the corpus scripts,
run end to end on two real test repositories, write a model folder that loads, reads
those columns, and names nobody.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import yaml

from teamlens.bot.change import compute_change
from teamlens.config import load_config
from teamlens.feature_registry import FEATURES, Group, change_features_schema
from teamlens.model.dataset import INDIVIDUAL_FEATURES
from teamlens.model.registry import DEFAULT_MODEL_DIR, load_model
from tests.gitrepo import ALICE, BOB, CAROL, ERIN, ZOE, RepoBuilder
from tests.model.conftest import build_history

ROOT = Path(__file__).resolve().parents[2]
PEOPLE = (ALICE, BOB, CAROL, ZOE, ERIN)


def default_model_columns() -> set[str]:
    """The registry's columns the default model may read."""
    return {f.name for f in FEATURES if f.model and f.default_model and f.group is not Group.JIT}


def test_shipped_model_reads_only_default_model_columns() -> None:
    model = load_model(DEFAULT_MODEL_DIR)
    features = set(model.meta.features)
    assert features <= default_model_columns(), features - default_model_columns()
    assert not features & set(INDIVIDUAL_FEATURES)
    # Feature names are the change_features column names: no renaming on the way.
    assert dict(model.meta.columns) == {f: f for f in model.meta.features}
    assert features <= set(change_features_schema().names)
    assert {"la", "ld", "nf"} <= features


def test_shipped_model_is_small_and_documented() -> None:
    assert (DEFAULT_MODEL_DIR / "model.txt").stat().st_size < 1_000_000
    model = load_model(DEFAULT_MODEL_DIR)
    assert model.meta.source.startswith("corpus:")
    card = (DEFAULT_MODEL_DIR / "card.md").read_text(encoding="utf-8")
    assert "leave-one-repository-out" in card.lower()
    held_out = {"flask", "click", "requests", "httpx", "cobra", "express"}
    assert not held_out & set(model.meta.source.removeprefix("corpus:").split(","))


BRANCHY = """def area(w, h):
    if w < 0:
        return 0
    for i in range(3):
        if i == w and h > 2:
            return i
    return w * h
"""


def test_review_computes_every_column_the_shipped_model_reads(
    repo_builder: RepoBuilder, tmp_path: Path, key_env: str
) -> None:
    repo_builder.write("geo/shapes.py", "def area(w, h):\n    return w * h\n")
    repo_builder.write("README.md", "shapes\n")
    base = repo_builder.commit("Initial import", ALICE)
    repo_builder.write("geo/shapes.py", BRANCHY)
    repo_builder.write("geo/new.py", "def fresh():\n    return 1\n")
    repo_builder.write("tests/test_shapes.py", "def test_area():\n    assert True\n")
    head = repo_builder.commit("Fix area for negative sizes", BOB)
    config_path = tmp_path / "repos.yaml"
    doc = {"repositories": [{"name": "shapes", "path": str(repo_builder.path)}]}
    config_path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    config = load_config(config_path)
    change = compute_change(config, config.repositories[0], base, head)
    model = load_model(DEFAULT_MODEL_DIR)
    for name in model.meta.features:
        assert name in change.features, name
        # A value, or named as unavailable (function history needs a mined store).
        assert math.isfinite(change.features[name]) or name in change.unavailable, name
    assert (
        math.isfinite(change.features["la_new_files"]) and change.features["la_new_files"] == 4
    )  # two new files, 2 lines each


def _git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=path, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_corpus_scripts_end_to_end_name_nobody(tmp_path: Path) -> None:
    """build_corpus.py then train_default_model.py on two test repositories ("mirrors")."""
    mirrors = tmp_path / "mirrors"
    entries = []
    for n, (name, seed) in enumerate((("alpha", 3), ("beta", 11))):
        repo = build_history(mirrors / f"testorg+{name}", changes=220, seed=seed, authors=PEOPLE)
        entries.append(
            {
                "name": name,
                "github": f"testorg/{name}",
                "commit": _git(repo.path, "rev-parse", "HEAD"),
                "language": "python",
                "why": f"test repository {n}",
            }
        )
    corpus = tmp_path / "corpus.yaml"
    corpus.write_text(yaml.safe_dump({"repositories": entries}), encoding="utf-8")
    data = tmp_path / "data"
    build = subprocess.run(
        [sys.executable, "scripts/build_corpus.py", str(data), "--corpus", str(corpus),
         "--mirrors", str(mirrors), "--maturity-days", "1"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    assert "[2/2] beta: features" in build.stderr
    # Resumable: a second run finds every stage done and runs none.
    again = subprocess.run(
        [sys.executable, "scripts/build_corpus.py", str(data), "--corpus", str(corpus),
         "--mirrors", str(mirrors), "--maturity-days", "1"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert ": mine" not in again.stderr and ": features" not in again.stderr

    out = tmp_path / "model"
    table = tmp_path / "loro.md"
    train = subprocess.run(
        [sys.executable, "scripts/train_default_model.py", str(data), "--out", str(out),
         "--table", str(table)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    model = load_model(out)
    assert set(model.meta.features) <= default_model_columns()
    assert model.meta.source == "corpus:alpha,beta"
    rows = [line for line in table.read_text(encoding="utf-8").splitlines() if "| alpha |" in line]
    assert len(rows) == 3  # all changes, code changes, docs/config-only changes
    auc = float(rows[0].split("|")[4])  # ROC-AUC of LightGBM on alpha, trained on beta
    assert 0.5 < auc <= 1.0 and not math.isnan(auc)

    written = [p.read_text(encoding="utf-8") for p in out.iterdir()]
    texts = [*written, table.read_text(encoding="utf-8"), train.stdout, train.stderr]
    texts += [build.stdout, build.stderr]
    for person in PEOPLE:
        for needle in (person.name, person.email, person.name.split()[0]):
            assert not any(needle.lower() in t.lower() for t in texts), needle
