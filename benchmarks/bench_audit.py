"""Precision and recall of the privacy audit's identity scan on real history.

Usage::

    .venv/bin/python benchmarks/bench_audit.py --config repos.yaml \\
        [--output REPORT ...] [--plant 60] [--seed 1]

Run it on a data folder that ``teamlens run`` has filled (and on the reports it wrote,
given as ``--output``). Two measurements, in one run:

1. **False findings**: ``teamlens privacy`` (the audit, as shipped) over the data folder
   and the outputs, which hold no identity by construction: every ``raw-identity``
   finding is a false one. The anchor is the same audit without the list of ordinary
   words (every one-word name or e-mail local part looked for alone, as before).
2. **Planted leaks**: ``--plant`` identities of the configured repositories' history,
   drawn at random (seeded) from what git itself shows (``git log --all``: full names of
   two or more words, e-mail addresses, and one-word e-mail local parts that are not
   ordinary words), each written into its own file among copies of real outputs: a
   sentence of a Markdown report, a cell of a CSV file, the text of an HTML page. A
   plant is caught when the audit reports a ``raw-identity`` finding at its file.

Prints counts and the time of each audit; nothing it prints names a person (the words
found are counted, not shown). The plants live in a temporary folder, deleted at the end.
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from teamlens.audit import RAW_IDENTITY, audit
from teamlens.audit.common_words import common_words
from teamlens.config import load_config

_WORD = re.compile(r"\w+")


def _identities(paths: list[Path]) -> tuple[list[str], list[str], list[str]]:
    """(full names, e-mail addresses, distinctive local parts) in the histories."""
    names: set[str] = set()
    emails: set[str] = set()
    for path in paths:
        out = subprocess.run(
            ["git", "-C", str(path), "log", "--all", "--format=%an%x00%ae%x00%cn%x00%ce"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for line in out.splitlines():
            fields = line.split("\0")
            for name, email in ((fields[0], fields[1]), (fields[2], fields[3])):
                words = _WORD.findall(name)
                if len(words) >= 2 and all(len(w) >= 3 for w in words) and "bot" not in name:
                    names.add(name)
                if "@" in email and "noreply" not in email:
                    emails.add(email)
    ordinary = common_words()
    locals_ = {
        e.split("@")[0]
        for e in emails
        if re.fullmatch(r"[a-z][a-z0-9]{3,}", e.split("@")[0].lower())
        and e.split("@")[0].lower() not in ordinary
    }
    return sorted(names), sorted(emails), sorted(locals_)


def _plant(folder: Path, kind: str, value: str, i: int) -> Path:
    if kind == "name":
        path = folder / f"plant{i:03d}.md"
        path.write_text(f"# Team notes\n\nThe core team met with {value} on Monday.\n")
    elif kind == "email":
        path = folder / f"plant{i:03d}.csv"
        path.write_text(f"path,fixes,contact\nsrc/app.py,3,{value}\n")
    else:
        path = folder / f"plant{i:03d}.html"
        path.write_text(f"<html><body><p>Ask {value} about this file.</p></body></html>\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--output", type=Path, action="append", default=[])
    parser.add_argument("--plant", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    config = load_config(args.config)

    started = time.perf_counter()
    shipped = audit(config, args.output)
    shipped_s = time.perf_counter() - started
    false = [v for v in shipped.violations if v.rule == RAW_IDENTITY]

    started = time.perf_counter()
    anchor = audit(config, args.output, ordinary_words=False)
    anchor_s = time.perf_counter() - started
    anchor_false = [v for v in anchor.violations if v.rule == RAW_IDENTITY]

    paths = [r.path for r in config.repositories if r.path is not None]
    names, emails, locals_ = _identities(paths)
    rng = random.Random(args.seed)  # noqa: S311 (a seeded draw, not a secret)
    pools = [("name", names), ("email", emails), ("local part", locals_)]
    caught: Counter[str] = Counter()
    planted: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plants: dict[str, str] = {}
        for i in range(args.plant):
            kind, pool = pools[i % len(pools)]
            if not pool:
                continue
            path = _plant(folder, kind, rng.choice(pool), i)
            plants[path.name] = kind
            planted[kind] += 1
        report = audit(config, [folder])
        hit = {
            Path(v.where.split(",")[0]).name for v in report.violations if v.rule == RAW_IDENTITY
        }
        for file, kind in plants.items():
            caught[kind] += file in hit

    print(f"identities in the history: {len(names):,} full names, {len(emails):,} e-mail "
          f"addresses, {len(locals_):,} distinctive local parts")  # fmt: skip
    print(f"files scanned: {shipped.files_scanned:,}")
    print("| audit | raw-identity findings on clean outputs | time |")
    print("|---|---:|---:|")
    print(f"| without the ordinary-word list (anchor) | {len(anchor_false)} | {anchor_s:.1f} s |")
    print(f"| teamlens privacy (as shipped) | {len(false)} | {shipped_s:.1f} s |")
    print()
    print("| planted leak | planted | caught |")
    print("|---|---:|---:|")
    for kind, _ in pools:
        print(f"| {kind} | {planted[kind]} | {caught[kind]} |")
    print(f"| all | {sum(planted.values())} | {sum(caught.values())} |")
    return 0 if not false and caught == planted else 1


if __name__ == "__main__":
    sys.exit(main())
