"""SZZ at line level: which added lines of a change a later fix deleted or changed.

The change-level labeller (:mod:`teamlens.mining.szz`) asks which *commits* induced a
fix; this asks which *lines*. For every fix: the lines it deletes or changes
(:func:`~teamlens.mining.blame.deleted_lines`), blank and comment-only ones left out
(tree-sitter, as AG-SZZ does; lines of other files count when not blank), then
``git blame -w --porcelain`` at the fix's parent. Porcelain gives, per blamed line, the
commit that last changed it and the line's number and path *in that commit*: the line
in the inducing change's post-image, which is what a line-level ranking of that change
is judged against (Pornprasit and Tantithamthavorn, JITLine, MSR 2021, build their
ground truth the same way).

A fix counts for a change only within the label window (``labels.maturity_days``) after
it: what a reviewer of the change could have been warned about.

Nothing here reads an identity: lines are keyed by commit, path and number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from teamlens.mining.blame import SzzSession, deleted_lines
from teamlens.mining.syntax import comment_or_blank_lines

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class FixedLine:
    """A line a fix deleted or changed, where it came from: the commit that added it in
    its present form, and its path and 1-based number right after that commit."""

    inducing_sha: str
    path: str
    line: int
    fix_sha: str


def fixed_lines(session: SzzSession, fix_sha: str) -> list[FixedLine]:
    """Every code line `fix_sha` deletes or changes, traced to the commit that added it.

    Blank and comment-only lines of the fix's parent are skipped (tree-sitter; for files
    it does not parse, blank lines only). A root or merge commit fixes nothing here.
    """
    parent = f"{fix_sha}^"
    found: list[FixedLine] = []
    for path, lines in sorted(deleted_lines(session, fix_sha).items()):
        numbers = [n for n, text in lines if text.strip()]
        if not numbers:
            continue
        source = session.read(parent, path)
        skipped = comment_or_blank_lines(source, path) if source is not None else None
        if skipped:
            numbers = [n for n in numbers if n not in skipped]
        for origin in session.origins(parent, path, numbers).values():
            found.append(FixedLine(origin.sha, origin.path, origin.line, fix_sha))
    return found


def inducing_lines(
    session: SzzSession,
    fixes: Iterable[str],
    commit_times: Mapping[str, int],
    window_days: int,
    changes: Iterable[str] | None = None,
) -> dict[str, dict[str, set[int]]]:
    """Change -> path -> its added lines (numbers after the change) that a fix touched.

    Only fixes committed within `window_days` after the change count; `commit_times`
    gives each commit's time (seconds), and a change or fix missing from it is skipped.
    With `changes`, only those changes are kept.
    """
    wanted = set(changes) if changes is not None else None
    window = window_days * SECONDS_PER_DAY
    found: dict[str, dict[str, set[int]]] = {}
    for fix in fixes:
        fixed_at = commit_times.get(fix)
        if fixed_at is None:
            continue
        for line in fixed_lines(session, fix):
            if wanted is not None and line.inducing_sha not in wanted:
                continue
            added_at = commit_times.get(line.inducing_sha)
            if added_at is None or not 0 <= fixed_at - added_at <= window:
                continue
            found.setdefault(line.inducing_sha, {}).setdefault(line.path, set()).add(line.line)
    return found
