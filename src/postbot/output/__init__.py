"""Printing for people (Rich tables, times in the configured zone) and for scripts (--json)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, tzinfo
from typing import Any

from postbot.domain import Post


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def local(value: datetime | None, zone: tzinfo) -> str:
    if value is None:
        return "-"
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    grid = Table(title=title, show_lines=False)
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(*("-" if v is None else str(v) for v in row))
    Console(soft_wrap=False).print(grid)


def posts_table(posts: list[Post], zone: tzinfo) -> None:
    rows = []
    for post in posts:
        for d in post.deliveries:
            rows.append(
                [post.id, d.account, d.status, local(d.due_at, zone),
                 d.attempts, _short(post.teaser, 60), d.remote_url or d.last_error]
            )  # fmt: skip
    table(None, ["post", "account", "status", "due", "tries", "text", "url / error"], rows)


def post_detail(post: Post, zone: tzinfo) -> None:
    print(f"post {post.id}  ({post.source}, key {post.key})")
    if post.headline:
        print(f"headline: {post.headline}")
    print(f"text:     {post.teaser}")
    print(f"hashtags: {' '.join('#' + t for t in post.hashtags) or '-'}")
    print(f"link:     {post.link or '-'}")
    print(f"language: {post.language or '-'}")
    for m in post.media:
        print(f"media:    {m.path} (alt: {m.alt})")
    for d in post.deliveries:
        where = d.remote_url or d.remote_id or d.last_error or ""
        print(
            f"\n{d.account} ({d.platform}): {d.status}, due {local(d.due_at, zone)},"
            f" {d.attempts} attempt(s) {where}".rstrip()
        )
        print(f"  sends: {d.text}")


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
