"""A real team trends store for the page tests: the synthetic company of
tests/privacy/company.py (twelve named people, three teams) mined, labelled, featurised
and reported once per session, so every page test can check that no name or e-mail of
that repository reaches the page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.privacy.company import PEOPLE, featured, teamlens_ok


@dataclass(frozen=True)
class CompanyTrends:
    """The company's repos.yaml, data folder and report (``teamlens report``'s default)."""

    config: Path
    data_dir: Path
    report: Path

    def assert_no_identity(self, text: str) -> None:
        """No name, e-mail or e-mail local part of the company's people is in ``text``."""
        lowered = text.lower()
        for person in PEOPLE:
            for word in (person.name, person.email, person.email.split("@")[0]):
                assert word.lower() not in lowered, f"{word!r} leaks into the page"
            for part in person.name.split():
                assert part.lower() not in lowered, f"{part!r} leaks into the page"


@pytest.fixture(scope="session")
def company_trends(tmp_path_factory: pytest.TempPathFactory) -> CompanyTrends:
    work = tmp_path_factory.mktemp("company-trends")
    config = featured(work)
    report = work / "report.html"
    teamlens_ok(config, "report", "--out", str(report))
    return CompanyTrends(config, work / ".teamlens", report)
