"""Where each key of a TOML document is written: tomllib gives values, not line numbers.

`key_lines(text)` maps every key path (`("accounts", "x", "pace")`) to the 1-based line where
it first appears: a table header (`[accounts.x]`), a key (`pace = …`), a dotted key
(`credentials.handle = …` defines `credentials` too), a quoted key (`"a.b" = …` is one key),
a key inside an inline table (`credentials = { handle = … }`), or an array item (its index is
part of the path; `[[a]]` tables are numbered likewise). The text must already be valid TOML
(tomllib parsed it), so the scanner only has to skip strings and comments correctly.
"""

from __future__ import annotations

import bisect
import re
import tomllib
from collections.abc import Callable

Path = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR = re.compile(r"[^,\]}\n#]*")  # a number, boolean or date runs up to a delimiter


def key_lines(text: str) -> dict[Path, int]:
    return _Scanner(text).scan()


def line_of(lines: dict[Path, int], path: Path) -> int | None:
    """The line of `path`, or of its nearest enclosing key or table that is written down."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


class _Scanner:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.starts = [0] + [m.end() for m in re.finditer(r"\n", text)]
        self.lines: dict[Path, int] = {}

    def scan(self) -> dict[Path, int]:
        table: Path = ()
        arrays: dict[Path, int] = {}
        while True:
            self._skip(newlines=True)
            if self.i >= len(self.s):
                return self.lines
            at = self.i
            if self.s.startswith("[[", self.i):
                self.i += 2
                name = self._key()
                self.i = self.s.index("]]", self.i) + 2
                arrays[name] = arrays.get(name, -1) + 1
                table = (*name, arrays[name])
                self._record_all(table, at, 0)
            elif self.s[self.i] == "[":
                self.i += 1
                table = self._key()
                self.i = self.s.index("]", self.i) + 1
                self._record_all(table, at, 0)
            else:
                self._pair(table)

    # -- pieces ----------------------------------------------------------------------------
    def _pair(self, table: Path) -> None:
        at = self.i
        key = (*table, *self._key())
        self._record_all(key, at, len(table))
        self._skip()
        self.i += 1  # '='
        self._value(key)

    def _key(self) -> Path:
        parts: list[str] = []
        while True:
            self._skip()
            char = self.s[self.i]
            if char == '"':
                end = self._basic_string_end(self.i)
                parts.append(tomllib.loads("k = " + self.s[self.i : end])["k"])
                self.i = end
            elif char == "'":
                end = self.s.index("'", self.i + 1) + 1
                parts.append(self.s[self.i + 1 : end - 1])
                self.i = end
            else:
                match = _BARE_KEY.match(self.s, self.i)
                assert match is not None, "tomllib accepted the text, so a key is here"
                parts.append(match.group(0))
                self.i = match.end()
            self._skip()
            if self.i < len(self.s) and self.s[self.i] == ".":
                self.i += 1
                continue
            return tuple(parts)

    def _value(self, path: Path) -> None:
        self._skip()
        s = self.s
        if s.startswith('"""', self.i) or s.startswith("'''", self.i):
            quote = s[self.i : self.i + 3]
            end = self.i + 3
            while True:  # a closing run may hold up to two quotes of the content itself
                end = s.index(quote, end)
                if quote == '"""' and _escaped(s, end):
                    end += 1
                    continue
                break
            while s.startswith(quote[0], end + 3):
                end += 1
            self.i = end + 3
        elif s[self.i] == '"':
            self.i = self._basic_string_end(self.i)
        elif s[self.i] == "'":
            self.i = s.index("'", self.i + 1) + 1
        elif s[self.i] == "{":
            self._items("}", lambda _index: self._pair(path))
        elif s[self.i] == "[":

            def item(index: int) -> None:
                self._record((*path, index), self.i)
                self._value((*path, index))

            self._items("]", item)
        else:
            match = _SCALAR.match(s, self.i)
            assert match is not None
            self.i = match.end()

    def _items(self, close: str, each: Callable[[int], None]) -> None:
        """The comma-separated items of an inline table or an array, up to `close`."""
        self.i += 1
        index = 0
        while True:
            self._skip(newlines=True)
            if self.s[self.i] == close:
                self.i += 1
                return
            if self.s[self.i] == ",":
                self.i += 1
                continue
            each(index)
            index += 1

    def _basic_string_end(self, start: int) -> int:
        end = start + 1
        while self.s[end] != '"':
            end += 2 if self.s[end] == "\\" else 1
        return end + 1

    def _skip(self, *, newlines: bool = False) -> None:
        """Skip spaces and tabs (and comments and line ends, if `newlines`)."""
        s = self.s
        while self.i < len(s):
            char = s[self.i]
            if char in " \t\r" or (newlines and char == "\n"):
                self.i += 1
            elif newlines and char == "#":
                newline = s.find("\n", self.i)
                self.i = len(s) if newline < 0 else newline
            else:
                return

    def _record_all(self, path: Path, at: int, known: int) -> None:
        """Write down `path` and the tables it opens (`[a.b.c]`, `a.b.c = 1` open a, a.b)."""
        for end in range(known + 1, len(path) + 1):
            self._record(path[:end], at)

    def _record(self, path: Path, at: int) -> None:
        self.lines.setdefault(path, bisect.bisect_right(self.starts, at))


def _escaped(s: str, index: int) -> bool:
    """Is the character at `index` preceded by an odd number of backslashes?"""
    count = 0
    while index - count - 1 >= 0 and s[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1
