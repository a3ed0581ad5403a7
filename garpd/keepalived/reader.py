"""Read keepalived.conf: the language, not its meaning.

This module owns keepalived's tokenizer and reader (``lib/parser.c``: ``read_line``,
``decomment``, ``alloc_strvec``, ``process_stream``) as garpd follows it: ``{`` ``}``
blocks, ``#`` / ``!`` comments, double-quoted words, ``include`` with glob and ``{a,b}``
patterns, ``@ID`` / ``@^ID`` conditional lines, and ``$NAME=value`` definitions. It builds a
tree of :class:`Node` statements; :mod:`garpd.keepalived.importer` gives them meaning.
"""

from __future__ import annotations

import fnmatch
import itertools
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

#: Bounds that keep a hostile or broken include tree from running away.
MAX_FILE_SIZE: Final = 4 << 20
MAX_TOTAL_SIZE: Final = 32 << 20
MAX_FILES: Final = 512
MAX_INCLUDE_DEPTH: Final = 16
MAX_NOTES: Final = 500
MAX_BRACE_EXPANSIONS: Final = 256
#: An include pattern: at most PATH_MAX bytes and this many ``{`` (a 16 kB line of ``{``
#: took 7 s to expand before: no file name is that long).
MAX_INCLUDE_PATTERN: Final = 4096
MAX_BRACE_GROUPS: Final = 64
#: ``$NAME`` substitution: no line grows past this, and all substitution in one import
#: produces at most MAX_EXPANDED bytes in at most MAX_SUBSTITUTIONS replacements plus one
#: per two characters read (a reference written out is at least ``$A``: a big generated
#: file may use one per line; only nesting multiplies them). A 35-byte ``$A=$A $A ...``
#: file would otherwise grow tenfold per round; a 3 kB file of ``$A`` lines each just
#: under MAX_LINE took 10 s when only 64 MB in all was the bound (a replacement costs
#: ~1 us). keepalived itself has no bound; it runs out of memory.
MAX_LINE: Final = 64 << 10
MAX_EXPANDED: Final = 1 << 20
MAX_SUBSTITUTIONS: Final = 20_000
#: An include pattern's walk: at most this many directory entries looked at in all, and
#: at most this many path components holding a wildcard (``/*/*/*/...``).
MAX_GLOB_ENTRIES: Final = 20000
MAX_GLOB_DEPTH: Final = 8

#: Blocks open at once: keepalived.conf nests four deep at most (vrrp_instance,
#: virtual_ipaddress; virtual_server, real_server, a checker); a line of 50,000 '{' (one
#: ``$`` definition expanded) would otherwise open 50,000 blocks, 0.2 s of work.
MAX_BLOCK_DEPTH: Final = 64

#: Linux IFNAMSIZ - 1.
MAX_IFNAME: Final = 15
WS: Final = " \t\n\r\v\f"
_DEFINITION = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)=[ \t]*(.*)\Z", re.S | re.A)
_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)(?=[ \t,)]|\Z)",
                        re.A)
_INCLUDE = re.compile(r"include[rmwba]?[ \t\n\r\v\f]+(.*)\Z", re.S)
_GLOB_MAGIC = re.compile(r"[*?[]")
_BRACES = re.compile(r"([{}])")
_BRACE_OR_COMMA = re.compile(r"[{},]")
_SPECIAL = re.compile(r'["\\#!]')
_BLANKS = re.compile(r"[ \t\n\r\v\f]+")
#: A line the reader takes on its fast path: none of the characters that need
#: decomment, preprocess or a careful split (quote, escape, comment, $, @, ~, blanks
#: other than space and tab), and not empty of words only by accident.
_PLAIN = re.compile("[^\"\\\\#!$@~\n\r\v\f\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029"
                    "\u202f\u205f\u3000]*")
#: An interface name in printable ASCII without '/' and ':' (valid_ifname's fast path).
_IFNAME = re.compile(r"[!-.0-9;-~]{1,15}")
#: Characters str.split() treats as blanks that keepalived does not.
_ODD_BLANKS = re.compile("[\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
                         "\u205f\u3000]")


@dataclass(frozen=True, slots=True)
class Limits:
    """The bounds on one import's work (tests make them small; the defaults are generous)."""

    max_line: int = MAX_LINE
    max_expanded: int = MAX_EXPANDED
    max_substitutions: int = MAX_SUBSTITUTIONS
    max_glob_entries: int = MAX_GLOB_ENTRIES
    max_glob_depth: int = MAX_GLOB_DEPTH
    max_block_depth: int = MAX_BLOCK_DEPTH


