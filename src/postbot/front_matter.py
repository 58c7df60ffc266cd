"""YAML front matter, strictly: a `---` line, `key: value` lines, a closing `---` line, the body.

Refused, each with the file and line: a block that is opened and never closed (its YAML would
be posted as text), TOML front matter (`+++`), front matter that is not a mapping (a list, a
bare value), keys that YAML reads as something else than text (`1:`, `on:`, `yes:`), a key
given twice (YAML would keep the last one silently), and malformed YAML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from postbot.errors import UserError

FENCE = "---"


@dataclass(frozen=True)
class Split:
    meta: dict[str, Any]  # {} when the file has no front matter
    body: str
    has_front_matter: bool
    block: str = ""  # the YAML between the fences, for finding a key's line (`key_line`)
    first_line: int = 1  # the file line of the block's first line
    body_line: int = 1  # the file line of the body's first line

    def key_line(self, path: tuple[str, ...]) -> int | None:
        """The file line a key stands on, by its path (`("variants", "x", "text")`)."""
        return _key_lines(self.block, self.first_line).get(path) if self.block else None


def split_front_matter(text: str, where: str) -> Split:
    """Separate the front matter from the body. `text` has no BOM; line ends may be CRLF."""
    lines = text.replace("\r\n", "\n").split("\n")
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None or lines[start].rstrip() not in (FENCE, "+++"):
        return Split({}, "\n".join(lines), has_front_matter=False)
    opening = start + 1  # 1-based line of the opening fence
    if lines[start].rstrip() == "+++":
        raise UserError(
            f"{where}:{opening}: TOML front matter (+++) is not supported;"
            " write YAML between two '---' lines"
        )
    end = next((i for i in range(start + 1, len(lines)) if lines[i].rstrip() == FENCE), None)
    if end is None:
        raise UserError(
            f"{where}:{opening}: the front matter opened here is never closed:"
            " add a line '---' after its last key"
        )
    block = "\n".join(lines[start + 1 : end])
    meta = _load_yaml(block, where, first_line=opening + 1)
    return Split(
        meta, "\n".join(lines[end + 1 :]), has_front_matter=True, block=block,
        first_line=opening + 1, body_line=end + 2,
    )  # fmt: skip


def _key_lines(block: str, first_line: int) -> dict[tuple[str, ...], int]:
    """Every mapping key of the (already loaded, so well-formed) YAML block, by its path."""
    import yaml

    found: dict[tuple[str, ...], int] = {}

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                here = (*path, str(key.value))
                found[here] = first_line + key.start_mark.line
                walk(value, here)

    walk(yaml.compose(block, Loader=yaml.SafeLoader), ())
    return found


def _load_yaml(block: str, where: str, first_line: int) -> dict[str, Any]:
    import yaml

    fast, strict = _strict_loaders()
    try:
        # Only the error path needs the pure-Python parser: libyaml words its errors otherwise
        # and puts some a line later, so a refusal is always said as the Python parser says it.
        loader = fast if fast is not None and not _python_only(block) else strict
        data = yaml.load(block, Loader=loader)
    except yaml.YAMLError:
        try:
            data = yaml.load(block, Loader=strict)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{first_line + mark.line}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise UserError(f"{where}{line}: malformed front matter: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
        raise UserError(
            f"{where}:{first_line}: malformed front matter: it is {kind};"
            " write one 'key: value' per line (id, at, to, hashtags, ...)"
        )
    return data


# What libyaml reads otherwise than PyYAML's own parser: a tab, a BOM or a Unicode line break
# inside a scalar, `|#` opening a block scalar, a `?` inside a flow list (all refused by PyYAML),
# a tag (`!` alone is "" to libyaml, None to PyYAML). Such a block goes to the Python parser
# alone. Found by running both over a million generated blocks: outside these, they agree on
# every value and on whether a block is YAML at all.
_PYTHON_ONLY = re.compile("[\t\r\x85\u2028\u2029\ufeff?]|[|>][-+0-9]*#|(?:^|[\\s\\[{,:])!")
# Every character one of those needs: a block without any (most) cannot match, and finding
# that is a tenth of the cost of trying the pattern at every place.
_PYTHON_ONLY_CHARS = re.compile("[\t\r\x85\u2028\u2029\ufeff?#!]")
_LOADERS: tuple[Any, Any] | None = None


def _python_only(block: str) -> bool:
    return _PYTHON_ONLY_CHARS.search(block) is not None and _PYTHON_ONLY.search(block) is not None


def _strict_loaders() -> tuple[Any, Any]:
    """(libyaml's, PyYAML's) SafeLoader, each refusing keys that are not text and keys given
    twice; the first is None without libyaml. Built once.

    libyaml (`CSafeLoader`) only parses: the constructor and resolver are PyYAML's own, so the
    values are the same YAML 1.1 safe types; it is eight times faster, and parsing was most of
    a bulk import's time.
    """
    global _LOADERS
    if _LOADERS is not None:
        return _LOADERS
    import yaml

    class Strict:
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _value in node.value:
                key = self.construct_object(key_node, deep=True)  # type: ignore[attr-defined]
                if not isinstance(key, str):
                    raise yaml.constructor.ConstructorError(
                        None, None,
                        f"key {key_node.value!r} is not text (YAML reads keys such as 1, yes"
                        " or on as numbers or booleans; quote it)",
                        key_node.start_mark,
                    )  # fmt: skip
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"key '{key}' is given twice", key_node.start_mark
                    )
                seen.add(key)
            return dict(super().construct_mapping(node, deep=deep))  # type: ignore[misc]

    class StrictLoader(Strict, yaml.SafeLoader):
        pass

    fast: Any = None
    if getattr(yaml, "__with_libyaml__", False):

        class FastStrictLoader(yaml.CSafeLoader):
            def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
                # Strict's rules in one pass: any refusal is said again by StrictLoader.
                if not isinstance(node, yaml.MappingNode):
                    raise yaml.constructor.ConstructorError(
                        None, None, "not a mapping", node.start_mark
                    )
                mapping: dict[Any, Any] = {}
                for key_node, value_node in node.value:
                    key = self.construct_object(key_node, deep=True)
                    if not isinstance(key, str) or key in mapping:
                        raise yaml.constructor.ConstructorError(
                            None, None, "refused key", key_node.start_mark
                        )
                    mapping[key] = self.construct_object(value_node, deep=deep)
                return mapping

        fast = FastStrictLoader
    _LOADERS = (fast, StrictLoader)
    return _LOADERS
