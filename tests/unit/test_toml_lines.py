"""postbot.toml_lines: where each key of a TOML document is written."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from postbot.toml_lines import key_lines, line_of

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "postbot.toml"

TRICKY = '''\
# a comment with key = "value" and [a.table]
timezone = "Europe/Berlin"   # trailing comment
"quoted.key" = 1
'single quoted' = 2
[database]
url = """a multi-line string
[not.a.table]
fake = 1
with an escaped \\""" inside"""
other = \'\'\'literal
[also.not]
\'\'\'
[ accounts . x ]
platform = "x"
credentials = { access_token = "X_AT", "consumer key" = 'Y', nested = { deep = 1 } }
tags = [ "a", # a comment in an array
  { k = 1 },
  "b,]}#" ]
when = 1979-05-27 07:32:00Z
[accounts.bluesky]
credentials.handle = "H"
credentials . app_password = "P"
[accounts."we.ird"]
platform = 'dryrun'
[[items]]
a = 1
[[items]]
b = "x"
'''

EXPECTED = {
    ("timezone",): 2,
    ("quoted.key",): 3,
    ("single quoted",): 4,
    ("database",): 5,
    ("database", "url"): 6,
    ("database", "other"): 10,
    ("accounts",): 13,
    ("accounts", "x"): 13,
    ("accounts", "x", "platform"): 14,
    ("accounts", "x", "credentials"): 15,
    ("accounts", "x", "credentials", "access_token"): 15,
    ("accounts", "x", "credentials", "consumer key"): 15,
    ("accounts", "x", "credentials", "nested", "deep"): 15,
    ("accounts", "x", "tags"): 16,
    ("accounts", "x", "tags", 1): 17,
    ("accounts", "x", "tags", 1, "k"): 17,
    ("accounts", "x", "tags", 2): 18,
    ("accounts", "x", "when"): 19,
    ("accounts", "bluesky"): 20,
    ("accounts", "bluesky", "credentials"): 21,
    ("accounts", "bluesky", "credentials", "handle"): 21,
    ("accounts", "bluesky", "credentials", "app_password"): 22,
    ("accounts", "we.ird"): 23,
    ("accounts", "we.ird", "platform"): 24,
    ("items", 0): 25,
    ("items", 0, "a"): 26,
    ("items", 1): 27,
    ("items", 1, "b"): 28,
}


def test_tricky_document_lines() -> None:
    tomllib.loads(TRICKY)  # the scanner is only ever given valid TOML
    lines = key_lines(TRICKY)
    for path, line in EXPECTED.items():
        assert lines.get(path) == line, (path, lines.get(path))
    # Nothing inside strings or comments is taken for a key or a table.
    assert not any(p[:2] in {("not", "a"), ("also", "not")} for p in lines)
    assert ("fake",) not in lines and ("database", "fake") not in lines
    assert ("a",) not in lines


def test_line_of_falls_back_to_the_enclosing_table() -> None:
    lines = key_lines(TRICKY)
    assert line_of(lines, ("accounts", "x", "missing")) == 13
    assert line_of(lines, ("nowhere",)) is None


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, (*path, k))]
    return [path]


def test_every_key_of_the_shipped_config_is_found_on_its_own_line() -> None:
    text = REPO_CONFIG.read_text(encoding="utf-8")
    lines = key_lines(text)
    rows = text.splitlines()
    for path in _leaves(tomllib.loads(text)):
        line = lines[path]
        assert str(path[-1]) in rows[line - 1], (path, rows[line - 1])
