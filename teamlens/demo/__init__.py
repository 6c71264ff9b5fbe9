"""`teamlens demo`: a synthetic company that shows the whole product in one command.

It builds a realistic but clearly made-up company (four teams owning Python, Go and
JavaScript code, years of history with bugs planted and later fixed, pull requests and
reviews), runs the main job on it (mine, GitHub, label, features, train, report) and
reviews a planted risky change. The layer sits between the CLI and the pipeline: it
drives :func:`teamlens.pipeline.run` as any caller would.
"""

from __future__ import annotations

from teamlens.demo.company import DemoSize
from teamlens.demo.gitwrite import DemoError
from teamlens.demo.run import RISKY_BRANCH, DemoResult, run_demo

__all__ = ["RISKY_BRANCH", "DemoError", "DemoResult", "DemoSize", "run_demo"]
