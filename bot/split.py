"""The ``split`` rule: a change over the size thresholds, and where it comes apart.

A large change is worth splitting only when the advice names the parts. A part counts
only with at least :data:`MIN_SHARE` of the change's edited lines (smaller groups go
"with any of them"). The parts are, in this order of preference:

1. of three groupings, the one with the fewest parts: **independent parts** (2 to
   :data:`FEW_PARTS`: groups of files that do not mention each other, no file naming
   a module, class or file name of another group, when the change's files are
   known), **owning teams** and **directories** (the sub-folders below the folder all
   edited code files share; 2 to :data:`MAX_PARTS` each); on a tie, in that order.
   Files that are one piece of work stay together in every grouping: a test file with
   the code it names or that names it (tests are never split from their code), files
   that code moved between, and the same name in the same folder;
2. else the independent parts however many there are (the largest shown);
3. else **code and tests**, when both changed and which tests go with which code is
   unknown (a change seen only through its patches).

Files renamed, copied or added without a changed line always make a part of their own
("renamed without edits"): a pure move reviews in a minute on its own and hides edits
when mixed with them. Parts are shown largest first. Teams or folders alone never keep
the rule silent: a 3,000-line refactor in one folder of one team still gets its parts
named.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from teamlens.bot.domain import ChangedFile, ChangeUnderReview, Suggestion
from teamlens.features.kamei import subsystem_and_directory
from teamlens.mining.domain import ChangeType

FEW_PARTS = 4
MAX_PARTS = 6
#: A part smaller than this share of the change's edited lines is no pull request of
#: its own: it goes "with any of them".
MIN_SHARE = 0.1
SHOWN_PARTS = 5
SHOWN_FILES = 3

Thresholds = Mapping[str, float]

_WORD = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
#: File stems too common to say that one file refers to another.
_GENERIC_STEMS = frozenset(
    {
        "__init__", "__main__", "index", "main", "mod", "lib", "util", "utils", "common",
        "test", "tests", "conftest", "setup", "readme", "changes", "changelog", "license",
        "makefile",
    }
)  # fmt: skip


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    return name.split(".", 1)[0]


def references(texts: Mapping[str, bytes]) -> dict[str, tuple[str, ...]]:
    """For each file, the other files whose stem (``helpers`` of ``src/helpers.py``) its
    text mentions as a whole word; a test file also names what its own name says it
    tests (``test_helpers.py`` or ``helpers_test.go``: ``helpers``). Stems shorter than
    3 characters or too common (``utils``, ``index``) say nothing and are skipped."""
    by_stem: dict[bytes, list[str]] = {}
    for path in texts:
        stem = _stem(path)
        if len(stem) >= 3 and stem.lower() not in _GENERIC_STEMS and stem.isidentifier():
            by_stem.setdefault(stem.encode(), []).append(path)
    stems = by_stem.keys()
    found: dict[str, tuple[str, ...]] = {}
    for path, text in texts.items():
        own = _stem(path)
        named = {p for stem in stems & set(_WORD.findall(text)) for p in by_stem[stem]}
        # A test file names what it tests by its own name (test_helpers -> helpers).
        for stem in {own.removeprefix("test_"), own.removesuffix("_test")} - {own}:
            named.update(by_stem.get(stem.encode(), ()))
        named.discard(path)
        found[path] = tuple(sorted(named))
    return found


Group = tuple[str, list[ChangedFile]]  # (label, files); the label is "" for no name
Grouping = tuple[str, list[Group]]  # (what the groups are, the groups)


def _clusters(
    files: Sequence[ChangedFile], edges: Iterable[tuple[str, str]]
) -> list[list[ChangedFile]]:
    """The files joined by `edges` (pairs of paths), in first-seen order."""
    parent = {f.path: f.path for f in files}

    def root(path: str) -> str:
        while parent[path] != path:
            parent[path] = parent[parent[path]]
            path = parent[path]
        return path

    for one, other in edges:
        if one in parent and other in parent:
            parent[root(other)] = root(one)
    groups: dict[str, list[ChangedFile]] = {}
    for f in files:
        groups.setdefault(root(f.path), []).append(f)
    return list(groups.values())


def _tied(files: Sequence[ChangedFile]) -> list[tuple[str, str]]:
    """Files that are one piece of work: code moved from one to the other, the same name
    in the same folder (``module.py`` and ``module.pyi``), and a test file with the code
    it names or that names it (the code with the most changed lines when several)."""
    edges = [(f.path, other) for f in files for other in f.moved_with]
    by_place: dict[tuple[str, str], list[str]] = {}
    for f in files:
        by_place.setdefault((f.path.rpartition("/")[0], _stem(f.path)), []).append(f.path)
    edges += [(paths[0], p) for paths in by_place.values() for p in paths[1:]]
    code = {f.path: f for f in files if not f.is_test}
    named_by: dict[str, set[str]] = {}
    for f in files:
        for other in f.references or ():
            named_by.setdefault(other, set()).add(f.path)
    for f in files:
        if f.is_test:
            linked = [
                code[p] for p in {*(f.references or ()), *named_by.get(f.path, ())} if p in code
            ]
            if linked:
                edges.append((f.path, max(linked, key=lambda c: (c.lines, c.path)).path))
    return edges


def _components(files: Sequence[ChangedFile]) -> list[Group] | None:
    """Groups of files that do not refer to each other (None when unknown)."""
    if any(f.references is None for f in files):
        return None
    edges = _tied(files) + [(f.path, other) for f in files for other in f.references or ()]
    return [("", group) for group in _clusters(files, edges)]


def _by(files: Sequence[ChangedFile], key: Callable[[ChangedFile], str]) -> list[Group]:
    """Files grouped by `key`, files tied together (:func:`_tied`) kept together under
    the key of their largest code file."""
    groups: dict[str, list[ChangedFile]] = {}
    for cluster in _clusters(files, _tied(files)):
        lead = max(cluster, key=lambda f: (not f.is_test, f.lines, f.path))
        groups.setdefault(key(lead), []).extend(cluster)
    return list(groups.items())


def _directory_groups(files: Sequence[ChangedFile]) -> list[Group]:
    """Below the folder the code files share."""
    folders = [f.path.split("/")[:-1] for f in files if not f.is_test] or [
        f.path.split("/")[:-1] for f in files
    ]
    common: list[str] = []
    for parts in zip(*folders, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    depth = len(common)

    def place(f: ChangedFile) -> str:
        parts = f.path.split("/")
        return "/".join(parts[: depth + 1]) + ("/" if len(parts) > depth + 1 else "")

    return _by(files, place)


def _name(group: Group) -> str:
    label, files = group
    paths = sorted(f.path for f in files)
    shown = ", ".join(paths[:SHOWN_FILES])
    if len(paths) > SHOWN_FILES:
        shown += f" and {len(paths) - SHOWN_FILES:,} more"
    lines = sum(f.lines for f in files)
    named = label and label not in paths
    return f"{label + ': ' if named else ''}{shown} ({lines:,} lines)"


def _lines(group: Group) -> int:
    return sum(f.lines for f in group[1])


def _substantial(groups: Sequence[Group], total: int) -> list[Group]:
    """The groups worth a pull request of their own: at least :data:`MIN_SHARE` of the
    change's edited lines."""
    return [g for g in groups if _lines(g) >= max(MIN_SHARE * total, 1)]


