"""The file-scan engine: raw identities of known people, any e-mail address, plain
(unkeyed) hashes of identities, the key and pseudonyms, found in any file (Parquet,
text, markup, binary). What it finds is counted, never kept."""

from __future__ import annotations

import codecs
import hashlib
import os
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from teamlens.audit.common_words import common_words
from teamlens.audit.rules import (
    KEY_EXPOSED,
    PLAIN_HASH,
    PSEUDONYM_OUTSIDE,
    RAW_IDENTITY,
    AuditError,
    Violation,
)
from teamlens.privacy import GITHUB_NOREPLY_DOMAIN, normalise_identity

# --- identities that are not people ------------------------------------------------------

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
#: (rule, kind, shown): what was found; `shown` is the matched word(s) of a name or local part
Finding = tuple[str, str, str]
_MIN_WORD_CHARS = 3  # as teamlens.privacy.Scrubber: shorter names and local parts are noise
# --- finding identities in text ----------------------------------------------------------

_WORD_RE = re.compile(r"\w+")
_GLUE = frozenset("./-_")  # characters that join words into one code token or path
_EMAIL_CANDIDATE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*")
_SCALE_SUFFIX = re.compile(r"^\d+(?:\.\d+)?x\.")  # icon@2x.png is a file, not an address
_HEX_RUN = re.compile(r"(?<![0-9a-f])[0-9a-f]{16,}(?![0-9a-f])")
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
        common: frozenset[str] | None = None,
    ) -> None:
        """`allow`: words or names never looked for; `common`: ordinary words (default:
        teamlens.audit.common_words), looked for only as part of a longer name."""
        self.emails: set[str] = set()
        self.sequences: dict[tuple[str, ...], str] = {}
        self.digests: dict[str, str] = {}
        allowed = {_words(a) for a in allow}
        self.common = common if common is not None else common_words()
        self.ordinary: set[tuple[str, ...]] = set()  # one-word identities not looked for
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
        if domain == GITHUB_NOREPLY_DOMAIN and "+" in local:  # 12345+login@users.noreply...
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
                if len(seq) == 1 and seq[0] in self.common:
                    self.ordinary.add(seq)
                else:
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
    ) -> set[Finding]:
        """(rule, kind, shown) of everything found in `text`.

        `shown` is the matched word of a one-word name or e-mail local part (lower case),
        so that the operator can judge an ordinary word and allow it, or the initials of
        a name of several words; it is empty for the key, e-mail addresses, hashes and
        pseudonyms, which are never repeated.
        `names`: look for names and e-mail local parts (word sequences); `others`: for
        everything else (the key, e-mail addresses, plain hashes, pseudonyms).
        """
        found: set[Finding] = set()
        if others and self.key is not None and self.key in text:
            found.add((KEY_EXPOSED, "the pseudonymisation key", ""))
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
                    found.add((RAW_IDENTITY, kind, ""))
                # One finding per address: its local part is not reported again below.
                low = low[: m.start()] + " " * (m.end() - m.start()) + low[m.end() :]
        if not others:
            return self._word_sequences(low) if names and self.by_first else found
        for m in _HEX_RUN.finditer(low):
            run = m.group()
            for candidate in (run, *(run[:n] for n in (64, 40, 32, 16) if n < len(run))):
                hit = self.digests.get(candidate)
                if hit is not None:  # the longest match only: one finding per hash
                    found.add((PLAIN_HASH, hit, ""))
                    break
            if outside_store and run in self.pseudonyms:
                found.add((PSEUDONYM_OUTSIDE, "a pseudonym from the store", ""))
        if names and self.by_first:
            found |= self._word_sequences(low)
        return found

    def _word_sequences(self, low: str) -> set[Finding]:
        """Whole names and e-mail local parts: a match glued to more of a token by
        ``.``, ``/``, ``-`` or ``_`` (``max-width``, ``src/flask/main.py``) is part of
        code or a path, not someone's name."""
        found: set[Finding] = set()
        if self.by_first.keys().isdisjoint(_WORD_RE.findall(low)):  # the common case, in C
            return found
        spans = [(m.group(), m.start(), m.end()) for m in _WORD_RE.finditer(low)]
        words = [w for w, _, _ in spans]
        for i, word in enumerate(words):
            for n in self.by_first.get(word, ()):
                seq = tuple(words[i : i + n])
                kind = self.sequences.get(seq)
                last = i + len(seq) - 1  # near the end, seq may be shorter than n
                if kind is not None and not _glued(low, spans[i][1], spans[last][2]):
                    found.add((RAW_IDENTITY, kind, _shown(seq)))
                    break
        return found


def _shown(seq: tuple[str, ...]) -> str:
    """What the report repeats of a match: a single word in full (it may be an ordinary
    word the operator wants to allow); a name of several words only by its initials
    (``b** b******``), since it is someone's whole name."""
    if len(seq) == 1:
        return seq[0]
    return " ".join(w[0] + "*" * (len(w) - 1) for w in seq)


def _glued(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] continues a longer token on either side."""
    before = start >= 2 and text[start - 1] in _GLUE and text[start - 2].isalnum()
    after = end + 1 < len(text) and text[end] in _GLUE and text[end + 1].isalnum()
    return before or after


# --- scanning files ----------------------------------------------------------------------

_PRINTABLE_RUN = re.compile(rb"(?:[\x20-\x7e\t]|[\xc2-\xf4][\x80-\xbf]{1,3}){6,}")
_CHUNK = 1 << 20
_OVERLAP = 512


class _Hits:
    """Findings grouped per (rule, place, kind, shown), with a count and the first location."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str, str, str], list[Any]] = {}

    def add(self, found: Iterable[Finding], place: str, location: str = "") -> None:
        for rule, kind, shown in found:
            entry = self._hits.setdefault((rule, place, kind, shown), [location, 0])
            entry[1] += 1

    def violations(self, unit: str) -> list[Violation]:
        out = []
        for (rule, place, kind, shown), (location, count) in self._hits.items():
            where = f"{place}, {location}" if location else place
            what = f'"{shown}": {kind}' if shown else kind
            out.append(
                Violation(rule, where, f"{what} ({count} {unit}{'s' if count != 1 else ''})")
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
) -> Iterator[tuple[int, set[Finding]]]:
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
