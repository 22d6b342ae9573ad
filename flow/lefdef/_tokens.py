"""A shared tokenizer for LEF and DEF: whitespace-separated words, ``#``
comments, double-quoted strings kept whole (also across lines, as LEF58
properties are written), each token with its line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from flow.errors import InputError, where


class Tokens:
    """A cursor over ``(token, line)`` pairs of one file.

    ``;`` is always a token of its own (``SIZE 1 BY 2;`` works), so statements
    can be read up to their terminating ``;``.
    """

    def __init__(self, path: str | Path, text: str | None = None):
        self.path = str(path)
        if text is None:
            try:
                text = Path(path).read_text(encoding="utf-8", errors="replace")
            except OSError as e:
                raise InputError(f"{self.path}: cannot read: {e.strerror or e}") from e
        self.text = text
        self.toks: list[tuple[str, int]] = list(_scan(text, self.path))
        self.i = 0

    # -- cursor ----------------------------------------------------------------

    def at_end(self) -> bool:
        return self.i >= len(self.toks)

    def line(self) -> int:
        """Line of the next token (or of the last one at the end)."""
        if not self.toks:
            return 1
        return self.toks[min(self.i, len(self.toks) - 1)][1]

    def peek(self) -> str | None:
        return self.toks[self.i][0] if self.i < len(self.toks) else None

    def next(self, what: str = "a token") -> str:
        if self.i >= len(self.toks):
            raise self.error(f"unexpected end of file, expected {what}")
        tok = self.toks[self.i][0]
        self.i += 1
        return tok

    def expect(self, word: str) -> None:
        line = self.line()
        tok = self.next(f"'{word}'")
        if tok.upper() != word.upper():
            raise self.error(f"expected '{word}', found '{tok}'", line)

    def statement(self) -> list[str]:
        """Tokens up to (not including) the next ``;``, which is consumed."""
        out: list[str] = []
        start = self.line()
        while True:
            if self.at_end():
                raise self.error("statement is not terminated by ';'", start)
            tok = self.next()
            if tok == ";":
                return out
            out.append(tok)

    def error(self, msg: str, line: int | None = None) -> InputError:
        return InputError(f"{where(self.path, line if line is not None else self.line())}{msg}")

    # -- numbers ---------------------------------------------------------------

    def number(self, tok: str, what: str, line: int | None = None) -> float:
        try:
            return float(tok)
        except ValueError:
            raise self.error(f"{what}: '{tok}' is not a number", line) from None

    def integer(self, tok: str, what: str, line: int | None = None) -> int:
        try:
            return int(tok)
        except ValueError:
            try:
                v = float(tok)
            except ValueError:
                raise self.error(f"{what}: '{tok}' is not an integer", line) from None
            if v != int(v):
                raise self.error(f"{what}: '{tok}' is not an integer", line) from None
            return int(v)


def _scan(text: str, path: str) -> Iterator[tuple[str, int]]:
    lines = text.splitlines()
    ln = 0
    while ln < len(lines):
        raw = lines[ln]
        i, n = 0, len(raw)
        while i < n:
            c = raw[i]
            if c.isspace():
                i += 1
            elif c == "#":
                break
            elif c == '"':
                j = raw.find('"', i + 1)
                if j < 0:
                    # a string may span lines (LEF58 properties often do):
                    # one token, at the line it starts on
                    start, parts = ln, [raw[i:]]
                    while j < 0:
                        ln += 1
                        if ln >= len(lines):
                            raise InputError(f"{where(path, start + 1)}string is not closed by '\"'")
                        raw = lines[ln]
                        j = raw.find('"')
                        parts.append(raw if j < 0 else raw[: j + 1])
                    n = len(raw)
                    yield "\n".join(parts), start + 1
                else:
                    yield raw[i : j + 1], ln + 1
                i = j + 1
            elif c == ";":
                yield ";", ln + 1
                i += 1
            else:
                j = i
                while j < n and not raw[j].isspace() and raw[j] != ";":
                    # '#' inside a word (e.g. a name) is part of it; only a
                    # '#' after whitespace starts a comment
                    j += 1
                yield raw[i:j], ln + 1
                i = j
        ln += 1