def _parts(edited: Sequence[ChangedFile]) -> Grouping:
    """How the edited files come apart (module docstring); ("", [edited]) when not.
    Groups are counted by their substantial ones (:func:`_substantial`)."""
    total = sum(f.lines for f in edited)

    def count(groups: Sequence[Group]) -> int:
        return len(_substantial(groups, total))

    components = _components(edited)
    fitting: list[Grouping] = []
    if components is not None and 2 <= count(components) <= FEW_PARTS:
        fitting.append(("independent parts", components))
    if len({f.owners for f in edited}) > 1 and any(f.owners for f in edited):
        fitting.append(("owning team", _by(edited, lambda f: ", ".join(f.owners) or "no team")))
    fitting.append(("directory", _directory_groups(edited)))
    fitting = [p for p in fitting if 2 <= count(p[1]) <= MAX_PARTS]
    if fitting:
        return min(fitting, key=lambda p: count(p[1]))  # the first of the fewest
    if components is not None and count(components) >= 2:
        return "independent parts", components
    code = [f for f in edited if not f.is_test]
    tests = [f for f in edited if f.is_test]
    kinds: list[Group] = [("code", code), ("tests", tests)]
    if components is None and code and tests and count(kinds) == 2:
        return "code and tests", kinds  # unknown whether the tests are the code's
    return "", [("", list(edited))] if edited else []


def split(change: ChangeUnderReview, limits: Thresholds) -> list[Suggestion]:
    files = change.files
    lines = sum(f.lines for f in files)
    places = [subsystem_and_directory(f.path) for f in files]
    directories = len({d for _, d in places})
    subsystems = len({s for s, _ in places})
    over = [
        (f"{lines:,} lines", lines > limits["lines"]),
        (f"{len(files):,} files", len(files) > limits["files"]),
        (f"{directories:,} directories", directories > limits["directories"]),
        (f"{subsystems:,} subsystems", subsystems > limits["subsystems"]),
    ]
    if not any(hit for _, hit in over):
        return []
    unedited = [
        f for f in files if f.lines == 0 and f.status in (ChangeType.RENAMED, ChangeType.ADDED)
    ]
    edited = [f for f in files if f not in unedited]
    by, groups = _parts(edited)
    groups.sort(key=lambda g: (-_lines(g), min(f.path for f in g[1])))
    big = _substantial(groups, sum(f.lines for f in edited))
    small = [g for g in groups if g not in big]
    named = [_name(g) for g in big[:SHOWN_PARTS]]
    rest = [f for g in [*big[SHOWN_PARTS:], *small] for f in g[1]]
    if rest:
        named.append(f"the rest with any of them ({_name(('', rest))})")
    if unedited:
        count = len(unedited)
        named.append(f"{count:,} {'file' if count == 1 else 'files'} renamed without edits")
    if len(big) + bool(unedited) < 2:
        return []  # one inseparable part: nothing concrete to say
    size = ", ".join(text for text, hit in over if hit)
    how = {
        "": "into its edits and its renames",
        "independent parts": "into independent parts (no file names a file of another part)",
    }.get(by, f"by {by}")
    return [
        Suggestion(
            "split",
            f"This change is large ({size}). It comes apart {how}; consider one pull "
            f"request each: " + "; ".join(named) + ".",
            details={
                "by": by or "renames",
                "parts": [sorted(f.path for f in g) for _, g in big]
                + ([sorted(f.path for f in rest)] if rest else [])
                + ([sorted(f.path for f in unedited)] if unedited else []),
            },
        )
    ]
