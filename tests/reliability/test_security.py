"""Security checks across components: secrets in logs, public binds, path traversal.

* No secret in any log: the webhook server (its secret, every signature) and the GitHub
  miner (its token), with every logger at DEBUG and stderr/stdout captured, through
  failures, retries, rate limits and a refused token.
* The team trends page is never served off loopback without a bearer token.
* Repository names cannot leave ``<data_dir>/store`` or ``clones_dir``.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import uvicorn
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teamlens.bot.webhook import PullRequestEvent
from teamlens.config import load_config
from teamlens.dashboard.serve import LOOPBACK_HOSTS, ServeConfigError, serve
from teamlens.errors import ConfigError, StoreError
from teamlens.mining.backoff import WaitBudget
from teamlens.mining.commitgraph import graph_folder
from teamlens.mining.github import GithubError, mine_github
from teamlens.model.registry import ModelError, Registry
from teamlens.serving import Transport, TransportError
from teamlens.store import Store
from tests.bot.test_webhook import pr_payload, running_server, sign
from tests.bot.test_webhook import settings as webhook_settings
from tests.conftest import TEST_KEY
from tests.github_server import FakeGitHub, Fault, secondary_rate_limit, server_error
from tests.mining.test_github_miner import BOT, HUMANS, REPO, _populate

WEBHOOK_SECRET = "whsec-reliability-3f9a7c21d0e4b8"
GITHUB_TOKEN = "ghp_reliabilityToken0123456789abcdefABCD"
WRONG_TOKEN = "ghp_wrongToken9876543210zyxwvuZYXWVU"

PROPERTY = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _everything_logged(caplog: pytest.LogCaptureFixture, captured: tuple[str, str]) -> str:
    """Log text, each record's message, arguments and attributes, and stdout + stderr."""
    records = "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''} {vars(r)!r}" for r in caplog.records
    )
    return "\n".join([caplog.text, records, *captured])


def _debug_everything(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("", "bot", "mining", "teamlens", "github3", "urllib3", "requests", "uvicorn"):
        caplog.set_level(logging.DEBUG, logger=name)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error"):
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)


# ---------------------------------------------------------------------------------------
# No secret in any log
# ---------------------------------------------------------------------------------------


def test_the_webhook_secret_and_signatures_are_never_logged(
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _debug_everything(caplog, monkeypatch)

    def handler(event: PullRequestEvent) -> None:
        if event.number == 13:  # a failure whose message quotes the secret
            raise RuntimeError(f"review failed: secret={WEBHOOK_SECRET}")

    config = webhook_settings(secret=WEBHOOK_SECRET, max_body_bytes=4096)
    sent: list[bytes] = []
    with running_server(config, handler, log_level="debug") as srv:

        def post(body: bytes, signature: str | None, delivery: str) -> int:
            sent.append(body)
            headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": delivery}
            if signature is not None:
                headers["X-Hub-Signature-256"] = signature
            response = srv.http.post(
                f"{srv.base_url}/webhook", data=body, headers=headers, timeout=5
            )
            return response.status_code

        good = json.dumps(pr_payload()).encode()
        failing = json.dumps(pr_payload(number=13, head_sha="d" * 40)).encode()
        assert post(good, sign(good, WEBHOOK_SECRET), "sec-1") == 202
        assert post(good, sign(good, WEBHOOK_SECRET), "sec-1") == 200
        assert post(failing, sign(failing, WEBHOOK_SECRET), "sec-2") == 202
        assert post(good, sign(good, "guessed-secret"), "sec-3") == 401
        assert post(good, WEBHOOK_SECRET, "sec-4") == 401  # the secret itself as a header
        assert post(b"{" + WEBHOOK_SECRET.encode(), sign(b"x", WEBHOOK_SECRET), "sec-5") == 401
        oversized = b" " * 5000
        assert post(oversized, sign(oversized, WEBHOOK_SECRET), "sec-6") == 413
        assert srv.worker.join_idle(5)
        assert srv.health()["failed"] == 1

    logged = _everything_logged(caplog, capfd.readouterr())
    assert "handler failed" in logged and "RuntimeError" in logged  # the failure is logged
    forbidden = {WEBHOOK_SECRET, sign(good, "guessed-secret").removeprefix("sha256=")}
    for body in sent:
        forbidden.add(sign(body, WEBHOOK_SECRET).removeprefix("sha256="))
    assert [s[:12] for s in forbidden if s in logged] == []


@dataclass(frozen=True)
class Mined:
    config_path: Path
    data_dir: Path


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=GITHUB_TOKEN, max_per_page=3) as server:
        for login, (name, email) in HUMANS.items():
            server.add_user(login, name=name, email=email)
        server.add_user(BOT, type="Bot")
        server.add_user("acme", type="Organization")
        server.add_repo(REPO)
        _populate(server, 4)
        yield server


