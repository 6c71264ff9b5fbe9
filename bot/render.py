"""How a :class:`~bot.domain.ReviewResult` is shown: JSON, a Markdown comment, SARIF.

Every renderer shows only what the result holds: the change (repo, commits, paths), the
risk, level (and what it means: "among the riskiest 10 % of this repository's recent
changes"), reasons and suggestions and the model id. With ``numeric=False`` (what is
posted to GitHub, and ``teamlens review --level-only``) the risk number is left out and
only its level is shown: averaged over the pull requests of one author, the number would
be a per-person score (DESIGN.md, privacy rule 6). The domain has no person in it and
nothing here adds one. In the Markdown texts (which GitHub renders) an ``@`` before a name
is followed by a zero-width space, so that a rule's or reason's text can never notify
anyone; JSON and SARIF carry the text unchanged.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from teamlens.bot.domain import ChangedFile, Level, NothingToReview, ReviewResult, Suggestion

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
TOOL_NAME = "teamlens"
#: The rule id of the SARIF result for the risk of the whole change.
RISK_RULE = "teamlens.risk"
RISK_DESCRIPTION = "Risk of the change (a model's estimate; not a judgement of anyone)."
#: The partial fingerprint of the risk result: one per change, the same on every push.
RISK_FINGERPRINT = Suggestion(rule=RISK_RULE, message="").fingerprint
SUMMARY_MARKER = "teamlens:summary"
#: The key of the SARIF partial fingerprint (Suggestion.fingerprint).
FINGERPRINT_KEY = "teamlensFingerprint/v1"

_MENTION = re.compile(r"@(?=\w)")
_FP_MARKER = re.compile(r"<!--\s*teamlens:fp=([0-9a-f]{8,64})(?:\s[^>]*)?-->")
_RULE_UNSAFE = re.compile(r"[^\w.:/-]")
_FOOTER = (
    "Risk of the change, not of anyone. Model: {model}. "
    "React 👍/👎 to tell us if a suggestion helped."
)


# --- JSON ------------------------------------------------------------------------------


def to_json(result: ReviewResult, numeric: bool = True) -> str:
    """The interface contract as a JSON text (:meth:`ReviewResult.as_json`)."""
    return json.dumps(result.as_json(numeric))


# --- Markdown --------------------------------------------------------------------------


def _plain(text: str) -> str:
    """Text for GitHub Markdown that cannot @-mention anyone."""
    return _MENTION.sub("@\u200b", text)


def _item(text: str) -> str:
    """Text for one Markdown list item: on one line, no mentions."""
    return _plain(" ".join(text.split()))


def _code(text: str) -> str:
    """An inline code span that holds any text (backticks included)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _html_comment(marker: str) -> str:
    """``marker`` as an HTML comment (a marker already written as one is kept)."""
    wrapped = marker.startswith("<!--") and marker.endswith("-->")
    inner = marker[4:-3] if wrapped else marker
    if "-->" in inner or "--!>" in inner:
        raise ValueError(f"marker cannot hold the end of an HTML comment: {marker!r}")
    return f"<!-- {inner.strip()} -->"


def _place(s: Suggestion) -> str:
    if s.path is None:
        return ""
    where = s.path if s.line is None else f"{s.path}:{s.line}"
    return _code(where) + " "


def _grouped(suggestions: tuple[Suggestion, ...]) -> dict[str, list[Suggestion]]:
    """Suggestions by rule, rules and suggestions in their first-seen order."""
    groups: dict[str, list[Suggestion]] = {}
    for s in suggestions:
        groups.setdefault(s.rule, []).append(s)
    return groups


def headline(result: ReviewResult, numeric: bool = True) -> str:
    """The first line: ``**teamlens: medium risk** (0.43)``; the level alone if not
    ``numeric``."""
    line = f"**{TOOL_NAME}: {result.level.value} risk**"
    return f"{line} ({result.risk:.2f})" if numeric else line


def level_line(result: ReviewResult) -> str:
    """What the level means, as a sentence ("Among the riskiest 10 % of this repository's
    recent changes."); empty when the result does not say."""
    meaning = result.level_meaning.strip()
    if not meaning:
        return ""
    return meaning[0].upper() + meaning[1:] + ("" if meaning.endswith(".") else ".")


