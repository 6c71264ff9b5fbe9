"""The privacy inventory, the privacy audit and the retention purge.

* :func:`inventory` describes, as Markdown generated from the code's own schemas
  (``teamlens.store.SCHEMAS``, ``teamlens.aggregates.SCHEMA``) and repos.yaml, what teamlens
  collects, where it lives, how long it is kept and who can read it.
* :func:`audit` checks a data folder (and any report, CSV or export given as an output)
  against the privacy rules: no raw identity and no plain hash of one anywhere (rule 1),
  no pseudonym outside the store (rule 2), no team figure behind fewer than k people and
  no suppressed cell that subtraction reveals (rule 3), nobody who opted out (rule 4), no
  review text past ``privacy.retention_days``, and no class of an export's rows that git's
  own history narrows to fewer than k commits or people (rule 7).
* :func:`purge` applies the retention window and the opt-out list to every repository's
  store now, without mining.

The audit never prints what it finds: a violation names the file, the column or line and
the kind of identity, not the identity itself, and never the key.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from teamlens.aggregates import FIGURES, TEAM_PERIOD_FILE
from teamlens.aggregates import SCHEMA as TEAM_PERIOD_SCHEMA
from teamlens.config import Config
from teamlens.dashboard.published_check import (
    DIFFERENCING,
    DOMINANCE,
    REPUBLICATION,
    SMALL_GROUP,
    STALE,
    UNRECORDED,
    check_published,
)
from teamlens.errors import RepositoryError, StoreError, TeamlensError
from teamlens.mining.repository import Alias
from teamlens.model.dataset import DatasetError
from teamlens.privacy import (
    PSEUDONYM_HEX,
    Pseudonymizer,
    default_key_file,
    load_key,
    normalise_identity,
    read_opt_out,
    verify_key_check,
)
from teamlens.store import MANIFEST, SCHEMAS, RepoWriter, Store

__all__ = [
    "LINKABLE_EXPORT",
    "RULES",
    "TEXT_COLUMNS",
    "AuditError",
    "AuditReport",
    "PurgeReport",
    "RepoPurge",
    "Violation",
    "audit",
    "inventory",
    "pseudonym_columns",
    "purge",
    "text_columns",
]

# --- what the schemas hold ---------------------------------------------------------------

#: Free-text columns: scrubbed of names and e-mail addresses before they are stored.
TEXT_COLUMNS: frozenset[str] = frozenset({"message_subject", "title", "body", "diff_hunk", "patch"})
#: String ``*_id`` columns that do not hold people (``commit_id`` is a commit sha).
_NOT_PEOPLE = frozenset({"commit_id"})
#: Text kept only within ``privacy.retention_days``: (table, text column) -> time column.
RETAINED_TEXT: Mapping[tuple[str, str], str] = {
    ("reviews", "body"): "submitted_at",
    ("review_comments", "body"): "created_at",
}
GITHUB_TABLES = ("pull_requests", "pull_request_files", "reviews", "review_comments")


def pseudonym_columns(schema: pa.Schema) -> tuple[str, ...]:
    """Columns holding keyed pseudonyms: string columns named ``*_id`` that are people."""
    return tuple(
        f.name
        for f in schema
        if f.name.endswith("_id") and pa.types.is_string(f.type) and f.name not in _NOT_PEOPLE
    )


def text_columns(schema: pa.Schema) -> tuple[str, ...]:
    return tuple(name for name in schema.names if name in TEXT_COLUMNS)


# --- rules --------------------------------------------------------------------------------

RAW_IDENTITY = "raw-identity"
PLAIN_HASH = "plain-hash"
NOT_A_PSEUDONYM = "not-a-pseudonym"
KEY_EXPOSED = "key-exposed"
PSEUDONYM_OUTSIDE = "pseudonym-outside-store"
SUPPRESSED_FIGURE = "suppressed-figure"
OPT_OUT = "opt-out"
RETENTION = "retention"
LINKABLE_EXPORT = "linkable-export"

#: Violation.rule -> what it breaks.
RULES: Mapping[str, str] = {
    RAW_IDENTITY: "rule 1: a raw name, e-mail address or e-mail local part",
    PLAIN_HASH: "rule 1: a plain (unkeyed) hash of a name or e-mail address",
    NOT_A_PSEUDONYM: "rule 1: a person column holding something other than a keyed pseudonym",
    KEY_EXPOSED: "rule 1: the pseudonymisation key itself",
    PSEUDONYM_OUTSIDE: "rule 2: a pseudonym outside the store (output keyed by a person)",
    SMALL_GROUP: "rule 3: a shown team figure with fewer than k people behind it",
    SUPPRESSED_FIGURE: "rule 3: a suppressed row that still carries a figure",
    DIFFERENCING: "rule 3: a set of changes with fewer than k people (or one dominant) that "
    "published figures add up to (other teams, totals, weeks and months, earlier copies)",
    DOMINANCE: "rule 3: a shown figure most of whose changes one person made",
    REPUBLICATION: "rule 3: a figure republished after a change with fewer than k people behind it",
    UNRECORDED: "rule 3: shown figures the ledger of publications does not know",
    STALE: "rule 4: shown figures that still include changes of people who opted out",
    OPT_OUT: "rule 4: rows of a person who opted out",
    RETENTION: "retention: review text older than privacy.retention_days",
    LINKABLE_EXPORT: "rule 7: exported rows that git's own history narrows to fewer than k "
    "commits or people",
}


class AuditError(TeamlensError):
    """An output given to the audit does not exist or cannot be read."""


@dataclass(frozen=True)
class Violation:
    rule: str  # a key of RULES
    where: str  # file (relative to data_dir when inside it) and column, line or row
    detail: str  # what was found: the kind of identity and a count, never the identity


@dataclass(frozen=True)
class AuditReport:
    violations: tuple[Violation, ...]
    unchecked: tuple[str, ...] = ()  # checks that could not run, and why
    files_scanned: int = 0
    k: int = 5

    @property
    def ok(self) -> bool:
        return not self.violations

    def render(self) -> str:
        """Markdown: a verdict, one table row per violation, then what was not checked."""
        lines = ["## Privacy audit", ""]
        lines.append(f"{self.files_scanned} files scanned; k = {self.k}.")
        lines.append("")
        if self.ok:
            lines.append("**No violation found.**")
        else:
            n = len(self.violations)
            lines += [
                f"**{n} violation{'s' if n != 1 else ''}.**",
                "",
                "| rule | where | found |",
                "|---|---|---|",
            ]
            lines += [
                f"| {_cell(RULES.get(v.rule, v.rule))} | {_cell(v.where)} | {_cell(v.detail)} |"
                for v in self.violations
            ]
        if self.unchecked:
            lines += ["", "Not checked:", ""]
            lines += [f"- {note}" for note in self.unchecked]
        return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# --- identities from git ------------------------------------------------------------------

_ROLE_WORDS = frozenset(
    {
        "admin",
        "administrator",
        "automation",
        "bot",
        "build",
        "ci",
        "deploy",
        "dev",
        "git",
        "github",
        "gitlab",
        "info",
        "jenkins",
        "localhost",
        "mail",
        "noreply",
        "nobody",
        "none",
        "root",
        "support",
        "system",
        "test",
        "unknown",
        "user",
    }
)
_ROLE_SEQUENCES = frozenset(
    {("no", "reply"), ("do", "not", "reply"), ("web", "flow"), ("github", "actions")}
)
_MIN_WORD_CHARS = 3  # as teamlens.privacy.Scrubber: shorter names and local parts are noise
_NOREPLY_DOMAIN = "users.noreply.github.com"
_MAILMAP_ENTRY = re.compile(r"([^<>]*)<([^<>]*)>")


def _git(path: Path, *args: str, check: bool = True) -> str:
    result = subprocess.run(
        ["git", "-c", "log.showSignature=false", *args],
        cwd=path,
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0 and check:
        err = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RepositoryError(
            f"{path}: git {args[0]} failed: {err[0] if err else result.returncode}"
        )
    return result.stdout.decode("utf-8", "replace") if result.returncode == 0 else ""


def _history_identities(path: Path) -> set[Alias]:
    """Every author and committer on every ref, as recorded and after .mailmap."""
    out = _git(
        path,
        "log",
        "--all",
        "--encoding=UTF-8",
        "--format=%an%x00%ae%x00%aN%x00%aE%x00%cn%x00%ce%x00%cN%x00%cE%x00",
    )
    fields = out.replace("\n", "").split("\0")
    return {Alias(*fields[i : i + 4]) for i in range(0, len(fields) - 3, 4)}


def _mailmap_identities(path: Path) -> set[tuple[str, str]]:
    """Names and e-mails written in .mailmap (working tree and HEAD), even if unused."""
    texts = [_git(path, "cat-file", "blob", "HEAD:.mailmap", check=False)]
    if (path / ".mailmap").is_file():
        texts.append((path / ".mailmap").read_text(encoding="utf-8", errors="replace"))
    found = set()
    for text in texts:
        for line in text.splitlines():
            if line.lstrip().startswith("#"):
                continue
            for name, email in _MAILMAP_ENTRY.findall(line):
                found.add((name.strip(), email.strip()))
    return found


def _repository_path(config: Config, name: str, path: Path | None) -> Path | None:
    if path is not None:
        return path if path.exists() else None
    clone = config.clones_dir / name  # `url:` repositories: the mirror `mine` keeps
    return clone if clone.exists() else None


@dataclass(frozen=True)
class _People:
    """What the configured repositories' histories say about people (in memory only)."""

    aliases: frozenset[Alias]
    pairs: frozenset[tuple[str, str]]  # (name, e-mail), as recorded and after .mailmap
    unchecked: tuple[str, ...]


