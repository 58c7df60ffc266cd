"""`.env` files: NAME=value lines that fill in the environment, never overriding it.

python-dotenv parses them (quoting, `export`, `${VAR}` expansion); what it cannot parse is
reported once per file and process, as one line naming the file and its lines, instead of
python-dotenv's own warning per line (which names neither the file nor, on re-reads, once).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

_warned: set[str] = set()


def read(path: Path, warn: Callable[[str], None] | None = None) -> dict[str, str]:
    """The variables `path` sets (empty if there is no such file)."""
    if not path.is_file():
        return {}
    from dotenv.main import resolve_variables
    from dotenv.parser import parse_stream

    try:
        with path.open(encoding="utf-8") as stream:
            bindings = list(parse_stream(stream))
    except (OSError, UnicodeDecodeError) as exc:
        _warn_once(path, f"{path}: cannot read ({exc}); it is ignored", warn)
        return {}
    bad = [b.original.line for b in bindings if b.error]
    if bad:
        which = f":{bad[0]}" if len(bad) == 1 else f": lines {', '.join(map(str, bad))}"
        _warn_once(
            path,
            f"{path}{which}: cannot read {'this line' if len(bad) == 1 else 'these lines'}"
            " (write NAME=value); ignored",
            warn,
        )
    pairs = [(b.key, b.value) for b in bindings if b.key is not None and not b.error]
    values = resolve_variables(pairs, override=False)
    return {key: value for key, value in values.items() if value is not None}


def apply(values: Mapping[str, str]) -> None:
    """Put `values` into the process environment where a variable is not set already."""
    for key, value in values.items():
        os.environ.setdefault(key, value)


def _warn_once(path: Path, message: str, warn: Callable[[str], None] | None) -> None:
    key = os.path.abspath(path)
    if key in _warned:
        return
    _warned.add(key)
    if warn is not None:
        warn(message)
    else:
        sys.stderr.write(f"postbot: warning: {message}\n")
