"""Pull requests, reviews and review comments from GitHub (github3.py), into the store.

For a repository with ``github: owner/repo`` in repos.yaml, ``teamlens mine`` lists its
pull requests by last update, newest first, and stops at the watermark of the previous
run (the first page is asked with its ETag, so an unchanged repository answers 304 and
costs one request). The pull requests updated since are fetched oldest first, each with
its files, reviews and review comments, and committed one by one with the new
watermark: a run stopped by a rate limit, a fault or a kill resumes where it stopped,
and a pull request fetched twice shows only its latest fetch (``fetch_id``) in the
views. A run that fails part way (GitHub unreachable, an answer teamlens cannot read)
keeps the pull requests it stored before the failure, and then reports the error.

Privacy: authors, reviewers and commenters become keyed pseudonyms of
``github:<login>`` (the same key as git identities); bots (``[bot]`` accounts, accounts
of type Bot, ``github.bots``) are flagged. People on the opt-out list, by login or by
the e-mail of their profile, have no rows: their pull requests, reviews and comments are
left out, and rows stored before they opted out are purged. Texts (titles, review
bodies, comments, patches, branch names) are scrubbed of every login the pull
request's data holds (author, reviewers, commenters, requested reviewers, assignees,
branch owners) as a whole word, in prose, branch names and URLs alike, of those people's
profile names, first names and e-mail addresses, of every name, first name and e-mail
address in the repository's git history (all refs, as recorded and after .mailmap), of
any e-mail address and of every @mention; comment and review text older than
``privacy.retention_days`` is dropped, at mining time and on every later run.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import github3
import pyarrow as pa
import pyarrow.compute as pc
from github3 import exceptions as gh_errors

from teamlens.config import Config, RepositoryConfig
from teamlens.errors import TeamlensError
from teamlens.mining.backoff import (
    BackoffAdapter,
    ConnectionGaveUp,
    RateLimitStop,
    WaitBudget,
    connection_problem,
)
from teamlens.mining.repository import people_of
from teamlens.privacy import Pseudonymizer, Scrubber, load_key, read_opt_out
from teamlens.store import SCHEMAS, GithubState, RepoWriter, Store

ProgressCallback = Callable[[str, int, int], None]
GITHUB_TABLES = ("pull_requests", "pull_request_files", "reviews", "review_comments")
MAX_PATCH_CHARS = 200_000


class GithubError(TeamlensError):
    """GitHub refused or could not answer (bad token, unknown repository, bad response)."""


@dataclass(frozen=True)
class GithubReport:
    repo: str
    pull_requests: int  # fetched in this run
    requests: int  # HTTP requests sent, retries included
    stopped: str | None  # why the run stopped early (rate limit), if it did
    rows_purged: int
    waited_seconds: float


@dataclass
class Actors:
    """Pseudonyms, bot flags and opt-out decisions per login, for one run."""

    pseudonyms: Pseudonymizer
    bots: frozenset[str]
    opt_out_logins: frozenset[str]
    opt_out_emails: frozenset[str]
    profile: Callable[[str], tuple[str | None, str | None]]  # login -> (name, e-mail)
    _excluded: dict[str, bool] = field(default_factory=dict)
    names: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    #: (name, e-mail) of everyone in the repository's git history: texts name them too.
    known: tuple[tuple[str, str], ...] = ()

    def pseudonym(self, login: str) -> str:
        return self.pseudonyms.pseudonym(f"github:{login.lower()}")

    def is_bot(self, login: str, kind: str | None) -> bool:
        low = login.lower()
        return kind == "Bot" or low.endswith("[bot]") or low in self.bots

    def excluded(self, login: str) -> bool:
        low = login.lower()
        if low not in self._excluded:
            out = low in self.opt_out_logins
            if not out and self.opt_out_emails:
                email = self.profile_of(login)[1]
                out = email is not None and email.lower() in self.opt_out_emails
            self._excluded[low] = out
        return self._excluded[low]

    def profile_of(self, login: str) -> tuple[str | None, str | None]:
        """(name, e-mail) of the login's profile: one request per login and run."""
        low = login.lower()
        if low not in self.names:
            self.names[low] = self.profile(login)
        return self.names[low]


