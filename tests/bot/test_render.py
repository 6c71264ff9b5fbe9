from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, cast

import pytest

from teamlens.bot.domain import (
    ChangedFile,
    ChangedFunction,
    ChangeUnderReview,
    Level,
    ReviewResult,
    Suggestion,
)
from teamlens.bot.render import (
    FINGERPRINT_KEY,
    RISK_DESCRIPTION,
    RISK_FINGERPRINT,
    RISK_RULE,
    SARIF_SCHEMA,
    inline_body,
    level_line,
    parse_fingerprint,
    to_json,
    to_markdown,
    to_sarif,
    to_sarif_json,
)
from teamlens.mining.domain import ChangeType

MISSING_TEST = Suggestion(
    rule="missing-test",
    message="The change adds code under src/ and no test.",
    path="src/app/parser.py",
    line=42,
)
MISSING_TEST_2 = Suggestion(
    rule="missing-test", message="No test covers parse_header.", path="src/app/header.py"
)
COMPLEXITY = Suggestion(
    rule="complexity-jump",
    message="parse() went from complexity 4 to 19: split it?",
    path="src/app/parser.py",
    line=10,
)
WHOLE = Suggestion(rule="large-change", message="The change touches 31 files: split it?")


MEDIUM_MEANING = (
    "among the riskiest 30 % of this repository's recent changes, not the riskiest 10 %"
)


def make_result(
    level: Level = Level.MEDIUM,
    suggestions: tuple[Suggestion, ...] = (MISSING_TEST, COMPLEXITY, MISSING_TEST_2, WHOLE),
    files: tuple[ChangedFile, ...] | None = None,
) -> ReviewResult:
    if files is None:
        files = (
            ChangedFile("docs/old.md", "docs/old.md", ChangeType.DELETED, 0, 12),
            ChangedFile(
                "src/app/parser.py", "src/app/parser.py", ChangeType.MODIFIED, 30, 4, (10, 42)
            ),
            ChangedFile("src/app/header.py", None, ChangeType.ADDED, 12, 0, tuple(range(1, 13))),
        )
    change = ChangeUnderReview(
        repo="acme/widgets",
        base="a" * 40,
        head="b" * 40,
        files=files,
        functions=(ChangedFunction("src/app/parser.py", "parse", 10, 4, 19),),
        features={"lines_added": 42.0},
    )
    return ReviewResult(
        change=change,
        risk=0.4321,
        level=level,
        reasons=("Many lines added (42).", "The file had 3 fixes in 90 days."),
        suggestions=suggestions,
        model_id="gbm-2024-05-01",
        level_meaning=MEDIUM_MEANING,
    )


# --- JSON ------------------------------------------------------------------------------


def test_json_is_the_contract() -> None:
    result = make_result()
    assert json.loads(to_json(result)) == result.as_json()


# --- Markdown --------------------------------------------------------------------------


def test_markdown_summary() -> None:
    text = to_markdown(make_result())
    lines = text.splitlines()
    assert lines[0] == "**teamlens: medium risk** (0.43)"
    assert lines[1] == (
        "Among the riskiest 30 % of this repository's recent changes, not the riskiest 10 %."
    )
    assert "**Why**" in lines
    assert "- Many lines added (42)." in lines
    assert "- The file had 3 fixes in 90 days." in lines
    # grouped by rule, in first-seen order, with file:line where present
    assert lines.index("- `missing-test`") < lines.index("- `complexity-jump`")
    missing = lines.index("- `missing-test`")
    assert lines[missing + 1] == f"  - `src/app/parser.py:42` {MISSING_TEST.message}"
    assert lines[missing + 2] == f"  - `src/app/header.py` {MISSING_TEST_2.message}"
    assert f"  - {WHOLE.message}" in lines
    assert "Risk of the change, not of anyone. Model: gbm-2024-05-01." in lines[-1]
    assert "👍/👎" in lines[-1]
    assert "<!--" not in text


def test_markdown_marker_is_the_last_line() -> None:
    for marker in ("teamlens:summary", "<!-- teamlens:summary -->"):
        text = to_markdown(make_result(), marker=marker)
        assert text.splitlines()[-1] == "<!-- teamlens:summary -->"
    with pytest.raises(ValueError):
        to_markdown(make_result(), marker="x --> y")


def test_markdown_without_reasons_or_suggestions() -> None:
    result = make_result(level=Level.LOW, suggestions=())
    result = ReviewResult(result.change, 0.05, Level.LOW, (), (), result.model_id)  # nothing to say
    text = to_markdown(result)
    assert text.splitlines()[0] == "**teamlens: low risk** (0.05)"
    assert "Why" not in text and "Suggestions" not in text


def test_markdown_cannot_mention_anyone() -> None:
    noisy = Suggestion(rule="r", message="ask @octocat or @acme/core", path="a.py", line=1)
    result = make_result(suggestions=(noisy,))
    for text in (to_markdown(result), inline_body(noisy)):
        assert re.search(r"@\w", text) is None
        assert "@\u200boctocat" in text


