"""How a setting is declared: its type, its default, the values it may take.

The config schema is built from these (see `config.py`); each platform declares the options
its accounts take as `Platform.options`, so the schema knows every key at every level and a
typo is an error, never a different behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Option:
    """One key of a config table."""

    kind: type | tuple[type, ...]  # the TOML value types accepted (bool is never an int here)
    default: Any = None
    choices: tuple[Any, ...] = ()  # when not empty: the only values allowed
    # Turns the raw value into the stored one, or raises ValueError saying what is wrong
    # ("must be positive": the message follows the key's name).
    parse: Callable[[Any], Any] | None = None
    help: str = ""  # how to write it, for the one-line refusal
    # A file or folder: a relative one is resolved against the project folder (the config
    # file's folder unless `project_dir` says otherwise), never against the working folder.
    path: bool = False

    def accepts_type(self, value: Any) -> bool:
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,)
        if isinstance(value, bool):
            return bool in kinds
        return isinstance(value, kinds)


def positive_seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError("must be a positive number of seconds")
    return float(value)


def non_negative_seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError("must be a number of seconds, 0 or more")
    return float(value)


def positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("must be positive (1 or more)")
    return value


SECONDS = Option((int, float), parse=positive_seconds, help="a number of seconds, e.g. 30")
