"""Rebuild the default model's training corpus: clone, mine, label and compute features.

Usage::

    .venv/bin/python scripts/build_corpus.py DATA_DIR [--corpus model/corpus.yaml]
        [--mirrors DIR] [--repo NAME ...] [--redo features]

For every repository of the corpus list (model/corpus.yaml: name, GitHub owner/name,
pinned commit, language, why chosen) it

1. clones the repository (bare) from ``https://github.com/OWNER/NAME``, or from a local
   mirror folder ``DIR/OWNER+NAME`` (or ``DIR/OWNER+NAME/repo``) with ``--mirrors DIR``,
   and points the branch ``corpus`` at the pinned commit (a clone that lacks it fails);
2. writes ``DATA_DIR/repos.yaml`` (data in ``DATA_DIR/teamlens``, clones in
   ``DATA_DIR/clones``, the pseudonym key in ``DATA_DIR/key``, only the default SZZ
   variant, GitHub not read);
3. runs teamlens's own stages on it, one repository at a time: ``teamlens mine
   --no-github``, ``teamlens label``, ``teamlens features``.

Progress goes to stderr (one line per stage with its time) and to
``DATA_DIR/progress.json``, rewritten atomically after every stage. A killed run loses at
most the stage in progress: the next run skips what is done, and the stages themselves
are incremental and crash-safe. ``--redo features`` runs the features stage again on
every repository (it recomputes only when the feature pipeline changed).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from teamlens.config.schema import LabelConfig

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT / "model" / "corpus.yaml"
STAGES = ("mine", "label", "features")
BRANCH = "corpus"
HELD_OUT = frozenset(
    {
        "pallets/flask",
        "pallets/click",
        "psf/requests",
        "encode/httpx",
        "spf13/cobra",
        "expressjs/express",
    }
)


class CorpusError(Exception):
    """The corpus list is malformed, or a repository could not be cloned or mined."""


@dataclass(frozen=True)
class CorpusRepo:
    """One entry of the corpus list."""

    name: str
    github: str  # owner/name
    commit: str
    language: str
    why: str


def load_corpus(path: Path) -> tuple[CorpusRepo, ...]:
    """The corpus list; refuses a held-out repository and duplicate names."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = doc.get("repositories") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not entries:
        raise CorpusError(f"{path}: expected a non-empty list `repositories`")
    repos: list[CorpusRepo] = []
    for i, entry in enumerate(entries):
        try:
            repo = CorpusRepo(
                name=str(entry["name"]),
                github=str(entry["github"]),
                commit=str(entry["commit"]),
                language=str(entry["language"]),
                why=str(entry.get("why", "")),
            )
        except (KeyError, TypeError) as exc:
            raise CorpusError(f"{path}: repositories[{i}]: missing {exc}") from exc
        if repo.github.lower() in HELD_OUT:
            raise CorpusError(f"{path}: {repo.github} is held out for acceptance")
        if len(repo.commit) != 40:
            raise CorpusError(f"{path}: {repo.name}: commit must be a full 40-digit sha")
        repos.append(repo)
    names = [r.name for r in repos]
    if len(set(names)) != len(names):
        raise CorpusError(f"{path}: repository names must be unique")
    return tuple(repos)


def _git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CorpusError(f"git {' '.join(args)}: {done.stderr.strip()[:300]}")
    return done.stdout


def _source(repo: CorpusRepo, mirrors: Path | None) -> str:
    if mirrors is None:
        return f"https://github.com/{repo.github}"
    base = mirrors / repo.github.replace("/", "+")
    for candidate in (base / "repo", base):
        if candidate.is_dir():
            return str(candidate)
    raise CorpusError(f"{repo.name}: no mirror {base}")


def clone(repo: CorpusRepo, clones: Path, mirrors: Path | None) -> Path:
    """A bare clone whose branch ``corpus`` (and HEAD) is the pinned commit."""
    target = clones / repo.name
    if (target / "HEAD").is_file():
        return target
    tmp = clones / f".{repo.name}.{os.getpid()}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    clones.mkdir(parents=True, exist_ok=True)
    _git("clone", "--bare", "--quiet", _source(repo, mirrors), str(tmp))
    try:
        _git("cat-file", "-e", f"{repo.commit}^{{commit}}", cwd=tmp)
    except CorpusError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise CorpusError(f"{repo.name}: pinned commit {repo.commit} not in the clone") from exc
    if mirrors is not None:
        _stand_in_for_missing_blobs(repo, tmp)
    _git("update-ref", f"refs/heads/{BRANCH}", repo.commit, cwd=tmp)
    _git("symbolic-ref", "HEAD", f"refs/heads/{BRANCH}", cwd=tmp)
    os.replace(tmp, target)
    return target


