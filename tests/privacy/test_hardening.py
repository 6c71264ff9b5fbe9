"""Issue 13, the hardening findings: data folder modes, the key check, TLS off loopback,
and a risk level (never a number) in everything the bot posts.

Everything runs for real: the CLI as a subprocess on the synthetic company repository,
uvicorn with a self-signed certificate on 127.0.0.1, and the GitHub-compatible server.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from teamlens.bot.github import review_pull_request
from teamlens.config import Config, load_config
from teamlens.dashboard.serve import make_server
from teamlens.privacy import is_current_key_check, verify_key_check
from teamlens.serving import Transport
from tests.conftest import TEST_KEY, ConfigFactory, teamlens_command
from tests.dashboard.test_serve import team_period_rows, write_team_period
from tests.github_server import FakeGitHub, FileChange
from tests.gitrepo import ALICE, BOB, RepoBuilder
from tests.reliability.test_faults import PLANTED_CHANGES, PLANTED_SEED, build_planted_history

# ---------------------------------------------------------------------------------------
# Data folder 0700, files 0600; the key check (CLI runs on the company repository)
# ---------------------------------------------------------------------------------------


def _cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*teamlens_command(), *args],
        cwd=cwd,
        env=env if env is not None else os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def _env(root: Path, key: str = TEST_KEY) -> dict[str, str]:
    return {**os.environ, "TEAMLENS_KEY": key, "XDG_CONFIG_HOME": str(root / "xdg")}


@pytest.fixture(scope="module")
def company_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A history mined, labelled, featurised, trained and reported through the CLI,
    into a data folder that an older teamlens left readable by everyone."""
    root = tmp_path_factory.mktemp("hardening")
    # A planted-defect history (enough labelled changes to train); teams by folder.
    history = build_planted_history(root / "company", PLANTED_CHANGES, PLANTED_SEED)
    work = root / "work"
    work.mkdir()
    config = work / "repos.yaml"
    doc = {
        "repositories": [{"name": "company", "path": str(history)}],
        "teams": {"core": ["src/core/**"], "web": ["src/web/**"]},
        "labels": {"maturity_days": 1},
    }
    config.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    data_dir = work / ".teamlens"
    (data_dir / "old").mkdir(parents=True)
    data_dir.chmod(0o755)
    (data_dir / "old").chmod(0o755)
    (data_dir / "old" / "notes.txt").write_text("from an older teamlens\n", encoding="utf-8")
    (data_dir / "old" / "notes.txt").chmod(0o644)
    env = _env(root)
    for stage in (["mine"], ["label"], ["features"], ["train"], ["report"]):
        result = _cli("--config", str(config), *stage, cwd=work, env=env)
        assert result.returncode == 0, (stage, result.stderr)
    return config, data_dir


def test_everything_under_the_data_folder_is_private(company_run: tuple[Path, Path]) -> None:
    _, data_dir = company_run
    folders = files = 0
    loose = []
    for root, dirs, names in os.walk(data_dir):
        for name in [*dirs, *names]:
            path = Path(root, name)
            mode = stat.S_IMODE(path.lstat().st_mode)
            if path.is_symlink():
                continue
            if path.is_dir():
                folders += 1
                if mode != 0o700:
                    loose.append(f"{path} {mode:o}")
            else:
                files += 1
                if mode & 0o077:
                    loose.append(f"{path} {mode:o}")
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert not loose, loose
    # Every stage wrote here: store parts and manifests, aggregates, a model, a report.
    written = {p.relative_to(data_dir).parts[0] for p in data_dir.rglob("*") if p.is_file()}
    assert {"store", "aggregates", "models", "reports", "old"} <= written, written
    assert folders >= 5 and files >= 10


def test_a_legacy_key_check_is_verified_then_upgraded(
    company_run: tuple[Path, Path], tmp_path: Path
) -> None:
    config, data_dir = company_run
    manifest = data_dir / "store" / "company" / "manifest.json"
    check = json.loads(manifest.read_text(encoding="utf-8"))["state"]["key_check"]
    scheme, n, r, p, salt, digest = check.split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2**15), "8", "1")
    assert len(bytes.fromhex(salt)) == 16 and len(digest) == 64
    assert TEST_KEY not in manifest.read_text(encoding="utf-8")

    # A store written before the scrypt check: 16 hex characters of an HMAC.
    import hashlib
    import hmac

    legacy = hmac.new(TEST_KEY.encode(), b"teamlens key check v1", hashlib.sha256)
    doc = json.loads(manifest.read_text(encoding="utf-8"))
    doc["state"]["key_check"] = legacy.hexdigest()[:16]
    manifest.write_text(json.dumps(doc), encoding="utf-8")

    other = "0b7e2d94c1a5f83e6d20b9c4a7f1e5d38c62a0f4b9e17d5c3a8f2b06e4d91c7a"
    refused = _cli("--config", str(config), "mine", "--quiet", cwd=config.parent,
                   env=_env(tmp_path, other))  # fmt: skip
    assert refused.returncode == 1
    assert "the pseudonymisation key differs" in refused.stderr
    assert json.loads(manifest.read_text(encoding="utf-8")) == doc  # nothing rewritten

    started = time.perf_counter()
    again = _cli("--config", str(config), "mine", "--quiet", cwd=config.parent,
                 env=_env(tmp_path))  # fmt: skip
    assert again.returncode == 0, again.stderr
    upgraded = json.loads(manifest.read_text(encoding="utf-8"))["state"]["key_check"]
    assert is_current_key_check(upgraded) and upgraded != check  # a new salt
    assert verify_key_check(TEST_KEY.encode(), upgraded)
    assert not verify_key_check(other.encode(), upgraded)
    assert time.perf_counter() - started < 60