def _token(config: Config) -> str:
    token = os.environ.get(config.github.token_env)
    if not token:
        raise GithubError(
            f"GitHub token: environment variable {config.github.token_env} is not set "
            "(github.token_env in repos.yaml names it)"
        )
    return token


def connect(config: Config, budget: WaitBudget) -> tuple[github3.GitHub, BackoffAdapter]:
    """A github3 client for github.com or the Enterprise URL, with backoff mounted."""
    token = _token(config)
    if config.github.url:
        gh: github3.GitHub = github3.GitHubEnterprise(config.github.url, token=token)
    else:
        gh = github3.GitHub(token=token)
    adapter = BackoffAdapter(budget)
    gh.session.mount("https://", adapter)
    gh.session.mount("http://", adapter)
    return gh, adapter


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def translate_error(exc: Exception, what: str) -> GithubError:
    if isinstance(exc, gh_errors.AuthenticationFailed):
        return GithubError(f"{what}: GitHub refused the token (401 Bad credentials)")
    if isinstance(exc, gh_errors.NotFoundError):
        return GithubError(f"{what}: not found on GitHub (404), or the token cannot see it")
    if isinstance(exc, gh_errors.ForbiddenError):
        return GithubError(f"{what}: GitHub forbids it (403): {exc.msg}")
    if isinstance(exc, gh_errors.ServerError):
        return GithubError(f"{what}: GitHub kept failing ({exc.code}) after retries")
    if isinstance(exc, gh_errors.TransportError):
        cause = exc.exception
        if isinstance(cause, ConnectionGaveUp):
            at = f" at {cause.host}" if cause.host else ""
            tries = "1 attempt" if cause.attempts == 1 else f"{cause.attempts} attempts"
            return GithubError(
                f"{what}: could not reach GitHub{at} ({cause.problem}; gave up after {tries})"
            )
        return GithubError(f"{what}: could not reach GitHub ({connection_problem(cause)})")
    if isinstance(exc, (gh_errors.UnexpectedResponse, gh_errors.IncompleteResponse)):
        return GithubError(f"{what}: GitHub sent a response teamlens cannot read")
    if isinstance(exc, (ValueError, KeyError, TypeError)):
        return GithubError(f"{what}: GitHub sent a response teamlens cannot read ({exc})")
    return GithubError(f"{what}: {exc}")


def mine_github(
    config: Config,
    repo_config: RepositoryConfig,
    progress: ProgressCallback | None = None,
    budget: WaitBudget | None = None,
) -> GithubReport:
    """Fetch the pull requests of `repo_config` updated since the last run."""
    assert repo_config.github is not None
    owner, name = repo_config.github.split("/", 1)
    budget = budget or WaitBudget(config.github.max_wait_seconds)
    gh, adapter = connect(config, budget)
    key = load_key(config.privacy, config.data_dir)
    opt_out = read_opt_out(config.privacy.opt_out)

    def profile(login: str) -> tuple[str | None, str | None]:
        try:
            user = gh.user(login)
        except gh_errors.NotFoundError:  # a deleted account ("ghost"): nothing to scrub
            return None, None
        return (getattr(user, "name", None), getattr(user, "email", None))

    actors = Actors(
        Pseudonymizer(key),
        frozenset(config.github.bots),
        frozenset(e for e in opt_out if "@" not in e),
        frozenset(e for e in opt_out if "@" in e),
        profile,
        known=_history_people(config, repo_config),
    )
    store = Store(config.data_dir)
    fetched = 0
    stopped: str | None = None
    failed: GithubError | None = None
    with store.writer(repo_config.name) as writer:
        purged = 0
        state = writer.manifest.state.github
        try:
            try:
                repo = gh.repository(owner, name)
            except (gh_errors.GitHubException, ValueError, KeyError, TypeError) as exc:
                raise translate_error(exc, f"repository {repo_config.github}") from exc
            if repo is None:
                raise GithubError(f"repository {repo_config.github}: not found on GitHub")
            purged = purge_pull_requests(writer, actors, config.privacy.retention_days)
            todo, etag = _updated_since(repo, state, config.github.per_page)
            if progress is not None and todo:
                progress(repo_config.name, 0, len(todo))
            for number, updated in todo:
                try:
                    state = state.replace(fetch_seq=state.fetch_seq + 1)
                    tables = _fetch(repo, number, actors, config, state.fetch_seq)
                except (gh_errors.GitHubException, ValueError, KeyError, TypeError) as exc:
                    raise translate_error(
                        exc, f"{repo_config.github} pull request #{number}"
                    ) from exc
                state = _advanced(state, number, updated)
                writer.commit(tables, writer.manifest.state.replace(github=state))
                fetched += 1
                if progress is not None:
                    progress(repo_config.name, fetched, len(todo))
            if etag is not None:
                state = state.replace(etag=etag)
                writer.commit({}, writer.manifest.state.replace(github=state))
        except RateLimitStop as exc:
            stopped = str(exc)
        except GithubError as exc:
            # Leave the block normally: each stored pull request was committed with its
            # watermark, so keeping them is consistent (nothing else of the run is kept).
            failed = exc
    if failed is not None:
        if fetched:
            kept = "1 pull request" if fetched == 1 else f"{fetched} pull requests"
            raise GithubError(
                f"{failed}; kept {kept} fetched before the failure (the next run resumes there)"
            ) from failed
        raise failed
    return GithubReport(repo_config.name, fetched, adapter.attempts, stopped, purged, budget.waited)


