"""The arithmetic of benchmarks/bench_rules.py: named rate, base rate, lift and its
bootstrap interval over changes, and the table.

A rule names things of one kind in a change (files or functions). Per change four
counts: named things fixed later, named things, base things fixed later, base things.
The base is the change's other things of the kind (``same``), or, on the changes the
rule did not fire on, all their things of the kind (``other``). Lift is the named rate
over the base rate of the summed counts; its 95 % interval is the percentile interval
of the same lift over resamplings of the changes (with replacement).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

WINDOW_DAYS = 180


class Kind(StrEnum):
    """What a rule names."""

    FILE = "file"
    FUNCTION = "function"


class Base(StrEnum):
    """What a rule's named things are compared with."""

    SAME = "same"  # the other things of the kind in the changes the rule fires on
    OTHER = "other"  # all things of the kind in the changes it does not fire on


@dataclass(frozen=True)
class RuleSpec:
    """What a rule names, and its main comparison (every other one is reported too)."""

    kind: Kind
    base: Base = Base.SAME
    code_only: bool = False  # compare code things only (a language, not a test)


#: The rules measured; ``similar`` needs mined review comments, which the corpus does not
#: have. ``split`` names every file of a change in its parts and ``untested`` every
#: changed function of a change without tests (moved code aside), so the same change
#: leaves nothing (or only moved code) to compare with: they are compared with the
#: changes they do not fire on, ``untested`` on code functions (it never names a test).
RULE_SPECS: Mapping[str, RuleSpec] = {
    "split": RuleSpec(Kind.FILE, Base.OTHER),
    "untested": RuleSpec(Kind.FUNCTION, Base.OTHER, code_only=True),
    "complexity": RuleSpec(Kind.FUNCTION),
    "hotspot": RuleSpec(Kind.FILE),
    "ownership": RuleSpec(Kind.FILE),
}
RULE_KINDS: Mapping[str, Kind] = {rule: spec.kind for rule, spec in RULE_SPECS.items()}
#: The four comparisons reported for every rule: (base, code only).
COMPARISONS: tuple[tuple[Base, bool], ...] = (
    (Base.SAME, False),
    (Base.OTHER, False),
    (Base.SAME, True),
    (Base.OTHER, True),
)


def comparison_name(base: Base, code_only: bool) -> str:
    return f"{base.value}{'_code' if code_only else ''}"


Key = tuple[str, str]  # (path, "") for a file, (path, qualified function name) for a function


@dataclass(frozen=True)
class Thing:
    """A file or function of a replayed change, and whether a later fix touched it."""

    key: Key
    kind: Kind
    fixed_later: bool
    is_code: bool  # in a programming language and not a test


@dataclass(frozen=True)
class ReplayedChange:
    repo: str
    things: tuple[Thing, ...]
    named: Mapping[str, frozenset[Key]]  # rule -> what it named
    fired: frozenset[str]  # rules with at least one suggestion


Counts = npt.NDArray[np.float64]  # per change: named fixed, named, base fixed, base


def rule_counts(
    changes: Sequence[ReplayedChange],
    rule: str,
    base: Base = Base.SAME,
    code_only: bool = False,
) -> Counts:
    """Per change: things the rule named that were fixed later, things it named, and the
    same for the base: the change's other things of the kind (``same``) or, on changes the
    rule did not fire on, all their things of the kind (``other``)."""
    kind = RULE_KINDS[rule]
    out = np.zeros((len(changes), 4))
    for i, change in enumerate(changes):
        named = change.named.get(rule, frozenset())
        things = [t for t in change.things if t.kind is kind and (t.is_code or not code_only)]
        if rule in change.fired:
            hits = [t.fixed_later for t in things if t.key in named]
            out[i, 0:2] = sum(hits), len(hits)
            if base is Base.SAME:
                rest = [t.fixed_later for t in things if t.key not in named]
                out[i, 2:4] = sum(rest), len(rest)
        elif base is Base.OTHER:
            out[i, 2:4] = sum(t.fixed_later for t in things), len(things)
    return out


def lift_of(totals: npt.NDArray[np.float64]) -> float:
    """Named rate / base rate from summed counts; NaN when either is undefined or the base
    rate is 0."""
    named_fixed, named, base_fixed, base = (float(x) for x in totals)
    if named == 0 or base == 0 or base_fixed == 0:
        return math.nan
    return (named_fixed / named) / (base_fixed / base)


