"""Pseudonymous identities, the opt-out list and scrubbing of stored text.

Rule 1 of DESIGN.md: a person is stored only as HMAC-SHA256(secret key, identity),
where the identity is the .mailmap-normalised, lower-cased e-mail. A plain hash of an
e-mail can be reversed with a dictionary of addresses; a keyed one cannot without the
key, which lives outside the data folder. Deleting or rotating the key unlinks history.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from teamlens.config import PrivacyConfig
from teamlens.errors import ConfigError, KeyFileError

MIN_KEY_BYTES = 16
PSEUDONYM_HEX = 32  # 128 bits: collisions among a company's people are negligible


def default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "teamlens" / "key"


def normalise_identity(name: str, email: str) -> str:
    """The string a person is known by: lower-cased e-mail, or the name when no e-mail."""
    email = email.strip().lower()
    if email:
        return email
    return "name:" + " ".join(name.lower().split())


def load_key(privacy: PrivacyConfig, data_dir: Path) -> bytes:
    """Return the pseudonymisation key.

    The environment variable named by ``privacy.key_env`` wins; otherwise the key file
    (``privacy.key_file`` or the per-user default) is read, and created with mode 0600
    on first use. A key file that others can read, or one inside the data folder, is
    refused.
    """
    from_env = os.environ.get(privacy.key_env)
    if from_env:
        key = from_env.encode("utf-8")
        if len(key) < MIN_KEY_BYTES:
            raise KeyFileError(
                f"environment variable {privacy.key_env}: the key must be at least "
                f"{MIN_KEY_BYTES} bytes long"
            )
        return key
    path = privacy.key_file or default_key_file()
    if path.resolve().is_relative_to(data_dir.resolve()):
        raise KeyFileError(f"{path}: the key file must live outside the data folder {data_dir}")
    if not path.exists():
        return _create_key_file(path)
    if path.is_dir():
        raise KeyFileError(f"{path}: expected a key file, found a folder")
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(
                f"{path}: key file is accessible to other users "
                f"(mode {stat.S_IMODE(mode):o}); run `chmod 600 {path}`"
            )
        key = path.read_bytes().strip()
    except PermissionError:
        raise KeyFileError(f"{path}: key file cannot be read (permission denied)") from None
    except IsADirectoryError:
        raise KeyFileError(f"{path}: expected a key file, found a folder") from None
    except OSError as exc:
        raise KeyFileError(f"{path}: key file cannot be read ({exc.strerror})") from None
    if len(key) < MIN_KEY_BYTES:
        raise KeyFileError(f"{path}: key file holds fewer than {MIN_KEY_BYTES} bytes")
    return key


def _create_key_file(path: Path) -> bytes:
    key = secrets.token_hex(32).encode("ascii")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, key + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        # link() fails if another process created the key first: then use theirs.
        try:
            os.link(tmp, path)
        except FileExistsError:
            key = path.read_bytes().strip()
        finally:
            tmp.unlink()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create key file ({exc.strerror})") from None
    return key


@dataclass(frozen=True)
class Pseudonymizer:
    """Maps an identity to its keyed pseudonym. Holds the key; never stored."""

    key: bytes

    def __repr__(self) -> str:  # never print the key
        return "Pseudonymizer(key=<hidden>)"

    def pseudonym(self, identity: str) -> str:
        digest = hmac.new(self.key, identity.encode("utf-8"), hashlib.sha256).hexdigest()
        return digest[:PSEUDONYM_HEX]

    def person(self, name: str, email: str) -> str:
        return self.pseudonym(normalise_identity(name, email))


def read_opt_out(path: Path | None) -> tuple[str, ...]:
    """Lines of the opt-out file: e-mails or logins, lower-cased; '#' starts a comment."""
    if path is None:
        return ()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: opt-out file cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: opt-out file is not UTF-8 text") from None
    entries = []
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip().lower()
        if entry:
            entries.append(entry)
    return tuple(entries)


_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
#: A GitHub @mention of a login or an @org/team (not the host part of an e-mail address).
_MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:/[\w.-]+)?")
#: GitHub's merge subject names the login that owns the merged branch's repository.
_GITHUB_MERGE_RE = re.compile(
    r"(\bMerge pull request #\d+ from )[A-Za-z0-9][A-Za-z0-9-]{0,38}(?=/)"
)
_WORD_RE = re.compile(r"\w+")
MIN_SCRUB_LEN = 3
PERSON_PLACEHOLDER = "<person>"


class Scrubber:
    """Removes known names, e-mails and e-mail local parts (often logins) from text.

    Commit subjects such as "Merge branch 'alice/fix'" or "Revert work by Alice Liddell"
    would otherwise carry identities into the store. Any e-mail address is replaced too,
    and so are logins that need no list to be found: every @mention, and the branch owner
    in GitHub's "Merge pull request #N from <login>/<branch>".
    Matching is on word sequences (case-insensitive, any punctuation between words), so
    a history with thousands of people costs a few set look-ups per subject.
    """

    def __init__(self, identities: Iterable[tuple[str, str]]) -> None:
        self._sequences: set[tuple[str, ...]] = set()
        for name, email in identities:
            for text in (name, email.split("@", 1)[0]):
                words = tuple(w.lower() for w in _WORD_RE.findall(text))
                if words and sum(map(len, words)) >= MIN_SCRUB_LEN:
                    self._sequences.add(words)
        # First word -> the lengths of the sequences starting with it, longest first: most
        # words of a subject start no sequence and cost one dictionary look-up.
        lengths: dict[str, set[int]] = {}
        for seq in self._sequences:
            lengths.setdefault(seq[0], set()).add(len(seq))
        self._by_first = {w: sorted(ns, reverse=True) for w, ns in lengths.items()}

    def __call__(self, text: str) -> str:
        if "@" in text:
            text = _EMAIL_RE.sub(PERSON_PLACEHOLDER, text)
            text = _MENTION_RE.sub("@" + PERSON_PLACEHOLDER, text)
        if "Merge pull request" in text:
            text = _GITHUB_MERGE_RE.sub(r"\g<1>" + PERSON_PLACEHOLDER, text)
        if not self._sequences:
            return text
        words = [(m.start(), m.end(), m.group().lower()) for m in _WORD_RE.finditer(text)]
        spans: list[tuple[int, int]] = []
        i = 0
        while i < len(words):
            for n in self._by_first.get(words[i][2], ()):
                if i + n <= len(words) and (
                    n == 1 or tuple(w[2] for w in words[i : i + n]) in self._sequences
                ):
                    spans.append((words[i][0], words[i + n - 1][1]))
                    i += n
                    break
            else:
                i += 1
        for start, end in reversed(spans):
            text = text[:start] + PERSON_PLACEHOLDER + text[end:]
        return text