def to_markdown(result: ReviewResult, marker: str | None = None, numeric: bool = True) -> str:
    """The pull request's summary comment; ``marker`` (if any) as an HTML comment last."""
    lines = [headline(result, numeric)]
    if result.level_meaning:
        lines.append(_item(level_line(result)))
    if result.reasons:
        lines += ["", "**Why**", *(f"- {_item(r)}" for r in result.reasons)]
    groups = _grouped(result.suggestions)
    if groups:
        lines += ["", "**Suggestions**"]
        for rule, items in groups.items():
            lines.append(f"- {_code(rule)}")
            lines += [f"  - {_place(s)}{_item(s.message)}" for s in items]
    lines += ["", f"<sub>{_FOOTER.format(model=_plain(result.model_id))}</sub>"]
    if marker is not None:
        lines.append(_html_comment(marker))
    return "\n".join(lines)


def inline_body(suggestion: Suggestion) -> str:
    """An inline comment's text; its last line is a hidden fingerprint marker."""
    rule = _RULE_UNSAFE.sub("_", suggestion.rule)
    return "\n".join(
        [
            _plain(suggestion.message),
            "",
            f"<sub>{TOOL_NAME} · {_code(suggestion.rule)} · "
            "React 👍/👎 to tell us if this helped.</sub>",
            f"<!-- teamlens:fp={suggestion.fingerprint} rule={rule} -->",
        ]
    )


def parse_fingerprint(body: str) -> str | None:
    """The fingerprint in a comment written by :func:`inline_body` (the last one), or None."""
    found = _FP_MARKER.findall(body)
    return found[-1] if found else None


# --- SARIF -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Location:
    path: str
    start_line: int
    end_line: int | None = None


def _sarif_level(level: Level) -> str:
    return "warning" if level is Level.HIGH else "note"


def _uri(path: str) -> str:
    """A repository-relative path as a relative URI reference (percent-encoded)."""
    return urllib.parse.quote(path.lstrip("/"), safe="/")


def _first_added_line(path: str, files: tuple[ChangedFile, ...]) -> int:
    """The first line the change adds to `path` (at head), else 1 (the file as a whole)."""
    for f in files:
        if f.path == path and f.added_lines:
            return min(f.added_lines)
    return 1


def _locate(s: Suggestion, path: str, files: tuple[ChangedFile, ...]) -> _Location:
    """Where a suggestion about `path` is shown in SARIF: its line, else the first line the
    change adds to the file (else line 1)."""
    if s.line is None or s.line < 1:
        return _Location(path, _first_added_line(path, files))
    end = s.end_line if s.end_line is not None and s.end_line >= s.line else None
    return _Location(path, s.line, end)


def _sarif_locations(where: _Location) -> list[dict[str, object]]:
    region: dict[str, object] = {"startLine": where.start_line}
    if where.end_line is not None:
        region["endLine"] = where.end_line
    physical: dict[str, object] = {
        "artifactLocation": {"uri": _uri(where.path), "uriBaseId": "%SRCROOT%"},
        "region": region,
    }
    return [{"physicalLocation": physical}]


def _rule(rule_id: str, description: str, help_uri: str | None) -> dict[str, object]:
    rule: dict[str, object] = {
        "id": rule_id,
        "shortDescription": {"text": description},
        "defaultConfiguration": {"level": "note"},
    }
    if help_uri is not None:
        rule["helpUri"] = help_uri
    return rule


def _sarif_result(
    rule_id: str, index: int, level: str, text: str, where: _Location, fingerprint: str
) -> dict[str, object]:
    return {
        "ruleId": rule_id,
        "ruleIndex": index,
        "level": level,
        "message": {"text": text},
        "locations": _sarif_locations(where),
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
    }


def _notification(
    rule_id: str, index: int, level: str, text: str, fingerprint: str
) -> dict[str, object]:
    """A tool execution notification: what is about the whole change, with no location."""
    return {
        "descriptor": {"id": rule_id, "index": index},
        "level": level,
        "message": {"text": text},
        "properties": {"fingerprint": fingerprint},
    }


def _risk_text(result: ReviewResult, numeric: bool) -> str:
    number = f" ({result.risk:.2f})" if numeric else ""
    text = f"{TOOL_NAME}: {result.level.value} risk{number}."
    if result.level_meaning:
        text += " " + level_line(result)
    if result.reasons:
        text += "\nWhy:" + "".join(f"\n- {' '.join(r.split())}" for r in result.reasons)
    return text


