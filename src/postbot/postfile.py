"""Post files -> Drafts.

Two formats:
- Markdown (`.md`) with YAML front matter: `id`, `at`, `to`, `hashtags`, `link`, `language`,
  `headline`, `media` (a list of `{path, alt}`, paths relative to the file). The body is the teaser.
- Plain text (`.txt`) in the newsroom teaser shape: the first paragraph is the headline, the
  first paragraph carrying hashtags is the teaser (its trailing `#tags` become the hashtags),
  the rest is the article and is not sent. Line breaks inside a paragraph become single spaces.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any

from postbot.compose import hashtags_in
from postbot.domain import MediaItem
from postbot.drafts import Draft
from postbot.errors import UserError
from postbot.when import localize, parse_when

SUFFIXES = (".md", ".markdown", ".txt")
_FRONT_MATTER_KEYS = {"id", "at", "to", "hashtags", "link", "language", "lang", "media", "headline"}
_TRAILING_TAGS = re.compile(r"(?:\s+#[^\s#]+)+\s*$")


def find_post_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, plus the post files directly inside named folders, sorted."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if _is_post_file(p)))
        elif path.exists():
            found.append(path)
        else:
            raise UserError(f"{path}: no such file or folder")
    return found


def _is_post_file(path: Path) -> bool:
    # Not hidden files: editors leave `.#post.md` (Emacs lock, a dangling link) or `._post.md`
    # (macOS) beside a post being edited, and one unreadable file stops the whole import.
    return path.suffix.lower() in SUFFIXES and not path.name.startswith(".") and path.is_file()


def read_post_file(path: Path, zone: tzinfo, now: datetime | None = None) -> Draft:
    try:
        # utf-8-sig: a byte-order mark (some Windows editors write one) would otherwise hide
        # the front matter, and the whole file, YAML and all, would become the post text.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".txt":
        return parse_plain(text, path)
    if path.suffix.lower() in (".md", ".markdown"):
        return parse_markdown(text, path, zone, now)
    raise UserError(f"{path}: unknown post file type (use .md or .txt)")


def source_key(path: Path) -> str:
    """A file without an `id` is known by its path, relative to the working folder if inside it."""
    absolute = os.path.abspath(path)  # not resolve(): no symlink walk for every file
    relative = os.path.relpath(absolute)
    if relative.startswith(".."):
        return "file:" + Path(absolute).as_posix()
    return "file:" + Path(relative).as_posix()


def parse_plain(text: str, path: Path) -> Draft:
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
    return Draft(
        teaser=teaser.strip(),
        hashtags=tags,
        headline=headline,
        key=source_key(path),
        source=str(path),
        where=str(path),
    )


def parse_markdown(text: str, path: Path, zone: tzinfo, now: datetime | None = None) -> Draft:
    import frontmatter
    import yaml

    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"{path}{line}: malformed front matter: {problem}") from None
    except ValueError as exc:
        raise UserError(f"{path}: malformed front matter: {exc}") from None
    except TypeError:  # a key YAML reads as a number, date or boolean (`1:`, `on:`, `yes:`)
        raise UserError(
            f"{path}: malformed front matter: a key is not text"
            " (YAML reads keys such as 1, yes or on as numbers or booleans)"
        ) from None
    meta: dict[str, Any] = dict(post.metadata)
    unknown = sorted(set(meta) - _FRONT_MATTER_KEYS)
    if unknown:
        raise UserError(f"{path}: unknown front matter key(s): {', '.join(unknown)}")
    where = str(path)
    return Draft(
        teaser=" ".join(line.strip() for line in post.content.splitlines() if line.strip()),
        hashtags=tuple(_str_list(meta.get("hashtags"), "hashtags", where)),
        link=_opt_str(meta.get("link"), "link", where),
        language=_opt_str(meta.get("language", meta.get("lang")), "language", where),
        media=tuple(_media(meta.get("media"), path)),
        headline=_opt_str(meta.get("headline"), "headline", where),
        to=tuple(_str_list(meta.get("to"), "to", where)),
        at=_at(meta.get("at"), zone, where, now),
        key=_opt_str(meta.get("id"), "id", where) or source_key(path),
        source=where,
        where=where,
    )


def _at(value: Any, zone: tzinfo, where: str, now: datetime | None) -> datetime | None:
    if value is None:
        return None
    # YAML turns an unquoted 2026-12-01 08:00:00 into a datetime (naive: local time).
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC)
        try:
            return localize(value, zone)
        except UserError as exc:
            raise UserError(f"{where}: at: {exc}") from None
    if isinstance(value, date):
        raise UserError(f"{where}: at: {value} has no time of day")
    spec = str(value).strip()
    if spec.startswith("+") or spec.lower().startswith("in "):
        # "+2h" would mean something new at every import: a file needs a fixed time.
        raise UserError(f"{where}: at: relative time '{spec}' is not allowed in a post file")
    try:
        return parse_when(spec, zone, now)
    except UserError as exc:
        raise UserError(f"{where}: at: {exc}") from None


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