# ---------------------------------------------------------------------------------------
# serve / bot serve: TLS off loopback
# ---------------------------------------------------------------------------------------

TOKEN = "tl-hardening-token-7c1d93ab"


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certfile, keyfile


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`teamlens serve`'s own server, with a certificate, on 127.0.0.1 (a free port)."""
    data_dir = tmp_path / "data"
    write_team_period(data_dir, team_period_rows())
    certfile, keyfile = _self_signed(tmp_path)
    server = make_server(
        data_dir,
        k=5,
        host="127.0.0.1",
        port=0,
        token=TOKEN,
        transport=Transport(certfile, keyfile),
    )
    server.config.log_config = None
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = int(server.servers[0].sockets[0].getsockname()[1])
    try:
        yield f"127.0.0.1:{port}", certfile
    finally:
        server.should_exit = server.force_exit = True
        thread.join(10)


def test_serve_speaks_tls_with_a_certificate(tls_server: tuple[str, Path]) -> None:
    where, certfile = tls_server
    url = f"https://{where}/api/team_period"
    ok = requests.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, verify=str(certfile),
                      timeout=10)  # fmt: skip
    assert ok.status_code == 200 and ok.json()["rows"]
    assert requests.get(url, verify=str(certfile), timeout=10).status_code == 401
    wrong = {"Authorization": "Bearer tl-hardening-token-7c1d93aX"}
    assert requests.get(url, headers=wrong, verify=str(certfile), timeout=10).status_code == 401
    # The same port does not answer plain HTTP: the token never crosses in the clear.
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://{where}/api/team_period", timeout=10,
                     headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip


@pytest.fixture
def page_config(make_config: ConfigFactory, tmp_path: Path) -> Path:
    repo = RepoBuilder(tmp_path / "repo")
    repo.write("a.py", "x = 1\n")
    repo.commit("Start", ALICE)
    return make_config({"app": repo.path})


@pytest.mark.parametrize(
    ("command", "extra", "needle"),
    [
        (["serve"], [], "teamlens serve: refusing plain HTTP on '0.0.0.0'"),
        (["bot", "serve"], [], "teamlens bot serve: refusing plain HTTP on '0.0.0.0'"),
        (["serve"], ["--certfile", "cert.pem"], "give both --certfile and --keyfile"),
        (["serve"], ["--certfile", "none.pem", "--keyfile", "none.pem"], "cannot use the"),
    ],
)
def test_a_public_bind_without_tls_is_one_line(
    page_config: Path, tmp_path: Path, command: list[str], extra: list[str], needle: str
) -> None:
    env = {
        **_env(tmp_path),
        "TEAMLENS_SERVE_TOKEN": TOKEN,
        "TEAMLENS_WEBHOOK_SECRET": "hardening-webhook-secret",
    }
    result = _cli(*command, "--config", str(page_config), "--host", "0.0.0.0",  # noqa: S104
                  "--port", "1", *extra, cwd=tmp_path, env=env)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.splitlines() == [result.stderr.strip()]  # one line, no traceback
    assert result.stderr.startswith("teamlens: error: ") and needle in result.stderr
    assert TOKEN not in result.stderr


def test_behind_proxy_is_said_in_the_startup_line(tmp_path: Path) -> None:
    transport = Transport(behind_proxy=True)
    transport.check("0.0.0.0", "teamlens serve")  # noqa: S104 (nothing is bound)
    assert transport.url("0.0.0.0", 8000) == (  # noqa: S104
        "http://0.0.0.0:8000/ (TLS terminated by a proxy in front)"
    )
    certfile, keyfile = _self_signed(tmp_path)
    assert Transport(certfile, keyfile).url("::1", 8443) == "https://[::1]:8443/"


# ---------------------------------------------------------------------------------------
# The bot posts a level, never a number
# ---------------------------------------------------------------------------------------

