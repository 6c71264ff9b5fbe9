"""The precision filters SZZ can add to AG-SZZ and R-SZZ (docs/szz.md).

``formatting`` and ``versions`` follow a blamed line back through a candidate commit
whose change to that line only reformatted it (whitespace, line breaks, quote style, a
trailing comma) or only changed a version number in it: the line, or the hunk it sits
in, reads the same before and after once layout (and version numbers) are set aside.
``minor`` drops the candidates blamed for a small share of the many lines a fix
changes. ``added-context`` gives a fix that deletes nothing to blame the parent's code
lines on either side of what it adds; ``last-touch`` gives a fix left with no candidate
the most recent earlier commit that changed its files. :mod:`teamlens.mining.szz`
applies them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from teamlens.mining.blame import (
    Hunk,
    Origin,
    SzzSession,
    insertion_points,
    last_changes,
    modified_paths,
)
from teamlens.mining.languages import language_of
from teamlens.mining.syntax import comment_or_blank_lines

__all__ = [
    "LOOK_THROUGH_DEPTH",
    "MINOR_RULE",
    "MinorRule",
    "context_lines",
    "drop_minor",
    "last_touch",
    "look_through",
]


@dataclass(frozen=True)
class MinorRule:
    """The ``minor`` filter: when a fix's lines blame at least `min_lines` lines in all,
    a candidate blamed for less than `share` of them is dropped."""

    min_lines: int
    share: float


#: Measured on the development part of the oracle (docs/szz.md).
MINOR_RULE = MinorRule(min_lines=20, share=0.1)
#: How many of the latest commits to a fix's files ``last-touch`` looks at for one that
#: is neither a merge nor a bulk commit.
LAST_TOUCH_LOOKS = 10
#: How many reformatting or version-bump commits one line is followed back through.
LOOK_THROUGH_DEPTH = 5


_SPACE_RE = re.compile(r"\s+")
_TRAILING_COMMA_RE = re.compile(r",(?=[)\]}])")
_VERSION_RE = re.compile(
    r"(?<![\w.])v?\d+(?:\.\d+)+(?:[-.]?(?:a|b|rc|dev|alpha|beta|post|pre|snapshot)[.-]?\d*)?"
    r"(?![\w.])",
    re.IGNORECASE,
)


def _layout_free(lines: Sequence[str]) -> str:
    """The lines' text without layout: whitespace, line continuations, quote style and a
    trailing comma before a closing bracket (what formatters such as black change)."""
    text = _SPACE_RE.sub("", "".join(line.rstrip().removesuffix("\\") for line in lines))
    return _TRAILING_COMMA_RE.sub("", text.replace("'", '"'))


def _only_versions(before: Sequence[str], after: Sequence[str]) -> bool:
    """Whether `after` differs from `before` only in version numbers (and layout)."""
    old, new = _layout_free(before), _layout_free(after)
    if old == new or _VERSION_RE.sub("0", old) != _VERSION_RE.sub("0", new):
        return False
    numbers = _VERSION_RE.findall(old) + _VERSION_RE.findall(new)
    # "timeout = 1.5" -> "2.5" is a number, not a version: ask for a version's shape.
    return "version" in (old + new).lower() or any(n.count(".") >= 2 for n in numbers)


def _trivial_origin(
    session: SzzSession, origin: Origin, formatting: bool, versions: bool
) -> tuple[str, int] | None:
    """(old path, old line) the candidate's line came from when the candidate only
    reformatted it or bumped a version in it; None when the candidate really changed it."""
    hunk: Hunk | None = next(
        (h for h in session.hunks(origin.sha, origin.path) or () if h.covers(origin.line)), None
    )
    if hunk is None or not hunk.deleted:
        return None  # the candidate added the line: it is the line's origin
    i = origin.line - hunk.new_start
    line = hunk.added[i]

    def same(before: Sequence[str], after: Sequence[str]) -> bool:
        return (formatting and _layout_free(before) == _layout_free(after)) or (
            versions and _only_versions(before, after)
        )

    # The line itself, then the whole hunk (a reflow over several lines).
    for j, old in enumerate(hunk.deleted):
        if same([old], [line]):
            return hunk.old_path, hunk.old_start + j
    if same(hunk.deleted, hunk.added):
        return hunk.old_path, hunk.old_start + i * len(hunk.deleted) // len(hunk.added)
    return None


def look_through(
    session: SzzSession,
    origins: Mapping[int, Origin],
    ignore: Sequence[str],
    formatting: bool,
    versions: bool,
) -> dict[int, str]:
    """Line -> inducing commit, following a line back through candidates that only
    reformatted it or changed a version number in it (up to LOOK_THROUGH_DEPTH)."""
    found: dict[int, str] = {}
    pending = dict(origins)
    for _ in range(LOOK_THROUGH_DEPTH):
        again: dict[tuple[str, str], dict[int, list[int]]] = {}
        for n, origin in pending.items():
            old = _trivial_origin(session, origin, formatting, versions)
            if old is None:
                found[n] = origin.sha
            else:
                again.setdefault((origin.sha, old[0]), {}).setdefault(old[1], []).append(n)
        pending = {}
        for (sha, old_path), by_line in again.items():
            earlier = session.origins(f"{sha}^", old_path, sorted(by_line), ignore)
            for old_line, lines in by_line.items():
                for n in lines:
                    if old_line in earlier:
                        pending[n] = earlier[old_line]
                    else:
                        found[n] = sha  # git cannot follow it further: keep the candidate
        if not pending:
            break
    found.update((n, origin.sha) for n, origin in pending.items())
    return found


def context_lines(
    session: SzzSession, fix_sha: str, parent: str, non_source: bool, comments: bool
) -> dict[str, list[tuple[int, str]]]:
    """For a fix that only adds code: the parent's nearest code lines above and below
    each addition (blank and, with ``comments``, comment lines skipped; up to 3 away)."""
    found: dict[str, list[tuple[int, str]]] = {}
    for path, points in insertion_points(session, fix_sha).items():
        if non_source and language_of(path) is None:
            continue
        source = session.read(parent, path)
        if source is None:
            continue  # the file is new, a submodule, or too large
        text = source.decode("utf-8", "replace").splitlines()
        skip = {n for n, line in enumerate(text, start=1) if not line.strip()}
        if comments:
            skip |= comment_or_blank_lines(source, path) or set()
        chosen: set[int] = set()
        for after in points:
            for start, step in ((after, -1), (after + 1, 1)):
                n = start
                while 1 <= n <= len(text) and n in skip and abs(n - start) < 3:
                    n += step
                if 1 <= n <= len(text) and n not in skip:
                    chosen.add(n)
        if chosen:
            found[path] = [(n, text[n - 1]) for n in sorted(chosen)]
    return found


def drop_minor(
    links: Mapping[str, Mapping[str, int]], rule: MinorRule
) -> dict[str, dict[str, int]]:
    """Without the candidates blamed for less than `rule.share` of a fix's lines."""
    per_sha: dict[str, int] = {}
    for by_sha in links.values():
        for sha, n in by_sha.items():
            per_sha[sha] = per_sha.get(sha, 0) + n
    total = sum(per_sha.values())
    if total < rule.min_lines:
        return {path: dict(by_sha) for path, by_sha in links.items()}
    keep = {sha for sha, n in per_sha.items() if n >= rule.share * total}
    kept = {
        path: {sha: n for sha, n in by_sha.items() if sha in keep} for path, by_sha in links.items()
    }
    return {path: by_sha for path, by_sha in kept.items() if by_sha}


def last_touch(
    session: SzzSession,
    fix_sha: str,
    source_only: bool,
    skip: Callable[[str], bool],
) -> dict[str, dict[str, int]]:
    """For a fix left with no candidate: the most recent earlier commit that changed the
    files it modifies (source files only, with `source_only`), unless `skip` says no.

    Path -> {commit: 0}: no line of it was blamed, so it is linked for 0 lines.
    """
    paths = [p for p in modified_paths(session, fix_sha) if not source_only or language_of(p)]
    wanted = set(paths)
    for sha, changed in last_changes(session, f"{fix_sha}^", paths, LAST_TOUCH_LOOKS):
        if not skip(sha):
            return {path: {sha: 0} for path in changed if path in wanted}
    return {}
