"""Build real git repositories for tests with the git CLI, with full control of identities."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    tz: str = "+0000"


ALICE = Person("Alice Liddell", "alice@example.com", "+0100")
BOB = Person("Bob Builder", "bob.builder@builders.test", "+0530")
CAROL = Person("Carol Danvers", "carol@marvel.test", "-0700")
CAROL_OLD = Person("C. Danvers", "cdanvers@old-mail.test", "-0700")  # .mailmap -> CAROL
ZOE = Person("Zoë Ümlaut", "zoe@umlaut.test", "+0200")
DAVE = Person("Dave Optout", "dave.optout@private.test", "-0300")
ERIN = Person("Erin Fifth", "erin@fifth.test", "+0000")

EVERYONE = (ALICE, BOB, CAROL, CAROL_OLD, ZOE, DAVE, ERIN)


class RepoBuilder:
    """A git repository under construction; every commit has an explicit author and date."""

    def __init__(self, path: Path, branch: str = "main") -> None:
        self.path = path
        self.clock = 1_600_000_000
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", branch)

    def git(self, *args: str | bytes, person: Person | None = None, check: bool = True) -> str:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.path),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "LC_ALL": "C",
        }
        who = person or ALICE
        date = f"{self.clock} {who.tz}"
        env.update(
            {
                "GIT_AUTHOR_NAME": who.name,
                "GIT_AUTHOR_EMAIL": who.email,
                "GIT_COMMITTER_NAME": who.name,
                "GIT_COMMITTER_EMAIL": who.email,
                "GIT_AUTHOR_DATE": date,
                "GIT_COMMITTER_DATE": date,
            }
        )
        result = subprocess.run(
            ["git", *args], cwd=self.path, env=env, capture_output=True, check=False
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"git {args!r} failed: {result.stderr.decode('utf-8', 'replace')}")
        return result.stdout.decode("utf-8", "replace")

    def write(self, rel: str | bytes, content: str | bytes) -> None:
        rel_bytes = rel.encode() if isinstance(rel, str) else rel
        target = os.path.join(bytes(self.path), rel_bytes)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as fh:
            fh.write(content.encode() if isinstance(content, str) else content)

    def commit(
        self,
        message: str | bytes,
        person: Person | None = None,
        allow_empty: bool = False,
        add_all: bool = True,
    ) -> str:
        self.clock += 3600
        if add_all:
            self.git("add", "-A", person=person)
        msg_file = self.path / ".git" / "MSG"
        msg_file.write_bytes(message.encode() if isinstance(message, str) else message)
        args = ["commit", "-q", "-F", str(msg_file)]
        if allow_empty:
            args.append("--allow-empty")
        self.git(*args, person=person)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()


def lines(n: int, prefix: str = "line") -> str:
    return "".join(f"{prefix} {i}\n" for i in range(n))


def build_tricky_repo(path: Path) -> RepoBuilder:
    """Renames, copies, merges (two-parent and octopus), binary, empty, non-UTF-8 message
    and path, .mailmap, several time zones, a huge file and a submodule entry."""
    r = RepoBuilder(path)
    r.write("src/app.py", "def main():\n    return 1\n" + lines(40, "# filler"))
    r.write("README.md", "# demo\n")
    r.write("data/blob.bin", bytes(range(256)) * 4)
    r.write(".mailmap", f"{CAROL.name} <{CAROL.email}> {CAROL_OLD.name} <{CAROL_OLD.email}>\n")
    r.commit("Initial import", ALICE)
    r.write("src/app.py", "def main():\n    return 2\n" + lines(40, "# filler"))
    r.write("lib/util.py", lines(30, "util"))
    r.commit("Add util and change main", BOB)
    r.git("mv", "src/app.py", "src/main.py")
    r.write("src/main.py", "def main():\n    return 3\n" + lines(40, "# filler"))
    r.commit("Rename app to main", ALICE)
    r.write("lib/util_copy.py", lines(30, "util"))
    r.write("lib/util.py", lines(29, "util") + "changed\n")
    r.commit("Copy util", ZOE)
    r.write("data/blob.bin", bytes(range(255, -1, -1)) * 4)
    r.commit("Change binary blob", BOB)
    r.commit("An empty commit", ALICE, allow_empty=True)
    r.write(b"docs/caf\xe9.txt", "latin-1 named file\n")
    r.commit(b"Caf\xe9 message in latin-1, not UTF-8\n", ZOE)
    r.write("docs/utf8-\u00e9t\u00e9.txt", "utf-8 named file\n")
    r.commit(
        "Revert work by Alice Liddell (alice@example.com)\n\nSigned-off-by: Bob Builder "
        "<bob.builder@builders.test>\n",
        BOB,
    )
    # A side branch by Carol under her old e-mail, merged with a merge commit.
    r.git("checkout", "-q", "-b", "feature")
    r.write("src/feature.py", lines(12, "feature"))
    r.commit("Add feature", CAROL_OLD)
    r.write("src/feature.py", lines(14, "feature"))
    r.commit("Fix bug in feature", CAROL_OLD)
    r.git("checkout", "-q", "main")
    r.write("README.md", "# demo\n\nmore\n")
    r.commit("Document", ALICE)
    r.clock += 3600
    r.git("merge", "-q", "--no-ff", "-m", "Merge branch 'feature'", "feature", person=CAROL)
    # Octopus merge of three branches.
    base = r.head()
    for name in ("o1", "o2", "o3"):
        r.git("checkout", "-q", "-b", name, base)
        r.write(f"octo/{name}.txt", lines(3, name))
        r.commit(f"Octopus part {name}", ERIN)
    r.git("checkout", "-q", "main")
    r.clock += 3600
    r.git("merge", "-q", "-m", "Octopus merge", "o1", "o2", "o3", person=ERIN)
    # A huge text file, a submodule entry and a deletion.
    r.write("big/huge.txt", lines(120_000, "a fairly long line of text in a huge file"))
    r.commit("Add a huge file", DAVE)
    r.git("update-index", "--add", "--cacheinfo", f"160000,{base},vendor/sub")
    r.commit("Add a submodule entry", DAVE, add_all=False)
    r.git("rm", "-q", "lib/util_copy.py")
    r.commit("Remove copy; fixes #3", CAROL, add_all=False)
    return r
