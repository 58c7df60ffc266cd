"""How posting slots and recurring posts look: `postbot slots` (text and `--json`), and the
lines `list`, `show` and `preview` add for a slot or a series' rule."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

import click

from postbot.output import console, iso, local
from postbot.recurring import Recurrence
from postbot.service.slots import SlotWeek


def week_text(week: SlotWeek, zone: tzinfo) -> None:
    """One table per place slots are configured: each slot, and per account what fills it."""
    from rich.table import Table
    from rich.text import Text

    if not week.tables:
        click.echo(
            'no posting slots configured (slots = ["mon-fri 07:30", ...] on an account,'
            " or [queues.NAME] with slots and accounts)"
        )
        return
    click.echo(f"slots from {local(week.start, zone)} to {local(week.end, zone)}")
    out = console()
    for table in week.tables:
        grid = Table(title=f"{table.name} ({', '.join(table.accounts)})", title_justify="left",
                     box=None, pad_edge=False, show_edge=False)  # fmt: skip
        grid.add_column("slot", no_wrap=True)
        grid.add_column("when", no_wrap=True)
        for account in table.accounts:
            grid.add_column(account, overflow="ellipsis", min_width=10)
        for line in table.lines:
            cells = [
                Text("free", style="dim") if fill is None
                else Text(f"post {fill.post_id}: {fill.title}")
                for fill in (line.fills[a] for a in table.accounts)
            ]  # fmt: skip
            grid.add_row(line.slot, local(line.at, zone), *cells)
        if not table.lines:
            grid.add_row("-", "no slot in these days", *("" for _ in table.accounts))
        out.print(grid)


def week_json(week: SlotWeek) -> dict[str, Any]:
    return {
        "start": iso(week.start),
        "end": iso(week.end),
        "places": [
            {
                "name": t.name,
                "accounts": list(t.accounts),
                "slots": [
                    {
                        "at": iso(line.at),
                        "slot": line.slot,
                        "fills": {
                            a: None
                            if f is None
                            else {"post_id": f.post_id, "title": f.title, "status": str(f.status)}
                            for a, f in line.fills.items()
                        },
                    }
                    for line in t.lines
                ],
            }
            for t in week.tables
        ],
    }


def recurrence_text(r: Recurrence, post_id: int, zone: tzinfo) -> str:
    """`every mon 09:00, next 2026-12-07 09:00:00 CET` (and the series and its end)."""
    of = "" if r.series_id == post_id else f" (series of post {r.series_id})"
    until = f", until {local(r.until, zone)}" if r.until else ""
    if r.stopped:
        nxt = ", stopped (cancelled)"
    elif r.next_at is None:
        nxt = ", ended"
    else:
        nxt = f", next {local(r.next_at, zone)}"
    return f"every {r.every}{of}{until}{nxt}"


def recurrence_json(r: Recurrence | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {"every": r.every, "series_id": r.series_id, "until": iso(r.until),
            "next_at": iso(r.next_at), "stopped": r.stopped}  # fmt: skip
