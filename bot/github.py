"""`teamlens review --github OWNER/REPO#N [--post]`: review a pull request on GitHub.

Reading: the pull request and its files through github3.py. The change is computed from
the local repository when it has the pull request's base and head commits (every
feature, bot.change); otherwise from the file list GitHub sends, through the same
feature pipeline (features.pipeline): the diff features from GitHub's counts, the
history features from the store's replay when the repository is mined (else not
computed), and no code metrics or ``fix`` (no file contents, no commit messages). What
could not be computed is listed in the change's ``unavailable`` (and in the JSON
output), never silently NaN.

Posting (``--post``), built to stay quiet and never repeat itself:

* **one summary comment**, found again on every push by a hidden marker (all pages of
  the pull request's comments are searched) and edited in place;
* **inline comments** only on lines the pull request adds (checked against the patch:
  GitHub answers 422 for a line outside the diff), batched into one review, at most
  ``review.max_inline`` per push, each carrying a fingerprint of path, rule and message
  so a rebase or a new push does not post it again;
* **a commit status** ``teamlens/risk`` on the head commit with the level.

Everything posted shows the risk *level*, never the number: one number per pull request,
averaged over an author's pull requests, would be a per-person score (DESIGN.md, rule 6).
The number stays in local output (``teamlens review`` without ``--post``).

Quiet mode (``review.quiet``): at low risk with no suggestion nothing is posted but the
status (an existing summary is updated, so it never shows stale advice).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from teamlens.bot.change import changed_file, compute_change, team_map
from teamlens.bot.cochange import FilePast, file_pasts
from teamlens.bot.domain import ChangeUnderReview, Level, ReviewResult
from teamlens.bot.render import inline_body, parse_fingerprint, to_markdown
from teamlens.bot.review import assess
from teamlens.config import Config, RepositoryConfig
from teamlens.errors import TeamlensError
from teamlens.feature_registry import FEATURES
from teamlens.features.kamei import Change, FileTouch, TeamMap, features_after, relevant_history
from teamlens.features.pipeline import (
    CODE_FEATURES,
    FILE_HISTORY_FEATURES,
    FUNCTION_HISTORY_FEATURES,
    TOKEN_FEATURES,
    feature_values,
    stored_history,
    values_row,
)
from teamlens.mining.backoff import WaitBudget
from teamlens.mining.domain import ChangeType
from teamlens.mining.github import connect
from teamlens.mining.repository import GitRepository
from teamlens.model.registry import SavedModel
from teamlens.store import Store

SUMMARY_MARKER = "<!-- teamlens:summary -->"
STATUS_CONTEXT = "teamlens/risk"
_REF_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9-]*)/([A-Za-z0-9._-]+)#(\d+)$")
_HUNK_RE = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


@dataclass(frozen=True)
class PostReport:
    summary: str  # "created", "edited", "unchanged" or "skipped"
    inline_posted: int
    inline_skipped_duplicate: int
    inline_skipped_outside_diff: int
    status: str


#: GitHub's file statuses as git's change types (a copy counts as added, as locally).
_GITHUB_STATUS = {
    "added": ChangeType.ADDED,
    "removed": ChangeType.DELETED,
    "renamed": ChangeType.RENAMED,
    "copied": ChangeType.ADDED,
}


def parse_ref(ref: str) -> tuple[str, str, int]:
    match = _REF_RE.match(ref)
    if match is None:
        raise TeamlensError(f"--github: expected OWNER/REPO#NUMBER, got {ref!r}")
    return match.group(1), match.group(2), int(match.group(3))


def added_lines(patch: str | None) -> set[int]:
    """Line numbers (new side) that a patch adds."""
    found: set[int] = set()
    line = 0  # 0 until the first hunk header: lines before it are file headers
    for raw in (patch or "").split("\n"):  # only \n ends a line (not \f, \u2028, ...)
        hunk = _HUNK_RE.match(raw)
        if hunk is not None:
            line = int(hunk.group(1))
            continue
        if line == 0:
            continue
        if raw.startswith("+"):
            found.add(line)
            line += 1
        elif raw.startswith(" ") or raw == "":
            line += 1
    return found


def change_from_patches(
    repo_name: str,
    base: str,
    head: str,
    files: Sequence[Any],
    store: Store | None = None,
    teams: TeamMap | None = None,
    now: int | None = None,
) -> ChangeUnderReview:
    """The change as GitHub's file list shows it, when the commits are not local.

    The file touches go through the store's replay (features.kamei) when `store` holds
    the repository: history features as of `now` (default: the current time).
    """
    teams = teams or TeamMap({})
    when = int(time.time()) if now is None else now
    touches: list[FileTouch] = []
    patches: list[str | None] = []
    for f in files:
        raw = f.as_dict()
        status = _GITHUB_STATUS.get(str(raw.get("status", "")), ChangeType.MODIFIED)
        previous = raw.get("previous_filename")
        kind = ChangeType.RENAMED if status is ChangeType.RENAMED and previous else status
        touches.append(
            FileTouch(
                raw["filename"],
                previous if kind is ChangeType.RENAMED else None,
                kind.value,
                int(raw.get("additions", 0)),
                int(raw.get("deletions", 0)),
            )
        )
        patches.append(raw.get("patch"))
    change = Change(head, when, "", False, tuple(touches))
    paths = {p for t in touches for p in (t.path, t.old_path) if p is not None}
    found = (
        stored_history(store, repo_name, None, head, frozenset({head}), when, paths)
        if store
        else None
    )
    history = None
    pasts: dict[str, FilePast] = {}
    if found is not None:
        kamei, history = features_after(found.changes, change, teams)
        pasts = file_pasts(relevant_history(found.changes, change), touches)
    else:
        kamei, _ = features_after([], change, teams)
    unavailable = {*CODE_FEATURES, *TOKEN_FEATURES, *FUNCTION_HISTORY_FEATURES, "fix"}
    if history is None:
        unavailable |= set(FILE_HISTORY_FEATURES)
    values = {
        k: (None if k in unavailable else v)
        for k, v in feature_values(change, kamei, None, None).items()
    }
    changed = tuple(
        changed_file(
            touch, patch is None, teams, history, when,
            added_lines=sorted(added_lines(patch)), hunks=list(_split_hunks(patch)),
            past=pasts.get(touch.path),
        )
        for touch, patch in zip(touches, patches, strict=True)
    )  # fmt: skip
    return ChangeUnderReview(
        repo_name,
        base,
        head,
        changed,
        (),
        values_row(values),
        unavailable=tuple(f.name for f in FEATURES if f.name in unavailable and f.model),
        time=when,
    )


def _split_hunks(patch: str | None) -> Iterable[str]:
    current: list[str] = []
    for raw in (patch or "").splitlines():
        if raw.startswith("@@") and current:
            yield "\n".join(current)
            current = []
        current.append(raw)
    if current:
        yield "\n".join(current)


def _repo_config(config: Config, owner: str, name: str, repo_name: str | None) -> RepositoryConfig:
    if repo_name:
        return config.repository(repo_name)
    full = f"{owner}/{name}".lower()
    for r in config.repositories:
        if r.github and r.github.lower() == full:
            return r
    raise TeamlensError(
        f"--github {owner}/{name}: no repository in repos.yaml has `github: {owner}/{name}` "
        "(or pass --repo NAME)"
    )


def review_pull_request(
    config: Config,
    ref: str,
    post: bool = False,
    repo_name: str | None = None,
    budget: WaitBudget | None = None,
    model: SavedModel | None = None,
    timings: dict[str, float] | None = None,
) -> ReviewResult:
    """Review pull request `ref` (OWNER/REPO#N); with `post`, comment on it.

    `timings`, if given, receives seconds per stage: fetch, features, tree-sitter, model,
    post.
    """
    clock = time.perf_counter()
    owner, name, number = parse_ref(ref)
    repo_config = _repo_config(config, owner, name, repo_name)
    gh, _ = connect(config, budget or WaitBudget(config.github.max_wait_seconds))
    try:
        repo = gh.repository(owner, name)
        pull = repo.pull_request(number)
        files = list(pull.files())
    except Exception as exc:  # github3's errors, translated to one line
        from teamlens.mining.github import translate_error

        raise translate_error(exc, ref) from exc
    base_sha, head_sha = pull.base.sha, pull.head.sha
    if timings is not None:
        timings["fetch"] = timings.get("fetch", 0.0) + time.perf_counter() - clock
    try:
        change = compute_change(config, repo_config, base_sha, head_sha, timings)
    except TeamlensError:
        change = _change_from_github(config, repo_config, base_sha, head_sha, files)
    from teamlens.bot.similar_comments import similar_suggestions

    result = assess(config, change, model, similar_suggestions(config, change), timings)
    if post:
        clock = time.perf_counter()
        post_review(config, repo, pull, files, result)
        if timings is not None:
            timings["post"] = timings.get("post", 0.0) + time.perf_counter() - clock
    return result


def _change_from_github(
    config: Config, repo_config: RepositoryConfig, base: str, head: str, files: Sequence[Any]
) -> ChangeUnderReview:
    """The patches-only change, with the store's history and the repository's teams
    when they are at hand."""
    try:
        teams = team_map(config, repo_config, GitRepository.open(repo_config, config.clones_dir))
    except TeamlensError:  # no local clone at all: the repos.yaml globs alone
        teams = TeamMap(dict((repo_config.teams or config.teams).globs))
    return change_from_patches(repo_config.name, base, head, files, Store(config.data_dir), teams)


def post_review(
    config: Config, repo: Any, pull: Any, files: Sequence[Any], result: ReviewResult
) -> PostReport:
    """Summary comment (edited in place), de-duplicated inline comments, commit status."""
    review = config.review
    quiet = review.quiet and result.level is Level.LOW and not result.suggestions
    issue = repo.issue(pull.number)
    existing = None
    for comment in issue.comments():
        if SUMMARY_MARKER in (comment.body or ""):
            existing = comment
            break
    body = to_markdown(result, marker=SUMMARY_MARKER, numeric=False)
    if existing is not None:
        summary = "unchanged" if existing.body == body else "edited"
        if summary == "edited":
            existing.edit(body)
    elif quiet:
        summary = "skipped"
    else:
        issue.create_comment(body)
        summary = "created"

    allowed = {f.filename: added_lines(f.patch) for f in files}
    posted_before = {
        fp for c in pull.review_comments() if (fp := parse_fingerprint(c.body or "")) is not None
    }
    inline: list[dict[str, Any]] = []
    duplicates = outside = 0
    for s in result.suggestions:
        if s.path is None or s.line is None:
            continue
        if s.fingerprint in posted_before:
            duplicates += 1
            continue
        if s.line not in allowed.get(s.path, set()):
            outside += 1
            continue
        if len(inline) < review.max_inline:
            inline.append({"path": s.path, "line": s.line, "side": "RIGHT", "body": inline_body(s)})
    if inline:
        pull.create_review(body="", commit_id=pull.head.sha, event="COMMENT", comments=inline)
    state = "failure" if result.level is Level.HIGH else "success"
    repo.create_status(
        pull.head.sha,
        state,
        description=f"{result.level.value} risk of this change",
        context=STATUS_CONTEXT,
    )
    return PostReport(summary, len(inline), duplicates, outside, state)
