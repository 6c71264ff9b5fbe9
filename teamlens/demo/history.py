"""The demo company's history: years of changes, some of which plant bugs that a later
change fixes.

A day-by-day simulation. Each person makes changes at their own pace, mostly to their
team's code (a few also to another team's). A change adds functions, edits them, adds a
module, refactors across files, updates tests or docs. Whether it plants a bug depends
on what the change is, as the research on defect prediction finds: more lines, more
files, new decisions, no tests alongside, someone outside the owning team; and on a
per-team trend (one team gets worse, one better). A planted bug sits in one line; the
fix, days to months later, rewrites that line with a message that says "Fix", so SZZ
links it back to the change that wrote the line, as it would in a real repository.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from teamlens.demo.code import (
    EXTENSIONS,
    VERBS,
    Function,
    Language,
    Line,
    Module,
    Writer,
    fixable,
    fixed_text,
    function_name,
)
from teamlens.demo.company import Company, Person, Team

DAY = 86_400
MAX_MODULES = 16  # source modules per team
#: Where in the history (0 = start, 1 = end) the planted team trends begin and end.
TREND_FROM, TREND_TO = 0.62, 0.72
_SUFFIXES = ("rules", "store", "client", "utils", "policy", "service", "model", "api", "cache")
_PROBLEMS = ("off-by-one", "rounding", "overflow", "wrong limit", "edge case", "bad default")


class ChangeKind(StrEnum):
    IMPORT = "import"
    FEATURE = "feature"
    CHANGE = "change"
    MODULE = "module"
    REFACTOR = "refactor"
    TESTS = "tests"
    DOCS = "docs"
    FIX = "fix"
    RISKY = "risky"


@dataclass(frozen=True)
class FileEdit:
    path: str
    old: str | None  # None: the file is new (or its old text is not kept)
    new: str | None  # None: the file is deleted


@dataclass(frozen=True)
class ChangeRecord:
    """One commit of the synthetic history."""

    author: Person
    author_time: int  # unix seconds, UTC
    commit_time: int
    message: str
    edits: tuple[FileEdit, ...]
    kind: ChangeKind
    team: str
    planted: tuple[int, ...]  # ids of the bugs this change wrote (the ground truth)
    keep_old: bool  # old texts kept (the change becomes a pull request)
    fixes_bug: int | None = None  # the bug this change fixed, if it is a fix

    @property
    def bugs_planted(self) -> int:
        return len(self.planted)


@dataclass
class _Bug:
    path: str
    line: Line
    team: str
    function: str


class History:
    """Runs the simulation; :meth:`build` returns the changes oldest first."""

    def __init__(self, company: Company, rng: random.Random, end: int) -> None:
        self.company = company
        self.rng = rng
        self.end = end
        self.start = end - int(company.years * 365 * DAY)
        self.modules: dict[str, Module] = {}
        self.texts: dict[str, str] = {}
        self.team_modules: dict[str, list[str]] = {t.name: [] for t in company.teams}
        self.tests: dict[str, str] = {}  # source path -> test path
        self.docs: dict[str, list[str]] = {}
        self.bugs: dict[int, _Bug] = {}
        self.due: list[tuple[int, int]] = []  # (time, bug id), a heap
        self.fix_counts: Counter[str] = Counter()
        self.changes: list[ChangeRecord] = []
        self._writers: dict[tuple[str, Language], Writer] = {}
        self._next_bug = 1

    # -- helpers ----------------------------------------------------------------------
    def writer(self, team: Team, language: Language) -> Writer:
        key = (team.name, language)
        if key not in self._writers:
            self._writers[key] = Writer(language, self.rng, team.nouns)
        return self._writers[key]

    def _bug_rate(self, team: Team, when: int) -> float:
        """The team's trend: its start rate, then over a few months its end rate, so that
        the last mature quarter differs from the year before (or not, for a flat team)."""
        frac = (when - self.start) / (self.end - self.start)
        if frac < TREND_FROM:
            return team.bug_start
        if frac >= TREND_TO:
            return team.bug_end
        share = (frac - TREND_FROM) / (TREND_TO - TREND_FROM)
        return team.bug_start + (team.bug_end - team.bug_start) * share

    def _module_path(self, team: Team, language: Language, stem: str) -> tuple[str, str]:
        ext = EXTENSIONS[language]
        if language is Language.PYTHON:
            return f"{team.folder}/{stem}{ext}", f"{team.folder}/tests/test_{stem}{ext}"
        if language is Language.GO:
            return f"{team.folder}/{stem}{ext}", f"{team.folder}/{stem}_test{ext}"
        return f"{team.folder}/src/{stem}.js", f"{team.folder}/test/{stem}.test.js"

    def _new_function(self, team: Team, module: Module, blocks: int, complexity: int) -> Function:
        w = self.writer(team, module.language)
        names = {f.name for f in module.functions}
        name = f"{self.rng.choice(VERBS)}_{self.rng.choice(team.nouns)}"
        while name in names:
            name = f"{self.rng.choice(VERBS)}_{self.rng.choice(team.nouns)}_{len(names)}"
        params = tuple(self.rng.sample(team.nouns, 2))
        function = w.function(name, (params[0], params[1]), blocks, complexity)
        function.blocks.append(w.final_return(function))
        return function

    def _new_module(self, team: Team, touched: dict[str, None], with_tests: bool) -> list[Line]:
        language = self.rng.choice(team.languages)
        taken = set(self.modules)
        for attempt in range(10_000):
            stem = f"{self.rng.choice(team.nouns)}_{self.rng.choice(_SUFFIXES)}"
            if attempt >= 50:  # the plain names are taken: number them
                stem += f"_{attempt}"
            path, test_path = self._module_path(team, language, stem)
            if path not in taken:
                break
        title = f"{team.name.capitalize()}: {stem.replace('_', ' ')}"
        module = Module(path, language, title)
        added: list[Line] = []
        for _ in range(self.rng.randint(2, 4)):
            function = self._new_function(team, module, self.rng.randint(2, 4), 2)
            module.functions.append(function)
            added.extend(function.lines())
        self.modules[path] = module
        self.team_modules[team.name].append(path)
        touched[path] = None
        if with_tests:
            self.modules[test_path] = Module(test_path, language, f"Tests of {stem}", [], path)
            self.tests[path] = test_path
            for function in module.functions:
                self._test_function(path, function.name, touched)
        return added

    def _test_function(self, path: str, name: str, touched: dict[str, None]) -> None:
        test_path = self.tests.get(path)
        if test_path is None:
            return
        test_module = self.modules[test_path]
        found = next((f for f in test_module.functions if f.name == name), None)
        if found is None:
            found = Function(name, ("a", "b"), [], self.rng.randint(1, 30))
            test_module.functions.append(found)
        else:
            found.locals_made += 1
        touched[test_path] = None

    def _edit_function(self, team: Team, path: str, touched: dict[str, None]) -> list[Line]:
        module = self.modules[path]
        function = self.rng.choice(module.functions)
        w = self.writer(team, module.language)
        added: list[Line] = []
        for _ in range(self.rng.randint(1, 2)):
            block = w.block(function, self.rng.randint(1, 3))
            at = self.rng.randint(0, max(0, len(function.blocks) - 1))
            if self.rng.random() < 0.35 and len(function.blocks) > 2:
                function.blocks[at] = block  # a rewritten statement
            else:
                function.blocks.insert(at, block)
            added.extend(block)
        touched[path] = None
        if self.rng.random() < 0.45:
            self._test_function(path, function.name, touched)
        return added

    def _add_functions(self, team: Team, path: str, touched: dict[str, None]) -> list[Line]:
        module = self.modules[path]
        added: list[Line] = []
        for _ in range(self.rng.randint(1, 2)):
            function = self._new_function(
                team, module, self.rng.randint(2, 5), self.rng.randint(1, 3)
            )
            module.functions.append(function)
            added.extend(function.lines())
            if self.rng.random() < 0.55:
                self._test_function(path, function.name, touched)
        touched[path] = None
        return added

    def _doc(self, team: Team, touched: dict[str, None]) -> None:
        path = f"{team.folder}/README.md"
        lines = self.docs.setdefault(path, [f"# {team.name.capitalize()}", ""])
        noun = self.rng.choice(team.nouns)
        lines.append(f"- How {noun} handling works, step {len(lines) - 1}.")
        touched[path] = None

    def _render(self, path: str) -> str | None:
        if path in self.docs:
            return "\n".join(self.docs[path]) + "\n"
        module = self.modules.get(path)
        return None if module is None else module.render()

    def _record(
        self,
        author: Person,
        when: int,
        message: str,
        touched: dict[str, None],
        kind: ChangeKind,
        team: str,
        bugs: tuple[int, ...],
        fixes_bug: int | None = None,
    ) -> None:
        keep_old = when >= self.end - self.company.github_days * DAY
        edits = []
        for path in touched:
            new = self._render(path)
            old = self.texts.get(path)
            if new == old:
                continue
            edits.append(FileEdit(path, old if keep_old else None, new))
            if new is None:
                self.texts.pop(path, None)
            else:
                self.texts[path] = new
        if not edits:
            return
        committed = when + self.rng.randint(60, 3 * 3600)
        self.changes.append(
            ChangeRecord(
                author,
                when,
                committed,
                message,
                tuple(edits),
                kind,
                team,
                bugs,
                keep_old,
                fixes_bug,
            )
        )

    def _maybe_plant(
        self, team: Team, when: int, added: list[Line], touched: dict[str, None], visiting: bool
    ) -> tuple[int, ...]:
        present = {
            id(line)
            for path in touched
            if path in self.modules
            for line in self.modules[path].functions_lines()
        }
        candidates = [
            line for line in added if fixable(line) and line.bug is None and id(line) in present
        ]
        if not candidates:
            return ()
        source_files = [
            p for p in touched if p in self.modules and self.modules[p].tests_for is None
        ]
        tested = any(p not in self.docs and self.modules[p].tests_for for p in touched)
        decisions = sum(1 for line in added if line.text.lstrip().startswith("if"))
        p = self._bug_rate(team, when)
        p *= 0.4 + len(added) / 40
        p *= 1 + 0.3 * max(0, len(source_files) - 1)
        p *= 0.65 if tested else 1.3
        p *= 1.7 if visiting else 1.0
        p *= 1 + 0.08 * min(decisions, 6)
        planted: list[int] = []
        for chance in (min(p, 0.9), min(p, 0.9) / 4):
            if self.rng.random() >= chance:
                break
            line = self.rng.choice(candidates)
            if line.bug is not None:
                continue
            path, fn = self._where(line, touched)
            bug = self._next_bug
            self._next_bug += 1
            line.bug = bug
            self.bugs[bug] = _Bug(path, line, team.name, fn)
            delay = int(self.rng.expovariate(1 / 45) * DAY) + 2 * DAY
            heapq.heappush(self.due, (when + delay, bug))
            planted.append(bug)
        return tuple(planted)

    def _where(self, line: Line, touched: dict[str, None]) -> tuple[str, str]:
        """The path and function holding `line` (one of the touched files)."""
        for path in touched:
            module = self.modules.get(path)
            for function in module.functions if module is not None else ():
                if line in function.lines():
                    return path, function.name
        raise ValueError("a planted line outside the changed files")

    # -- the kinds of change --------------------------------------------------------
    def change(self, author: Person, team: Team, when: int) -> None:
        touched: dict[str, None] = {}
        owned = self.team_modules[team.name]
        visiting = author.team != team.name
        roll = self.rng.random()
        if 0.66 <= roll < 0.72 and len(owned) >= MAX_MODULES:
            roll = 0.0  # a team this size adds functions, not more modules
        added: list[Line] = []
        noun = self.rng.choice(team.nouns)
        if roll < 0.30:
            kind = ChangeKind.FEATURE
            for path in self.rng.sample(owned, min(len(owned), self.rng.choice((1, 1, 2)))):
                added += self._add_functions(team, path, touched)
            message = f"Add {self.rng.choice(VERBS)} {noun} support to {team.name}"
        elif roll < 0.66:
            kind = ChangeKind.CHANGE
            for path in self.rng.sample(owned, min(len(owned), self.rng.choice((1, 1, 1, 2)))):
                added += self._edit_function(team, path, touched)
            message = f"Update {noun} handling in {self._stem(next(iter(touched)))}"
        elif roll < 0.72:
            kind = ChangeKind.MODULE
            added += self._new_module(team, touched, with_tests=self.rng.random() < 0.7)
            message = f"Introduce {self._stem(next(iter(touched)))}"
        elif roll < 0.78:
            kind = ChangeKind.REFACTOR
            for path in self.rng.sample(owned, min(len(owned), self.rng.randint(3, 6))):
                added += self._edit_function(team, path, touched)
            message = f"Restructure {noun} flow across {team.name} modules"
        elif roll < 0.9:
            kind = ChangeKind.TESTS
            path = self.rng.choice(owned)
            if path not in self.tests:
                language = self.modules[path].language
                test_path = self._module_path(team, language, self._stem(path))[1]
                self.modules[test_path] = Module(test_path, language, "Tests", [], path)
                self.tests[path] = test_path
            for function in self.rng.sample(self.modules[path].functions, 1):
                self._test_function(path, function.name, touched)
            message = f"Extend tests of {self._stem(path)}"
        else:
            kind = ChangeKind.DOCS
            self._doc(team, touched)
            message = f"Document {noun} handling"
        bugs = self._maybe_plant(team, when, added, touched, visiting)
        self._record(author, when, message, touched, kind, team.name, bugs)

    def fix(self, bug_id: int, when: int) -> None:
        bug = self.bugs.pop(bug_id)
        module = self.modules.get(bug.path)
        if module is None or bug.line not in module.functions_lines():
            return  # the line was rewritten meanwhile: nobody ever sees this bug
        team = self.company.team(bug.team)
        author = self.rng.choice(self.company.members(team.name))
        bug.line.text = fixed_text(bug.line.text, self.rng)
        bug.line.bug = None
        touched: dict[str, None] = {bug.path: None}
        if self.rng.random() < 0.5:
            self._test_function(bug.path, bug.function, touched)
        self.fix_counts[bug.path] += 1
        shown = function_name(module.language, bug.function)
        problem = self.rng.choice(_PROBLEMS)
        message = f"Fix {problem} in {shown}"
        if self.rng.random() < 0.6:
            message += f" (#{100 + bug_id})"
        self._record(author, when, message, touched, ChangeKind.FIX, team.name, (), bug_id)

    @staticmethod
    def _stem(path: str) -> str:
        return path.rsplit("/", 1)[-1].split(".")[0]

    def _work_time(self, person: Person, day_start: int) -> int:
        local = self.rng.randint(9 * 3600, 19 * 3600)
        return day_start + local - person.utc_offset_minutes * 60

    # -- the whole history ----------------------------------------------------------
    def build(self) -> list[ChangeRecord]:
        for index, team in enumerate(self.company.teams):
            touched: dict[str, None] = {}
            for _ in range(3):
                self._new_module(team, touched, with_tests=True)
            self._doc(team, touched)
            lead = self.company.members(team.name)[0]
            self._record(
                lead,
                self.start + index * 3600 + 10 * 3600,
                f"Import the {team.name} service",
                touched,
                ChangeKind.IMPORT,
                team.name,
                (),
            )
        days = (self.end - self.start) // DAY
        weekly = self.company.changes_per_person_week
        for day in range(1, days):
            day_start = self.start + day * DAY
            weekday = (day_start // DAY + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
            events: list[tuple[int, int, Person | None]] = []
            while self.due and self.due[0][0] < day_start + DAY:
                due, bug = heapq.heappop(self.due)
                hour = self.rng.randint(8 * 3600, 18 * 3600)
                events.append((max(due, day_start + hour), bug, None))
            if weekday < 5:
                season = 0.25 if self._holidays(day_start) else 1.0
                for person in self.company.people:
                    if self.rng.random() < person.activity * weekly / 5 * season:
                        events.append((self._work_time(person, day_start), 0, person))
            events.sort(key=lambda e: (e[0], e[1], e[2].number if e[2] else 0))
            for when, bug, who in events:
                if who is None:
                    self.fix(bug, when)
                    continue
                team_name = who.team
                if who.other_team is not None and self.rng.random() < 0.3:
                    team_name = who.other_team
                self.change(who, self.company.team(team_name), when)
        return self.changes

    @staticmethod
    def _holidays(day_start: int) -> bool:
        day = dt.datetime.fromtimestamp(day_start, dt.UTC)
        return (day.month == 12 and day.day >= 22) or (day.month == 1 and day.day <= 2)

    def risky_change(self, when: int) -> ChangeRecord:
        """A large, scattered change with many new decisions and no tests, by someone from
        another team, to the file with the most fixes: what the review should flag."""
        payments = self.company.team("payments")
        visitor = next(iter(self.company.visitors("payments")), self.company.people[-1])
        owned = self.team_modules["payments"]
        hot = max(owned, key=lambda p: (self.fix_counts[p], p))
        touched: dict[str, None] = {}
        module = self.modules[hot]
        w = self.writer(payments, module.language)
        for function in module.functions[:3]:
            for _ in range(3):
                function.blocks.insert(0, w.block(function, 4))
        module.functions.append(self._new_function(payments, module, 8, 4))
        touched[hot] = None
        other = self.team_modules["search"][0]
        self._edit_function(self.company.team("search"), other, touched)
        touched.pop(self.tests.get(other, ""), None)
        self._record(
            visitor,
            when,
            "Rework refund limits and search boosts",
            touched,
            ChangeKind.RISKY,
            "payments",
            (),
        )
        return self.changes.pop()
