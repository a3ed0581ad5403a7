"""Small terminal helpers: ANSI styling and a self-rewriting status line, on a TTY only.

Everything here degrades to plain text when the stream is not a terminal (a pipe, a file,
a CI log) or ``TERM=dumb``; colour is also dropped when ``NO_COLOR`` is set
(https://no-color.org). Symbols fall back to ASCII when the stream cannot encode them.
Standard library only, so any command may use it without slowing its start.

- :func:`is_tty`, :func:`colour_enabled`: what a stream can show;
- :func:`style`: ``style("PASS", BOLD, GREEN, stream=out)`` is coloured on a terminal and
  exactly ``"PASS"`` anywhere else;
- :func:`symbol`: ✓ ✗ → … or ok/FAIL/->/... where Unicode cannot be written;
- :class:`StatusLine`: one line that rewrites itself in place with a spinner on a terminal
  (``update``), while permanent lines (``print``) scroll above it; elsewhere only the
  permanent lines and the updates marked ``milestone=True`` are written, one per line.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from typing import Final, TextIO

BOLD: Final = "1"
DIM: Final = "2"
RED: Final = "31"
GREEN: Final = "32"
YELLOW: Final = "33"
BLUE: Final = "34"
MAGENTA: Final = "35"
CYAN: Final = "36"

_ANSI: Final = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_SPINNER: Final = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_SPINNER_ASCII: Final = "|/-\\"
_SYMBOLS: Final[dict[str, tuple[str, str]]] = {
    "ok": ("✓", "ok"),
    "fail": ("✗", "FAIL"),
    "arrow": ("→", "->"),
    "back": ("↺", "<-"),
    "ellipsis": ("…", "..."),
    "dot": ("·", "-"),
}
_CLEAR_LINE: Final = "\r\x1b[2K"


def is_tty(stream: TextIO | None) -> bool:
    """True if ``stream`` is an interactive terminal that understands ANSI escapes."""
    isatty = getattr(stream, "isatty", None)
    if isatty is None:
        return False
    try:
        return bool(isatty()) and os.environ.get("TERM", "") != "dumb"
    except (OSError, ValueError):  # closed stream
        return False


def colour_enabled(stream: TextIO | None) -> bool:
    """True if ``stream`` is a terminal and the user did not ask for NO_COLOR."""
    return is_tty(stream) and not os.environ.get("NO_COLOR")


def style(text: str, *codes: str, stream: TextIO | None = None) -> str:
    """``text`` wrapped in the SGR ``codes`` when ``stream`` (default stdout) shows colour."""
    target = sys.stdout if stream is None else stream
    if not codes or not colour_enabled(target):
        return text
    return f"\x1b[{';'.join(codes)}m{text}\x1b[0m"


def visible_len(text: str) -> int:
    """The printed width of ``text`` without its ANSI escapes (one column per character)."""
    return len(_ANSI.sub("", text))


def unicode_ok(stream: TextIO | None) -> bool:
    """True if ``stream`` can encode the symbols and the braille spinner."""
    encoding = getattr(stream, "encoding", None) or ""
    try:
        "".join(s for s, _ in _SYMBOLS.values()).encode(encoding or "ascii")
        _SPINNER.encode(encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def symbol(name: str, stream: TextIO | None = None) -> str:
    """A named symbol (ok, fail, arrow, back, ellipsis, dot), ASCII if need be."""
    fancy, plain = _SYMBOLS[name]
    return fancy if unicode_ok(sys.stdout if stream is None else stream) else plain


class StatusLine:
    """A status line that rewrites itself on a terminal, and plain lines everywhere else.

    On a TTY, :meth:`update` redraws one line in place (``\\r`` and erase-line) with a
    spinner that advances with time, truncated to the terminal width; :meth:`print` writes
    a permanent line above it and redraws it. Elsewhere :meth:`update` writes nothing unless
    ``milestone=True`` (then the text becomes one plain line), so logs get discrete lines
    and no escape codes. Write errors (a closed pipe) are swallowed: output never aborts
    the work it describes.
    """

    def __init__(self, stream: TextIO | None = None, *, tick: float = 0.08) -> None:
        self.stream = sys.stdout if stream is None else stream
        self.tty = is_tty(self.stream)
        self.tick = tick
        self._spinner = _SPINNER if unicode_ok(self.stream) else _SPINNER_ASCII
        self._current: str | None = None
        self._started = time.monotonic()

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def _fit(self, text: str) -> str:
        width = shutil.get_terminal_size((100, 24)).columns - 1
        if visible_len(text) <= width:
            return text
        plain = _ANSI.sub("", text)
        return plain[: max(0, width - 1)] + symbol("ellipsis", self.stream)[:1]

    def _draw(self) -> None:
        if self._current is None:
            return
        frame = int((time.monotonic() - self._started) / self.tick) % len(self._spinner)
        spin = style(self._spinner[frame], CYAN, stream=self.stream)
        self._write(_CLEAR_LINE + self._fit(f"{spin} {self._current}"))

    def update(self, text: str, *, milestone: bool = False) -> None:
        """Show ``text`` as the live line (TTY); elsewhere only if ``milestone``."""
        if self.tty:
            self._current = text
            self._draw()
        elif milestone:
            self._write(_ANSI.sub("", text) + "\n")

    def print(self, text: str = "") -> None:
        """Write ``text`` as a permanent line (above the live line on a terminal)."""
        if self.tty:
            self._write(_CLEAR_LINE + text + "\n")
            self._draw()
        else:
            self._write(_ANSI.sub("", text) + "\n")

    def done(self, text: str | None = None) -> None:
        """Remove the live line, optionally replacing it with the permanent ``text``."""
        if self.tty and self._current is not None:
            self._write(_CLEAR_LINE)
        self._current = None
        if text is not None:
            self.print(text)
