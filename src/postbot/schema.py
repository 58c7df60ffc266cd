"""Checking config tables against their declared options (`options.Option`).

Every refusal is one line: the file, the line the key is written on (found in the text by
`toml_lines`), the key, what is wrong and how to write it, with a suggestion for a near miss
(`timezon`: did you mean `timezone`?).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postbot.errors import ConfigError
from postbot.options import Option
from postbot.toml_lines import Path as KeyPath
from postbot.toml_lines import key_lines, line_of

_KIND_NAMES = {
    str: "text in quotes", int: "a whole number", float: "a number", bool: "true or false",
    dict: "a table", list: "a list",
}  # fmt: skip


@dataclass(frozen=True)
class Where:
    """The file being checked, and its text (None: no text to look for lines in)."""

    file: Path
    text: str | None = None

    def error(self, path: KeyPath, message: str) -> ConfigError:
        # The text is scanned for lines only now: a config that is fine never pays for it.
        line = line_of(key_lines(self.text), path) if self.text else None
        return ConfigError(f"{self.file}:{line}: {message}" if line else f"{self.file}: {message}")


def label(path: KeyPath) -> str:
    return ".".join(str(part) for part in path)


def suggest(word: str, candidates: Iterable[str]) -> str:
    """'; did you mean 'x'?' for a near miss (case ignored), else ''."""
    import difflib  # only when something is refused

    by_lower = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean '{by_lower[close[0]]}'?" if close else ""


def check_keys(raw: Mapping[str, Any], known: Iterable[str], path: KeyPath, where: Where) -> None:
    known = sorted(known)
    for key in raw:
        if key not in known:
            raise where.error(
                (*path, key),
                f"{label((*path, key))}: unknown key{suggest(key, known)}"
                f" (known here: {', '.join(known)})",
            )


def table(raw: Mapping[str, Any], key: str, path: KeyPath, where: Where) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        name = label((*path, key))
        raise where.error((*path, key), f"[{name}] must be a table")
    return value


def check_options(
    raw: Mapping[str, Any],
    options: Mapping[str, Option],
    path: KeyPath,
    where: Where,
    base: Path,
    *,
    defaults: bool = False,
) -> dict[str, Any]:
    """The values given in `raw`, each checked and parsed by its option; with `defaults`, the
    options' defaults (parsed alike) for keys not given, unless the default is None."""
    values = {}
    for key, option in options.items():
        if key in raw:
            values[key] = check_value(raw[key], option, (*path, key), where, base)
        elif defaults and option.default is not None:
            values[key] = check_value(option.default, option, (*path, key), where, base)
    return values


def check_value(value: Any, option: Option, path: KeyPath, where: Where, base: Path) -> Any:
    name = label(path)
    if not option.accepts_type(value):
        kinds = option.kind if isinstance(option.kind, tuple) else (option.kind,)
        expected = option.help or " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
        raise where.error(path, f"{name}: wrong type ({type(value).__name__}); write {expected}")
    if option.choices and value not in option.choices:
        shown = ", ".join(str(c) for c in option.choices)
        hint = suggest(str(value), [str(c) for c in option.choices])
        raise where.error(path, f"{name} must be one of {shown}, not {value!r}{hint}")
    if option.path:
        value = os.path.join(base, os.path.expanduser(value))
    if option.parse is not None:
        try:
            value = option.parse(value)
        except ValueError as exc:
            problem = str(exc)
            joiner = " " if problem.startswith("must ") else ": "
            raise where.error(path, f"{name}{joiner}{problem}") from None
    return value