def _advanced(state: GithubState, number: int, updated: dt.datetime) -> GithubState:
    """The state after pull request `number` (updated at `updated`) is stored."""
    mark = _iso(updated)
    if state.watermark == mark:
        return state.replace(done_at_watermark=tuple(sorted({*state.done_at_watermark, number})))
    return state.replace(watermark=mark, done_at_watermark=(number,))


def _updated_since(
    repo: Any, state: GithubState, per_page: int
) -> tuple[list[tuple[int, dt.datetime]], str | None]:
    """Pull requests updated since the watermark, oldest first, and the first page's ETag."""
    watermark = state.watermark
    done = set(state.done_at_watermark)
    pulls = repo.pull_requests(state="all", sort="updated", direction="desc", etag=state.etag)
    pulls.params["per_page"] = per_page
    found: list[tuple[int, dt.datetime]] = []
    try:
        for pull in pulls:
            updated = _utc(pull.updated_at)
            assert updated is not None
            mark = _iso(updated)
            if watermark is not None and (
                mark < watermark or (mark == watermark and pull.number in done)
            ):
                break
            found.append((int(pull.number), updated))
    except (gh_errors.GitHubException, ValueError, KeyError, TypeError) as exc:
        raise translate_error(exc, "listing pull requests") from exc
    if pulls.last_status == 304:
        return [], None  # nothing changed since the ETag was taken
    found.sort(key=lambda item: (item[1], item[0]))
    return found, pulls.etag


def _history_people(config: Config, repo_config: RepositoryConfig) -> tuple[tuple[str, str], ...]:
    """(name, e-mail) of every author and committer on every ref of the repository and of
    the other configured ones (a pull request may thank someone of another), as recorded
    and after .mailmap; none for a `url:` repository not cloned yet."""
    copies = [r.path or config.clones_dir / r.name for r in config.repositories]
    own = repo_config.path or config.clones_dir / repo_config.name
    return tuple(sorted(people_of([own, *copies])))


def _logins(*documents: Any) -> set[str]:
    """Every account login in GitHub's JSON, organisations aside: authors, reviewers,
    commenters, requested reviewers, assignees, whoever merged, the owners of the head
    and base repositories and branches."""
    found: set[str] = set()
    stack: list[Any] = list(documents)
    while stack:
        doc = stack.pop()
        if isinstance(doc, dict):
            login = doc.get("login")
            if isinstance(login, str) and login and doc.get("type") != "Organization":
                found.add(login)
            stack.extend(doc.values())
        elif isinstance(doc, list):
            stack.extend(doc)
    return found


