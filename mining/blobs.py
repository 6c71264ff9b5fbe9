"""File contents by ``<rev>:<path>`` from one long-lived `git cat-file --batch`.

One process serves every file a labelling or feature run reads, instead of a
`git show` process per file.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


class BlobReader:
    """File contents by ``<rev>:<path>`` from one long-lived `git cat-file --batch`."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self._proc = proc

    @classmethod
    def open(cls, repo: Path) -> BlobReader:
        proc = subprocess.Popen(
            ["git", "cat-file", "--batch"],
            cwd=repo,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        return cls(proc)

    def read(self, rev: str, path: str, limit: int) -> bytes | None:
        """The content, or None when missing, not a file, or larger than `limit` bytes."""
        stdin, stdout = self._proc.stdin, self._proc.stdout
        assert stdin is not None and stdout is not None
        if "\n" in path:
            return None
        stdin.write(f"{rev}:{path}\n".encode("utf-8", "surrogateescape"))
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3:  # "<name> missing" or "ambiguous"
            return None
        size = int(header[2])
        data = stdout.read(size + 1)[:-1]  # content, then a newline
        if header[1] != b"blob" or size > limit:
            return None
        return data

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