def _github_config(tmp_path: Path, repo: Path, url: str) -> Mined:
    work = tmp_path / "work"
    work.mkdir()
    doc: dict[str, Any] = {
        "repositories": [{"name": "widgets", "path": str(repo), "github": REPO}],
        "github": {"url": url, "token_env": "GH_TOKEN_RELIABILITY", "per_page": 3},
        "privacy": {"retention_days": 36500},
    }
    path = work / "repos.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return Mined(path, work / ".teamlens")


def test_the_github_token_is_never_logged_nor_stored(
    tmp_path: Path,
    fake_github: FakeGitHub,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _debug_everything(caplog, monkeypatch)
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    mined = _github_config(tmp_path, repo, fake_github.url)
    monkeypatch.setenv("TEAMLENS_KEY", TEST_KEY)
    monkeypatch.setenv("GH_TOKEN_RELIABILITY", GITHUB_TOKEN)
    config = load_config(mined.config_path)

    # A run through a rate limit, a 502, a dropped connection: retried, then complete.
    fake_github.inject(secondary_rate_limit(r"/pulls/2/reviews", retry_after=1))
    fake_github.inject(server_error(r"/pulls/3$", status=502))
    fake_github.inject(Fault(r"/pulls/1/files", drop=True))
    report = mine_github(config, config.repositories[0], budget=WaitBudget(60, sleep=_no_sleep))
    assert report.pull_requests == 4 and report.stopped is None

    # A run whose rate limit is longer than the budget: stops cleanly.
    fake_github.add_review(
        REPO, 1, user="octo-carol", state="APPROVED", submitted_at="2026-12-01T00:00:00Z"
    )
    fake_github.inject(secondary_rate_limit(r"/pulls/1/reviews", retry_after=3600))
    stopped = mine_github(config, config.repositories[0], budget=WaitBudget(5, sleep=_no_sleep))
    assert stopped.stopped is not None

    # A refused token: one clear error that names neither token.
    monkeypatch.setenv("GH_TOKEN_RELIABILITY", WRONG_TOKEN)
    with pytest.raises(GithubError) as refused:
        mine_github(load_config(mined.config_path), config.repositories[0])
    assert "refused the token" in str(refused.value)

    logged = _everything_logged(caplog, capfd.readouterr()) + str(refused.value)
    assert any(r.name.startswith("urllib3") for r in caplog.records), "HTTP logs not captured"
    assert GITHUB_TOKEN not in logged
    assert WRONG_TOKEN not in logged
    for path in mined.data_dir.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            assert GITHUB_TOKEN.encode() not in raw and WRONG_TOKEN.encode() not in raw, path


def _no_sleep(seconds: float) -> None:
    return None


# ---------------------------------------------------------------------------------------
# The team trends page needs a token off loopback
# ---------------------------------------------------------------------------------------


class _NoBind:
    """Stands in for uvicorn.Server: records what would have been served, binds nothing."""

    hosts: ClassVar[list[str]] = []

    def __init__(self, config: Any) -> None:
        self.config = config

    def run(self) -> None:
        _NoBind.hosts.append(str(self.config.host))


@pytest.fixture
def no_bind(monkeypatch: pytest.MonkeyPatch) -> type[_NoBind]:
    _NoBind.hosts = []
    monkeypatch.setattr(uvicorn, "Server", _NoBind)  # what dashboard.serve.serve runs
    return _NoBind


hosts = st.one_of(
    st.sampled_from(
        ["0.0.0.0", "::", "", " ", "127.0.0.2", "::ffff:127.0.0.1", "localhost."]  # noqa: S104
    ),
    st.ip_addresses().map(str),
    st.text(max_size=20),
)


@PROPERTY
@given(host=hosts)
def test_serve_without_a_token_binds_only_to_loopback(
    tmp_path: Path, no_bind: type[_NoBind], host: str
) -> None:
    if host.strip().lower() in LOOPBACK_HOSTS:
        serve(tmp_path, k=5, host=host, port=0, token=None)
        assert no_bind.hosts[-1] == host
        return
    before = len(no_bind.hosts)
    with pytest.raises(ServeConfigError, match="without a token"):
        serve(tmp_path, k=5, host=host, port=0, token=None)
    assert len(no_bind.hosts) == before, "something was served"


def test_serve_with_a_token_may_bind_publicly(tmp_path: Path, no_bind: type[_NoBind]) -> None:
    """With a token and TLS (here: a proxy's), never with the token in plain HTTP."""
    with pytest.raises(TransportError, match="refusing plain HTTP"):
        serve(tmp_path, k=5, host="0.0.0.0", port=0, token="t" * 32)  # noqa: S104
    assert no_bind.hosts == []
    proxied = Transport(behind_proxy=True)
    serve(tmp_path, k=5, host="0.0.0.0", port=0, token="t" * 32, transport=proxied)  # noqa: S104
    assert no_bind.hosts == ["0.0.0.0"]  # noqa: S104


# ---------------------------------------------------------------------------------------
# Repository names cannot escape the store or the clones folder
# ---------------------------------------------------------------------------------------

HOSTILE_NAMES = [
    "../x",
    "..",
    ".",
    "a/b",
    "a/../../b",
    "/etc",
    "~",
    "~/x",
    "x\\..\\y",
    ".hidden",
    ".graphs",
    "-rf",
    "",
    " x",
    "x y",
    "a\0b",
    "é",
    "x" * 101,  # one character over the limit
]


def _config_with_name(folder: Path, name: object) -> Path:
    (folder / "repo").mkdir(exist_ok=True)
    doc = {"repositories": [{"name": name, "path": "repo"}]}
    path = folder / "repos.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_repository_names_that_would_leave_their_folder_are_refused(
    tmp_path: Path, name: str
) -> None:
    with pytest.raises(ConfigError, match=r"repositories\[0\]\.name"):
        load_config(_config_with_name(tmp_path, name))
    if len(name) > 100:
        return  # the store itself has no length limit: only repos.yaml has
    store = Store(tmp_path / "data")
    with pytest.raises(StoreError), store.writer(name):
        pass
    assert not (tmp_path / "data").exists() or list((tmp_path / "data").rglob("*")) == []


