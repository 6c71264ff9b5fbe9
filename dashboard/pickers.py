"""The served page's team and window pickers, and its "not found" page.

The pickers are a plain ``GET`` form (``/?team=…&period=…``): they work without
JavaScript, and the browser sends its credentials (the bearer header, or the session
cookie of :mod:`.serve`) with the request the form makes, so choosing keeps the token.
They only choose among rows of the already k-suppressed ``team_period`` table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from teamlens.dashboard.charts import _e
from teamlens.dashboard.page import _css
from teamlens.dashboard.windows import AUTO, PERIOD_CHOICES, window_name

#: The team picker's value for "every team" (an empty value: no ``team`` filter).
EVERY_TEAM = ""


@dataclass(frozen=True)
class Pickers:
    """What the form offers and what it shows as chosen.

    ``teams`` are the table's teams in report order; ``kinds`` the kinds of window the
    table holds (a kind it does not hold is offered but disabled); ``team`` and
    ``period`` the current choice (None: every team, ``auto``).
    """

    teams: Sequence[str]
    kinds: frozenset[str]
    team: str | None = None
    period: str | None = None

    def period_options(self) -> list[tuple[str, str, bool]]:
        """(value, label, enabled) for every ``--period`` choice the code knows."""
        out = []
        for choice in PERIOD_CHOICES:
            if choice == AUTO:
                out.append((choice, "auto (each team's own)", True))
            elif choice in self.kinds:
                out.append((choice, window_name(choice), True))
            else:
                out.append((choice, f"{window_name(choice)} (not built)", False))
        return out


def _options(choices: Iterable[tuple[str, str, bool]], chosen: str) -> str:
    return "".join(
        f'<option value="{_e(value)}"'
        + (" selected" if value == chosen else "")
        + ("" if enabled else " disabled")
        + f">{_e(label)}</option>"
        for value, label, enabled in choices
    )


def pickers_html(pickers: Pickers) -> str:
    """The ``GET`` form with the team and window pickers and a submit button."""
    teams = [(EVERY_TEAM, "every team", True), *((t, t, True) for t in pickers.teams)]
    team = _options(teams, pickers.team or EVERY_TEAM)
    period = _options(pickers.period_options(), pickers.period or AUTO)
    return (
        '<form class="pickers" method="get" action="/" aria-label="Choose a team and a window">'
        f'<label>Team<select name="team">{team}</select></label>'
        f'<label>Window<select name="period">{period}</select></label>'
        '<button type="submit">Show</button></form>'
    )


def notice_html(message: str) -> str:
    """A one-line notice above the figures (e.g. a kind of window the table lacks)."""
    return f'<p class="notice" role="status">{_e(message)}</p>'


def not_found_html(message: str, pickers: Pickers, title: str) -> str:
    """The page of a 404: the one-line message, the pickers, a link to every team."""
    csp = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>Not found: {_e(title)}</title><style>\n{_css()}</style></head><body>"
        f"<header><h1>{_e(title)}</h1></header><main>"
        f'<p class="notice" role="alert" id="error">Not found: {_e(message)}.</p>'
        f'{pickers_html(pickers)}<p><a href="/">Every team, each in its own window</a></p>'
        "</main></body></html>\n"
    )