def bootstrap_interval(
    counts: Counts, samples: int, seed: int, level: float = 0.95
) -> tuple[float, float]:
    """Percentile interval of the lift over `samples` resamplings of the changes."""
    n = len(counts)
    if n == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=samples).astype(np.float64)
    totals = weights @ counts
    with np.errstate(divide="ignore", invalid="ignore"):
        lifts = (totals[:, 0] / totals[:, 1]) / (totals[:, 2] / totals[:, 3])
    lifts = lifts[np.isfinite(lifts)]
    if len(lifts) < samples / 2:
        return math.nan, math.nan
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(lifts, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class LiftFigure:
    named: int
    named_rate: float
    base: int
    base_rate: float
    lift: float
    low: float
    high: float

    @classmethod
    def of(cls, counts: Counts, samples: int, seed: int) -> LiftFigure:
        totals = counts.sum(axis=0)
        low, high = bootstrap_interval(counts, samples, seed)
        return cls(
            int(totals[1]),
            _rate(totals[0], totals[1]),
            int(totals[3]),
            _rate(totals[2], totals[3]),
            lift_of(totals),
            low,
            high,
        )


def _rate(hits: float, n: float) -> float:
    return float(hits / n) if n else math.nan


def measure(
    changes: Sequence[ReplayedChange],
    people: Mapping[str, int],
    k: int,
    samples: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """The whole table as a JSON-ready object."""
    anchor = {}
    for kind in Kind:
        things = [t for c in changes for t in c.things if t.kind is kind]
        anchor[kind.value] = {
            "things": len(things),
            "fixed_later": _rate(sum(t.fixed_later for t in things), len(things)),
        }
    repos = sorted({c.repo for c in changes})
    shown = [r for r in repos if people.get(r, 0) >= k]
    table: dict[str, Any] = {}
    for rule, spec in RULE_SPECS.items():
        fires = sum(rule in c.fired for c in changes)
        figures = {
            comparison_name(base, code): asdict(
                LiftFigure.of(rule_counts(changes, rule, base, code), samples, seed)
            )
            for base, code in COMPARISONS
        }
        main = comparison_name(spec.base, spec.code_only)
        per_repo = {}
        for repo in shown:
            mine = [c for c in changes if c.repo == repo]
            totals = rule_counts(mine, rule, spec.base, spec.code_only).sum(axis=0)
            per_repo[repo] = {
                "fires": sum(rule in c.fired for c in mine),
                "named": int(totals[1]),
                "lift": lift_of(totals),
            }
        low = figures[main]["low"]
        table[rule] = {
            "kind": spec.kind.value,
            "fires": fires,
            "fires_share": _rate(fires, len(changes)),
            "main": main,
            **figures,
            "clearly_above_one": math.isfinite(low) and low > 1.0,
            "per_repository": per_repo,
        }
    return {
        "changes": len(changes),
        "repositories": {r: sum(c.repo == r for c in changes) for r in repos},
        "repositories_shown": shown,
        "window_days": WINDOW_DAYS,
        "bootstrap": samples,
        "seed": seed,
        "anchor": anchor,
        "rules": table,
    }


def _known(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def _pct(x: float | None) -> str:
    return f"{100 * x:.1f} %" if x is not None and _known(x) else "-"


def _lift(figure: Mapping[str, Any]) -> str:
    lift, low, high = figure["lift"], figure["low"], figure["high"]
    if not _known(lift):
        return "-"
    interval = f" [{low:.2f}, {high:.2f}]" if _known(low) and _known(high) else " [-]"
    return f"{lift:.2f}{interval}"


_BASE_WORDS = {
    "same": "the change's other {kind}s",
    "other": "{kind}s of changes it did not fire on",
    "same_code": "the change's other code {kind}s",
    "other_code": "code {kind}s of changes it did not fire on",
}


def render(result: Mapping[str, Any]) -> str:
    """The per-rule table, the anchor line and per-repository lifts, in Markdown (from
    :func:`measure`'s object, or the same read back from JSON): each rule's main
    comparison, then the other three."""
    lines = [
        f"{result['changes']:,} changes of {len(result['repositories'])} repositories "
        f"({', '.join(f'{r} {n}' for r, n in result['repositories'].items())}); "
        f"fixed later = touched by a fix within {result['window_days']} days.",
        "",
        "Anchor (all things of all replayed changes): "
        + ", ".join(
            f"{kind}s {_pct(a['fixed_later'])} fixed later (of {a['things']:,})"
            for kind, a in result["anchor"].items()
        )
        + ".",
        "",
        "| rule | fires on | named | named: fixed later | compared with | base: fixed later "
        "| lift [95 % CI] | same changes | other changes "
        "| same changes, code | other changes, code | clearly above 1 |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for rule, row in result["rules"].items():
        main = row[row["main"]]
        base = _BASE_WORDS[row["main"]].format(kind=row["kind"])
        lifts = [
            "(main)" if name == row["main"] else _lift(row[name])
            for name in ("same", "other", "same_code", "other_code")
        ]
        lines.append(
            f"| `{rule}` | {row['fires']:,} ({_pct(row['fires_share'])}) "
            f"| {main['named']:,} {row['kind']}s | {_pct(main['named_rate'])} "
            f"| {base} ({main['base']:,}) | {_pct(main['base_rate'])} | {_lift(main)} | "
            + " | ".join(lifts)
            + f" | {'yes' if row['clearly_above_one'] else 'no'} |"
        )
    shown = result["repositories_shown"]
    lines += [
        "",
        "Lift per repository (main comparison; things named in brackets):",
        "",
        "| rule | " + " | ".join(shown) + " |",
        "| --- |" + " ---: |" * len(shown),
    ]
    for rule, row in result["rules"].items():
        cells = []
        for repo in shown:
            figure = row["per_repository"][repo]
            lift = figure["lift"]
            cells.append(f"{lift:.2f} ({figure['named']})" if _known(lift) else "-")
        lines.append(f"| `{rule}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def finite(value: Any) -> Any:
    """`value` with every NaN as None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value