def _stand_in_for_missing_blobs(repo: CorpusRepo, clone_dir: Path) -> None:
    """Let an empty blob stand in (a ``refs/replace`` ref) for each blob a mirror lacks.

    Mirror snapshots may leave out their largest files; git cannot diff a version whose
    blob is missing, so that file's versions count 0 lines instead. Any other missing
    object is an error.
    """
    done = subprocess.run(
        ["git", "fsck", "--connectivity-only", "--no-dangling"],
        cwd=clone_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    missing = [line.split() for line in (done.stdout + done.stderr).splitlines()]
    missing = [words for words in missing if len(words) == 3 and words[0] == "missing"]
    if not missing:
        return
    if any(words[1] != "blob" for words in missing):
        raise CorpusError(f"{repo.name}: the mirror lacks objects other than blobs")
    empty = subprocess.run(
        ["git", "hash-object", "-w", "--stdin"],
        cwd=clone_dir,
        input="",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    for _, _, sha in missing:
        _git("update-ref", f"refs/replace/{sha}", empty, cwd=clone_dir)
    print(
        f"  {repo.name}: {len(missing)} blob(s) missing in the mirror, read as empty",
        file=sys.stderr,
    )


def write_config(data: Path, repos: tuple[CorpusRepo, ...], maturity_days: int) -> Path:
    """DATA_DIR/repos.yaml for the cloned repositories."""
    variant = LabelConfig().default_variant
    config = {
        "data_dir": "teamlens",
        "clones_dir": "clones",
        "repositories": [
            {"name": r.name, "path": f"clones/{r.name}", "branch": BRANCH}
            for r in repos
            if (data / "clones" / r.name / "HEAD").is_file()
        ],
        "teams": {},
        "privacy": {"k": 5, "key_file": "key"},
        "labels": {
            "variants": [variant],
            "default_variant": variant,
            "maturity_days": maturity_days,
        },
    }
    path = data / "repos.yaml"
    _atomic_write(path, "# Written by scripts/build_corpus.py.\n" + yaml.safe_dump(config))
    return path


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class ProgressFile:
    """DATA_DIR/progress.json: per repository, the pinned commit and each stage's seconds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.state: dict[str, Any] = (
            json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        )

    def done(self, repo: CorpusRepo, stage: str) -> bool:
        entry = self.state.get(repo.name, {})
        return bool(entry.get("commit") == repo.commit and stage in entry.get("seconds", {}))

    def record(self, repo: CorpusRepo, stage: str, seconds: float) -> None:
        entry = self.state.setdefault(repo.name, {})
        if entry.get("commit") != repo.commit:
            entry.clear()
            entry["commit"] = repo.commit
        entry.setdefault("seconds", {})[stage] = round(seconds, 1)
        _atomic_write(self.path, json.dumps(self.state, indent=2, sort_keys=True) + "\n")

    def forget(self, stage: str) -> None:
        for entry in self.state.values():
            entry.get("seconds", {}).pop(stage, None)


def run_stage(config: Path, repo: CorpusRepo, stage: str) -> None:
    # -P: the working folder is not put on sys.path (the data folder holds a folder
    # named teamlens, which would shadow the package).
    command = [sys.executable, "-P", "-m", "teamlens", stage, "--config", str(config)]
    command += ["--repo", repo.name]
    if stage == "mine":
        command.append("--no-github")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        print(f"  {line}", file=sys.stderr)
    if done.returncode != 0:
        raise CorpusError(f"{repo.name}: teamlens {stage} failed: {done.stderr.strip()[-500:]}")


def build(
    data: Path,
    corpus: tuple[CorpusRepo, ...],
    mirrors: Path | None,
    only: tuple[str, ...] = (),
    redo: tuple[str, ...] = (),
    maturity_days: int = LabelConfig().maturity_days,
) -> None:
    """Clone and run the stages on `only` (default: all of `corpus`); repos.yaml lists every
    cloned repository of the corpus, so a partial run never drops one from the config."""
    repos = tuple(r for r in corpus if not only or r.name in only)
    data.mkdir(parents=True, exist_ok=True)
    os.chmod(data, 0o700)
    clones = data / "clones"
    for n, repo in enumerate(repos, 1):
        started = time.monotonic()
        if not (clones / repo.name / "HEAD").is_file():
            clone(repo, clones, mirrors)
            print(
                f"[{n}/{len(repos)}] {repo.name}: cloned at {repo.commit[:12]} "
                f"({time.monotonic() - started:.0f} s)",
                file=sys.stderr,
            )
    config = write_config(data, corpus, maturity_days)
    progress = ProgressFile(data / "progress.json")
    for stage in redo:
        progress.forget(stage)
    total = time.monotonic()
    for n, repo in enumerate(repos, 1):
        for stage in STAGES:
            if progress.done(repo, stage):
                continue
            started = time.monotonic()
            run_stage(config, repo, stage)
            seconds = time.monotonic() - started
            progress.record(repo, stage, seconds)
            print(f"[{n}/{len(repos)}] {repo.name}: {stage} {seconds:.0f} s", file=sys.stderr)
    print(f"corpus built in {data} ({time.monotonic() - total:.0f} s of stages)", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="folder for clones, store and progress")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--mirrors", type=Path, help="clone from DIR/OWNER+NAME, not GitHub")
    parser.add_argument("--repo", action="append", default=[], help="only this repository")
    parser.add_argument("--redo", action="append", default=[], choices=STAGES)
    parser.add_argument(
        "--maturity-days",
        type=int,
        default=LabelConfig().maturity_days,
        help="label maturity window (default: teamlens's)",
    )
    args = parser.parse_args()
    try:
        repos = load_corpus(args.corpus)
        if args.repo:
            unknown = set(args.repo) - {r.name for r in repos}
            if unknown:
                raise CorpusError(f"not in the corpus: {', '.join(sorted(unknown))}")
        build(
            args.data_dir.resolve(),
            repos,
            args.mirrors,
            tuple(args.repo),
            tuple(args.redo),
            args.maturity_days,
        )
    except (CorpusError, OSError, yaml.YAMLError) as exc:
        print(f"build_corpus: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
