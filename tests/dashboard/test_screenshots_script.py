"""scripts/screenshots on a real report (the company's): two small PNGs of the right
widths, and a one-line refusal when a page names a demo person or a report is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import require_browser
from tests.dashboard.conftest import CompanyTrends
from tests.dashboard.layout import png_size

#: Two Chromium runs in subprocesses: CI runs them, scripts/test --fast leaves them out.
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "screenshots"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300
    )


def test_the_script_writes_both_widths_small(company_trends: CompanyTrends, tmp_path: Path) -> None:
    require_browser()
    result = _run("--report", str(company_trends.report), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    wide, phone = tmp_path / "report-1400.png", tmp_path / "report-390.png"
    assert png_size(wide)[0] == 1400
    assert png_size(phone)[0] == 2 * 390 + 24  # a phone's two screens side by side
    for image in (wide, phone):
        assert 10_000 < image.stat().st_size < 400 * 1024


def test_the_script_refuses_a_page_that_names_a_demo_person(
    company_trends: CompanyTrends, tmp_path: Path
) -> None:
    leaky = tmp_path / "leaky.html"
    text = company_trends.report.read_text(encoding="utf-8")
    leaky.write_text(text.replace("</main>", "<p>Demo Person 07</p></main>"), encoding="utf-8")
    result = _run("--report", str(leaky), "--out", str(tmp_path / "img"))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "screenshots: error: the report names a demo person ('Demo Person 07'): not shown"
    ]
    assert not (tmp_path / "img").exists()