def _scrubber(logins: Iterable[str], actors: Actors) -> Callable[[str | None], str | None]:
    identities: list[tuple[str, str]] = list(actors.known)
    logins = sorted(set(logins))
    for login in logins:
        if not login.lower().endswith("[bot]"):
            name, email = actors.profile_of(login)
            identities.append((name or "", email or ""))
    scrub = Scrubber(identities, logins)

    def clean(text: str | None) -> str | None:
        return None if text is None else scrub(text)

    return clean


def _fetch(
    repo: Any, number: int, actors: Actors, config: Config, fetch_id: int
) -> dict[str, pa.Table]:
    """One pull request with its files, reviews and review comments, as store rows."""
    pull = repo.pull_request(number)
    raw = pull.as_dict()
    author = pull.user.login
    reviews = list(pull.reviews())
    comments = list(pull.review_comments())
    files = list(pull.files())
    logins = {author, *(r.user.login for r in reviews), *(c.user.login for c in comments)}
    logins |= _logins(raw, *(r.as_dict() for r in reviews), *(c.as_dict() for c in comments))
    clean = _scrubber(logins, actors)
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=config.privacy.retention_days)
    tables: dict[str, pa.Table] = {t: SCHEMAS[t].empty_table() for t in GITHUB_TABLES}
    if actors.excluded(author):
        return tables  # an opted-out author's pull request is not stored at all
    name = _repo_name(config, repo)
    tables["pull_requests"] = _table(
        "pull_requests",
        [
            {
                "repo": name,
                "number": number,
                "fetch_id": fetch_id,
                "state": "merged" if pull.merged_at else pull.state,
                "is_draft": bool(raw.get("draft")),
                "author_id": actors.pseudonym(author),
                "author_is_bot": actors.is_bot(author, raw["user"].get("type")),
                "title": clean(pull.title),
                "created_at": _utc(pull.created_at),
                "updated_at": _utc(pull.updated_at),
                "closed_at": _utc(pull.closed_at),
                "merged_at": _utc(pull.merged_at),
                "merge_commit_sha": pull.merge_commit_sha,
                "base_ref": clean(raw["base"]["ref"]),
                "base_sha": raw["base"]["sha"],
                "head_ref": clean(raw["head"]["ref"]),
                "head_sha": raw["head"]["sha"],
                "additions": raw.get("additions"),
                "deletions": raw.get("deletions"),
                "changed_files": raw.get("changed_files"),
                "issue_comments": raw.get("comments"),
            }
        ],
    )
    tables["pull_request_files"] = _table(
        "pull_request_files",
        [
            {
                "repo": name,
                "number": number,
                "fetch_id": fetch_id,
                "path": f.filename,
                "previous_path": f.as_dict().get("previous_filename"),
                "status": f.status,
                "additions": f.additions_count,
                "deletions": f.deletions_count,
                "patch": clean(f.patch) if f.patch and len(f.patch) <= MAX_PATCH_CHARS else None,
            }
            for f in files
        ],
    )
    tables["reviews"] = _table(
        "reviews",
        [
            {
                "repo": name,
                "number": number,
                "fetch_id": fetch_id,
                "review_id": r.id,
                "reviewer_id": actors.pseudonym(r.user.login),
                "reviewer_is_bot": actors.is_bot(r.user.login, r.as_dict()["user"].get("type")),
                "state": r.state,
                "submitted_at": _utc(r.submitted_at),
                "commit_id": r.commit_id,
                "body": _within(clean(r.body), _utc(r.submitted_at), cutoff),
            }
            for r in reviews
            if not actors.excluded(r.user.login)
        ],
    )
    tables["review_comments"] = _table(
        "review_comments",
        [
            _comment_row(name, number, fetch_id, c, actors, clean, cutoff)
            for c in comments
            if not actors.excluded(c.user.login)
        ],
    )
    return tables


