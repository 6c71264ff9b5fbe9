"""Code that a change only moved: functions whose text left one place and arrived,
unchanged, in another (another file, another class, or elsewhere in the same file).

The code metrics give each changed function a hash of its text before and after the
change, each line stripped and blank lines dropped, so re-indenting a method into or out
of a class still counts as a move (features.code_metrics). A function is moved when:

* its text is the same before and after (it only changed place within its file), or
* its new text is the old text of a function the change removed or rewrote (moved in
  from elsewhere), or
* its old text is the new text of a function the change added or rewrote (the removed
  side of such a move).

A function whose text changed at all is not moved: a move with an edit is an edit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from teamlens.features.code_metrics.file_metrics import FunctionChange


def moved_functions(found: Sequence[tuple[str, FunctionChange]]) -> set[int]:
    """The positions in `found` of the functions of the change that only moved.

    (Not their path and start line: a function removed from a file starts at a line of
    the old version, which a new function of the same file may start at too.)
    """
    removed = {
        f.body_before
        for _, f in found
        if f.body_before is not None and f.body_before != f.body_after
    }
    added = {
        f.body_after for _, f in found if f.body_after is not None and f.body_after != f.body_before
    }
    moved: set[int] = set()
    for i, (_, f) in enumerate(found):
        unchanged = f.body_before is not None and f.body_before == f.body_after
        if unchanged or f.body_after in removed or f.body_before in added:
            moved.add(i)
    return moved


def move_links(functions: Iterable[tuple[str, FunctionChange]]) -> dict[str, set[str]]:
    """Per file, the other files that code moved to or from (the same function text
    removed in one and added in the other): one piece of work, never split apart."""
    removed: dict[str, set[str]] = {}
    added: dict[str, set[str]] = {}
    for path, f in functions:
        if f.body_before is not None and f.body_before != f.body_after:
            removed.setdefault(f.body_before, set()).add(path)
        if f.body_after is not None and f.body_after != f.body_before:
            added.setdefault(f.body_after, set()).add(path)
    links: dict[str, set[str]] = {}
    for body, sources in removed.items():
        for source in sources:
            for target in added.get(body, ()):
                if target != source:
                    links.setdefault(source, set()).add(target)
                    links.setdefault(target, set()).add(source)
    return links