def _inside(child: Path, parent: Path) -> bool:
    return child.resolve().parent == parent.resolve()


@pytest.fixture(scope="module")
def names_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("names")


@PROPERTY
@given(
    name=st.one_of(
        st.text(max_size=12),
        st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True),
        st.sampled_from(HOSTILE_NAMES),
    )
)
def test_every_accepted_repository_name_stays_inside_store_and_clones(
    names_folder: Path, name: str
) -> None:
    try:
        config = load_config(_config_with_name(names_folder, name))
    except ConfigError:
        return
    accepted = config.repositories[0].name
    store = Store(config.data_dir)
    assert _inside(store.root / accepted, store.root)
    assert _inside(config.clones_dir / accepted, config.clones_dir)
    assert _inside(graph_folder(config.clones_dir, accepted).parent, config.clones_dir / ".graphs")
    assert not accepted.startswith(".")  # never the .graphs folder nor a .partial clone


def test_a_name_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_config(_config_with_name(tmp_path, "app\n"))


def test_the_store_refuses_a_name_with_a_trailing_newline(tmp_path: Path) -> None:
    with pytest.raises(StoreError), Store(tmp_path / "data").writer("app\n"):
        pass


@pytest.mark.parametrize("model_id", [*HOSTILE_NAMES, "m\n", "a" * 101])
def test_model_ids_that_would_leave_the_registry_are_refused(tmp_path: Path, model_id: str) -> None:
    """`teamlens models --current ID` and every registry lookup take an id, never a path."""
    registry = Registry.for_data_dir(tmp_path / "data")
    for call in (registry.folder, registry.load, registry.set_current):
        with pytest.raises(ModelError):
            call(model_id)
    assert not (tmp_path / "data").exists()
