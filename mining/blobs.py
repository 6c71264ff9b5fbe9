"""File contents by ``<rev>:<path>`` from one long-lived `git cat-file --batch`.

One process serves every file a labelling or feature run reads, instead of a
`git show` process per file.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import NoReturn

from teamlens.errors import RepositoryError


class BlobReader:
    """File contents by ``<rev>:<path>`` from one long-lived `git cat-file --batch`."""

    def __init__(self, proc: subprocess.Popen[bytes], repo: Path | None = None) -> None:
        self._proc = proc
        self._repo = repo

    @classmethod
    def open(cls, repo: Path) -> BlobReader:
        try:
            proc = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=repo,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError as exc:  # the folder was removed while a run used it
            gone = "the repository folder is gone" if not repo.is_dir() else "cannot run git"
            raise RepositoryError(f"{repo}: git cat-file failed: {gone} ({exc.strerror})") from None
        return cls(proc, repo)

    def read(self, rev: str, path: str, limit: int) -> bytes | None:
        """The content, or None when missing, not a file, or larger than `limit` bytes."""
        stdin, stdout = self._proc.stdin, self._proc.stdout
        assert stdin is not None and stdout is not None
        if "\n" in path:
            return None
        try:
            stdin.write(f"{rev}:{path}\n".encode("utf-8", "surrogateescape"))
            stdin.flush()
        except BrokenPipeError:
            self._died()
        header = stdout.readline().split()
        if not header:  # git stopped answering: a corrupt object, not a missing file
            self._died()
        if len(header) != 3:  # "<name> missing" or "ambiguous"
            return None
        size = int(header[2])
        data = stdout.read(size + 1)[:-1]  # content, then a newline
        if header[1] != b"blob" or size > limit:
            return None
        return data

    def _died(self) -> NoReturn:
        code = self._proc.wait()
        raise RepositoryError(
            f"{self._repo}: git cat-file stopped (exit code {code}); is the repository corrupt?"
        )

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
