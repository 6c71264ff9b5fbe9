"""The store's changes as they were known on a past date (``teamlens train --until DATE``).

A model trained "as of" a date must see only what teamlens could have known then:

* only changes committed before the date;
* a change is defect-inducing only if a fix that SZZ blames on it was committed before
  the date (a defect fixed later was not known then);
* a change is clean only if it was older than the label-maturity window on that date
  (``labels.maturity_days`` before it) and its repository has labels; younger changes
  stay unlabelled, as the live labeller leaves them (features.changes).

A change labelled defect-inducing today whose fix came after the date counts as clean
when it was old enough then, and as unlabelled otherwise: exactly what a model trained
on that date would have been told.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from teamlens.errors import TeamlensError
from teamlens.model.dataset import JitData
from teamlens.store import Store

DAY = 86_400

_FIX_TIMES_SQL = """
SELECT l.repo, l.inducing_sha AS id, min(epoch(c.commit_time))::BIGINT AS first_fix
FROM szz_links l
JOIN change_labels cl ON cl.repo = l.repo AND cl.sha = l.inducing_sha AND cl.variant = l.variant
JOIN commits c ON c.repo = l.repo AND c.sha = l.fix_sha
WHERE l.repo IN ({repos})
GROUP BY l.repo, l.inducing_sha
"""


class DateError(TeamlensError):
    """A date given on the command line is not a date."""


def parse_date(text: str) -> int:
    """An ISO date (UTC midnight) or date-time (UTC unless it says otherwise) as unix seconds.

    >>> parse_date("2024-03-01")
    1709251200
    """
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise DateError(
            f"{text!r} is not a date; expected an ISO date such as 2024-03-01 "
            "or a time such as 2024-03-01T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


def day(seconds: int) -> str:
    """A unix time as its UTC day, 2024-03-01."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%d")


def first_fix_times(store: Store, repos: Sequence[str]) -> pd.DataFrame:
    """Per (repo, id) of a defect-inducing change: when its first blamed fix was committed."""
    placeholders = ", ".join("?" for _ in repos)
    result = store.query(_FIX_TIMES_SQL.format(repos=placeholders), list(repos))
    return pd.DataFrame(result.rows, columns=["repo", "id", "first_fix"])


def as_of(data: JitData, fixes: pd.DataFrame, until: int, maturity_days: float) -> JitData:
    """`data` (from the store, every change) as known at `until` (unix seconds).

    `fixes` is :func:`first_fix_times` of the same repositories.
    """
    frame = data.frame[data.frame["time"] < until].copy()
    if "repo" in frame.columns:
        keyed = frame.merge(fixes, on=["repo", "id"], how="left")
    else:  # one repository: ids are unique
        keyed = frame.merge(fixes.drop(columns="repo"), on="id", how="left")
    first_fix = keyed["first_fix"].to_numpy(dtype=np.float64)
    known_now = frame["label"].notna().to_numpy()
    old_enough = frame["time"].to_numpy() <= until - maturity_days * DAY
    fixed_before = np.nan_to_num(first_fix, nan=np.inf) < until
    label = np.where(fixed_before, 1.0, np.where(known_now & old_enough, 0.0, np.nan))
    # A change fixed before the date is known inducing, whatever its age.
    frame["label"] = label
    return JitData(
        frame.reset_index(drop=True),
        data.features,
        data.source,
        data.dropped,
        data.opt_out,
    )


def dataset_as_of(data: JitData, until: int) -> JitData:
    """A public dataset's changes committed before `until` (it records no fix dates, so
    its labels are kept as they are)."""
    frame = data.frame[data.frame["time"] < until].reset_index(drop=True)
    return JitData(frame, data.features, data.source, data.dropped, data.opt_out)