def _comment_row(
    name: str,
    number: int,
    fetch_id: int,
    comment: Any,
    actors: Actors,
    clean: Callable[[str | None], str | None],
    cutoff: dt.datetime,
) -> dict[str, Any]:
    raw = comment.as_dict()
    created = _utc(comment.created_at)
    return {
        "repo": name,
        "number": number,
        "fetch_id": fetch_id,
        "comment_id": comment.id,
        "review_id": raw.get("pull_request_review_id"),
        "author_id": actors.pseudonym(comment.user.login),
        "author_is_bot": actors.is_bot(comment.user.login, raw["user"].get("type")),
        "path": comment.path,
        "line": raw.get("line"),
        "original_line": raw.get("original_line"),
        "side": raw.get("side"),
        "diff_hunk": clean(comment.diff_hunk),
        "body": _within(clean(comment.body), created, cutoff),
        "created_at": created,
        "updated_at": _utc(comment.updated_at),
        "in_reply_to": raw.get("in_reply_to_id"),
        "commit_id": comment.commit_id,
    }


def _within(text: str | None, when: dt.datetime | None, cutoff: dt.datetime) -> str | None:
    """Comment text inside the retention window; None once it is older."""
    if text is None or when is None or when < cutoff:
        return None
    return text


def _repo_name(config: Config, repo: Any) -> str:
    full = str(repo.full_name).lower()
    for r in config.repositories:
        if r.github is not None and r.github.lower() == full:
            return r.name
    raise GithubError(f"GitHub answered for {repo.full_name}, which repos.yaml does not name")


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = SCHEMAS[name]
    return pa.Table.from_pylist(rows, schema=schema) if rows else schema.empty_table()


def purge_pull_requests(writer: RepoWriter, actors: Actors, retention_days: int) -> int:
    """Drop rows of opted-out logins and comment text past retention; rows removed."""
    gone = {actors.pseudonym(login) for login in actors.opt_out_logins}
    cutoff = pa.scalar(
        dt.datetime.now(dt.UTC) - dt.timedelta(days=retention_days),
        type=pa.timestamp("s", tz="UTC"),
    )
    person_column = {
        "pull_requests": "author_id",
        "reviews": "reviewer_id",
        "review_comments": "author_id",
    }
    time_column = {"reviews": "submitted_at", "review_comments": "created_at"}
    replaced: dict[str, pa.Table] = {}
    removed = 0
    # A pull request an opted-out person opened goes with everything attached to it.
    gone_pulls: list[int] = []
    if gone and writer.has_rows("pull_requests"):
        pulls = writer.read("pull_requests", ["number", "author_id"])
        mask = pc.fill_null(pc.is_in(pulls["author_id"], value_set=pa.array(sorted(gone))), False)
        gone_pulls = sorted(set(pulls.filter(mask)["number"].to_pylist()))
    for table in GITHUB_TABLES:
        if not writer.has_rows(table):
            continue
        data = writer.read(table)
        changed = False
        column = person_column.get(table)
        if column is not None and gone:
            keep = pc.invert(pc.is_in(data[column], value_set=pa.array(sorted(gone))))
            kept = data.filter(pc.fill_null(keep, True))
            removed += data.num_rows - kept.num_rows
            changed = kept.num_rows != data.num_rows
            data = kept
        if gone_pulls:
            keep = pc.invert(pc.is_in(data["number"], value_set=pa.array(gone_pulls, pa.int64())))
            kept = data.filter(keep)
            removed += data.num_rows - kept.num_rows
            changed = changed or kept.num_rows != data.num_rows
            data = kept
        if table in time_column and data.num_rows:
            old = pc.fill_null(pc.less(data[time_column[table]], cutoff), True)
            stale = pc.and_(old, pc.is_valid(data["body"]))
            if pc.any(stale).as_py():
                bodies = pc.if_else(stale, pa.scalar(None, pa.string()), data["body"])
                data = data.set_column(data.schema.get_field_index("body"), "body", bodies)
                changed = True
        if changed:
            replaced[table] = data
    if replaced:
        writer.replace(replaced, writer.manifest.state, purge=True)
    return removed


def iter_github_repositories(
    config: Config, names: Iterable[str] = ()
) -> Iterator[RepositoryConfig]:
    """The configured repositories that name a GitHub repository."""
    wanted = set(names)
    for r in config.repositories:
        if r.github is not None and (not wanted or r.name in wanted):
            yield r


def mine_all_github(
    config: Config, names: Iterable[str] = (), progress: ProgressCallback | None = None
) -> list[GithubReport]:
    return [mine_github(config, r, progress) for r in iter_github_repositories(config, names)]
