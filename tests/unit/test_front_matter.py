"""Front matter is parsed by libyaml where PyYAML has it, and means exactly what it meant with
PyYAML's own parser: the same values, the same refusals, worded and placed the same."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from postbot.errors import UserError
from postbot.front_matter import split_front_matter

ACCEPTED = [
    "at: 2026-12-01 08:00\nhashtags: [XiJinping, SOZGipfel]\nlink: https://example.org/a\n",
    "at: 2026-12-01T08:00:00+01:00\nto: [mastodon, x]\nlanguage: de\nid: gipfel-1\n",
    'headline: "Zitat: »Wir bleiben«"\nhashtags: Gipfel, Astana\nexample: true\n',
    "media:\n  - path: a.png\n    alt: Ein Bild\n  - {path: b.jpg, alt: 'Noch eins'}\n",
    "parts:\n  - Erster Teil 🙂\n  - |\n    Zweiter Teil,\n    zwei Zeilen\n",
    "variants:\n  x:\n    text: Kürzer für X\n    hashtags: []\n  bluesky: {link: null}\n",
    "id: 2026\nlink: ~\nlanguage: no\nheadline: yes\n",  # YAML 1.1 as ever: 2026, None, False
    "at: 2026-12-01\n# a comment\nid: 'x' # another\n",
    "headline: &h Gipfel\nid: *h\n",
    "headline: Was nun? Endlich!\nid: !\n",  # `!` alone: None (libyaml would say "")
]

REFUSED = [
    ("id: x\nhashtags: [Foo, Bar\nlink: y\n", 4, "expected ',' or ']', but got ':'"),
    ("id: [unclosed\n", 2, "expected ',' or ']', but got '<stream end>'"),
    ("id: x\nto: a\n  b: c\n", 4, "mapping values are not allowed here"),
    ("id: x\non: push\n", 3, "key 'on' is not text"),
    ("at: 2026-12-01 08:00\nat: 2026-12-02 08:00\n", 3, "key 'at' is given twice"),
    ("a: *alias\n", 2, "found undefined alias 'alias'"),
    # libyaml reads these, PyYAML's parser refuses them: still refused
    ("link: https://example.org/a\t\n", 2, "found character '\\t' that cannot start any token"),
    ("hashtags: [Foo,\tBar]\n", 2, "found character '\\t' that cannot start any token"),
    ("headline: |#\n  Text\n", 2, "expected chomping or indentation indicators, but found '#'"),
    ("hashtags: [Was?, Nichts]\n", 2, "expected ',' or ']', but got '?'"),
]


def _split(block: str) -> Any:
    return split_front_matter(f"---\n{block}---\nBody\n", "p.md")


@pytest.mark.parametrize("block", ACCEPTED)
def test_values_are_those_of_pyyaml_safe_loader(block: str) -> None:
    # The block as the file holds it between the fences: its last line end is the fence's.
    assert _split(block).meta == yaml.load(block[:-1], Loader=yaml.SafeLoader)


@pytest.mark.parametrize(("block", "line", "problem"), REFUSED)
def test_refusals_name_the_line_in_pyyaml_words(block: str, line: int, problem: str) -> None:
    with pytest.raises(UserError) as info:
        _split(block)
    assert str(info.value).startswith(f"p.md:{line}: malformed front matter: {problem}")
