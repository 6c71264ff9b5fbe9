"""The `similar` rule end to end: a past review comment mined from GitHub is quoted when a
new change touches similar code, and not otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from teamlens.bot.review import review_local
from teamlens.config import Config, load_config
from teamlens.mining.github import mine_github
from tests.conftest import TEST_KEY
from tests.github_server import FakeGitHub, FileChange
from tests.gitrepo import ALICE, BOB, RepoBuilder

TOKEN = "gh-similar-token"
REPO = "acme/loader"
OLD_HUNK = (
    "@@ -1,2 +1,4 @@\n def load_settings(path):\n"
    "+    handle = open(path)\n+    settings = json.load(handle)\n     return settings"
)


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(token=TOKEN) as server:
        for login in ("acme", "octo-alice", "octo-bob"):
            server.add_user(login, type="Organization" if login == "acme" else "User")
        server.add_repo(REPO)
        pull = server.add_pull(
            REPO, author="octo-bob", title="Load settings", created_at="2026-10-01T00:00:00Z",
            files=[FileChange("app/settings.py", patch=OLD_HUNK)],
        )  # fmt: skip
        server.add_review_comment(
            REPO, pull.number, user="octo-alice", created_at="2026-10-02T00:00:00Z",
            path="app/settings.py", line=2,
            body="This open() is never closed: use `with open(path) as handle:`.",
        )  # fmt: skip
        others = [
            (
                "db/query.py",
                "+    rows = cursor.execute(sql_text).fetchall()",
                "Use a bound parameter.",
            ),
            ("web/view.py", "+    return render_template(name, **context)", "Escape the name."),
            ("cli/main.py", "+    parser.add_argument('--level', type=int)", "Document --level."),
            ("util/time.py", "+    stamp = datetime.now()", "Use an aware datetime (UTC)."),
            ("util/math.py", "+    ratio = total / count", "count can be zero here."),
        ]
        for i, (path, line, body) in enumerate(others, start=2):
            other = server.add_pull(
                REPO, author="octo-bob", title=f"Change {i}", created_at="2026-10-03T00:00:00Z",
                files=[FileChange(path, patch=f"@@ -1,1 +1,2 @@\n def f():\n{line}")],
            )  # fmt: skip
            server.add_review_comment(
                REPO, other.number, user="octo-alice", created_at="2026-10-04T00:00:00Z",
                path=path, line=2, body=body,
            )  # fmt: skip
        yield server


@pytest.fixture
def config(
    repo_builder: RepoBuilder, github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Config:
    monkeypatch.setenv("TEAMLENS_KEY", TEST_KEY)
    monkeypatch.setenv("SIMILAR_TOKEN", TOKEN)
    work = tmp_path / "work"
    work.mkdir()
    doc: dict[str, Any] = {
        "repositories": [{"name": "loader", "path": str(repo_builder.path), "github": REPO}],
        "github": {"url": github.url, "token_env": "SIMILAR_TOKEN"},
        "privacy": {"retention_days": 36500},
    }
    (work / "repos.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    loaded = load_config(work / "repos.yaml")
    mine_github(loaded, loaded.repositories[0])
    return loaded


def _similar(config: Config, repo: RepoBuilder, content: str) -> list[str]:
    repo.write("app/config_loader.py", "import json\n\n\ndef read_config(path):\n    return {}\n")
    repo.write("tests/test_loader.py", "def test_nothing():\n    assert True\n")
    base = repo.commit("Add a loader", ALICE)
    repo.write("app/config_loader.py", content)
    repo.write("tests/test_loader.py", "def test_nothing():\n    assert 1\n")
    head = repo.commit("Read the config file", BOB)
    result = review_local(config, None, base, head)
    return [s.message for s in result.suggestions if s.rule == "similar"]


def test_a_similar_past_comment_is_quoted(config: Config, repo_builder: RepoBuilder) -> None:
    content = (
        "import json\n\n\ndef read_config(path):\n    handle = open(path)\n"
        "    config = json.load(handle)\n    return config\n"
    )
    found = _similar(config, repo_builder, content)
    assert len(found) == 1
    assert "use `with open(path) as handle:`" in found[0]
    assert f"/{REPO}/pull/1#discussion_r" in found[0]


def test_unrelated_code_gets_no_quote(config: Config, repo_builder: RepoBuilder) -> None:
    content = (
        "import json\n\n\ndef read_config(path):\n    parts = path.split('/')\n"
        "    return {'depth': len(parts)}\n"
    )
    assert _similar(config, repo_builder, content) == []