class LimitError(Exception):
    """A bound on the work one import may do was hit; ``line`` is ``FILE:LINE: what``."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


class KeepalivedConfError(Exception):
    """keepalived.conf itself could not be read; ``lines`` says why, one line each."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines: list[str] = list(lines)
        super().__init__("\n".join(self.lines))


def default_config_id(config_id: str | None) -> str:
    if config_id is not None:
        return config_id
    return os.uname().nodename.split(".", 1)[0]


# --- reading files ----------------------------------------------------------------------


class ReadError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_bytes(path: Path) -> tuple[bytes, int]:
    """The bytes and st_mode of the regular file ``path``, or :class:`ReadError`."""
    try:
        # O_NONBLOCK: a FIFO named by mistake must not hang; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ReadError("no such file") from None
    except IsADirectoryError:
        raise ReadError("is a directory, not a configuration file") from None
    except PermissionError:
        raise ReadError("permission denied") from None
    except (OSError, ValueError) as exc:
        raise ReadError(f"cannot open: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ReadError("is a directory, not a configuration file")
        if not stat.S_ISREG(info.st_mode):
            raise ReadError("not a regular file")
        if info.st_size > MAX_FILE_SIZE:
            raise ReadError(f"too large ({info.st_size} bytes; at most {MAX_FILE_SIZE})")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_FILE_SIZE + 1)
        if len(data) > MAX_FILE_SIZE:
            raise ReadError(f"too large (more than {MAX_FILE_SIZE} bytes)")
        return data, info.st_mode
    except OSError as exc:
        raise ReadError(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


# --- the language: lines, comments, braces, includes -> a tree of statements ------------


@dataclass(slots=True)
class Node:
    """One statement: its words, where it is, and its ``{ }`` block if it has one.

    The place is kept as file name and line number; :attr:`where` (``FILE:LINE``) is
    made when asked for (a 40,000-instance file has a quarter of a million statements).
    """

    words: tuple[str, ...]
    source: str
    line: int = 0
    block: list[Node] | None = None
    opened: str = ""

    @property
    def where(self) -> str:
        """``FILE:LINE`` of the statement."""
        return f"{self.source}:{self.line}" if self.line else self.source


class Reader:
    """keepalived's read_line/alloc_strvec/process_stream, building a :class:`Node` tree."""

    def __init__(self, config_id: str, limits: Limits | None = None,
                 on_top: Callable[[Node], None] | None = None) -> None:
        """``on_top``: called with each top-level statement once it is complete (its block
        closed, or the next statement begun); the tree then keeps none of them, so that
        memory does not grow with the file. Without it, :meth:`finish` returns them."""
        self.on_top = on_top
        self.pending: Node | None = None  # the last top-level statement, not yet handed on
        self.source = ""
        self.number = 0
        self.config_id = config_id
        self.limits = Limits() if limits is None else limits
        self.notes: list[str] = []
        self.dropped = 0
        self.files: list[str] = []
        self.definitions: dict[str, str] = {"_HASH": "#", "_BANG": "!",
                                            "_INSTANCE": config_id}
        self.root = Node((), "", 0, [])
        self.stack: list[Node] = [self.root]
        self.last: Node | None = None  # the statement a following "{" belongs to
        self.including: list[str] = []
        self.total = 0
        self.in_definition = False
        self.glob_entries = 0
        self.expanded = 0
        self.substitutions = 0
        self.read = 0  # characters of text read, every file

    def note(self, where: str, text: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(sanitize(f"{where}: {text}"))
        else:
            self.dropped += 1

    def limit(self, where: str, text: str) -> LimitError:
        """The error that ends the import: a bound was hit at ``where``."""
        return LimitError(sanitize(f"{where}: {text}"))

    # files ---------------------------------------------------------------------------

    def read_file(self, path: Path, raw: bytes, where: str | None) -> None:
        """Parse ``raw`` (the content of ``path``), included from ``where`` (None: main)."""
        name = str(path)
        try:
            key = str(path.resolve())
        except (OSError, RuntimeError, ValueError):
            key = name
        if key in self.including:
            self.note(where or name, f"include {name}: includes itself (directly or through "
                      "other files); not read again")
            return
        if len(self.including) >= MAX_INCLUDE_DEPTH:
            raise self.limit(where or name, f"include {name}: includes nested more than "
                             f"{MAX_INCLUDE_DEPTH} deep; keepalived.conf refused")
        self.total += len(raw)
        if where is not None:
            self.files.append(name)
        else:
            self.files.insert(0, name)
        self.including.append(key)
        try:
            text = raw.decode("utf-8", errors="replace")
            self.read_text(text, name, path.parent)
        finally:
            self.including.pop()

    def include(self, pattern: str, where: str, directory: Path) -> None:
        if not pattern:
            self.note(where, "include without a file name; ignored")
            return
        if len(pattern) > MAX_INCLUDE_PATTERN or pattern.count("{") > MAX_BRACE_GROUPS:
            raise self.limit(where, f"include {pattern[:80]}...: longer than "
                             f"{MAX_INCLUDE_PATTERN} bytes or more than {MAX_BRACE_GROUPS} "
                             "'{'; keepalived.conf refused")
        for alternative in _expand_braces(pattern):
            full = alternative if alternative.startswith("/") else str(directory / alternative)
            if _GLOB_MAGIC.search(full):
                found = self.glob(full, pattern, where)
                if not found:
                    self.note(where, f"include {pattern}: no file matches {full}")
                paths = found
            else:
                paths = [full]
            for each in paths:
                self.include_file(Path(each), pattern, where)

    def glob(self, full: str, pattern: str, where: str) -> list[str]:
        """glob(3) for one include pattern, with a bound on the entries and wildcard levels
        it may walk; hitting a bound ends the import (:class:`LimitError`)."""
        parts = full.split("/")
        wild = sum(1 for part in parts if _GLOB_MAGIC.search(part))
        if wild > self.limits.max_glob_depth:
            raise self.limit(where, f"include {pattern}: {wild} wildcard levels (at most "
                             f"{self.limits.max_glob_depth}); keepalived.conf refused")
        current = ["/" if full.startswith("/") else ""]
        for index, part in enumerate(parts):
            if not part:
                continue
            last = index == len(parts) - 1
            following: list[str] = []
            for base in current:
                if not _GLOB_MAGIC.search(part):
                    candidate = os.path.join(base, part)
                    if os.path.lexists(candidate):
                        following.append(candidate)
                    continue
                try:
                    with os.scandir(base or ".") as entries:
                        for entry in entries:
                            self.glob_entries += 1
                            if self.glob_entries > self.limits.max_glob_entries:
                                most = self.limits.max_glob_entries
                                raise self.limit(where, f"include {pattern}: more than "
                                                 f"{most} directory entries walked; "
                                                 "keepalived.conf refused")
                            name = entry.name
                            if name.startswith(".") and not part.startswith("."):
                                continue
                            if not fnmatch.fnmatchcase(name, part):
                                continue
                            if not last and not _is_dir(entry):
                                continue
                            following.append(os.path.join(base, name))
                except (OSError, ValueError):
                    continue
            current = sorted(following)
            if not current:
                return []
        return current

    def include_file(self, path: Path, pattern: str, where: str) -> None:
        if len(self.files) >= MAX_FILES or self.total >= MAX_TOTAL_SIZE:
            raise self.limit(where, f"include {pattern}: {path} would be more than "
                             f"{MAX_FILES} files or {MAX_TOTAL_SIZE} bytes in all; "
                             "keepalived.conf refused")
        try:
            raw, mode = read_bytes(path)
        except ReadError as exc:
            if exc.reason == "permission denied":
                # keepalived (as root) would read it: importing the rest would silently
                # drop part of the configuration.
                raise self.limit(where, f"include {pattern}: {path}: permission denied "
                                 "(garpd's user cannot read it)") from None
            self.note(where, f"include {pattern}: {path}: {exc.reason}; skipped")
            return
        if mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
            self.note(where, f"include {pattern}: {path} is executable, which keepalived "
                      "refuses to read; skipped")
            return
        self.read_file(path, raw, where)

    # lines ---------------------------------------------------------------------------

    def read_text(self, text: str, name: str, directory: Path) -> None:
        self.read += len(text)
        self.definitions["_PWD"] = str(directory)
        if text.startswith("\ufeff"):
            # A UTF-8 byte-order mark (Windows editors write one): keepalived 2.2 would
            # read it as part of the first keyword; garpd drops it and says so.
            self.note(f"{name}:1", "UTF-8 byte-order mark at the start of the file; "
                      "ignored (keepalived 2.2 would not recognise the first keyword)")
            text = text[1:]
        plain = _PLAIN.fullmatch
        braces = _BRACES.split
        stack = self.stack
        number = 0
        for raw in _lines(text):
            number += 1
            if not self.in_definition:
                line = raw.rstrip("\r").lstrip(" \t")
                if plain(line) is not None and not line.startswith("include"):
                    # The common case: no quote, escape, comment, $, @, ~ or odd blank.
                    if "{" not in line and "}" not in line:
                        words = line.split()
                        if words:
                            node = Node(tuple(words), name, number)
                            if len(stack) > 1:
                                block = stack[-1].block
                                assert block is not None
                                block.append(node)
                                self.last = node
                            else:
                                self.add(node)
                        continue
                    if line == "}" and len(stack) > 1:
                        self.close("")
                        continue
                    for piece in braces(line):
                        if piece == "{":
                            self.open(f"{name}:{number}")
                        elif piece == "}":
                            self.close(f"{name}:{number}")
                        else:
                            words = piece.split()
                            if words:
                                self.add(Node(tuple(words), name, number))
                    continue
            self.source, self.number = name, number
            self.read_line(raw, name, number, directory)

    def read_line(self, raw: str, name: str, number: int, directory: Path) -> None:
        """One line the fast path of :meth:`read_text` leaves alone."""
        where = f"{name}:{number}"
        line, unterminated = _decomment(raw.rstrip("\r"))
        if self.in_definition:
            self.in_definition = bool(line) and line.endswith("\\")
            return
        if unterminated:
            self.note(where, "unterminated quote (\") in this line")
        if line and line[0] not in "@$~" and "$" not in line:
            ready: str | None = line  # nothing to preprocess (the common case)
        else:
            ready = self.preprocess(line, where)
        if ready is None:
            return
        found = _INCLUDE.match(ready) if ready.startswith("include") else None
        if found:
            self.include(found.group(1).strip(WS), where, directory)
            self.definitions["_PWD"] = str(directory)
            self.source, self.number = name, number
            return
        self.statements(ready, where)

    def preprocess(self, line: str, where: str) -> str | None:
        """``@ID`` conditions, ``$NAME=`` definitions and ``$NAME`` substitution."""
        for _ in range(8):
            if not line:
                return None
            if line[0] == "@":
                reverse = line.startswith("@^")
                start = 2 if reverse else 1
                gap = re.search(r"[ \t]", line[start:])
                if gap is None:
                    return None
                ident = line[start:start + gap.start()]
                if (ident != self.config_id) != reverse:
                    return None
                line = line[start + gap.start():].lstrip(" \t")
                continue
            if line[0] == "$":
                found = _DEFINITION.match(line)
                if found:
                    value = found.group(2)
                    if value.endswith("\\"):
                        self.in_definition = True
                        self.note(where, f"multi-line definition ${found.group(1)} is not "
                                  "supported; it and its continuation lines are ignored")
                        return None
                    self.definitions[found.group(1)] = value
                    return None
            if line.startswith(("~SEQ", "~LST")):
                self.note(where, f"{line[:4]} is not supported; line ignored")
                return None
            if "$" not in line:
                return line
            replaced = _REFERENCE.sub(self.substitute, line)
            if replaced == line:
                return line
            self.expanded += len(replaced)
            if (len(replaced) > self.limits.max_line
                    or self.expanded > self.limits.max_expanded
                    or self.substitutions > self.limits.max_substitutions + self.read // 2):
                raise self.limit(where, "$ definitions expand this line past "
                                 f"{self.limits.max_line} bytes (or all lines past "
                                 f"{self.limits.max_expanded} bytes or "
                                 f"{self.limits.max_substitutions} substitutions); "
                                 "keepalived.conf refused")
            line, _ = _decomment(replaced)
        self.note(where, "definitions nest too deep; line ignored")
        return None

    def substitute(self, found: re.Match[str]) -> str:
        self.substitutions += 1
        name = found.group(1) or found.group(2)
        return self.definitions.get(name, found.group(0))

    def statements(self, line: str, where: str) -> None:
        """Split ``line`` at braces outside quotes; each piece is a statement or a brace."""
        if '"' not in line:  # the common case, without a per-character loop
            if "{" not in line and "}" not in line:
                self.words(line, where)
                return
            for piece_text in _BRACES.split(line):
                if piece_text == "{":
                    self.open(where)
                elif piece_text == "}":
                    self.close(where)
                else:
                    self.words(piece_text, where)
            return
        piece: list[str] = []
        quoted = False
        for char in line:
            if char == '"':
                quoted = not quoted
            if not quoted and char in "{}":
                self.words("".join(piece), where)
                piece = []
                if char == "{":
                    self.open(where)
                else:
                    self.close(where)
                continue
            piece.append(char)
        self.words("".join(piece), where)

    def words(self, text: str, where: str) -> None:
        words = _split_words(text)
        if words is None:
            self.note(where, "unmatched quote (\"); the rest of the line is ignored")
            words = _split_words(text[:text.rfind('"')]) or []
        if not words:
            return
        self.add(Node(tuple(words), self.source, self.number))

    def add(self, node: Node) -> None:
        """Append a statement to the innermost open block (at the top: hand on the one
        before it, which can no longer get a block)."""
        if len(self.stack) > 1:
            block = self.stack[-1].block
            assert block is not None
            block.append(node)
        else:
            self.flush()
            self.pending = node
        self.last = node

    def flush(self) -> None:
        """Hand the pending top-level statement on (or keep it in the tree)."""
        node, self.pending = self.pending, None
        if node is None:
            return
        if self.on_top is not None:
            self.on_top(node)
        else:
            block = self.root.block
            assert block is not None
            block.append(node)

    def open(self, where: str) -> None:
        if len(self.stack) > self.limits.max_block_depth:
            raise self.limit(where, f"blocks nested more than {self.limits.max_block_depth} "
                             "deep; keepalived.conf refused")
        owner = self.last
        if owner is None or owner.block is not None:
            self.note(where, "'{' without a keyword before it; its block is ignored")
            owner = Node((), where)
            self.add(owner)
        owner.block = []
        owner.opened = where
        self.stack.append(owner)
        self.last = None

    def close(self, where: str) -> None:
        if len(self.stack) > 1:
            self.stack.pop()
            if len(self.stack) == 1:
                self.flush()
        else:
            self.note(where or f"{self.source}:{self.number}",
                      "'}' closes no block (one '}' too many); ignored")
        self.last = None

    def finish(self) -> list[Node]:
        """The top-level statements (none handed on); notes an unclosed block."""
        if len(self.stack) > 1:
            outer = self.stack[1]
            missing = len(self.stack) - 1
            title = " ".join(outer.words[:2]) or "block"
            self.note(outer.opened, f"{title}: '{{' is never closed ({missing} '}}' missing "
                      "at the end of the input); everything after it was read as part of it")
            self.stack = [self.root]
        self.flush()
        self.last = None
        return self.root.block or []


def _lines(text: str, chunk: int = 1 << 20) -> Iterator[str]:
    """``text.split("\\n")``, a megabyte at a time (not a list of every line at once)."""
    start, size = 0, len(text)
    while True:
        end = text.rfind("\n", start, start + chunk) if start + chunk < size else -1
        if end < 0:
            yield from text[start:].split("\n")
            return
        yield from text[start:end].split("\n")
        start = end + 1


def _decomment(line: str) -> tuple[str, bool]:
    """keepalived's decomment(): strip blanks and the comment; (text, unterminated quote).

    Outside quotes a ``#`` or ``!`` starts the comment; a backslash keeps the next character
    as it is (``\\#`` outside quotes is a plain ``#``, the backslash dropped). Only the
    special characters are visited (one regular-expression scan), the spans between them
    are copied whole: a 64 kB expanded line costs no per-character Python loop.
    """
    text = line.lstrip(" \t")
    if _SPECIAL.search(text) is None:  # no quote, escape or comment: nothing to do
        return text.rstrip(" \t"), False
    out: list[str] = []
    quoted = False
    copied = 0  # text[:copied] is in out (or dropped)
    skip_to = 0  # a character before this was taken by an escape
    end = len(text)
    for found in _SPECIAL.finditer(text):
        at = found.start()
        if at < skip_to:
            continue
        char = text[at]
        if char == '"':
            quoted = not quoted
        elif char == "\\":
            if at + 1 < end:
                if not quoted and text[at + 1] in "#!":
                    out.append(text[copied:at])
                    copied = at + 1  # the backslash dropped, the next character kept
                skip_to = at + 2
        elif not quoted:  # '#' or '!': the comment starts here
            out.append(text[copied:at])
            return "".join(out).rstrip(" \t"), quoted
    out.append(text[copied:])
    return "".join(out).rstrip(" \t"), quoted


def _split_words(text: str) -> list[str] | None:
    """keepalived's alloc_strvec: blank-separated words, "..." one word; None if unmatched."""
    if '"' not in text:
        if _ODD_BLANKS.search(text) is None:
            return text.split()  # str.split's blanks are these, but for \x1c-\x1f, \x85...
        return [word for word in _BLANKS.split(text) if word]
    words: list[str] = []
    i = 0
    while True:
        while i < len(text) and text[i] in WS:
            i += 1
        if i >= len(text):
            return words
        if text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                return None
            words.append(text[i + 1:end])
            i = end + 1
            continue
        start = i
        while i < len(text) and text[i] not in WS and text[i] != '"':
            i += 1
        words.append(text[start:i])


def _expand_braces(pattern: str) -> list[str]:
    """csh-style ``{a,b}`` alternatives (glob's GLOB_BRACE), at most a few hundred."""
    results: list[str] = []
    pending = [pattern]
    while pending and len(results) < MAX_BRACE_EXPANSIONS:
        current = pending.pop(0)
        span = _first_brace(current)
        if span is None:
            results.append(current)
            continue
        start, end, options = span
        pending[:0] = [current[:start] + option + current[end + 1:] for option in options]
        if len(pending) > MAX_BRACE_EXPANSIONS:
            del pending[MAX_BRACE_EXPANSIONS:]
    return results


def _first_brace(text: str) -> tuple[int, int, list[str]] | None:
    """The first ``{...}`` group with a top-level comma: (start, end, alternatives).

    One pass with a stack of the open braces (each with its top-level commas): of the
    closed groups that hold a comma, the one opened first wins."""
    stack: list[tuple[int, list[int]]] = []
    best: tuple[int, int, list[int]] | None = None
    for found in _BRACE_OR_COMMA.finditer(text):
        char, i = found.group(), found.start()
        if char == "{":
            stack.append((i, []))
        elif char == ",":
            if stack:
                stack[-1][1].append(i)
        elif stack:
            start, commas = stack.pop()
            if commas and (best is None or start < best[0]):
                best = (start, i, commas)
                if not stack:
                    break  # every group still to come opens later
    if best is None:
        return None
    start, end, commas = best
    cuts = [start, *commas, end]
    return start, end, [text[a + 1:b] for a, b in itertools.pairwise(cuts)]


def valid_ifname(name: str) -> bool:
    """The kernel's dev_valid_name: 1..15 bytes, not . or .., no '/', ':' or blanks."""
    if _IFNAME.fullmatch(name) is not None:
        return name not in (".", "..")  # printable ASCII, none of them, 1..15 bytes
    try:
        size = len(name.encode())
    except UnicodeError:
        return False
    if not 0 < size <= MAX_IFNAME or name in (".", ".."):
        return False
    return not any(c in "/:" or c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F
                   for c in name)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


#: Characters never printed raw: C0 controls but tab, DEL, C1 controls (0x9b is a CSI),
#: and the Unicode bidi overrides that can reorder what a terminal shows.
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e"
                          "\u2066-\u2069]")


_UNPRINTABLE_SPLIT = re.compile(f"({_UNPRINTABLE.pattern})")
_ESCAPES: Final = {chr(code): f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
                   for code in [*range(0x09), *range(0x0A, 0x20), *range(0x7F, 0xA0),
                                0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]}


def sanitize(text: str) -> str:
    """``text`` safe for a terminal or a log: escape sequences from a file become ``\\xNN``
    / ``\\uNNNN`` (a file could otherwise recolour or rewrite the operator's screen).
    Split and joined, not a substitution calling Python per character: 3.5 times faster
    on an include line of control characters that made 256 notes (fuzz/keepalived.py)."""
    if _UNPRINTABLE.search(text) is None:
        return text
    parts = _UNPRINTABLE_SPLIT.split(text)
    parts[1::2] = [_ESCAPES[char] for char in parts[1::2]]
    return "".join(parts)
