"""Pseudonymous identities, the opt-out list and scrubbing of stored text.

Rule 1 of DESIGN.md: a person is stored only as HMAC-SHA256(secret key, identity),
where the identity is the .mailmap-normalised, lower-cased e-mail. A plain hash of an
e-mail can be reversed with a dictionary of addresses; a keyed one cannot without the
key, which lives outside the data folder. Deleting or rotating the key unlinks history.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
import os
import re
import secrets
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from teamlens.config import PrivacyConfig
from teamlens.errors import ConfigError, KeyFileError

MIN_KEY_BYTES = 32
#: The least variety a key must show: estimated bits (character frequencies times length).
MIN_KEY_BITS = 128
PSEUDONYM_HEX = 32  # 128 bits: collisions among a company's people are negligible
KEY_HINT = "use 32 random bytes, e.g. the 64 hex characters of `openssl rand -hex 32`"

#: manifest.json ``state.key_check``: "scrypt$N$r$p$<salt hex>$<hash hex>". scrypt with
#: N=2^15, r=8, p=1 needs 32 MiB and about 0.1 s per guess (docs/privacy.md).
KEY_CHECK_SCHEME = "scrypt"
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024  # a stored check asking for more is refused
_SALT_BYTES = 16
_CHECK_BYTES = 32
_LEGACY_CHECK_LABEL = b"teamlens key check v1"
_LEGACY_CHECK_RE = re.compile(r"[0-9a-f]{16}")


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
        weakness = key_weakness(key)
        if weakness is not None:
            raise KeyFileError(f"environment variable {privacy.key_env}: {weakness}; {KEY_HINT}")
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
    weakness = key_weakness(key)
    if weakness is not None:
        raise KeyFileError(f"{path}: {weakness}; {KEY_HINT}")
    return key


def key_weakness(key: bytes) -> str | None:
    """Why ``key`` is too weak to pseudonymise with, or None when it will do.

    A key must hold at least :data:`MIN_KEY_BYTES` bytes and look random: not a few
    characters over and over, not a repeated pattern, not a run such as ``abcdef...``,
    and at least :data:`MIN_KEY_BITS` bits by its character frequencies (32 random bytes
    as hex estimate about 240). A guessable key lets anyone with a list of e-mail
    addresses turn pseudonyms back into people.
    """
    if len(key) < MIN_KEY_BYTES:
        return f"the key must be at least {MIN_KEY_BYTES} bytes long, got {len(key)}"
    distinct = len(set(key))
    if distinct < 8:
        return f"the key looks guessable (only {distinct} distinct characters)"
    for period in range(1, len(key) // 2 + 1):
        if all(key[i] == key[i + period] for i in range(len(key) - period)):
            return "the key looks guessable (a repeated pattern)"
    steps = [b - a for a, b in itertools.pairwise(key)]
    same = sum(1 for a, b in itertools.pairwise(steps) if a == b)
    if same * 2 >= len(steps):
        return "the key looks guessable (runs of consecutive or repeated characters)"
    counts = [key.count(c) for c in set(key)]
    bits = -sum(n * math.log2(n / len(key)) for n in counts)
    if bits < MIN_KEY_BITS:
        return f"the key looks guessable (about {bits:.0f} bits, {MIN_KEY_BITS} needed)"
    return None


def _scrypt(key: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(key, salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=_CHECK_BYTES)


# One check per key and process: a run writes the same string to every repository it
# mines instead of paying the KDF once per repository, and a check verified once is not
# derived again. Keyed by a digest of the key, never the key itself.
_made_checks: dict[bytes, str] = {}
_verified_checks: set[tuple[bytes, str]] = set()


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"teamlens key id\0" + key).digest()


def key_check(key: bytes, salt: bytes | None = None) -> str:
    """The key check stored in manifest.json ``state.key_check``.

    ``scrypt$N$r$p$<salt hex>$<hash hex>``: anyone who can read the store can test a
    guessed key only at the KDF's cost (about 0.1 s and 32 MiB each), not at hash speed.
    Without ``salt`` a random one is drawn, once per key and process.
    """
    if salt is None:
        made = _made_checks.get(_key_id(key))
        if made is not None:
            return made
        salt = secrets.token_bytes(_SALT_BYTES)
    digest = _scrypt(key, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    check = f"{KEY_CHECK_SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"
    _made_checks.setdefault(_key_id(key), check)
    _verified_checks.add((_key_id(key), check))
    return check


def is_current_key_check(recorded: object) -> bool:
    """Whether ``recorded`` is a key check of today's form (a legacy one is rewritten)."""
    return isinstance(recorded, str) and recorded.startswith(KEY_CHECK_SCHEME + "$")


def verify_key_check(key: bytes, recorded: object) -> bool:
    """Whether ``key`` is the key that ``recorded`` (a stored key check) was made with.

    Reads today's scrypt form and the legacy form (16 hex characters of
    HMAC-SHA256(key, "teamlens key check v1")) of stores written before it.

    Raises
    ------
    KeyFileError
        ``recorded`` is neither form, or asks for more than the KDF's memory limit.
    """
    if not isinstance(recorded, str):
        raise KeyFileError(f"the stored key check is not a string: {type(recorded).__name__}")
    if _LEGACY_CHECK_RE.fullmatch(recorded):
        legacy = hmac.new(key, _LEGACY_CHECK_LABEL, hashlib.sha256).hexdigest()[:16]
        return hmac.compare_digest(legacy, recorded)
    if (_key_id(key), recorded) in _verified_checks:
        return True
    fields = recorded.split("$")
    try:
        scheme, n, r, p, salt_hex, hash_hex = fields
        n_, r_, p_ = int(n), int(r), int(p)
        salt, expected = bytes.fromhex(salt_hex), bytes.fromhex(hash_hex)
    except ValueError:
        raise KeyFileError("the stored key check is not readable") from None
    if scheme != KEY_CHECK_SCHEME or len(expected) != _CHECK_BYTES or not salt:
        raise KeyFileError("the stored key check is not readable")
    if not (n_ > 1 and n_ & (n_ - 1) == 0 and r_ >= 1 and p_ >= 1):
        raise KeyFileError("the stored key check is not readable")
    if 128 * n_ * r_ * p_ > _SCRYPT_MAXMEM // 2 or n_ < 2**14:
        raise KeyFileError("the stored key check asks for a KDF this teamlens does not run")
    if not hmac.compare_digest(_scrypt(key, salt, n_, r_, p_), expected):
        return False
    _verified_checks.add((_key_id(key), recorded))
    _made_checks.setdefault(_key_id(key), recorded)
    return True