def to_sarif(
    result: ReviewResult,
    tool_version: str,
    *,
    information_uri: str | None = None,
    rule_descriptions: Mapping[str, str] | None = None,
    help_uris: Mapping[str, str] | None = None,
    numeric: bool = True,
) -> dict[str, object]:
    """The result as a SARIF 2.1.0 log.

    ``results`` hold only what has a place in the code, each with a location and a
    region: a suggestion's line (and ``endLine`` when the suggestion knows it); a
    suggestion with a file but no line starts at the first line the change adds to that
    file (line 1 if none). What is about the whole change (the risk, with its reasons one
    per line, and the suggestions without a file) goes into the invocation's
    ``toolExecutionNotifications`` and the run's ``properties`` (risk and level): GitHub
    code scanning refuses a file in which any result has no location, and none is made
    up. ``rule_descriptions`` and ``help_uris`` describe the rules by id (a rule without a
    description is described by its id).
    """
    descriptions = {RISK_RULE: RISK_DESCRIPTION, **(rule_descriptions or {})}
    helps = help_uris or {}
    located = [(s, s.path) for s in result.suggestions if s.path is not None]
    whole = tuple(s for s in result.suggestions if s.path is None)
    rule_ids = list(dict.fromkeys(s.rule for s, _ in located))
    index = {r: i for i, r in enumerate(rule_ids)}
    notice_ids = list(dict.fromkeys([RISK_RULE, *(s.rule for s in whole)]))
    notice_index = {r: i for i, r in enumerate(notice_ids)}
    level = _sarif_level(result.level)
    files = result.change.files
    results = [
        _sarif_result(
            s.rule, index[s.rule], level, s.message, _locate(s, path, files), s.fingerprint
        )
        for s, path in located
    ]
    notifications = [
        _notification(RISK_RULE, 0, level, _risk_text(result, numeric), RISK_FINGERPRINT),
        *(
            _notification(s.rule, notice_index[s.rule], level, s.message, s.fingerprint)
            for s in whole
        ),
    ]
    driver: dict[str, object] = {"name": TOOL_NAME, "version": tool_version}
    if information_uri is not None:
        driver["informationUri"] = information_uri
    driver["rules"] = [_rule(r, descriptions.get(r, r), helps.get(r)) for r in rule_ids]
    driver["notifications"] = [_rule(r, descriptions.get(r, r), helps.get(r)) for r in notice_ids]
    run: dict[str, object] = {
        "tool": {"driver": driver},
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notifications}],
        "results": results,
        "properties": _run_properties(result, numeric),
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _run_properties(result: ReviewResult, numeric: bool) -> dict[str, object]:
    risk: dict[str, object] = {"risk": round(result.risk, 4)} if numeric else {}
    return {
        **risk,
        "level": result.level.value,
        "model": result.model_id,
        "repo": result.change.repo,
        "base": result.change.base,
        "head": result.change.head,
    }


def to_sarif_json(
    result: ReviewResult,
    tool_version: str,
    *,
    information_uri: str | None = None,
    rule_descriptions: Mapping[str, str] | None = None,
    help_uris: Mapping[str, str] | None = None,
    numeric: bool = True,
) -> str:
    """:func:`to_sarif` as an indented JSON text."""
    log = to_sarif(
        result,
        tool_version,
        information_uri=information_uri,
        rule_descriptions=rule_descriptions,
        help_uris=help_uris,
        numeric=numeric,
    )
    return json.dumps(log, indent=2, ensure_ascii=False)


# --- nothing to review -----------------------------------------------------------------


def nothing_text(nothing: NothingToReview) -> str:
    """One line: ``teamlens: nothing to review (no commits between the merge base and head)``."""
    return f"{TOOL_NAME}: nothing to review ({nothing.reason})"


def nothing_json(nothing: NothingToReview) -> str:
    """``{"nothing_to_review": true, ...}`` as a JSON text: no risk, no reasons."""
    return json.dumps(nothing.as_json())


def nothing_sarif_json(nothing: NothingToReview, tool_version: str) -> str:
    """A SARIF 2.1.0 log with no results (no rules, no risk), saying why in a note."""
    note = {"level": "note", "message": {"text": nothing_text(nothing)}}
    run: dict[str, object] = {
        "tool": {"driver": {"name": TOOL_NAME, "version": tool_version, "rules": []}},
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": [note]}],
        "results": [],
        "properties": {"nothingToReview": True, **nothing.as_json()},
    }
    log = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False)