def _people(config: Config) -> _People:
    aliases: set[Alias] = set()
    pairs: set[tuple[str, str]] = set()
    unchecked = []
    for repo in config.repositories:
        path = _repository_path(config, repo.name, repo.path)
        if path is None:
            unchecked.append(
                f"repository {repo.name!r}: no local copy (not mined yet?), so its "
                "identities are not known to the scan"
            )
            continue
        found = _history_identities(path)
        aliases |= found
        for a in found:
            pairs |= {(a.raw_name, a.raw_email), (a.name, a.email)}
        pairs |= _mailmap_identities(path)
    return _People(frozenset(aliases), frozenset(pairs), tuple(unchecked))


# --- finding identities in text ------------------------------------------------------------

_WORD_RE = re.compile(r"\w+")
_EMAIL_CANDIDATE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*")
_SCALE_SUFFIX = re.compile(r"^\d+(?:\.\d+)?x\.")  # icon@2x.png is a file, not an address
_HEX_RUN = re.compile(r"(?<![0-9a-f])[0-9a-f]{16,}(?![0-9a-f])")
_PSEUDONYM_RE = re.compile(rf"^[0-9a-f]{{{PSEUDONYM_HEX}}}$")
_DIGESTS = (("MD5", "md5"), ("SHA-1", "sha1"), ("SHA-256", "sha256"))
_PREFIXES = (16, 32)  # truncated plain hashes, e.g. sha256(e-mail)[:32] posing as a pseudonym


def _is_address(candidate: str) -> bool:
    domain = candidate.rpartition("@")[2]
    labels = domain.split(".")
    return len(labels) >= 2 and labels[-1][:1].isalpha() and not _SCALE_SUFFIX.match(domain)


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.lower() for w in _WORD_RE.findall(text))


def _not_a_person(name: str, email: str) -> bool:
    """Bots and no-reply service identities (GitHub's web-flow committer, say)."""
    local = email.split("@", 1)[0].lower()
    return (
        name.lower().endswith("[bot]")
        or local.endswith("[bot]")
        or _words(local) in {("noreply",), *_ROLE_SEQUENCES}
    )


