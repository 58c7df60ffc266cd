"""Post files -> Drafts, and which files in a folder are posts.

Two formats:
- Markdown (`.md`, `.markdown`) with YAML front matter (`front_matter.py`): `id`, `at`, `to`,
  `hashtags`, `link`, `language`, `headline`, `media` (a list of `{path, alt}`, paths relative
  to the file), `parts`, `variants` and `draft` (true: held for an editor). The body is the
  teaser; a line holding only `---`
  in it starts the next part of a thread (`threads.py`), or `parts:` lists them; `variants:`
  overrides text, hashtags, link or parts for one platform or account (`variants.py`);
  `slot: next` takes every target's first free posting slot (`slots.py`), `every:` (and
  `until:`) makes the post recurring (`recurring.py`); each instead of `at`.
- Plain text (`.txt`) in the newsroom teaser shape: the first paragraph is the headline, the
  first paragraph carrying hashtags is the teaser (its trailing `#tags` become the hashtags),
  the rest is the article and is not sent. Line breaks inside a paragraph become single spaces.

Which files are posts (the same rule for a folder and for a file named on the command line):
a `.md`, `.markdown` or `.txt` file whose name starts with neither `.` nor `_` and is not a
README (any case, any suffix: `README`, `readme.txt`, `README.de.md`). In a folder, other files
(images beside their posts, notes without those suffixes) are left alone, sub-folders are not
entered, and a Markdown file must begin with front matter: without it, nothing says when or
where it goes, so it is refused rather than posted at once (name it `_notes.md` to keep it).
A post file's `at` is a fixed date and time: `+2h`, `tomorrow 9:00` or `05.02. 08:00` would
move the post at every import.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from postbot.compose import hashtags_in
from postbot.domain import EXAMPLE_KEY_PREFIX, MediaItem, Variant
from postbot.drafts import Draft
from postbot.errors import UserError
from postbot.front_matter import Split, split_front_matter
from postbot.when import localize, read_time

SUFFIXES = (".md", ".markdown", ".txt")
_FRONT_MATTER_KEYS = {
    "id", "at", "to", "hashtags", "link", "language", "lang", "media", "headline", "example",
    "parts", "variants", "slot", "every", "until", "allow_duplicate", "draft",
}  # fmt: skip
_TRAILING_TAGS = re.compile(r"(?:\s+#[^\s#]+)+\s*$")


def find_post_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, plus the post files directly inside named folders, sorted."""
    return [path for path, _in_folder in scan_post_files(paths)]


