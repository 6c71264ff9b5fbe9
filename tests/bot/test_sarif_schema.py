"""teamlens's SARIF output against the published SARIF 2.1.0 JSON schema (tests/bot/sarif).

Also what GitHub code scanning needs to place a result: a region on every located
result, no location made up for what is about the whole change, one reason per line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from teamlens.bot.domain import Level, NothingToReview, Suggestion
from teamlens.bot.render import (
    FINGERPRINT_KEY,
    RISK_RULE,
    nothing_sarif_json,
    to_sarif,
    to_sarif_json,
)
from tests.bot.test_render import COMPLEXITY, MISSING_TEST, MISSING_TEST_2, WHOLE, make_result

SCHEMA_PATH = Path(__file__).parent / "sarif" / "sarif-schema-2.1.0.json"
FUNCTION = Suggestion(
    rule="complexity", message="parse() grew.", path="src/app/parser.py", line=10, end_line=30
)


def _validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def _errors(log: object) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in _validator().iter_errors(log)]


def _results(log: dict[str, object]) -> list[dict[str, Any]]:
    runs = log["runs"]
    assert isinstance(runs, list)
    results = runs[0]["results"]
    assert isinstance(results, list)
    return results


def test_the_schema_rejects_a_broken_log() -> None:
    """The validator is not vacuous: a result without a message, or a region at line 0,
    fails."""
    log = to_sarif(make_result(), "0.1.0")
    assert _errors(log) == []
    broken = json.loads(json.dumps(log))
    del broken["runs"][0]["results"][0]["message"]
    assert _errors(broken)
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"] = {"startLine": 0}
    assert _errors(broken)


def test_every_output_is_valid_sarif() -> None:
    logs = [
        to_sarif(make_result(), "0.1.0", information_uri="https://example.invalid/teamlens"),
        to_sarif(make_result(suggestions=(FUNCTION, WHOLE)), "0.1.0", numeric=False),
        to_sarif(make_result(suggestions=(WHOLE,), files=()), "0.1.0"),
        json.loads(to_sarif_json(make_result(), "0.1.0")),
        json.loads(nothing_sarif_json(NothingToReview("acme/widgets", "a" * 40, "a" * 40), "1")),
    ]
    for log in logs:
        assert _errors(log) == []


def test_every_located_result_has_a_region() -> None:
    log = to_sarif(
        make_result(suggestions=(MISSING_TEST, COMPLEXITY, MISSING_TEST_2, FUNCTION)), "1"
    )
    by_fp = {r["partialFingerprints"][FINGERPRINT_KEY]: r for r in _results(log)}
    regions = {
        fp: [loc["physicalLocation"]["region"] for loc in r["locations"]]
        for fp, r in by_fp.items()
        if "locations" in r
    }
    assert regions[MISSING_TEST.fingerprint] == [{"startLine": 42}]
    assert regions[COMPLEXITY.fingerprint] == [{"startLine": 10}]
    assert regions[FUNCTION.fingerprint] == [{"startLine": 10, "endLine": 30}]
    # a file without a line: the first line the change adds to it (header.py adds 1..12)
    assert regions[MISSING_TEST_2.fingerprint] == [{"startLine": 1}]


def test_every_result_has_a_location_with_a_region() -> None:
    """GitHub code scanning refuses a whole SARIF file when any result has no location
    ("locationFromSarifResult: expected at least one location")."""
    for suggestions in ((MISSING_TEST, COMPLEXITY, MISSING_TEST_2, FUNCTION, WHOLE), (WHOLE,)):
        for numeric in (True, False):
            log = to_sarif(make_result(suggestions=suggestions), "1", numeric=numeric)
            results = _results(log)
            assert len(results) == sum(s.path is not None for s in suggestions)
            for result in results:
                assert result["locations"], result
                for location in result["locations"]:
                    region = location["physicalLocation"]["region"]
                    assert region["startLine"] >= 1
                    uri = location["physicalLocation"]["artifactLocation"]["uri"]
                    assert uri.startswith("src/app/")
            assert _errors(log) == []


def test_a_file_without_a_line_starts_at_its_first_added_line() -> None:
    later = Suggestion(rule="untested", message="No test.", path="src/app/parser.py")
    log = to_sarif(make_result(suggestions=(later,)), "1")
    physical = _results(log)[0]["locations"][0]["physicalLocation"]
    assert physical["region"] == {"startLine": 10}  # parser.py adds lines 10 and 42


def _notifications(log: dict[str, object]) -> list[dict[str, Any]]:
    runs = log["runs"]
    assert isinstance(runs, list)
    notes = runs[0]["invocations"][0]["toolExecutionNotifications"]
    assert isinstance(notes, list)
    return notes


def test_the_whole_change_is_a_notification_not_a_result() -> None:
    """The risk and the suggestions without a file get no made-up location: they are the
    invocation's notifications, and the risk and level are the run's properties."""
    log = to_sarif(make_result(level=Level.HIGH, suggestions=(WHOLE, MISSING_TEST)), "1")
    (located,) = _results(log)
    uri = located["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "src/app/parser.py"
    risk, whole = _notifications(log)
    assert risk["descriptor"]["id"] == RISK_RULE and risk["level"] == "warning"
    assert whole["descriptor"]["id"] == WHOLE.rule and whole["message"]["text"] == WHOLE.message
    assert all("locations" not in n for n in (risk, whole))
    runs = log["runs"]
    assert isinstance(runs, list)
    assert runs[0]["properties"]["level"] == "high"
    assert runs[0]["properties"]["risk"] == 0.4321
    hidden = to_sarif(make_result(suggestions=(WHOLE,)), "1", numeric=False)
    hidden_runs = hidden["runs"]
    assert isinstance(hidden_runs, list)
    assert "risk" not in hidden_runs[0]["properties"]
    assert "0.43" not in json.dumps(hidden)


def test_reasons_are_one_per_line() -> None:
    result = make_result()
    text = _notifications(to_sarif(result, "1"))[0]["message"]["text"]
    lines = text.splitlines()
    assert lines[-3:] == ["Why:", *(f"- {r}" for r in result.reasons)]
    assert lines[0].startswith("teamlens: medium risk (0.43).")


def test_an_end_line_before_the_start_is_left_out() -> None:
    odd = Suggestion(rule="r", message="m", path="src/app/parser.py", line=10, end_line=3)
    log = to_sarif(make_result(suggestions=(odd,)), "1")
    assert _results(log)[0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 10}
    assert _errors(log) == []