class _Finder:
    """Finds identities of known people, any e-mail address, plain hashes, pseudonyms."""

    def __init__(
        self,
        pairs: Iterable[tuple[str, str]],
        allow: Iterable[str] = (),
        pseudonyms: Collection[str] = (),
        key: bytes | None = None,
    ) -> None:
        self.emails: set[str] = set()
        self.sequences: dict[tuple[str, ...], str] = {}
        self.digests: dict[str, str] = {}
        allowed = {_words(a) for a in allow}
        for name, email in pairs:
            self._add(name.strip(), email.strip(), allowed)
        lengths: dict[str, set[int]] = {}
        for seq in self.sequences:
            lengths.setdefault(seq[0], set()).add(len(seq))
        self.by_first = {w: sorted(ns, reverse=True) for w, ns in lengths.items()}
        self.pseudonyms = frozenset(pseudonyms)
        self.key = key.decode("utf-8", "replace") if key else None

    def _add(self, name: str, email: str, allowed: set[tuple[str, ...]]) -> None:
        low = email.lower()
        if low:
            self.emails.add(low)
        for variant in {email, low}:
            self._digest(variant, "e-mail")
        if name:
            for variant in {name, name.lower(), normalise_identity(name, "")}:
                self._digest(variant, "name")
        if _not_a_person(name, email):
            return
        local, _, domain = low.partition("@")
        texts = [(name, "a contributor's name"), (local, "a contributor's e-mail local part")]
        if domain == _NOREPLY_DOMAIN and "+" in local:  # 12345+login@users.noreply...
            texts.append((local.split("+", 1)[1], "a contributor's e-mail local part"))
        for text, kind in texts:
            seq = _words(text)
            if (
                seq
                and sum(map(len, seq)) >= _MIN_WORD_CHARS
                and seq not in allowed
                and seq not in _ROLE_SEQUENCES
                and not (len(seq) == 1 and seq[0] in _ROLE_WORDS)
            ):
                self.sequences.setdefault(seq, kind)

    def _digest(self, text: str, what: str) -> None:
        if not text:
            return
        for label, algo in _DIGESTS:
            hexed = hashlib.new(algo, text.encode("utf-8")).hexdigest()
            self.digests.setdefault(hexed, f"the plain {label} of a contributor's {what}")
            for n in _PREFIXES:
                self.digests.setdefault(
                    hexed[:n], f"a truncated plain {label} of a contributor's {what}"
                )

    def find(
        self, text: str, outside_store: bool, names: bool = True, others: bool = True
    ) -> set[tuple[str, str]]:
        """(rule, kind) of everything found in `text`; the matches themselves are not kept.

        `names`: look for names and e-mail local parts (word sequences); `others`: for
        everything else (the key, e-mail addresses, plain hashes, pseudonyms).
        """
        found: set[tuple[str, str]] = set()
        if others and self.key is not None and self.key in text:
            found.add((KEY_EXPOSED, "the pseudonymisation key"))
        low = text.lower()
        if "@" in low:
            for m in _EMAIL_CANDIDATE.finditer(low):
                if m.group() in self.emails:
                    kind = "a contributor's e-mail address"
                elif _is_address(m.group()):
                    kind = "an e-mail address"
                else:
                    continue
                if others:
                    found.add((RAW_IDENTITY, kind))
                # One finding per address: its local part is not reported again below.
                low = low[: m.start()] + " " * (m.end() - m.start()) + low[m.end() :]
        if not others:
            return self._word_sequences(low) if names and self.by_first else found
        for m in _HEX_RUN.finditer(low):
            run = m.group()
            for candidate in (run, *(run[:n] for n in (64, 40, 32, 16) if n < len(run))):
                hit = self.digests.get(candidate)
                if hit is not None:  # the longest match only: one finding per hash
                    found.add((PLAIN_HASH, hit))
                    break
            if outside_store and run in self.pseudonyms:
                found.add((PSEUDONYM_OUTSIDE, "a pseudonym from the store"))
        if names and self.by_first:
            found |= self._word_sequences(low)
        return found

    def _word_sequences(self, low: str) -> set[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        words = _WORD_RE.findall(low)
        if self.by_first.keys().isdisjoint(words):  # the common case, decided in C
            return found
        for i, word in enumerate(words):
            for n in self.by_first.get(word, ()):
                kind = self.sequences.get(tuple(words[i : i + n]))
                if kind is not None:
                    found.add((RAW_IDENTITY, kind))
                    break
        return found


# --- scanning files ------------------------------------------------------------------------

_PRINTABLE_RUN = re.compile(rb"(?:[\x20-\x7e\t]|[\xc2-\xf4][\x80-\xbf]{1,3}){6,}")
_CHUNK = 1 << 20
_OVERLAP = 512


class _Hits:
    """Findings grouped per (rule, place, kind), with a count and the first location."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str, str], list[Any]] = {}

    def add(self, found: Iterable[tuple[str, str]], place: str, location: str = "") -> None:
        for rule, kind in found:
            entry = self._hits.setdefault((rule, place, kind), [location, 0])
            entry[1] += 1

    def violations(self, unit: str) -> list[Violation]:
        out = []
        for (rule, place, kind), (location, count) in self._hits.items():
            where = f"{place}, {location}" if location else place
            out.append(
                Violation(rule, where, f"{kind} ({count} {unit}{'s' if count != 1 else ''})")
            )
        return out


def _leaf_strings(array: Any) -> Iterator[str]:
    """The distinct strings anywhere in an Arrow array (lists, structs, maps, dictionaries)."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        yield from _leaf_strings(array.dictionary)
    elif (
        pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    ):
        yield from _leaf_strings(array.flatten())
    elif pa.types.is_map(kind):
        yield from _leaf_strings(array.keys)
        yield from _leaf_strings(array.items)
    elif pa.types.is_struct(kind):
        for i in range(kind.num_fields):
            yield from _leaf_strings(array.field(i))
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        yield from (s for s in pc.unique(array).to_pylist() if s)
    elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        yield from (b.decode("utf-8", "replace") for b in pc.unique(array).to_pylist() if b)


_SEPARATOR = "\n_\n"  # no name, address or hash can run across it
_BLOCK = 4096


def _screen(
    finder: _Finder, texts: Sequence[str], outside: bool, names: bool = True, others: bool = True
) -> Iterator[tuple[int, set[tuple[str, str]]]]:
    """(index, findings) of each text with a finding. Texts are searched a block at a
    time (one regex pass over the joined block), and one by one only in a block with a
    finding: most blocks have none."""
    for start in range(0, len(texts), _BLOCK):
        block = texts[start : start + _BLOCK]
        if finder.find(_SEPARATOR.join(block), outside, names, others):
            for i, text in enumerate(block, start=start):
                found = finder.find(text, outside, names, others)
                if found:
                    yield i, found


def _scan_parquet(path: Path, place: str, finder: _Finder, outside: bool) -> list[Violation]:
    """Every decoded value, and the footer's column names and key-value metadata.

    (Column statistics hold only values of the column, which are decoded anyway.)
    """
    hits = _Hits()
    parquet = pq.ParquetFile(path)
    schema = parquet.schema_arrow
    footer = [*schema.names]
    for k, v in (schema.metadata or {}).items():
        footer += [k.decode("utf-8", "replace"), v.decode("utf-8", "replace")]
    for _, found in _screen(finder, footer, outside):
        hits.add(found, place, "file metadata")
    for batch in parquet.iter_batches(batch_size=65_536):
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            for _, found in _screen(finder, list(_leaf_strings(column)), outside):
                hits.add(found, f"{place} column {name}")
    return hits.violations("value")


def _scan_text(
    path: Path, place: str, finder: _Finder, outside: bool, names: bool = True
) -> list[Violation]:
    hits = _Hits()
    first = 1
    with open(path, "rb") as fh:
        while lines := fh.readlines(_CHUNK):
            texts = [line.decode("utf-8", "replace") for line in lines]
            for i, found in _screen(finder, texts, outside, names):
                hits.add(found, place, f"line {first + i}")
            first += len(lines)
    return hits.violations("line")


#: Markup and code by file name: their names are searched for in human-readable text only.
_MARKUP_SUFFIXES = {
    ".html": "markup",
    ".htm": "markup",
    ".xhtml": "markup",
    ".svg": "markup",
    ".xml": "markup",
    ".css": "code",
    ".js": "code",
    ".mjs": "code",
    ".cjs": "code",
}
#: ... and by content, for markup written under another name.
_MARKUP_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<(?:!doctype\s+html|html|\?xml|svg)\b", re.I)
#: Attributes a reader sees (tooltips, alternative text, labels): their values are text.
_SHOWN_ATTRIBUTES = frozenset(
    {"title", "alt", "aria-label", "aria-description", "placeholder", "label", "summary"}
)


class _ReadableText(HTMLParser):
    """What a person reads in an HTML, SVG or XML document, with its line: text between
    tags (entities decoded), comments, the values of shown attributes and of ``<meta
    content>``, and JSON data in scripts. Not tag or attribute names, other attribute
    values (classes, ids, styles, links), ``<style>`` or ``<script>`` code: those are
    where `max-width`, `main` and `nav` live."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[tuple[int, str]] = []
        self._code: str | None = None  # inside <style> or a <script> that is code

    def _add(self, text: str | None) -> None:
        if text and not text.isspace():
            self.texts.append((self.getpos()[0], text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "style" or (tag == "script" and "json" not in (values.get("type") or "")):
            self._code = tag
        for name, value in attrs:
            if name in _SHOWN_ATTRIBUTES or (tag == "meta" and name == "content"):
                self._add(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._code:
            self._code = None

    def handle_data(self, data: str) -> None:
        if self._code is None:
            self._add(data)

    def handle_comment(self, data: str) -> None:
        self._add(data)

    def unknown_decl(self, data: str) -> None:  # <![CDATA[...]]>
        if self._code is None and data.startswith("CDATA["):
            self._add(data[6:])


def _readable_texts(path: Path) -> list[tuple[int, str]]:
    parser = _ReadableText()
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            parser.feed(decoder.decode(chunk))
    parser.feed(decoder.decode(b"", final=True))
    parser.close()
    return parser.texts


def _scan_markup(
    path: Path, place: str, finder: _Finder, outside: bool, kind: str
) -> list[Violation]:
    """HTML, SVG, XML, CSS and JavaScript: e-mail addresses, hashes, the key and
    pseudonyms anywhere, attributes and code included; names and e-mail local parts only
    in the text a person reads (none in CSS or JavaScript), so that a contributor called
    Max is not found in `max-width`."""
    violations = _scan_text(path, place, finder, outside, names=False)
    if kind != "markup":
        return violations
    hits = _Hits()
    readable = _readable_texts(path)
    for i, found in _screen(finder, [t for _, t in readable], outside, others=False):
        hits.add(found, place, f"line {readable[i][0]}")
    return violations + hits.violations("text")


def _scan_binary(path: Path, place: str, finder: _Finder, outside: bool) -> list[Violation]:
    """Runs of printable text in binary data (what `strings` shows), read in chunks."""
    hits = _Hits()
    offset = 0
    tail = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            data = tail + chunk
            runs = list(_PRINTABLE_RUN.finditer(data))
            texts = [m.group().decode("utf-8", "replace") for m in runs]
            for i, found in _screen(finder, texts, outside):
                hits.add(found, place, f"byte {offset - len(tail) + runs[i].start()}")
            tail = data[-_OVERLAP:]
            offset += len(chunk)
    return hits.violations("place")


def _scan_file(path: Path, place: str, finder: _Finder, outside: bool) -> list[Violation]:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
        if head.startswith(b"PAR1"):
            try:
                return _scan_parquet(path, place, finder, outside)
            except (pa.ArrowException, OSError):
                pass  # not readable as Parquet (a torn .tmp file): scan its bytes instead
        if b"\0" in head:
            return _scan_binary(path, place, finder, outside)
        kind = _MARKUP_SUFFIXES.get(path.suffix.lower())
        if kind is None and _MARKUP_START.match(head):
            kind = "markup"
        if kind is not None:
            return _scan_markup(path, place, finder, outside, kind)
        return _scan_text(path, place, finder, outside)
    except OSError as exc:
        raise AuditError(f"{path}: cannot be read ({exc.strerror})") from None


def _files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                yield path


# --- reading the store ---------------------------------------------------------------------


def _read_part(path: Path, columns: Sequence[str]) -> pa.Table:
    try:
        return pq.read_table(path, columns=list(columns))
    except (pa.ArrowException, OSError) as exc:
        raise StoreError(f"{path}: cannot be read ({exc})") from None


def _listed(store: Store, table: str, columns: Sequence[str]) -> Iterator[tuple[str, pa.Table]]:
    """(repo, rows) of each part file the manifests list for `table`, only `columns`."""
    for repo in store.repos():
        for part in store.manifest(repo).parts.get(table, ()):
            yield repo, _read_part(store.root / repo / part, columns)


def _check_pseudonym_columns(store: Store) -> tuple[list[Violation], set[str]]:
    """Rule 1: person columns hold 32-hex keyed pseudonyms only. Also returns them all."""
    violations = []
    seen: set[str] = set()
    for table, schema in SCHEMAS.items():
        columns = pseudonym_columns(schema)
        if not columns:
            continue
        bad: dict[tuple[str, str], int] = {}
        for repo, rows in _listed(store, table, columns):
            for column in columns:
                values = [v for v in pc.unique(rows[column]).to_pylist() if v is not None]
                seen.update(values)
                wrong = [v for v in values if not _PSEUDONYM_RE.match(v)]
                if wrong:
                    bad[(repo, column)] = bad.get((repo, column), 0) + len(wrong)
        violations += [
            Violation(
                NOT_A_PSEUDONYM,
                f"store/{repo}, table {table}, column {column}",
                f"{n} distinct value{'s' if n != 1 else ''} not shaped like a keyed "
                f"pseudonym ({PSEUDONYM_HEX} lower-case hex characters)",
            )
            for (repo, column), n in sorted(bad.items())
        ]
    return violations, {v for v in seen if _PSEUDONYM_RE.match(v)}


def _available_key(config: Config) -> bytes | None:
    """The key, if one exists. Unlike load_key, never creates a key file."""
    privacy = config.privacy
    if os.environ.get(privacy.key_env) or (privacy.key_file or default_key_file()).exists():
        return load_key(privacy, config.data_dir)
    return None


def _key_matches(store: Store, repo: str, key: bytes) -> bool:
    recorded = store.manifest(repo).state.get("key_check")
    return recorded is None or verify_key_check(key, recorded)


@dataclass(frozen=True)
class _OptOut:
    emails: frozenset[str]  # lower-cased, with every address .mailmap links to them
    logins: frozenset[str]


def _opt_out(config: Config, aliases: Iterable[Alias]) -> _OptOut:
    entries = read_opt_out(config.privacy.opt_out)
    emails = {e for e in entries if "@" in e}
    for alias in aliases:  # as mining.miner: an entry for any address opts out the person
        if alias.raw_email.lower() in emails or alias.email.lower() in emails:
            emails.add(alias.email.lower())
    return _OptOut(frozenset(emails), frozenset(e for e in entries if "@" not in e))


def _opted_out_pseudonyms(opt_out: _OptOut, key: bytes) -> dict[str, str]:
    """pseudonym -> 'an opted-out e-mail' / 'an opted-out login'."""
    names = Pseudonymizer(key)
    found = {names.person("", e): "an opted-out e-mail" for e in opt_out.emails}
    found.update({names.pseudonym(f"github:{x}"): "an opted-out login" for x in opt_out.logins})
    return found


def _check_opt_out(
    store: Store, gone: Mapping[str, str], repos: Collection[str]
) -> list[Violation]:
    violations = []
    ids = pa.array(sorted(gone), pa.string())
    for table, schema in SCHEMAS.items():
        columns = pseudonym_columns(schema)
        if not columns:
            continue
        counts: dict[tuple[str, str], int] = {}
        for repo, rows in _listed(store, table, columns):
            if repo not in repos:
                continue
            for column in columns:
                hit = pc.fill_null(pc.is_in(rows[column], value_set=ids), False)
                n = int(pc.sum(hit).as_py() or 0)
                if n:
                    counts[(repo, column)] = counts.get((repo, column), 0) + n
        violations += [
            Violation(
                OPT_OUT,
                f"store/{repo}, table {table}, column {column}",
                f"{n} row{'s' if n != 1 else ''} of people on the opt-out list",
            )
            for (repo, column), n in sorted(counts.items())
        ]
    return violations


#: Rows that belong to a pull request: gone with it when its author opts out.
_PULL_CHILDREN = ("pull_request_files", "reviews", "review_comments")
#: Rows that belong to a stored commit (one change): gone with it when its author opts out.
_CHANGE_CHILDREN = ("change_features", "changed_functions", "change_labels", "change_reviews")
#: SZZ tables and the columns naming a commit: a row goes when one is not stored.
_SZZ_COMMITS: Mapping[str, tuple[str, ...]] = {
    "szz_links": ("fix_sha", "inducing_sha"),
    "szz_fixes": ("fix_sha",),
}


def _pull_numbers(rows: pa.Table, gone: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(numbers of every stored pull request, numbers of those by opted-out authors)."""
    by_gone = pc.fill_null(pc.is_in(rows["author_id"], value_set=gone), False)
    return pc.unique(rows["number"]), pc.unique(rows.filter(by_gone)["number"])


def _leftovers(
    read: Callable[[str, list[str]], pa.Table], has_rows: Callable[[str], bool], gone: pa.Array
) -> Iterator[tuple[str, pa.Array]]:
    """(table, mask of rows to drop): rows whose pull request or commit is not stored, or
    whose pull request's author opted out. `read(table, columns)` reads one repository."""
    if any(has_rows(t) for t in ("pull_requests", *_PULL_CHILDREN)):
        stored, by_gone = _pull_numbers(read("pull_requests", ["number", "author_id"]), gone)
        for table in _PULL_CHILDREN:
            if has_rows(table):
                number = read(table, ["number"])["number"]
                orphan = pc.invert(pc.is_in(number, value_set=stored))
                yield table, pc.or_(orphan, pc.is_in(number, value_set=by_gone))
    if any(has_rows(t) for t in (*_CHANGE_CHILDREN, *_SZZ_COMMITS)):
        shas = pc.unique(read("commits", ["sha"])["sha"])
        for table in _CHANGE_CHILDREN:
            if has_rows(table):
                yield table, pc.invert(pc.is_in(read(table, ["sha"])["sha"], value_set=shas))
        # SZZ rows naming a commit that is not stored (an opted-out person's: git blame
        # still sees it) as fix or as inducing commit.
        for table, columns in _SZZ_COMMITS.items():
            if has_rows(table):
                rows = read(table, list(columns))
                masks = [pc.invert(pc.is_in(rows[c], value_set=shas)) for c in columns]
                drop = masks[0]
                for mask in masks[1:]:
                    drop = pc.or_(drop, mask)
                yield table, drop


def _check_leftovers(store: Store, gone: Mapping[str, str]) -> list[Violation]:
    ids = pa.array(sorted(gone), pa.string())
    violations = []
    for repo in store.repos():
        root = store.root / repo
        parts = store.manifest(repo).parts

        def read(table: str, columns: list[str], root: Path = root, parts: Any = parts) -> Any:
            files = [_read_part(root / p, columns) for p in parts.get(table, ())]
            return (
                pa.concat_tables(files) if files else SCHEMAS[table].empty_table().select(columns)
            )

        def has_rows(table: str, parts: Any = parts) -> bool:
            return bool(parts.get(table))

        for table, drop in _leftovers(read, has_rows, ids):
            n = int(pc.sum(drop).as_py() or 0)
            if n:
                what = "pull request" if table in _PULL_CHILDREN else "commit"
                violations.append(
                    Violation(
                        OPT_OUT,
                        f"store/{repo}, table {table}",
                        f"{n} row{'s' if n != 1 else ''} of a {what} that is no longer stored "
                        f"or whose author opted out; `teamlens purge` removes them",
                    )
                )
    return violations


def _check_retention(store: Store, days: int, now: dt.datetime) -> list[Violation]:
    cutoff = pa.scalar(now - dt.timedelta(days=days), type=pa.timestamp("s", tz="UTC"))
    violations = []
    for (table, text), when in RETAINED_TEXT.items():
        counts: dict[str, int] = {}
        for repo, rows in _listed(store, table, (when, text)):
            old = pc.fill_null(pc.less(rows[when], cutoff.cast(rows[when].type)), True)
            n = int(pc.sum(pc.and_(old, pc.is_valid(rows[text]))).as_py() or 0)
            if n:
                counts[repo] = counts.get(repo, 0) + n
        violations += [
            Violation(
                RETENTION,
                f"store/{repo}, table {table}, column {text}",
                f"{n} text{'s' if n != 1 else ''} older than {days} days "
                f"(by {when}) still stored; `teamlens purge` clears them",
            )
            for repo, n in sorted(counts.items())
        ]
    return violations


# --- rule 3: team_period --------------------------------------------------------------------


def _check_team_period(config: Config, key: bytes | None) -> tuple[list[Violation], list[str]]:
    """Suppressed rows carry nothing; shown ones pass the disclosure control, recomputed
    from the store and the ledger (dashboard.published_check)."""
    path = config.data_dir / TEAM_PERIOD_FILE
    if not path.exists():
        return [], []
    place = TEAM_PERIOD_FILE.as_posix()
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        return [], [f"{place}: cannot be read as Parquet ({exc}); rule 3 not checked"]
    missing = {"team", "period", "period_start", "suppressed"} - set(table.column_names)
    if missing:
        return [], [f"{place}: no column {', '.join(sorted(missing))}; rule 3 not checked"]
    figures = [c for c in FIGURES if c in table.column_names]
    violations = []
    for row in table.to_pylist():
        if row["suppressed"] is not True:
            continue
        carried = [c for c in figures if row[c] is not None]
        if carried:
            where = f"{place}, team {row['team']!r}, {row['period']} of {row['period_start']}"
            violations.append(
                Violation(SUPPRESSED_FIGURE, where, f"suppressed, yet carries {', '.join(carried)}")
            )
    try:
        problems, notes = check_published(config, key)
    except DatasetError as exc:
        return violations, [f"{place}: the store cannot be read for rule 3 ({exc})"]
    violations += [Violation(p.rule, p.where, p.detail) for p in problems]
    return violations, notes


# --- rule 7: research exports ------------------------------------------------------------

#: The first line of the datasheet `teamlens export` writes beside changes.csv.
_DATASHEET_TITLE = "# Datasheet: teamlens change table"


def _export_tables(outputs: Sequence[Path]) -> list[Path]:
    """The changes.csv of every teamlens export in `outputs` (by the datasheet beside it;
    the header is checked when the table is read)."""
    found: dict[Path, Path] = {}
    for root in outputs:
        for path in _files(root):
            if path.name != "changes.csv":
                continue
            datasheet = path.parent / "datasheet.md"
            try:
                with open(datasheet, encoding="utf-8", errors="replace") as fh:
                    title = fh.readline().rstrip("\r\n")
            except OSError:
                continue
            if title == _DATASHEET_TITLE:
                found.setdefault(path.resolve(), path)
    return list(found.values())


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _check_exports(
    config: Config, store: Store, outputs: Sequence[Path], data_root: Path
) -> tuple[list[Violation], list[str]]:
    """Rule 7: each class of an export (rows with the same quasi-identifiers) has k rows,
    and git's own history (the store's commits and file changes, as ``git log --numstat
    -M`` shows them) holds at least k commits by k people consistent with every range of
    the class: the attacker's count at export time (model.export), recomputed."""
    tables = _export_tables(outputs)
    if not tables:
        return [], []
    import numpy as np  # only when there is an export to read
    import numpy.typing as npt
    import pandas as pd

    from teamlens.model.export import (
        ATTACKER_COLUMNS,
        EXPORT_COLUMNS,
        QUASI_IDENTIFIERS,
        Range,
        git_history,
        read_range,
    )

    k = config.privacy.k
    stored = set(store.repos())
    violations: list[Violation] = []
    unchecked: list[str] = []
    histories: dict[frozenset[str], pd.DataFrame] = {}
    for path in tables:
        real = path.resolve()
        place = (
            real.relative_to(data_root).as_posix() if real.is_relative_to(data_root) else str(path)
        )
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            unchecked.append(f"{place}: cannot be read as CSV ({exc}); rule 7 not checked")
            continue
        if tuple(table.columns) != EXPORT_COLUMNS:
            continue  # not a teamlens export: scanned for identities only
        classes = table.groupby(list(QUASI_IDENTIFIERS), sort=False).indices
        unreadable: list[str] = []
        absent: dict[str, int] = {}
        masks: dict[tuple[frozenset[str], str, str], npt.NDArray[np.bool_]] = {}
        for rows in sorted(classes.values(), key=min):
            first = int(min(rows))
            line = first + 2  # line 1 is the header
            ranges: dict[str, Range] = {}
            texts = {c: str(table.at[first, c]) for c in ATTACKER_COLUMNS}
            for column, text in texts.items():
                try:
                    ranges[column] = read_range(column, text)
                except ValueError:
                    unreadable.append(f"line {line} column {column}")
                    ranges[column] = Range()
            repos = ranges["repo"].names
            missing = sorted((repos or frozenset()) - stored) if repos else ["(none named)"]
            if missing:
                for name in missing:
                    absent[name] = absent.get(name, 0) + len(rows)
                continue
            assert repos is not None
            if repos not in histories:
                histories[repos] = git_history(store, sorted(repos))
            history = histories[repos]
            inside = np.ones(len(history), dtype=np.bool_)
            for column, text in texts.items():
                key = (repos, column, text)
                if key not in masks:  # most classes share some cells: each is read once
                    values = history["time" if column == "period" else column]
                    masks[key] = ranges[column].holds(values)
                inside &= masks[key]
            commits = int(inside.sum())
            people = int(history["person"][inside].nunique())
            if len(rows) < k or commits < k or people < k:
                where = f"{place}, line {line}"
                if len(rows) > 1:
                    where += f" (the first of {len(rows)} rows with the same values)"
                violations.append(
                    Violation(
                        LINKABLE_EXPORT,
                        where,
                        f"a class of {_plural(len(rows), 'row')} that git's history narrows "
                        f"to {_plural(commits, 'commit')} by "
                        f"{_plural(people, 'person', 'people')} (k = {k})",
                    )
                )
        if unreadable:
            unchecked.append(
                f"{place}: {_plural(len(unreadable), 'cell')} teamlens does not write "
                f"(first: {unreadable[0]}), read as saying nothing about the change"
            )
        unchecked += [
            f"{place}: repository {name!r} is not in the store, so the linkability of its "
            f"{_plural(n, 'row')} (rule 7) is not checked"
            for name, n in sorted(absent.items())
        ]
    return violations, unchecked


# --- the audit ----------------------------------------------------------------------------


def audit(
    config: Config,
    outputs: Sequence[Path] = (),
    allow: Collection[str] = (),
    now: dt.datetime | None = None,
) -> AuditReport:
    """Check data_dir and `outputs` (files or folders) against the privacy rules.

    `allow` lists words or names that are not identities although a contributor's name or
    e-mail local part is spelled the same (an ordinary word such as "mark"); e-mail
    addresses and hashes are always reported.

    Raises
    ------
    AuditError
        An output does not exist or cannot be read.
    RepositoryError, StoreError, KeyFileError, ConfigError
        A repository, the store, the key or the opt-out file cannot be read.
    """
    now = now or dt.datetime.now(dt.UTC)
    for output in outputs:
        if not output.exists():
            raise AuditError(f"{output}: no such file or folder to audit")
    store = Store(config.data_dir)
    people = _people(config)
    unchecked = list(people.unchecked)
    violations: list[Violation] = []

    shape, pseudonyms = _check_pseudonym_columns(store)
    violations += shape
    key = _available_key(config)
    opt_out = _opt_out(config, people.aliases)
    if opt_out.emails or opt_out.logins:
        if key is None:
            unchecked.append(
                f"opt-out (rule 4): no key (${config.privacy.key_env} unset and no key file), "
                "so the pseudonyms of opted-out people cannot be computed"
            )
        else:
            matching = [r for r in store.repos() if _key_matches(store, r, key)]
            unchecked += [
                f"opt-out (rule 4) in repository {r!r}: the store was written with another key"
                for r in store.repos()
                if r not in matching
            ]
            violations += _check_opt_out(store, _opted_out_pseudonyms(opt_out, key), matching)
    usable_gone = _opted_out_pseudonyms(opt_out, key) if key is not None else {}
    violations += _check_leftovers(store, usable_gone)
    if opt_out.emails and any(r.github for r in config.repositories):
        unchecked.append(
            "opt-out by e-mail for GitHub rows: a login's profile e-mail is not in the store "
            "(only `teamlens mine` can match it, from GitHub)"
        )
    violations += _check_retention(store, config.privacy.retention_days, now)
    team_violations, team_notes = _check_team_period(config, key)
    violations += team_violations
    unchecked += team_notes

    finder = _Finder(people.pairs, allow, pseudonyms, key)
    store_root = store.root.resolve()
    data_root = config.data_dir.resolve()
    export_violations, export_notes = _check_exports(config, store, outputs, data_root)
    violations += export_violations
    unchecked += export_notes
    seen: set[Path] = set()
    roots = [config.data_dir, *outputs] if config.data_dir.exists() else list(outputs)
    for root in roots:
        for path in _files(root):
            real = path.resolve()
            if real in seen:
                continue
            seen.add(real)
            inside = real.is_relative_to(data_root)
            place = real.relative_to(data_root).as_posix() if inside else str(path)
            outside = not real.is_relative_to(store_root)
            violations += _scan_file(path, place, finder, outside)
    if any(r.github for r in config.repositories):
        unchecked.append(
            "GitHub logins: git does not record them, so a raw login is found only where it "
            "is also a name or e-mail local part in git"
        )
    return AuditReport(tuple(violations), tuple(unchecked), len(seen), config.privacy.k)


# --- purge --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepoPurge:
    repo: str
    texts_cleared: int = 0  # review and review-comment bodies past retention set to null
    github_rows_removed: int = 0  # pull requests, reviews, comments by opted-out logins
    git_rows_removed: int = 0  # commits and file changes by opted-out e-mails
    derived_rows_removed: int = 0  # rows of pull requests or commits no longer stored

    @property
    def rows_changed(self) -> int:
        return (
            self.texts_cleared
            + self.github_rows_removed
            + self.git_rows_removed
            + self.derived_rows_removed
        )


@dataclass(frozen=True)
class PurgeReport:
    repos: tuple[RepoPurge, ...]
    retention_days: int
    unchecked: tuple[str, ...] = ()
    models_removed: bool = False  # models trained before the opt-out list changed

    @property
    def rows_changed(self) -> int:
        return sum(r.rows_changed for r in self.repos)

    def render(self) -> str:
        # No count of opted-out people's rows: it would say how much one person did.
        lines = [
            f"{r.repo}: {r.texts_cleared} review texts older than {self.retention_days} days "
            "cleared"
            + (
                "; opt-out applied"
                if r.github_rows_removed or r.git_rows_removed or r.derived_rows_removed
                else ""
            )
            for r in self.repos
        ]
        if not self.repos:
            lines.append("nothing stored yet")
        lines += [f"not purged: {note}" for note in self.unchecked]
        if self.models_removed:
            lines.append(
                "opt-out applied: models trained before it were removed; `teamlens train` "
                "(or `teamlens run`) trains a new one"
            )
        if self.rows_changed:
            lines.append(
                "aggregates and exports built before this purge still reflect the removed "
                "rows: rebuild them"
            )
        return "\n".join(lines) + "\n"


def _no_profile(login: str) -> tuple[str | None, str | None]:
    return None, None  # offline: matching GitHub profiles' e-mails is `mine`'s job


_TEXT_KEYS = {"reviews": "review_id", "review_comments": "comment_id"}


def _texts(writer: RepoWriter) -> dict[tuple[str, int, int, int], bool]:
    """(table, number, fetch_id, id) -> whether the row holds text."""
    found = {}
    for table, ident in _TEXT_KEYS.items():
        if writer.has_rows(table):
            rows = writer.read(table, ["number", "fetch_id", ident, "body"])
            for number, fetch, row_id, body in zip(
                *(rows[c].to_pylist() for c in rows.column_names), strict=True
            ):
                found[(table, number, fetch, row_id)] = body is not None
    return found


def _drop_leftovers(writer: RepoWriter, gone: pa.Array) -> int:
    replaced = {}
    removed = 0
    for table, drop in list(_leftovers(writer.read, writer.has_rows, gone)):
        if pc.any(drop).as_py():
            data = writer.read(table)
            replaced[table] = data.filter(pc.invert(drop))
            removed += data.num_rows - replaced[table].num_rows
    if replaced:
        writer.replace(replaced, writer.manifest.state, purge=True)
    return removed


def purge(config: Config) -> PurgeReport:
    """Apply privacy.retention_days and the opt-out list to every stored repository now.

    The miners' own purges do the work (``teamlens.mining.github.purge_pull_requests`` for
    GitHub rows and review text past retention, ``teamlens.mining.miner.purge_opted_out``
    for commits), so the
    result is what the next ``mine`` would do; then the rows that belonged to removed
    pull requests or commits (files, reviews and comments of the pull request, features
    and labels of the change) go too. Replaced part files are deleted at once.

    Raises
    ------
    StoreError
        Another process is writing a repository (its lock is held).
    KeyFileError, ConfigError, RepositoryError
        The key, the opt-out file or a repository cannot be read.
    """
    from teamlens.mining.github import Actors, purge_pull_requests
    from teamlens.mining.miner import opt_out_fingerprint, purge_opted_out
    from teamlens.mining.ranges import staging_dir
    from teamlens.model.registry import Registry, retire_models

    store = Store(config.data_dir)
    key = _available_key(config)
    entries = read_opt_out(config.privacy.opt_out)
    people = (
        _people(config) if any("@" in e for e in entries) else _People(frozenset(), frozenset(), ())
    )
    opt_out = _opt_out(config, people.aliases)
    wanted = bool(opt_out.emails or opt_out.logins)
    unchecked = list(people.unchecked)
    if key is None and wanted:
        unchecked.append("opt-out: no key, so the pseudonyms of opted-out people are unknown")
    results = []
    for repo in store.repos():
        usable = key is not None and _key_matches(store, repo, key)
        if key is not None and not usable and wanted:
            unchecked.append(f"opt-out in repository {repo!r}: written with another key")
        names = Pseudonymizer(key if key is not None else b"")  # unused without opt-outs
        logins = opt_out.logins if usable else frozenset()
        emails = opt_out.emails if usable else frozenset()
        actors = Actors(names, frozenset(config.github.bots), logins, frozenset(), _no_profile)
        gone = pa.array(sorted(actors.pseudonym(x) for x in logins), pa.string())
        with store.writer(repo) as writer:
            texts = _texts(writer)
            github_removed = purge_pull_requests(writer, actors, config.privacy.retention_days)
            git_removed = purge_opted_out(writer, frozenset(names.person("", e) for e in emails))
            derived = _drop_leftovers(writer, gone)
            cleared = sum(1 for row, has in _texts(writer).items() if texts.get(row) and not has)
            if usable and key is not None:
                # The opt-out list this repository's rows are now purged under (as `mine`
                # records it): models trained from them carry it (model.registry).
                fingerprint = opt_out_fingerprint(key, entries)
                if writer.manifest.state.get("opt_out") != fingerprint:
                    writer.commit({}, {**writer.manifest.state, "opt_out": fingerprint})
        if wanted:  # ranges of a split first mining staged before the opt-out hold rows too
            shutil.rmtree(staging_dir(config.data_dir, repo), ignore_errors=True)
        results.append(RepoPurge(repo, cleared, github_removed, git_removed, derived))
    models_removed = False
    if key is not None:
        fingerprint = opt_out_fingerprint(key, entries)
        registry = Registry.for_data_dir(config.data_dir)
        models_removed = bool(retire_models(registry, fingerprint, not entries))
    return PurgeReport(
        tuple(results), config.privacy.retention_days, tuple(unchecked), models_removed
    )


# --- the inventory -------------------------------------------------------------------------

_TABLE_NOTES: Mapping[str, str] = {
    "commits": "One row per mined commit; authors and committers as pseudonyms only",
    "file_changes": "One row per file a non-merge commit touched",
    "lost_commits": "Commits a force-push or deleted branch dropped, and their return",
    "szz_links": "SZZ: which earlier commit a fix's removed lines came from",
    "szz_fixes": "SZZ: each fix processed, per variant",
    "change_features": "Per-change features (no per-person metric); owning teams by path",
    "changed_functions": "Per change, each changed function and its complexity",
    "change_labels": "Per change: defect-inducing or not (after the maturity window)",
    "change_reviews": "Per change merged through a pull request: review counts and times",
    "pull_requests": "Per pull request fetch: state, sizes, times; author as a pseudonym",
    "pull_request_files": "Per pull request fetch and file: sizes and the patch",
    "reviews": "Per review: state, time; reviewer as a pseudonym",
    "review_comments": "Per review comment: position, diff hunk, text; author as a pseudonym",
}


def _mode(path: Path) -> str:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return "does not exist yet"
    who = "every local user" if mode & stat.S_IROTH else "its owner and group"
    if not mode & (stat.S_IROTH | stat.S_IRGRP):
        who = "its owner only"
    return f"mode {mode:o}: readable by {who}"


def _codes(names: Iterable[str]) -> str:
    listed = [f"`{n}`" for n in names]
    return ", ".join(listed) if listed else "none"


def _rows(store: Store, table: str) -> tuple[int, int]:
    """(rows, repositories) of a stored table, from the Parquet footers."""
    rows = repos = 0
    for repo in store.repos():
        parts = store.manifest(repo).parts.get(table, ())
        if parts:
            repos += 1
        for part in parts:
            try:
                rows += pq.ParquetFile(store.root / repo / part).metadata.num_rows
            except (pa.ArrowException, OSError):
                continue
    return rows, repos


def inventory(config: Config) -> str:
    """A Markdown data inventory, generated from the schemas and repos.yaml; never the key."""
    from teamlens.model.export import EXPORT_COLUMNS  # pandas: only for this page

    privacy = config.privacy
    store = Store(config.data_dir)
    data_dir = config.data_dir
    key_file = privacy.key_file or default_key_file()
    env_set = bool(os.environ.get(privacy.key_env))
    key_where = (
        f"environment variable `{privacy.key_env}` (set)"
        if env_set
        else f"key file `{key_file}` ({_mode(key_file)}); "
        f"environment variable `{privacy.key_env}` not set"
    )
    text_days = privacy.retention_days
    out = [
        "# Data inventory",
        "",
        f"Generated from the code's schemas and `{config.path}`. Every person is stored as "
        "a keyed pseudonym (HMAC-SHA256 with the key below, 32 hex characters) that exists "
        "only to count distinct people; no output is keyed, grouped or filtered by it.",
        "",
        "## Where it lives",
        "",
        "| what | where | who can read it |",
        "|---|---|---|",
        f"| facts (the store) | `{store.root}/<repo>/` | whoever can read the data folder "
        f"`{data_dir}` ({_mode(data_dir)}); `teamlens query` reads every table |",
        f"| team aggregate | `{data_dir / TEAM_PERIOD_FILE}` | the data folder's readers; the "
        "served page and the HTML report show only this table |",
        f"| reports | `{data_dir / 'reports'}/` by default (the HTML report and its CSV files) "
        "| whoever receives them; built from `team_period` only |",
        f"| models | `{data_dir / 'models'}/<id>/` (model.txt, meta.json, card.md) | the data "
        "folder's readers; no pseudonym, no commit id |",
        "| exports | the folder given to `teamlens export --out` (changes.csv, datasheet.md) "
        "| whoever receives them; no pseudonym, commit id or team |",
        f"| clones | `{config.clones_dir}/<repo>` (`url:` repositories) and "
        f"`{config.clones_dir}/.graphs/<repo>/` | its readers; a clone is the repository "
        "itself, with every name and e-mail git records |",
        f"| pseudonymisation key | {key_where} | its owner; outside the data folder, never "
        "printed, never stored with the data |",
        f"| opt-out list | `{privacy.opt_out}` | its readers |"
        if privacy.opt_out
        else "| opt-out list | none configured (`privacy.opt_out`) | — |",
        "",
        "## Retention",
        "",
        f"- Review and review-comment text (`reviews.body`, `review_comments.body`): "
        f"{text_days} days (`privacy.retention_days`) after it was written; older text is "
        "not stored, and is cleared on every `teamlens mine` and by `teamlens purge`.",
        "- Everything else is kept until the data folder is deleted: facts are append-only. "
        "Pull request titles, diff hunks and patches are kept scrubbed.",
        "- People on the opt-out list are removed from every table on the next `mine` or "
        "`purge`; rebuild aggregates and models afterwards.",
        f"- Team figures (`team_period`) need at least k = {privacy.k} distinct people; "
        "smaller cells are suppressed, never shown as zero.",
        "",
        "## Tables in the store",
        "",
        "Pseudonyms: keyed HMAC, for counting people only. Text: scrubbed of known names, "
        "e-mail local parts, any e-mail address (and @mentions, for GitHub text).",
    ]
    for table, schema in SCHEMAS.items():
        people = pseudonym_columns(schema)
        texts = text_columns(schema)
        facts = [n for n in schema.names if n not in people and n not in texts]
        rows, repos = _rows(store, table)
        retained = [
            f"`{t}` for {text_days} days (by `{w}`)"
            for (name, t), w in RETAINED_TEXT.items()
            if name == table
        ]
        out += [
            "",
            f"### `{table}`",
            "",
            f"{_TABLE_NOTES.get(table, 'Facts mined or derived from git and GitHub')}. "
            f"`{store.root}/<repo>/{table}/*.parquet` (only the files manifest.json lists); "
            f"now {rows} row{'s' if rows != 1 else ''} in {repos} "
            f"repositor{'ies' if repos != 1 else 'y'}.",
            "",
            f"- Facts: {_codes(facts)}",
            f"- Pseudonyms: {_codes(people)}",
            f"- Text (scrubbed): {_codes(texts)}",
            f"- Kept: {'; '.join(retained) + ', the rest ' if retained else ''}until the data "
            "folder is deleted; opted-out people's rows removed.",
        ]
    dims = [n for n in TEAM_PERIOD_SCHEMA.names if n not in FIGURES]
    out += [
        "",
        "## Aggregates",
        "",
        f"### `team_period` (`{data_dir / TEAM_PERIOD_FILE}`)",
        "",
        "Team-level figures per week or month; the only table the served page, the HTML "
        f"report and its CSV files read. A row has at least k = {privacy.k} distinct people "
        "behind it, or is suppressed with every figure null.",
        "",
        f"- Dimensions: {_codes(dims)}",
        f"- Figures: {_codes(FIGURES)}",
        "- Pseudonyms: none",
        "- Text: none (`hotspots` are file paths)",
        "- Kept: until rebuilt or the data folder is deleted.",
        "",
        "## Exports",
        "",
        f"`teamlens export`: `changes.csv` with {_codes(EXPORT_COLUMNS)}, and "
        "`datasheet.md`. No pseudonym, commit id, team or text; every other column is a "
        "range shared by at least k changes of at least k people (k-anonymous).",
        "",
        "## Manifests",
        "",
        f"`{store.root}/<repo>/{MANIFEST}`: the part files of each table, the refs mined "
        "and their commits, and a 16-hex fingerprint of the key (HMAC of a fixed label), "
        "which cannot be turned back into the key.",
    ]
    return "\n".join(out) + "\n"