def upgraded_key_check(key: bytes, recorded: object) -> str:
    """The key check to store next: ``recorded`` when it is of today's form (verify it
    first), else a new one, so that a store with a legacy check is upgraded on its next
    write."""
    if is_current_key_check(recorded):
        assert isinstance(recorded, str)
        return recorded
    return key_check(key)


#: What teamlens creates is readable by its user only: the CLI runs with this umask.
PRIVATE_UMASK = 0o077


def secure_data_dir(data_dir: Path) -> None:
    """Make the data folder 0700 and nothing in it readable by group or others (rule 1).

    Costs one stat when the folder is already private; a folder written by an older
    teamlens (0755 with 0644 files) is tightened throughout, symbolic links left alone.
    A missing folder is left missing (the CLI's umask makes it 0700 when it is created).
    """
    try:
        mode = stat.S_IMODE(data_dir.stat().st_mode)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise KeyFileError(f"{data_dir}: cannot read the data folder ({exc.strerror})") from None
    if mode & PRIVATE_UMASK == 0:
        return
    try:
        for root, dirs, files in os.walk(data_dir):
            for name in [*dirs, *files]:
                path = os.path.join(root, name)
                if os.path.islink(path):
                    continue
                old = stat.S_IMODE(os.lstat(path).st_mode)
                if old & PRIVATE_UMASK:
                    os.chmod(path, old & ~PRIVATE_UMASK)
        data_dir.chmod(0o700)
    except OSError as exc:
        raise KeyFileError(
            f"{data_dir}: cannot make the data folder private ({exc.strerror}); "
            f"run `chmod -R go-rwx {data_dir}`"
        ) from None


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


#: First words of names that are not people's first names ("The G.I.O.I", "Your Actual
#: Name", "Deleted user", "GitHub Merge Button"): scrubbing them would blank "the".
_NOT_FIRST_NAMES = frozenset(
    {"the", "your", "our", "deleted", "unknown", "anonymous", "github", "gitlab", "not"}
)


def first_name(name: str) -> str | None:
    """The first word of a name of several words, if it has at least 3 characters: what
    "thanks Judy" leaves of "Judy Hopps". None for one-word names, bots and the few
    first words that are not names."""
    parts = name.split()
    if len(parts) < 2 or name.lower().rstrip().endswith("[bot]"):
        return None
    words = [w.lower() for w in _WORD_RE.findall(parts[0])]
    if sum(map(len, words)) < MIN_SCRUB_LEN or words == [] or words[0] in _NOT_FIRST_NAMES:
        return None
    return parts[0]


#: GitHub's private commit e-mails: ``<id>+<login>@users.noreply.github.com``.
GITHUB_NOREPLY_DOMAIN = "users.noreply.github.com"


class Scrubber:
    """Removes known names, first names, e-mails, e-mail local parts and logins from text.

    Commit subjects such as "Merge branch 'alice/fix'", "Revert work by Alice Liddell" or
    "Thanks Judy for the review" would otherwise carry identities into the store. A known
    name is removed whole, and so is its first word on its own when the name has several
    words and that first word has at least 3 characters ("Judy" of "Judy Hopps",
    "Jean-Luc" of "Jean-Luc Picard"). `logins` (GitHub accounts) are removed as whole
    words wherever they stand: in prose, branch names ("into jonozzz/features") and URLs
    (".../Stranger6667/pytest"). Any e-mail address is replaced too, and so are logins
    that need no list to be found: every @mention, and the branch owner in GitHub's
    "Merge pull request #N from <login>/<branch>".
    Matching is on word sequences (case-insensitive, any punctuation between words), so
    a history with thousands of people costs a few set look-ups per subject.
    """

    def __init__(self, identities: Iterable[tuple[str, str]], logins: Iterable[str] = ()) -> None:
        self._sequences: set[tuple[str, ...]] = set()
        for name, email in identities:
            self._add(name)
            local, _, domain = email.partition("@")
            self._add(local)
            if domain.lower() == GITHUB_NOREPLY_DOMAIN and "+" in local:
                self._add(local.split("+", 1)[1])  # 12345+login@: the login on its own
            first = first_name(name)
            if first is not None:
                self._add(first)
        for login in logins:
            self._add(login)
        # First word -> the lengths of the sequences starting with it, longest first: most
        # words of a subject start no sequence and cost one dictionary look-up.
        lengths: dict[str, set[int]] = {}
        for seq in self._sequences:
            lengths.setdefault(seq[0], set()).add(len(seq))
        self._by_first = {w: sorted(ns, reverse=True) for w, ns in lengths.items()}

    def _add(self, text: str) -> None:
        words = tuple(w.lower() for w in _WORD_RE.findall(text))
        if words and sum(map(len, words)) >= MIN_SCRUB_LEN:
            self._sequences.add(words)

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