def scan_post_files(paths: Iterable[str | Path]) -> list[tuple[Path, bool]]:
    """Like find_post_files, with whether each file was found in a folder (not named)."""
    found: list[tuple[Path, bool]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend((path / name, True) for name in _post_file_names(path))
        elif path.exists():
            reason = not_a_post(path.name)
            if reason:
                raise UserError(f"{path}: not a post file: {reason}")
            found.append((path, False))
        else:
            raise UserError(f"{path}: no such file or folder")
    return found


def not_a_post(name: str) -> str | None:
    """Why a file of this name is never a post (None: it may be one)."""
    if name.startswith((".", "_")):
        return "names starting with '.' or '_' are kept out of the queue"
    if name.split(".", 1)[0].lower() == "readme":
        return "a README describes the folder"
    return None


def _post_file_names(folder: Path) -> list[str]:
    """The names of the post files directly inside `folder`, sorted (as its paths sort)."""
    names = []
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            # Hidden files first: editors leave `.#post.md` (Emacs lock, a dangling link) or
            # `._post.md` (macOS) beside a post being edited, and one unreadable file stops
            # the whole import.
            if os.path.splitext(name)[1].lower() not in SUFFIXES or not_a_post(name):
                continue
            # The entry knows a plain file without another system call; a link is followed
            # as `Path.is_file` follows it.
            if entry.is_symlink():
                if not (folder / name).is_file():
                    continue
            elif not entry.is_file(follow_symlinks=False):
                continue
            names.append(name)
    return sorted(names)


def read_post_file(
    path: Path,
    zone: tzinfo,
    now: datetime | None = None,
    *,
    order: str | None = None,
    base: Path | None = None,
    in_folder: bool = False,
) -> Draft:
    """Read one post file. `order`: the numeric date order (config `date_order`); `base`: the
    folder keys are relative to (the project folder; default the working folder); `in_folder`:
    found by scanning a folder, where a Markdown file without front matter is refused."""
    try:
        text = _read_text(path)
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".txt":
        return parse_plain(text, path, base=base)
    if path.suffix.lower() in (".md", ".markdown"):
        return parse_markdown(
            text, path, zone, now, order=order, base=base, require_front_matter=in_folder
        )
    raise UserError(f"{path}: unknown post file type (use .md or .txt)")


def _read_text(path: Path) -> str:
    """The file's text as `read_text(encoding="utf-8-sig")` gives it: a leading byte-order
    mark dropped (some Windows editors write one; it would hide the front matter, and the whole
    file, YAML and all, would become the post text), CR LF and CR read as LF. Read in one call
    without a text layer: a bulk import reads every file, and the text layer was most of that."""
    with open(path, "rb", buffering=0) as file:
        text = file.read().decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def source_key(path: Path, base: Path | None = None, *, source: str | None = None) -> str:
    """A file without an `id` is known by its path: relative to `base` (default: the working
    folder) when inside it, so the key does not depend on where postbot runs from. `source`:
    `source_name(path, base)`, when the caller has it already."""
    return "file:" + (source if source is not None else source_name(path, base))


def source_name(path: Path, base: Path | None = None) -> str:
    """A post file's path as the post records it (`source`): relative to `base` (the project
    folder; default the working folder) when inside it, else absolute."""
    absolute = os.path.abspath(path)  # not resolve(): no symlink walk for every file
    inside = _base_prefix(os.fspath(base) if base is not None else None, os.getcwd())
    # What relpath gives, sooner: the rest of the path inside the folder; a path elsewhere
    # (relpath would start it with "..") stays absolute.
    if absolute.startswith(inside):
        relative = absolute[len(inside) :]
    elif os.sep == "/" and "//" not in (absolute[:2], inside[:2]) and absolute != inside[:-1]:
        return absolute
    else:
        relative = ""
    if not relative or relative.startswith(os.sep):
        relative = os.path.relpath(absolute, base if base is not None else None)
    if relative.startswith(".."):
        return _posix(absolute)
    return _posix(relative)


@cache
def _base_prefix(base: str | None, cwd: str) -> str:
    """The absolute `base` (the working folder `cwd` if None) with a trailing separator."""
    absolute = os.path.abspath(base) if base is not None else cwd
    return absolute if absolute.endswith(os.sep) else absolute + os.sep


def _posix(path: str) -> str:
    return path if os.sep == "/" else Path(path).as_posix()


def parse_plain(text: str, path: Path, *, base: Path | None = None) -> Draft:
    paragraphs = [
        " ".join(line.strip() for line in block.splitlines() if line.strip())
        for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    ]
    paragraphs = [p for p in paragraphs if p]
    if not paragraphs:
        raise UserError(f"{path}: the file is empty")
    headline = paragraphs[0]
    teaser_paragraph = next((p for p in paragraphs[1:] if hashtags_in(p)), None)
    if teaser_paragraph is None:
        raise UserError(f"{path}: no teaser found (no paragraph after the headline has a #hashtag)")
    trailing = _TRAILING_TAGS.search(teaser_paragraph)
    teaser = teaser_paragraph[: trailing.start()] if trailing else teaser_paragraph
    tags = hashtags_in(trailing.group(0)) if trailing else hashtags_in(teaser_paragraph)
    source = source_name(path, base)
    return Draft(
        teaser=teaser.strip(),
        hashtags=tags,
        headline=headline,
        key=source_key(path, source=source),
        source=source,
        where=str(path),
    )


def parse_markdown(
    text: str,
    path: Path,
    zone: tzinfo,
    now: datetime | None = None,
    *,
    order: str | None = None,
    base: Path | None = None,
    require_front_matter: bool = False,
) -> Draft:
    where = str(path)
    split = split_front_matter(text, where)
    if require_front_matter and not split.has_front_matter:
        raise UserError(
            f"{where}: no front matter: a Markdown post in a folder begins with a '---' block"
            " (id, at, to, ...); rename the file to start with '_' if it is not a post"
        )
    meta = split.meta
    unknown = sorted(set(meta) - _FRONT_MATTER_KEYS)
    if unknown:
        named = ", ".join(_with_suggestion(key) for key in unknown)
        raise UserError(f"{where}: unknown front matter key(s): {named}")
    if "language" in meta and "lang" in meta:
        raise UserError(f"{where}: language and lang are the same key: keep one of them")
    if "to" in meta and not _str_list(meta["to"], "to", where):
        raise UserError(
            f"{where}: to: names no account: name them (to: [mastodon, x]), or leave the key"
            " out to post to every configured account"
        )
    parts = _thread(split, where)
    slot, every, until = _when_rules(split, zone, where, now, order)
    source = source_name(path, base)
    return Draft(
        teaser=parts[0],
        parts=tuple(parts[1:]),
        variants=_variants(split, where),
        hashtags=tuple(_str_list(meta.get("hashtags"), "hashtags", where)),
        link=_opt_str(meta.get("link"), "link", where),
        language=_opt_str(meta.get("language", meta.get("lang")), "language", where),
        media=tuple(_media(meta.get("media"), path)),
        headline=_opt_str(meta.get("headline"), "headline", where),
        to=tuple(_str_list(meta.get("to"), "to", where)),
        at=_at(meta.get("at"), zone, where, now, order),
        key=_example(meta.get("example"), where)
        + (_opt_str(meta.get("id"), "id", where) or source_key(path, source=source)),
        source=source,
        where=where,
        slot=slot,
        every=every,
        until=until,
        allow_duplicate=_flag(split, "allow_duplicate", where),
        hold=_flag(split, "draft", where),
    )


def _when_rules(
    split: Split, zone: tzinfo, where: str, now: datetime | None, order: str | None
) -> tuple[bool, str | None, datetime | None]:
    """`slot: next`, `every:` and `until:`: each understood exactly, and not with `at`."""
    meta = split.meta

    def at(key: str) -> str:
        line = split.key_line((key,))
        return f"{where}:{line}" if line else where

    slot = meta.get("slot")
    if slot is not None and slot != "next":
        raise UserError(
            f"{at('slot')}: slot: {slot!r} is not understood; write 'slot: next' (the first"
            " free posting slot of every target), or give a time with at:"
        )
    given = [k for k in ("at", "slot", "every") if meta.get(k) is not None]
    if len(given) > 1:
        raise UserError(
            f"{at(given[1])}: {' and '.join(given)} both say when the post goes out; keep one"
        )
    every = meta.get("every")
    if every is not None:
        from postbot.recurring import parse_every

        if not isinstance(every, str):
            every = str(every)
        try:
            every = parse_every(every).text
        except ValueError as exc:
            raise UserError(f"{at('every')}: every: {exc}") from None
    if meta.get("until") is not None and every is None:
        raise UserError(f"{at('until')}: until: ends a recurring post; give every: with it")
    until = None
    if meta.get("until") is not None:  # its line is looked up only when there is one to name
        until = _at(meta["until"], zone, at("until"), now, order, key="until")
    return slot == "next", every, until


def _flag(split: Split, key: str, where: str) -> bool:
    value = split.meta.get(key)
    if value is None or isinstance(value, bool):
        return bool(value)
    line = split.key_line((key,))
    at = f"{where}:{line}" if line else where
    raise UserError(f"{at}: {key} must be true or false, not {value!r}; write {key}: true")


def _thread(split: Split, where: str) -> list[str]:
    """The parts of the post: the body split at `---` lines, or `parts:` (then no body)."""
    from postbot.threads import parts_value, split_body

    body = split_body(split.body, where, split.body_line)
    if "parts" not in split.meta:
        return body
    line = split.key_line(("parts",))
    at = f"{where}:{line}" if line else where
    if any(body):
        raise UserError(
            f"{at}: parts: and a body both give the post's text; write the parts either under"
            " parts: or in the body, separated by lines holding only '---'"
        )
    return parts_value(split.meta["parts"], at)


def _variants(split: Split, where: str) -> tuple[Variant, ...]:
    if "variants" not in split.meta:
        return ()
    from postbot.variants import parse

    return parse(split.meta["variants"], where, split.key_line)


def _example(value: Any, where: str) -> str:
    """The key prefix of an example post (`example: true`): only dry runs publish it."""
    if value is None or value is False:
        return ""
    if value is True:
        return EXAMPLE_KEY_PREFIX
    raise UserError(f"{where}: example must be true or false, not {value!r}")


def _with_suggestion(key: str) -> str:
    import difflib

    close = difflib.get_close_matches(key, sorted(_FRONT_MATTER_KEYS), n=1)
    return f"{key} (did you mean {close[0]}?)" if close else key


def _at(
    value: Any,
    zone: tzinfo,
    where: str,
    now: datetime | None,
    order: str | None,
    key: str = "at",
) -> datetime | None:
    if value is None:
        return None
    # YAML turns an unquoted 2026-12-01 08:00:00 into a datetime (naive: local time).
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC)
        try:
            return localize(value, zone)
        except UserError as exc:
            raise UserError(f"{where}: {key}: {exc}") from None
    if isinstance(value, bool) or not isinstance(value, str | int | date):
        raise UserError(f"{where}: {key}: must be a date and time, written YYYY-MM-DD HH:MM")
    spec = str(value).strip()  # a YAML date (2026-12-01) is refused below: no time of day
    try:
        reading = read_time(spec, zone, now, order=order)
    except UserError as exc:
        raise UserError(f"{where}: {key}: {exc}") from None
    if reading.relative:
        # "+2h" or "tomorrow 9:00" would mean something new at every import.
        raise UserError(
            f"{where}: {key}: relative time '{spec}' is not allowed in a post file:"
            " give a fixed date and time, written YYYY-MM-DD HH:MM"
        )
    return reading.when


def _media(value: Any, path: Path) -> list[MediaItem]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise UserError(f"{path}: media must be a list of {{path, alt}}")
    items = []
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise UserError(f"{path}: each media entry needs a path (and alt text)")
        media_path = (path.parent / entry["path"]).as_posix()
        items.append(MediaItem(media_path, str(entry.get("alt") or "")))
    return items


def _str_list(value: Any, key: str, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.replace(",", " ").split()
    if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
        return [str(v) for v in value]
    raise UserError(f"{where}: {key} must be a list of strings")


def _opt_str(value: Any, key: str, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value).strip() or None
    raise UserError(f"{where}: {key} must be a string")