def test_inline_body_and_fingerprint_round_trip() -> None:
    body = inline_body(MISSING_TEST)
    assert body.startswith(MISSING_TEST.message)
    last = body.splitlines()[-1]
    assert last == f"<!-- teamlens:fp={MISSING_TEST.fingerprint} rule=missing-test -->"
    assert parse_fingerprint(body) == MISSING_TEST.fingerprint
    # an odd rule name cannot break the marker
    odd = Suggestion(rule="a rule --> x", message="m")
    assert parse_fingerprint(inline_body(odd)) == odd.fingerprint
    assert inline_body(odd).splitlines()[-1].count("-->") == 1


def test_parse_fingerprint_without_a_marker() -> None:
    assert parse_fingerprint("Just a human comment.") is None
    assert parse_fingerprint("<!-- teamlens:summary -->") is None
    assert parse_fingerprint("<!-- teamlens:fp=NOTHEX rule=x -->") is None


# --- SARIF -----------------------------------------------------------------------------


def _as_dict(value: object) -> dict[str, Any]:
    assert isinstance(value, dict)
    return cast(dict[str, Any], value)


def _check_sarif_structure(log: Mapping[str, Any]) -> None:
    """The SARIF 2.1.0 requirements that matter to consumers, checked by hand.

    sarifLog: version "2.1.0" and runs (required); run: tool (required) with a
    driver that has a name (required); result: message with text (required); ruleId
    names a rule of the driver and ruleIndex points to it; level one of the four
    levels; artifactLocation.uri a relative URI reference; region.startLine >= 1.
    """
    assert log["$schema"] == SARIF_SCHEMA
    assert log["version"] == "2.1.0"
    assert isinstance(log["runs"], list) and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "teamlens"
    assert isinstance(driver["version"], str)
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in {"none", "note", "warning", "error"}
    for result in run["results"]:
        assert result["message"]["text"]
        assert result["ruleId"] in ids
        assert ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in {"none", "note", "warning", "error"}
        assert isinstance(result["partialFingerprints"][FINGERPRINT_KEY], str)
        for location in result.get("locations", []):
            artifact = location["physicalLocation"]["artifactLocation"]
            uri = artifact["uri"]
            assert not uri.startswith("/") and "://" not in uri and " " not in uri
            region = location["physicalLocation"].get("region")
            if region is not None:
                assert isinstance(region["startLine"], int) and region["startLine"] >= 1
    notices = [d["id"] for d in driver.get("notifications", [])]
    for invocation in run.get("invocations", []):
        assert invocation["executionSuccessful"] is True
        for note in invocation["toolExecutionNotifications"]:
            assert note["message"]["text"] and note["level"] in {"note", "warning"}
            assert "locations" not in note
            if "descriptor" in note:
                assert notices[note["descriptor"]["index"]] == note["descriptor"]["id"]
    json.dumps(log)  # serialisable


def test_sarif_structure_and_results() -> None:
    result = make_result()
    log = to_sarif(result, "0.1.0", information_uri="https://example.invalid/teamlens")
    _check_sarif_structure(log)
    run = log["runs"]
    assert isinstance(run, list)
    driver = run[0]["tool"]["driver"]
    assert driver["version"] == "0.1.0"
    assert driver["informationUri"] == "https://example.invalid/teamlens"
    assert [r["id"] for r in driver["rules"]] == ["missing-test", "complexity-jump"]
    assert [r["id"] for r in driver["notifications"]] == [RISK_RULE, "large-change"]
    results = run[0]["results"]
    assert len(results) == 3  # the suggestions with a file; not the risk, not WHOLE
    # the overall risk is about the whole change: a notification, with no location
    risk, whole = run[0]["invocations"][0]["toolExecutionNotifications"]
    assert risk["descriptor"] == {"id": RISK_RULE, "index": 0} and risk["level"] == "note"
    assert "medium risk (0.43)" in risk["message"]["text"]
    assert whole["descriptor"] == {"id": "large-change", "index": 1}
    assert whole["message"]["text"] == WHOLE.message
    assert whole["properties"] == {"fingerprint": WHOLE.fingerprint}
    assert run[0]["properties"]["risk"] == 0.4321 and run[0]["properties"]["level"] == "medium"
    by_fp = {r["partialFingerprints"][FINGERPRINT_KEY]: r for r in results}
    first = by_fp[MISSING_TEST.fingerprint]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"]["uri"] == "src/app/parser.py"
    assert first["region"] == {"startLine": 42}
    no_line = by_fp[MISSING_TEST_2.fingerprint]["locations"][0]["physicalLocation"]
    assert no_line == {
        "artifactLocation": {"uri": "src/app/header.py", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 1},  # the first line the change adds to the file
    }
    assert WHOLE.fingerprint not in by_fp


