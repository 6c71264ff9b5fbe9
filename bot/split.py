"""The ``split`` rule: a change over the size thresholds, and where it comes apart.

A large change is worth splitting only when the advice names the parts. The parts are,
in this order of preference:

1. **independent parts**, 2 to :data:`FEW_PARTS` of them: groups of files that do not
   mention each other (no file names a module, class or file name of another group),
   when the change's files are known;
2. else **owning teams** or **directories** (the sub-folders below the folder all
   edited files share), whichever has fewer groups, 2 to :data:`MAX_PARTS`;
3. else the independent parts however many there are (the largest shown);
4. else **code and tests**, when both changed.

Files renamed, copied or added without a changed line always make a part of their own
("renamed without edits"): a pure move reviews in a minute on its own and hides edits
when mixed with them. Parts are shown largest first. Teams or folders alone never keep
the rule silent: a 3,000-line refactor in one folder of one team still gets its parts
named.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from teamlens.bot.domain import ChangedFile, ChangeUnderReview, Suggestion
from teamlens.features.kamei import subsystem_and_directory
from teamlens.mining.domain import ChangeType

FEW_PARTS = 4
MAX_PARTS = 6
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
    by_stem: dict[str, list[str]] = {}
    for path in texts:
        stem = _stem(path)
        if len(stem) >= 3 and stem.lower() not in _GENERIC_STEMS:
            by_stem.setdefault(stem, []).append(path)
    found: dict[str, tuple[str, ...]] = {}
    for path, text in texts.items():
        words = {w.decode("ascii") for w in _WORD.findall(text)}
        own = _stem(path)
        named = {p for stem in words if stem in by_stem for p in by_stem[stem] if p != path}
        # A test file names what it tests by its own name (test_helpers -> helpers).
        for stem in {own.removeprefix("test_"), own.removesuffix("_test")} - {own}:
            named.update(p for p in by_stem.get(stem, []) if p != path)
        found[path] = tuple(sorted(named))
    return found


Group = tuple[str, list[ChangedFile]]  # (label, files); the label is "" for no name
Grouping = tuple[str, list[Group]]  # (what the groups are, the groups)


def _components(files: Sequence[ChangedFile]) -> list[Group] | None:
    """Groups of files that do not refer to each other (None when unknown)."""
    if any(f.references is None for f in files):
        return None
    parent = {f.path: f.path for f in files}

    def root(path: str) -> str:
        while parent[path] != path:
            parent[path] = parent[parent[path]]
            path = parent[path]
        return path

    for f in files:
        for other in f.references or ():
            if other in parent:
                parent[root(other)] = root(f.path)
    groups: dict[str, list[ChangedFile]] = {}
    for f in files:
        groups.setdefault(root(f.path), []).append(f)
    return [("", group) for group in groups.values()]


def _by(files: Sequence[ChangedFile], key: Callable[[ChangedFile], str]) -> list[Group]:
    groups: dict[str, list[ChangedFile]] = {}
    for f in files:
        groups.setdefault(key(f), []).append(f)
    return list(groups.items())


def _directory_groups(files: Sequence[ChangedFile]) -> list[Group]:
    folders = [f.path.split("/")[:-1] for f in files]
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
    return f"{label + ': ' if label and label != paths[0] else ''}{shown} ({lines:,} lines)"


def _parts(edited: Sequence[ChangedFile]) -> Grouping:
    """How the edited files come apart (module docstring); ("", [edited]) when not."""
    components = _components(edited)
    if components is not None and 2 <= len(components) <= FEW_PARTS:
        return "independent parts", components
    places: list[Grouping] = []
    if len({f.owners for f in edited}) > 1 and any(f.owners for f in edited):
        places.append(("owning team", _by(edited, lambda f: ", ".join(f.owners) or "no team")))
    places.append(("directory", _directory_groups(edited)))
    fitting = [p for p in places if 2 <= len(p[1]) <= MAX_PARTS]
    if fitting:
        return min(fitting, key=lambda p: len(p[1]))  # the first of the fewest
    if components is not None and len(components) >= 2:
        return "independent parts", components
    tests = _by(edited, lambda f: "tests" if f.is_test else "code")
    if len(tests) == 2:
        return "code and tests", tests
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
    groups.sort(key=lambda g: (-sum(f.lines for f in g[1]), min(f.path for f in g[1])))
    named = [_name(g) for g in groups[:SHOWN_PARTS]]
    if len(groups) > SHOWN_PARTS:
        named.append(f"{len(groups) - SHOWN_PARTS:,} more parts")
    if unedited:
        count = len(unedited)
        named.append(f"{count:,} {'file' if count == 1 else 'files'} renamed without edits")
    if len(named) < 2:
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
                "parts": [sorted(f.path for f in g) for _, g in groups]
                + ([sorted(f.path for f in unedited)] if unedited else []),
            },
        )
    ]
