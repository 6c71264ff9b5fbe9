"""Levels from the repository's own distribution and reasons compared with its typical
change, on a real mined repository with a model trained on it.

A planted large new-code change (14 new files, a 26-branch function) must get a higher
level than a one-line note, with its size compared with the repository's changes; the
riskiest tenth of the repository's changes must be "high"; no reason reads "nan",
"-0.0" or a blank-line count; and nothing the review prints names a person.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

from teamlens.audit import purge
from teamlens.bot.domain import Level
from teamlens.bot.review import review_local
from teamlens.config import Config, load_config
from teamlens.features.changes import features_for
from teamlens.mining.szz import label_repository
from teamlens.mining.tasks import mine_all
from teamlens.model.dataset import load_store
from teamlens.model.estimator import RiskClassifier
from teamlens.model.levels import (
    HIGH_SHARE,
    LEVELS_FILE,
    LevelBasis,
    RiskLevel,
    model_frame,
    record_levels,
)
from teamlens.model.reference import cache_path, recent_changes, repository_reference
from teamlens.model.registry import (
    DEFAULT_MODEL_DIR,
    ModelMeta,
    Registry,
    SavedModel,
    load_model,
    save_model,
)
from teamlens.privacy import Pseudonymizer, load_key
from teamlens.store import Store
from tests.conftest import teamlens_command
from tests.gitrepo import ALICE, BOB, ERIN, RepoBuilder
from tests.model.conftest import AUTHORS

REPO = "planted"


@dataclass(frozen=True)
class Trained:
    repo: RepoBuilder
    config: Config
    model: SavedModel
    main: str  # the tip of the mined history


def _branchy_function(branches: int) -> str:
    body = "".join(f"    if x == {i}:\n        return {i * 3}\n" for i in range(branches - 1))
    return f"def dispatch(x):\n{body}    return -1\n"


def _module(values: list[str]) -> str:
    return "".join(f"def f{i}(v):\n    return v + {x}\n\n" for i, x in enumerate(values))


def _history(path: Path, changes: int = 300, seed: int = 11) -> RepoBuilder:
    """Edits of existing files, notes added to the README, and now and then a new module:
    the more lines a change adds, the likelier it plants a bug (a later "Fix ..." rewrites
    one of its lines), so that a model trained here learns that size is risky."""
    rng = random.Random(seed)
    repo = RepoBuilder(path)
    files = {f"src/{team}/m{i}.py": ["0"] * 12 for team in ("core", "web") for i in range(6)}
    for name, values in files.items():
        repo.write(name, _module(values))
    notes: list[str] = []
    repo.write("README.md", "# planted\n")
    repo.commit("Initial import", AUTHORS[0])
    pending: list[tuple[int, str, int]] = []  # (due change number, file, line) of bugs
    for n in range(1, changes + 1):
        author = rng.choice(AUTHORS)
        due = [p for p in pending if p[0] <= n]
        if due:
            pending.remove(due[0])
            _, name, line = due[0]
            files[name][line] = f"{n} + 1"
            repo.write(name, _module(files[name]))
            repo.commit(f"Fix wrong value in {name.rsplit('/', 1)[-1]}", author)
            continue
        kind = rng.random()
        if kind < 0.1:
            notes.append(f"Note {n}.")
            repo.write("README.md", "# planted\n" + "".join(f"{x}\n" for x in notes))
            repo.commit(f"Note {n}", author)
            continue
        touched: list[tuple[str, int]] = []  # (file, line) the change wrote
        if kind < 0.25:
            for i in range(rng.randint(1, 4)):
                name = f"src/core/new{n}_{i}.py"
                files[name] = [f"{rng.randint(1, 99)} * 2" for _ in range(rng.randint(3, 20))]
                touched += [(name, j) for j in range(len(files[name]))]
        else:
            for name in rng.sample(sorted(files), rng.randint(1, 3)):
                count = min(len(files[name]), rng.randint(1, 8))
                for line in rng.sample(range(len(files[name])), count):
                    files[name][line] = str(n)
                    touched.append((name, line))
        for name in {name for name, _ in touched}:
            repo.write(name, _module(files[name]))
        if rng.random() < min(0.9, len(touched) / 40):
            name, line = rng.choice(touched)
            pending.append((n + rng.randint(2, 6), name, line))
        repo.commit(f"Change {n}", author)
    return repo


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    root = tmp_path_factory.mktemp("levels")
    repo = _history(root / "repo")
    work = root / "work"
    work.mkdir()
    doc = {
        "repositories": [{"name": REPO, "path": str(repo.path)}],
        "teams": {"core": ["src/core/**"], "web": ["src/web/**"]},
        "privacy": {"key_file": str(root / "key")},
        "labels": {"maturity_days": 1},
    }
    (work / "repos.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    config = load_config(work / "repos.yaml")
    mine_all(config)
    label_repository(config, config.repositories[0])
    features_for(config)
    return Trained(repo, config, _lightgbm(config), repo.head())


def _lightgbm(config: Config) -> SavedModel:
    """A LightGBM model trained on the repository's labelled changes, saved as a model
    folder with its training levels (what `teamlens train` writes)."""
    data = load_store(Store(config.data_dir), [REPO]).labelled
    classifier = RiskClassifier(n_estimators=200, num_threads=1).fit(data.x(), data.y())
    meta = ModelMeta(
        model_id="planted-lightgbm",
        created="2026-01-01T00:00:00Z",
        source=f"store:{REPO}",
        features=data.features,
        columns={f: f for f in data.features},
        definitions={},
        dropped=(),
        window={},
        params={},
        threshold=0.5,
        metrics={},
    )
    registry = Registry.for_data_dir(config.data_dir)
    saved = save_model(registry.folder(meta.model_id), meta, classifier, "# test model\n")
    assert record_levels(saved, data, config.privacy.k) is not None
    return registry.load(meta.model_id)


def _branch(trained: Trained, name: str) -> None:
    trained.repo.git("checkout", "-q", "-B", name, trained.main)


def _large_new_code(trained: Trained) -> str:
    _branch(trained, "large")
    repo = trained.repo
    repo.write("src/core/engine/dispatch.py", _branchy_function(26))
    for i in range(13):
        body = "".join(f"def step_{i}_{j}(v):\n    return v + {j}\n\n" for j in range(8))
        repo.write(f"src/core/engine/step{i}.py", body)
    return repo.commit("Add the dispatch engine", BOB)


def _one_line_note(trained: Trained) -> str:
    _branch(trained, "note")
    readme = trained.repo.path / "README.md"
    text = readme.read_text(encoding="utf-8")
    trained.repo.write("README.md", text + "Remember the release notes.\n")
    return trained.repo.commit("Add a note", ALICE)


def test_a_large_new_code_change_is_above_a_one_line_note(trained: Trained) -> None:
    large = review_local(
        trained.config, None, trained.main, _large_new_code(trained), trained.model
    )
    note = review_local(trained.config, None, trained.main, _one_line_note(trained), trained.model)
    order = [Level.LOW, Level.MEDIUM, Level.HIGH]
    assert order.index(large.level) > order.index(note.level)
    assert large.risk > note.risk
    assert note.level is Level.LOW
    assert large.level_meaning.startswith("among the riskiest ")
    assert large.level_meaning.endswith(" of this repository's recent changes")
    # Its size, compared with the repository's own changes.
    sized = [r for r in large.reasons if r.startswith(("adds ", "touches "))]
    assert sized, large.reasons
    assert all("% of this repository's recent changes" in r for r in sized)
    assert any(re.fullmatch(r"adds \d{3} lines, more than 9\d % of .*", r) for r in sized), sized
    for result in (large, note):
        assert len(result.reasons) <= 3
        for reason in result.reasons:
            assert "nan" not in reason.lower() and "-0" not in reason
            assert "blank" not in reason and "comment" not in reason


def test_the_repositorys_riskiest_tenth_is_high(trained: Trained) -> None:
    config, model = trained.config, trained.model
    reference = repository_reference(config.data_dir, model, REPO, config.privacy.k)
    assert reference is not None and reference.basis is LevelBasis.REPOSITORY
    frame = recent_changes(Store(config.data_dir), REPO)
    assert reference.changes == len(frame) > 200
    risks = model.classifier.predict_proba(model_frame(model.meta, frame))[:, 1]
    levels = [reference.level(float(r)) for r in risks]
    high = levels.count(RiskLevel.HIGH) / len(levels)
    assert 0.5 * HIGH_SHARE <= high <= HIGH_SHARE
    assert reference.level(float(risks.max())) is RiskLevel.HIGH
    assert reference.level(float(np.median(risks))) is RiskLevel.LOW
    # Reviewed like a pull request, the riskiest stored change is "high" too.
    sha = frame["sha"].iloc[int(np.argmax(risks))]
    result = review_local(config, None, f"{sha}~1", sha, model)
    assert result.level is Level.HIGH


def test_the_reference_is_cached_privately_and_holds_no_commit_or_person(
    trained: Trained,
) -> None:
    config, model = trained.config, trained.model
    first = repository_reference(config.data_dir, model, REPO, config.privacy.k)
    path = cache_path(config.data_dir, model.model_id, REPO)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert repository_reference(config.data_dir, model, REPO, config.privacy.k) == first
    shas = {s for (s,) in Store(config.data_dir).query("SELECT sha FROM commits").rows}
    written = text + (model.path / LEVELS_FILE).read_text(encoding="utf-8")
    assert not any(s in written or s[:12] in written for s in shas)
    assert _leaks(trained, written) == []
    # Fewer than k people behind the changes: no reference of the repository's own.
    path.unlink()
    assert repository_reference(config.data_dir, model, REPO, k=len(AUTHORS) + 1) is None
    assert json.loads(path.read_text(encoding="utf-8"))["reference"] is None
    assert repository_reference(config.data_dir, model, REPO, config.privacy.k) == first


def test_stored_features_without_a_models_column_give_no_reference(trained: Trained) -> None:
    config, model = trained.config, trained.model
    feature = model.meta.features[0]
    newer = dataclasses.replace(
        model.meta,
        model_id="needs-newer-features",
        columns={**model.meta.columns, feature: "a_column_of_a_newer_teamlens"},
    )
    other = SavedModel(model.path, newer, model.classifier)
    assert repository_reference(config.data_dir, other, REPO, config.privacy.k) is None


def _fresh_config(trained: Trained, tmp_path: Path) -> Config:
    """A configuration of the trained repository with an empty data folder: no store."""
    doc = {
        "data_dir": str(tmp_path / "empty"),
        "repositories": [{"name": "fresh", "path": str(trained.repo.path)}],
        "privacy": {"key_file": str(tmp_path / "key")},
    }
    (tmp_path / "repos.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return load_config(tmp_path / "repos.yaml")


def test_without_a_store_the_training_distribution_decides(
    trained: Trained, tmp_path: Path
) -> None:
    config = _fresh_config(trained, tmp_path)
    result = review_local(config, None, trained.main, _large_new_code(trained), trained.model)
    assert result.level_meaning.endswith("of the changes the model was trained on")
    assert all("% of this repository's" not in r for r in result.reasons)


def _forbidden(trained: Trained) -> set[str]:
    pseudonyms = Pseudonymizer(load_key(trained.config.privacy, trained.config.data_dir))
    found: set[str] = set()
    for p in AUTHORS:
        email = p.email.lower()
        found |= {p.name.lower(), email, email.split("@")[0], pseudonyms.person(p.name, p.email)}
    return found


def _leaks(trained: Trained, text: str) -> list[str]:
    lowered = text.lower()
    return sorted(s for s in _forbidden(trained) if s in lowered)


def test_review_output_names_no_author(trained: Trained) -> None:
    head = _large_new_code(trained)
    registry = Registry.for_data_dir(trained.config.data_dir)
    registry.set_current(trained.model.model_id)
    outputs = []
    for fmt in ("md", "json", "sarif"):
        run = subprocess.run(
            [*teamlens_command(), "review", "--base", trained.main, "--head", head,
             "--format", fmt, "--config", str(trained.config.path)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout + run.stderr)
    assert "riskiest" in outputs[0] and "% of this repository's recent changes" in outputs[0]
    assert json.loads(outputs[1])["level_meaning"].startswith("among the riskiest")
    assert _leaks(trained, "\n".join(outputs)) == []


def test_purging_someone_discards_the_cached_reference(trained: Trained, tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(trained.config.path.parent, work)
    (tmp_path / "optout.txt").write_text(ERIN.email + "\n", encoding="utf-8")
    doc = yaml.safe_load((work / "repos.yaml").read_text(encoding="utf-8"))
    doc["privacy"]["opt_out"] = str(tmp_path / "optout.txt")
    (work / "repos.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    config = load_config(work / "repos.yaml")
    model = Registry.for_data_dir(config.data_dir).load(trained.model.model_id)
    assert repository_reference(config.data_dir, model, REPO, config.privacy.k) is not None
    cached = cache_path(config.data_dir, model.model_id, REPO)
    assert cached.is_file()
    purge(config)
    assert not cached.exists()  # built from rows of someone who opted out since
    # Four people are left: the repository has no reference of its own any more.
    assert repository_reference(config.data_dir, model, REPO, config.privacy.k) is None


def test_the_shipped_default_model_puts_the_planted_change_above_a_note(
    trained: Trained, tmp_path: Path
) -> None:
    """A new user's first review (no store, the shipped default model) sees new code."""
    config = _fresh_config(trained, tmp_path)
    default = load_model(DEFAULT_MODEL_DIR)
    large = review_local(config, None, trained.main, _large_new_code(trained), default)
    note = review_local(config, None, trained.main, _one_line_note(trained), default)
    assert note.level is Level.LOW
    assert large.level is not Level.LOW
    assert large.risk > 10 * note.risk
    assert any(r.startswith("adds ") or "new files" in r for r in large.reasons), large.reasons