BOT_TOKEN = "gh-hardening-token"
REPO = "acme/shapes"
BRANCHY = (
    "def area(w, h, unit=1):\n    if w < 0:\n        return 0\n    if h < 0:\n        return 0\n"
    "    if w > 100 and h > 100:\n        return -1\n    for i in range(3):\n"
    "        if i == w:\n            return i\n    while h > 10:\n        h -= 1\n"
    "    return w * h\n"
)
_NUMBER_RE = re.compile(r"\b0\.\d{2,}|\b1\.0{2,}\b")


@pytest.fixture
def bot_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Config, FakeGitHub, int]]:
    monkeypatch.setenv("TEAMLENS_KEY", TEST_KEY)
    monkeypatch.setenv("BOT_TOKEN", BOT_TOKEN)
    repo = RepoBuilder(tmp_path / "repo")
    repo.write("geo/shapes.py", "def area(w, h):\n    return w * h\n")
    base = repo.commit("Initial import", ALICE)
    repo.write("geo/shapes.py", BRANCHY)
    repo.write("geo/extra.py", "def f(x):\n    return x\n" * 20)
    head = repo.commit("Handle edge cases", BOB)
    files = []
    for path in ("geo/shapes.py", "geo/extra.py"):
        diff = repo.git("diff", "--no-color", base, head, "--", path).splitlines()
        start = next(i for i, line in enumerate(diff) if line.startswith("@@"))
        files.append(FileChange(path, patch="\n".join(diff[start:])))
    with FakeGitHub(token=BOT_TOKEN) as github:
        for login in ("acme", "octo-alice", "octo-bob"):
            github.add_user(login, type="Organization" if login == "acme" else "User")
        github.add_repo(REPO)
        pull = github.add_pull(REPO, author="octo-bob", title="Edge cases",
                               created_at="2026-11-01T00:00:00Z", base_sha=base,
                               head_sha=head, files=files)  # fmt: skip
        work = tmp_path / "work"
        work.mkdir()
        doc: dict[str, Any] = {
            "repositories": [{"name": "shapes", "path": str(repo.path), "github": REPO}],
            "github": {"url": github.url, "token_env": "BOT_TOKEN"},
            "review": {"quiet": False},
        }
        (work / "repos.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
        yield load_config(work / "repos.yaml"), github, pull.number


def _risk_forms(risk: float) -> list[str]:
    pct = risk * 100
    return [f"{risk:.2f}", f"{risk:.3f}", f"{risk:.4f}", f"{round(risk, 4)}",
            f"{pct:.0f} %", f"{pct:.0f}%", f"{pct:.1f}%"]  # fmt: skip


def test_nothing_posted_holds_the_risk_number(
    bot_config: tuple[Config, FakeGitHub, int], tmp_path: Path
) -> None:
    config, github, number = bot_config
    local = review_pull_request(config, f"{REPO}#{number}", post=False)
    assert not github.statuses(REPO, github.pull(REPO, number).head_sha)  # nothing posted yet
    command = [*teamlens_command(), "review", "--github", f"{REPO}#{number}", "--post",
               "--config", str(config.path)]  # fmt: skip
    env = {**_env(tmp_path), "BOT_TOKEN": BOT_TOKEN}
    posted = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    assert posted.returncode == 0, posted.stderr

    writes = [r for r in github.requests if r.method in ("POST", "PATCH", "PUT")]
    assert any(r.api_path.endswith("/comments") for r in writes)  # the summary
    assert any("/statuses/" in r.api_path for r in writes)
    text = "\n".join(json.dumps(r.body) for r in writes)
    text += "\n" + posted.stdout  # what `--post` prints may land in a CI log
    level = local.level.value
    assert f"{level} risk" in text
    for form in _risk_forms(local.risk):
        assert form not in text, form
    assert not _NUMBER_RE.search(text), _NUMBER_RE.search(text)
    status = github.statuses(REPO, github.pull(REPO, number).head_sha)[0]
    assert status.description == f"{level} risk of this change"

    # The number stays in local output, and --level-only leaves it out there too.
    as_json = subprocess.run([*command[:4], "--format", "json", "--config", str(config.path)],
                             capture_output=True, text=True, env=env, check=False)  # fmt: skip
    assert json.loads(as_json.stdout)["risk"] == round(local.risk, 4)
    for fmt in ("md", "json", "sarif"):
        quiet = subprocess.run([*command[:4], "--level-only", "--format", fmt, "--config",
                                str(config.path)], capture_output=True, text=True, env=env,
                               check=False)  # fmt: skip
        assert quiet.returncode == 0, quiet.stderr
        assert level in quiet.stdout and f"{local.risk:.2f}" not in quiet.stdout, fmt
        assert f"{round(local.risk, 4)}" not in quiet.stdout, fmt
