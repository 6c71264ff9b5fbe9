"""The commented starter repos.yaml that `teamlens init` writes for the clone it runs in."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from teamlens.config.schema import DEFAULT_CONFIG_NAME
from teamlens.config.validation import load_config
from teamlens.errors import ConfigError

STARTER = """\
# repos.yaml: what teamlens mines and how it protects the people behind the history.
# Reference: docs/configuration.md. Every key below is optional unless marked.

data_dir: .teamlens                 # facts (Parquet), models and reports; no raw identities

repositories:                       # required: at least one
  - name: {name}                    # unique; letters, digits, '.', '_' or '-'
    path: {path}                         # a local clone; or `url:` to clone into clones_dir
{branch_line}
    # all_branches: true            # mine every branch instead of one
    # github: owner/repo            # also mine pull requests and reviews

teams: {{}}                           # team name -> path globs it owns, e.g.
#   core: ["src/**"]
#   docs: ["docs/**", "*.md"]
#   codeowners: true                # or read .github/CODEOWNERS

privacy:
  k: 5                              # minimum group size for any team figure; below 5 is refused
  key_env: TEAMLENS_KEY             # environment variable holding the pseudonymisation key;
  # key_file: ~/.config/teamlens/key  # used when the variable is unset (created 0600)
  # opt_out: optout.txt             # one e-mail per line (logins: with GitHub mining)
  retention_days: 365               # review text older than this is not kept
  # dominance: 50                   # % of a figure's changes one person may make at most

# mining:
#   detect_copies: false            # also detect copies (git -C); renames are always detected
#   fix_patterns:                   # regexes on the whole commit message marking a fix;
#                                   # these two are the defaults
#     - '(?i)\\b(fix(e[sd]|ing)?|bugs?|bugfix(es)?|defects?|patch(ed|es)?)\\b'
#     - '(?i)\\b(close[sd]?|resolve[sd]?)\\s+#\\d+'

# github:
#   url: https://github.example.com # GitHub Enterprise base URL; omit for github.com
#   token_env: GITHUB_TOKEN
"""


def _toplevel(folder: Path) -> Path | None:
    result = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
    )
    top = result.stdout.strip()
    return Path(top).resolve() if result.returncode == 0 and top else None


def _current_branch(folder: Path) -> str | None:
    result = subprocess.run(
        ["git", "-C", str(folder), "symbolic-ref", "--short", "-q", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    branch = result.stdout.strip()
    return branch or None


def write_starter(folder: Path, force: bool = False) -> Path:
    """Write a commented repos.yaml for the repository in `folder` and return its path."""
    target = folder / DEFAULT_CONFIG_NAME
    if target.exists() and not force:
        raise ConfigError(f"{target}: already exists (use --force to overwrite)")
    top = _toplevel(folder)
    if top is None:
        raise ConfigError(
            f"{folder}: not inside a git repository; run `teamlens init` in a clone "
            "or write repos.yaml by hand (see docs/configuration.md)"
        )
    name = re.sub(r"[^A-Za-z0-9._-]", "-", top.name).lstrip("._-") or "repo"
    branch = _current_branch(folder)
    # Quoted: a folder `2024` or a branch `1.0` / `null` would otherwise load as a number.
    branch_line = (
        f"    branch: {json.dumps(branch, ensure_ascii=False)}"
        "                  # default: the repository's HEAD branch"
        if branch
        else "    # branch: main                # default: the HEAD branch"
    )
    path = json.dumps(os.path.relpath(top, folder.resolve()))
    text = STARTER.format(name=json.dumps(name), path=path, branch_line=branch_line)
    target.write_text(text, encoding="utf-8")
    load_config(target)  # the starter must always be valid
    return target


def exclude_data_folders(config_path: Path) -> list[str]:
    """Add the data and clone folders of ``config_path`` to ``.git/info/exclude``.

    Only folders inside the work tree of the repository holding repos.yaml count; a
    line already there is not added again. Returns the lines added (``/.teamlens/``).
    """
    config = load_config(config_path)
    top = _toplevel(config_path.parent)
    if top is None:
        return []
    wanted = []
    for folder in (config.data_dir, config.clones_dir):
        try:
            rel = folder.resolve().relative_to(top)
        except ValueError:
            continue  # outside the work tree: git never sees it
        if rel.parts:
            wanted.append(f"/{rel.as_posix()}/")
    if not wanted:
        return []
    result = subprocess.run(
        ["git", "-C", str(top), "rev-parse", "--git-path", "info/exclude"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        return []
    exclude = top / result.stdout.strip()  # relative to top unless git made it absolute
    present = set()
    if exclude.exists():
        present = {line.strip() for line in exclude.read_text(encoding="utf-8").splitlines()}
    added = [line for line in dict.fromkeys(wanted) if line not in present]
    if added:
        exclude.parent.mkdir(parents=True, exist_ok=True)
        old = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        sep = "" if not old or old.endswith("\n") else "\n"
        lines = "".join(f"{line}\n" for line in added)
        exclude.write_text(f"{old}{sep}# teamlens data and clones\n{lines}", encoding="utf-8")
    return added