def test_sarif_level_is_warning_when_high() -> None:
    log = to_sarif(make_result(level=Level.HIGH), "0.1.0")
    _check_sarif_structure(log)
    runs = log["runs"]
    assert isinstance(runs, list)
    assert {r["level"] for r in runs[0]["results"]} == {"warning"}
    notes = runs[0]["invocations"][0]["toolExecutionNotifications"]
    assert {n["level"] for n in notes} == {"warning"}
    assert "informationUri" not in runs[0]["tool"]["driver"]


def test_sarif_uri_is_percent_encoded_and_descriptions_apply() -> None:
    odd = Suggestion(rule="r", message="m", path="docs/my notes#1.md", line=0)
    log = to_sarif(
        make_result(suggestions=(odd,)),
        "0.1.0",
        rule_descriptions={"r": "A rule."},
        help_uris={"r": "https://example.invalid/rules/r"},
    )
    _check_sarif_structure(log)
    runs = log["runs"]
    assert isinstance(runs, list)
    rule = runs[0]["tool"]["driver"]["rules"][0]
    assert rule["shortDescription"] == {"text": "A rule."}
    assert rule["helpUri"] == "https://example.invalid/rules/r"
    physical = runs[0]["results"][0]["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "docs/my%20notes%231.md"
    assert physical["region"] == {"startLine": 1}  # line 0 is no line: the file from its top


def test_sarif_without_files_has_no_results() -> None:
    log = to_sarif(make_result(suggestions=(WHOLE,), files=()), "0.1.0")
    _check_sarif_structure(log)
    runs = log["runs"]
    assert isinstance(runs, list)
    assert runs[0]["results"] == []  # nothing has a place in the code
    notes = runs[0]["invocations"][0]["toolExecutionNotifications"]
    assert [n["descriptor"]["id"] for n in notes] == [RISK_RULE, WHOLE.rule]


def test_sarif_json_round_trips() -> None:
    result = make_result()
    assert json.loads(to_sarif_json(result, "0.1.0")) == to_sarif(result, "0.1.0")


# --- nothing but what was given ---------------------------------------------------------


def _strings(value: object) -> Iterator[str]:
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_outputs_only_hold_what_was_given() -> None:
    """No renderer adds a person (or anything else) that the result does not hold."""
    result = make_result()
    given = {
        result.change.repo,
        result.change.base,
        result.change.head,
        result.model_id,
        result.level.value,
        result.level_meaning,
        *result.reasons,
        *(f.path for f in result.change.files),
        *(s.rule for s in result.suggestions),
        *(s.message for s in result.suggestions),
        *(s.fingerprint for s in result.suggestions),
        *(line.reason for line in result.risky_lines),
    }
    # the renderers' own words
    vocabulary = {
        "$schema", SARIF_SCHEMA, "version", "2.1.0", "0.1.0", "runs", "tool", "driver",
        "name", "teamlens", "rules", "id", "shortDescription", "text", "defaultConfiguration",
        "level", "note", "results", "ruleId", "ruleIndex", "message", "partialFingerprints",
        FINGERPRINT_KEY, "locations", "physicalLocation", "artifactLocation", "uri",
        "uriBaseId", "%SRCROOT%", "region", "startLine", "properties", "risk", "model",
        "repo", "base", "head", "reasons", "suggestions", "rule", "path", "line",
        "fingerprint", RISK_RULE, "level_meaning", "invocations", "executionSuccessful",
        "toolExecutionNotifications", "descriptor", "index", "notifications",
        "risky_lines", "score", "reason",
    }  # fmt: skip
    risk_text = (
        "teamlens: medium risk (0.43). Among the riskiest 30 % of this repository's recent "
        "changes, not the riskiest 10 %.\nWhy:" + "".join(f"\n- {r}" for r in result.reasons)
    )
    allowed = given | vocabulary | {RISK_DESCRIPTION, RISK_FINGERPRINT, risk_text}
    texts = set(_strings(json.loads(to_json(result)))) | set(_strings(to_sarif(result, "0.1.0")))
    assert texts <= allowed, texts - allowed

    markdown = to_markdown(result, marker="teamlens:summary")
    inline = "\n".join(inline_body(s) for s in result.suggestions)
    for text in (markdown, inline):
        rest = text
        shown = given | {"teamlens:summary", level_line(result)}  # the meaning, capitalised
        for piece in sorted(shown, key=len, reverse=True):
            rest = rest.replace(piece, "")
        words = set(re.findall(r"[A-Za-z@][\w@.-]*", rest))
        assert words <= {
            "teamlens", "medium", "risk", "Why", "Suggestions", "sub", "Risk", "of", "the",
            "change", "not", "anyone.", "Model", "React", "to", "tell", "us", "if", "a",
            "suggestion", "helped.", "this", "fp", "rule",
        }, words  # fmt: skip
        assert "@" not in rest


def test_markdown_items_stay_on_one_line() -> None:
    multi = Suggestion(rule="r", message="first line\n\n- not a bullet", path="a.py", line=3)
    lines = to_markdown(make_result(suggestions=(multi,))).splitlines()
    assert "  - `a.py:3` first line - not a bullet" in lines
