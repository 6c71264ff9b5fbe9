"""Check runs of the GitHub App, with their output and annotations."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, cast
from urllib.parse import quote

from tests.github_server.protocol import (
    _Call,
    _choice,
    _HttpError,
    _invalid,
    _opt,
    _req,
    _time_field,
    _validation_failed,
)
from tests.github_server.records import (
    _DOCS_CHECK_RUNS,
    ANNOTATION_LEVELS,
    ANNOTATIONS_PER_REQUEST,
    CHECK_CONCLUSIONS,
    CHECK_STATUSES,
    DEFAULT_TIME,
    CheckAnnotation,
    CheckConclusion,
    CheckRun,
    CheckStatus,
    Json,
    PullRequest,
    Repository,
    _fake_sha,
    _node_id,
)
from tests.github_server.statuses import _Statuses


def _annotation(note: Any, docs: str) -> CheckAnnotation:
    if not isinstance(note, dict):
        raise _invalid(f"For 'items', {json.dumps(note)} is not an object.", docs)
    start, end = _req(note, "start_line", int, docs), _req(note, "end_line", int, docs)
    level = _choice(note, "annotation_level", ANNOTATION_LEVELS, docs)
    if level is None:
        raise _invalid('"annotation_level" wasn\'t supplied.', docs)
    if end < start:
        raise _invalid("end_line must be greater than or equal to start_line.", docs)
    return CheckAnnotation(
        path=_req(note, "path", str, docs),
        start_line=start,
        end_line=end,
        annotation_level=level,
        message=_req(note, "message", str, docs),
        title=_opt(note, "title", str, docs),
        raw_details=_opt(note, "raw_details", str, docs),
        start_column=_opt(note, "start_column", int, docs),
        end_column=_opt(note, "end_column", int, docs),
    )


class _Checks(_Statuses):
    """Check runs: data, documents, and the App-only writes."""

    def check_runs(self, repo: str, head_sha: str | None = None) -> list[CheckRun]:
        """The check runs of a repository (or of one commit), oldest first."""
        with self._lock:
            name = self.repo(repo).full_name
            return [
                r
                for r in sorted(self._check_runs.values(), key=lambda r: r.id)
                if r.repo == name and head_sha in (None, r.head_sha)
            ]

    def _suite_id(self, repo: str, sha: str) -> int:
        key = (repo, sha)
        if key not in self._check_suites:
            self._check_suites[key] = self._next_id("check_suite")
        return self._check_suites[key]

    def _check_run_in(self, repo: Repository, ident: str) -> CheckRun:
        run = self._check_runs.get(int(ident))
        if run is None or run.repo != repo.full_name:
            raise _HttpError(404, "Not Found")
        return run

    def _list_check_runs(
        self, repo: Repository, sha: str, query: Mapping[str, str]
    ) -> list[CheckRun]:
        runs = self.check_runs(repo.full_name, sha)
        if query.get("filter", "latest") not in ("latest", "all"):
            raise _validation_failed("CheckRun", "filter", "invalid", _DOCS_CHECK_RUNS)
        if query.get("filter", "latest") == "latest":
            newest = {r.name: r for r in runs}  # the last run of each name wins
            runs = sorted(newest.values(), key=lambda r: r.id)
        if "check_name" in query:
            runs = [r for r in runs if r.name == query["check_name"]]
        if "status" in query:
            runs = [r for r in runs if r.status == query["status"]]
        return sorted(runs, key=lambda r: r.id, reverse=True)

    def _require_app(self, viewer: str, docs: str) -> None:
        if self.installation_token is None or viewer != self.bot_login:
            raise _HttpError(403, "You must authenticate via a GitHub App.", documentation_url=docs)

    def _post_check_run(self, call: _Call) -> tuple[int, Any]:
        docs = _DOCS_CHECK_RUNS + "#create-a-check-run"
        self._require_app(call.viewer, docs)
        name = cast(str, _req(call.data, "name", str, docs))
        head_sha = cast(str, _req(call.data, "head_sha", str, docs))
        found = self._known_commit(call.repo.full_name, head_sha)
        if found is None or found[0] != head_sha:
            raise _HttpError(422, f"No commit found for SHA: {head_sha}", documentation_url=docs)
        run = CheckRun(
            id=0,
            repo=call.repo.full_name,
            head_sha=head_sha,
            name=name,
            status="queued",
            conclusion=None,
            started_at=self.now(),
            completed_at=None,
            details_url=None,
            external_id=None,
            title=None,
            summary=None,
            text=None,
            annotations=(),
            check_suite_id=self._suite_id(call.repo.full_name, head_sha),
            app_id=self.app_id,
        )
        run = self._apply_check_fields(run, call.data, docs)
        run = dataclasses.replace(run, id=self._next_id("check_run"))
        self._check_runs[run.id] = run
        return 201, self._check_run_json(run)

    def _patch_check_run(self, call: _Call) -> tuple[int, Any]:
        docs = _DOCS_CHECK_RUNS + "#update-a-check-run"
        self._require_app(call.viewer, docs)
        run = self._apply_check_fields(self._check_run_in(call.repo, call.args[0]), call.data, docs)
        self._check_runs[run.id] = run
        return 200, self._check_run_json(run)

    def _apply_check_fields(self, run: CheckRun, data: Json, docs: str) -> CheckRun:
        """A check run with the fields of a create or update request; annotations add up."""
        status = cast("CheckStatus | None", _choice(data, "status", CHECK_STATUSES, docs))
        conclusion = cast(
            "CheckConclusion | None", _choice(data, "conclusion", CHECK_CONCLUSIONS, docs)
        )
        if conclusion is not None:
            status = "completed"  # as GitHub does when a conclusion is given
        new_status = status or run.status
        if new_status != "completed":
            conclusion, completed_at = None, None
        else:
            conclusion = conclusion or run.conclusion
            if conclusion is None:
                raise _invalid('"conclusion" wasn\'t supplied.', docs)
            completed_at = _time_field(data, "completed_at", docs) or run.completed_at or self.now()
        output = cast("Json | None", _opt(data, "output", dict, docs))
        title, summary, text = run.title, run.summary, run.text
        annotations = run.annotations
        if output is not None:
            title = cast(str, _req(output, "title", str, docs))
            summary = cast(str, _req(output, "summary", str, docs))
            text = cast("str | None", _opt(output, "text", str, docs))
            notes = cast(list[Any], _opt(output, "annotations", list, docs) or [])
            if len(notes) > ANNOTATIONS_PER_REQUEST:
                raise _invalid(
                    f"Only {ANNOTATIONS_PER_REQUEST} annotations are allowed per request.", docs
                )
            annotations += tuple(_annotation(note, docs) for note in notes)
        return dataclasses.replace(
            run,
            name=cast("str | None", _opt(data, "name", str, docs)) or run.name,
            status=new_status,
            conclusion=conclusion,
            started_at=_time_field(data, "started_at", docs) or run.started_at,
            completed_at=completed_at,
            details_url=_opt(data, "details_url", str, docs) or run.details_url,
            external_id=_opt(data, "external_id", str, docs) or run.external_id,
            title=title,
            summary=summary,
            text=text,
            annotations=annotations,
        )

    def _app_json(self) -> Json:
        page = f"{self.url}/apps/{quote(self.app_slug, safe='')}"
        return {
            "id": self.app_id,
            "slug": self.app_slug,
            "node_id": _node_id("Integration", self.app_id),
            "client_id": "Iv1." + _fake_sha("client", self.app_id)[:16],
            "owner": self._user_json(self.user(self.login)),
            "name": self.app_slug,
            "description": "",
            "external_url": page,
            "html_url": page,
            "created_at": DEFAULT_TIME,
            "updated_at": DEFAULT_TIME,
            "permissions": {
                "checks": "write",
                "contents": "read",
                "issues": "write",
                "metadata": "read",
                "pull_requests": "write",
                "statuses": "write",
            },
            "events": ["check_run", "check_suite", "pull_request"],
        }

    def _minimal_pull_json(self, pull: PullRequest) -> Json:
        def end(ref: str, sha: str, repo_name: str) -> Json:
            repo = self.repo(repo_name)
            url = f"{self.api_url}/repos/{repo.full_name}"
            return {"ref": ref, "sha": sha, "repo": {"id": repo.id, "url": url, "name": repo.name}}

        return {
            "url": f"{self.api_url}/repos/{pull.repo}/pulls/{pull.number}",
            "id": pull.id,
            "number": pull.number,
            "head": end(pull.head_ref, pull.head_sha, pull.head_repo or pull.repo),
            "base": end(pull.base_ref, pull.base_sha, pull.repo),
        }

    def _check_run_json(self, run: CheckRun) -> Json:
        url = f"{self.api_url}/repos/{run.repo}/check-runs/{run.id}"
        pulls = [p for p in self.pulls(run.repo) if p.head_sha == run.head_sha]
        return {
            "id": run.id,
            "name": run.name,
            "node_id": _node_id("CheckRun", run.id),
            "head_sha": run.head_sha,
            "external_id": run.external_id or "",
            "url": url,
            "html_url": f"{self.url}/{run.repo}/runs/{run.id}",
            "details_url": run.details_url,
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": run.started_at,
            "completed_at": run.completed_at,
            "output": {
                "title": run.title,
                "summary": run.summary,
                "text": run.text,
                "annotations_count": len(run.annotations),
                "annotations_url": f"{url}/annotations",
            },
            "check_suite": {"id": run.check_suite_id},
            "app": self._app_json(),
            "pull_requests": [self._minimal_pull_json(p) for p in pulls if p.state == "open"],
        }

    def _annotation_json(self, run: CheckRun, note: CheckAnnotation) -> Json:
        return {
            "path": note.path,
            "blob_href": f"{self.url}/{run.repo}/blob/{run.head_sha}/{quote(note.path)}",
            "start_line": note.start_line,
            "start_column": note.start_column,
            "end_line": note.end_line,
            "end_column": note.end_column,
            "annotation_level": note.annotation_level,
            "title": note.title,
            "message": note.message,
            "raw_details": note.raw_details,
        }
