"""A mined, labelled and featurised repository with a planted defect pattern.

Big changes (several files, many lines) plant a bug more often than small ones; a
later "Fix ..." commit rewrites each planted line, so SZZ labels the planting commit
defect-inducing. The model has something real to learn, from a real repository
mined, labelled and featurised by teamlens itself.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from teamlens.config import Config, load_config
from teamlens.features.changes import features_for
from teamlens.mining.szz import label_repository
from teamlens.mining.tasks import mine_all
from tests.gitrepo import ALICE, BOB, CAROL, ERIN, ZOE, Person, RepoBuilder

AUTHORS = (ALICE, BOB, CAROL, ZOE, ERIN)
LINES_PER_FILE = 40


@dataclass(frozen=True)
class LabelledRepo:
    config_path: Path
    config: Config
    people: tuple[Person, ...]


def _file(values: list[str]) -> str:
    body = "".join(f"    x{i} = {v}\n" for i, v in enumerate(values))
    return f"def compute():\n{body}    return 0\n"


def build_history(
    path: Path, changes: int = 320, seed: int = 7, authors: Sequence[Person] = AUTHORS
) -> RepoBuilder:
    """`changes` commits by `authors` (the first also makes the initial import)."""
    rng = random.Random(seed)
    repo = RepoBuilder(path)
    files = {
        f"src/{team}/m{i}.py": ["0"] * LINES_PER_FILE for team in ("core", "web") for i in range(8)
    }
    for name, values in files.items():
        repo.write(name, _file(values))
    repo.commit("Initial import", authors[0])
    pending: list[tuple[int, str, int]] = []  # (due change number, file, line) of planted bugs
    for n in range(1, changes + 1):
        due = [p for p in pending if p[0] <= n]
        if due:
            _, name, line = due[0]
            pending.remove(due[0])
            files[name][line] = f"{n}  # corrected"
            repo.write(name, _file(files[name]))
            repo.commit(f"Fix wrong value in {name.rsplit('/', 1)[-1]}", rng.choice(authors))
            continue
        big = rng.random() < 0.35
        touched = rng.sample(sorted(files), rng.randint(4, 7) if big else 1)
        for name in touched:
            for line in rng.sample(range(LINES_PER_FILE), rng.randint(6, 14) if big else 1):
                files[name][line] = str(n)
            repo.write(name, _file(files[name]))
        if rng.random() < (0.6 if big else 0.08):
            name = touched[0]
            line = next(i for i, v in enumerate(files[name]) if v == str(n))
            pending.append((n + rng.randint(2, 6), name, line))
        repo.commit(f"Change {n}", rng.choice(authors))
    return repo


@pytest.fixture(scope="session")
def labelled_repo(tmp_path_factory: pytest.TempPathFactory) -> LabelledRepo:
    """A repository of about 320 changes, mined, labelled and featurised (session-wide)."""
    root = tmp_path_factory.mktemp("labelled")
    repo = build_history(root / "repo")
    work = root / "work"
    work.mkdir()
    doc = {
        "repositories": [{"name": "planted", "path": str(repo.path)}],
        "teams": {"core": ["src/core/**"], "web": ["src/web/**"]},
        "privacy": {"key_file": str(root / "key")},
        "labels": {"maturity_days": 1},
    }
    config_path = work / "repos.yaml"
    config_path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    config = load_config(config_path)
    mine_all(config)
    label_repository(config, config.repositories[0])
    features_for(config)
    return LabelledRepo(config_path, config, AUTHORS)
