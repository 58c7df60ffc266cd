"""What people read: tables that fit an 80-column terminal, lines, times in the configured zone.

Statuses are coloured on a terminal (never when piped, or with NO_COLOR set). Texts from posts
and platforms go into Rich as plain `Text`, so a `[link]` in a teaser is never read as markup.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING

import click

from postbot.costs import money
from postbot.domain import PaceState, Post, Status, Wait, WaitReason
from postbot.links import has_url
from postbot.output import console, local
from postbot.pacing import describe_period
from postbot.recurring import Recurrence
from postbot.service import (
    AttemptLog,
    Changed,
    Enqueued,
    Listing,
    Preview,
    QueueStatus,
    Resolved,
)
from postbot.service.accounts import AccountCheck
from postbot.service.golive import WentLive

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

    from postbot.importing import ImportReport, Progress
    from postbot.service.costs import Spend

STATUS_STYLE: Mapping[Status, str] = {
    Status.QUEUED: "cyan",
    Status.SCHEDULED: "blue",
    Status.PUBLISHING: "yellow",
    Status.PUBLISHED: "green",
    Status.FAILED: "bold red",
    Status.CANCELLED: "dim",
    Status.UNKNOWN: "bold magenta",
    Status.MISSED: "red",
    Status.DRAFT: "italic",
}


def warn(lines: Sequence[str]) -> None:
    for line in lines:
        click.echo(f"postbot: warning: {line}", err=True)


# -- posts ----------------------------------------------------------------------------------
def posts_table(shown: Listing, zone: tzinfo) -> None:
    """One row per delivery; the post's id and text on its first row only. A delivery held
    back by its pace shows `paced` and when it goes; one a dry run set is marked `*`."""
    from rich.text import Text

    posts = shown.posts
    if not posts:
        click.echo("no posts")
        return

    grid = _table()
    grid.add_column("post", justify="right", no_wrap=True)
    grid.add_column("account", no_wrap=True, overflow="ellipsis", max_width=16)
    grid.add_column("status", no_wrap=True)
    grid.add_column("due", no_wrap=True)
    grid.add_column("text", overflow="ellipsis", min_width=12)  # takes what is left
    for post in posts:
        for i, d in enumerate(post.deliveries):
            first = i == 0
            wait = shown.waits.get(d.id)
            paced = wait is not None and wait.reason == WaitReason.PACED
            held = wait is not None and wait.reason == WaitReason.BUDGET
            grid.add_row(
                str(post.id) if first else "",
                Text(d.account),
                _paced() if paced else _held() if held else _status(d.status, dry_run=d.dry_run),
                local(wait.until if wait is not None and paced else d.due_at, zone)
                + (" (slot)" if d.slot_at is not None else ""),
                Text(post.teaser if first else "", no_wrap=True, overflow="ellipsis"),
                end_section=i == len(post.deliveries) - 1 and len(post.deliveries) > 1,
            )
    console().print(grid)
    from postbot.output.slots import recurrence_text

    for post_id, series in shown.recurring.items():
        click.echo(f"post {post_id}: {recurrence_text(series, post_id, zone)}")
    notes = [w for w in shown.waits.values() if w.reason == WaitReason.BUDGET and w.note]
    for account, note in dict.fromkeys((w.account, w.note) for w in notes):
        click.echo(f"{account}: {note}")
    if any(d.dry_run for p in posts for d in p.deliveries):
        click.echo("* set by a dry run: nothing was sent (postbot golive queues it for real)")


def post_detail(
    post: Post, waits: Mapping[int, Wait], zone: tzinfo, series: Recurrence | None = None
) -> None:
    """Every field in full: long lines are left to the terminal to wrap (copy-paste safe)."""
    from rich.text import Text

    from postbot.output.slots import recurrence_text

    out = console()
    lines = [f"post {post.id}  ({post.source}, key {post.key})"]
    if post.headline:
        lines.append(f"headline: {post.headline}")
    lines += [
        f"text:     {post.teaser}",
        *(f"part {n}:   {text}" for n, text in enumerate(post.parts, 2)),
        f"hashtags: {' '.join('#' + t for t in post.hashtags) or '-'}",
        f"link:     {post.link or '-'}",
        f"language: {post.language or '-'}",
        *(f"media:    {m.path} (alt: {m.alt})" for m in post.media),
        *(f"variant:  {v}" for v in variant_lines(post)),
        *([f"repeats:  {recurrence_text(series, post.id, zone)}"] if series else []),
    ]
    out.print(Text("\n".join(lines)), soft_wrap=True)
    for d in post.deliveries:
        when = f"due {local(d.due_at, zone)}" + (" (its posting slot)" if d.slot_at else "")
        if d.status == Status.QUEUED and d.next_attempt_at != d.due_at:
            when += f", next attempt {local(d.next_attempt_at, zone)}"
        wait = waits.get(d.id)
        if wait is not None and wait.reason == WaitReason.PACED and wait.pace is not None:
            when += f", waits for its pace ({_budget(wait.pace)}) until {local(wait.until, zone)}"
        if wait is not None and wait.reason == WaitReason.BUDGET:
            when += f", {wait.note}"
        where = d.remote_url or d.remote_id or d.last_error or ""
        head = Text.assemble(
            "\n",
            f"{d.account} ({d.platform}): ",
            _status(d.status, dry_run=d.dry_run),
            " (by a dry run: nothing was sent)" if d.dry_run else "",
            f", {when}, {d.attempts} attempt(s) {where}".rstrip(),
        )
        out.print(head, soft_wrap=True)
        if d.scheduled_id:
            handed = f"handed to the server as scheduled status {d.scheduled_id}"
            at = local(d.due_at, zone)
            out.print(Text(f"  {handed}: it publishes it at {at}"), soft_wrap=True)
        if not d.parts:
            out.print(Text(f"  sends: {d.text}"), soft_wrap=True)
        for part in d.parts:
            sent = part.remote_url or part.remote_id
            state = f" ({'dry run: ' if part.dry_run else ''}{sent})" if sent else ""
            out.print(Text(f"  part {part.index}/{len(d.parts)}{state}: {part.text}"),
                      soft_wrap=True)  # fmt: skip


def variant_lines(post: Post) -> list[str]:
    """One line per variant: its name and what it overrides."""
    from postbot.variants import as_json

    return [
        f"{v.pop('name')}: " + "; ".join(f"{key} {value}" for key, value in v.items())
        for v in as_json(post.variants)
    ]


# -- the attempt log ------------------------------------------------------------------------
def attempt_log(log: AttemptLog, zone: tzinfo) -> None:
    from rich.text import Text

    if not log.attempts:
        if log.post is None:
            click.echo("no attempts yet")
        else:
            where = ", ".join(f"{d.account} {d.status}" for d in log.post.deliveries)
            click.echo(f"post {log.post.id} has no attempts yet ({where})")
        return
    grid = _table()
    for name in ("post", "account", "at", "outcome", "http"):
        grid.add_column(name, no_wrap=True, justify="right" if name in ("post", "http") else "left")
    grid.add_column("url / error", overflow="fold")
    for a in log.attempts:
        grid.add_row(
            str(a.post_id),
            Text(a.account),
            local(a.finished_at, zone),
            a.outcome + (" (dry run)" if a.dry_run else ""),
            "-" if a.http_status is None else str(a.http_status),
            Text(a.remote_url or a.remote_id or a.error_message or "-"),
        )
    console().print(grid)


# -- status ---------------------------------------------------------------------------------
def queue_status(s: QueueStatus, zone: tzinfo) -> None:
    summary = s.summary
    counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.counts.items()))
    lines = [f"queue: {counts or 'empty'}"]
    if summary.dry_run:
        done = ", ".join(f"{k} {v}" for k, v in sorted(summary.dry_run.items()))
        lines.append(f"dry run: {done} (nothing was sent; postbot golive queues them for real)")
    lines.append(_next_send(s, zone))
    for p in s.outlook.paces.values() if s.outlook else ():
        if p.paced_out:
            slot = local(p.next_slot, zone)
            lines.append(f"{p.account}: paced out ({_budget(p)}), {p.waiting} due wait(s),"
                         f" next slot {slot}")  # fmt: skip
    lines += [_spend(x, zone) for x in s.spend]
    if not summary.workers:
        lines.append("daemon: no heartbeat (not running?)")
    for w in summary.workers:
        mode = " (dry run)" if w.dry_run else ""
        lines.append(f"daemon {w.worker}{mode}: last heartbeat {local(w.seen_at, zone)}")
    last = s.last_import
    if last is not None:
        lines.append(
            f"posts folder {last.folder}: last import {local(last.at, zone)}: "
            + _counts(last.summary)
        )
        lines += [f"  broken: {b.message}" for b in last.broken]
    for line in lines:
        click.echo(line)


# -- writing commands -----------------------------------------------------------------------
def enqueued(e: Enqueued, zone: tzinfo) -> None:
    """The id alone on stdout (for `id=$(postbot enqueue ...)`); the rest for people, on stderr."""
    click.echo(e.post_id)
    if e.slots:
        slots = ", ".join(f"{a} at {local(t, zone)}" for a, t in e.slots.items())
        click.echo(f"post {e.post_id}: next free slots: {slots}", err=True)
    else:
        accounts = ", ".join(e.accounts)
        every = f" (every {e.every}: the first occurrence)" if e.every else ""
        click.echo(f"post {e.post_id}: due {local(e.due, zone)}{every} to {accounts}", err=True)
    warn(e.warnings)


def import_report(report: ImportReport) -> None:
    """A summary, not a line per file; conflicts and warnings each on their own line."""
    warn([f"{r.key}: {r.message}" for r in report.results if r.action == "conflict"])
    warn(report.warnings)
    files = f"{report.files} post file{'' if report.files == 1 else 's'}"
    click.echo(f"{files}: {_counts(report.summary())}")


@contextlib.contextmanager
def import_progress() -> Iterator[Progress | None]:
    """A progress bar on stderr while files are checked, on a terminal only."""
    err = console(stderr=True)
    if not err.is_terminal:
        yield None
        return
    import time

    from rich.progress import Progress as Bar

    # Drawn by the import's own thread, ten times a second at most, not by a thread of its
    # own: a process with one thread may fork workers to read a big import (`file_checks`).
    with Bar(console=err, transient=True, auto_refresh=False) as bar:
        task = bar.add_task("checking post files", total=None)
        drawn = 0.0

        def update(done: int, total: int) -> None:
            nonlocal drawn
            now = time.monotonic()
            due = done == total or now - drawn >= 0.1
            bar.update(task, completed=done, total=total, refresh=due)
            if due:
                drawn = now

        yield update


def changed(verb: str, c: Changed, zone: tzinfo) -> None:
    n = c.deliveries
    line = f"{verb} {n} deliver{'y' if n == 1 else 'ies'} of post {c.post_id}"
    if c.slots:
        taken = ", ".join(f"{a} at {local(t, zone)}" for a, t in c.slots.items())
        line += f", next free slots: {taken}"
        click.echo(line)
    else:
        click.echo(line + (f", due {local(c.due, zone)}" if c.due is not None else ""))
    warn(c.warnings)


def resolved(r: Resolved) -> None:
    if r.part is None:
        click.echo(f"post {r.post_id}: {r.account} recorded as published at {r.url}")
        return
    goes_on = (
        f"; the thread goes on with part {r.part + 1}" if r.parts and r.part < r.parts
        else "; the thread is complete"
    )  # fmt: skip
    click.echo(f"post {r.post_id}: {r.account} part {r.part} of {r.parts} recorded as published"
               f" at {r.url}{goes_on}")  # fmt: skip


def preview(p: Preview, zone: tzinfo | None = None) -> None:
    """One row per account, or per part of a thread (`part` 1/3 ...); the variant an account
    is sent is named under its name; a stored post's posting slots and rule after the table."""
    from rich.text import Text

    threads = any(t.parts for t in p.targets)
    grid = _table()
    for name in ("account", "platform", *(("part",) if threads else ()), "count", "limit", "fits"):
        grid.add_column(name, no_wrap=True)
    grid.add_column("text", overflow="fold")
    for t in p.targets:
        parts = [(t.text, t.checks, t.fits)] if not t.parts else [
            (part.text, part.checks, part.fits) for part in t.parts
        ]  # fmt: skip
        for number, (text, checks, fits) in enumerate(parts, 1):
            first = number == 1
            account = Text(t.account + (f"\nvariant: {t.variant}" if t.variant else ""))
            verdict = Text("yes", style="green") if fits else Text("NO", style="bold red")
            # Every limit the text was checked against beyond the main one (Bluesky's bytes...).
            more = "".join(f"\n{c}" + ("" if c.fits else " (too long)") for c in checks[1:])
            grid.add_row(
                account if first else "", t.platform if first else "",
                *((f"{number}/{len(parts)}",) if threads else ()),
                str(checks[0].count), str(checks[0].limit), verdict, Text(text + more),
                end_section=threads and number == len(parts),
            )  # fmt: skip
    console().print(grid)
    for t in p.targets:
        if t.account in p.costs:
            linked = sum(1 for text in t.texts if has_url(text))
            click.echo(f"cost: {t.account}: X bills {money(p.costs[t.account])} for it"
                       f" ({len(t.texts)} post(s), {linked} with a link)")  # fmt: skip
    if zone is not None:
        from postbot.output.slots import recurrence_text

        for name, slot in p.slots.items():
            click.echo(f"{name}: holds the posting slot {local(slot, zone)}")
        if p.recurrence is not None:
            click.echo(recurrence_text(p.recurrence, p.recurrence.series_id, zone))
    warn(p.warnings)


def accounts(rows: Sequence[AccountCheck]) -> None:
    from rich.table import Table
    from rich.text import Text

    grid = Table()
    for name in ("account", "platform", "logged in as", "result"):
        grid.add_column(name, overflow="fold")
    for r in rows:
        result = Text("OK", style="green") if r.ok else Text(str(r.error), style="red")
        grid.add_row(Text(r.account), r.platform, Text(r.identity or "-"), result)
    console().print(grid)


# -- pieces ---------------------------------------------------------------------------------
def _table() -> Table:
    from rich import box
    from rich.table import Table

    return Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        padding=(0, 1),
    )


def _status(status: Status, *, dry_run: bool = False) -> Text:
    from rich.text import Text

    return Text(str(status) + ("*" if dry_run else ""), style=STATUS_STYLE.get(status, ""))


def _held() -> Text:
    from rich.text import Text

    return Text("held", style="yellow")


def _spend(x: Spend, zone: tzinfo) -> str:
    month = x.month_start.astimezone(zone).strftime("%B %Y")
    line = f"{x.account}: {money(x.spent)} spent in {month} ({x.posts} post(s) billed by X)"
    if x.in_flight:
        line += f", {money(x.in_flight)} in flight"
    if x.budget is not None:
        line += f", monthly budget {money(x.budget)}"
    if x.held is not None:
        line += f"; {x.held.held} due post(s) {x.held.reason()}"
    return line


def _paced() -> Text:
    from rich.text import Text

    return Text("paced", style="yellow")


def _budget(p: PaceState) -> str:
    return f"{p.used} of {p.count} per {describe_period(p.period)} used"


def _next_send(s: QueueStatus, zone: tzinfo) -> str:
    """When the next delivery goes out: never a moment past while all that is due waits."""
    nxt = s.outlook.next_send if s.outlook else None
    if nxt is None:
        return f"next due: {local(s.summary.next_due, zone)}"
    if nxt.pace is not None:
        return (
            f"next due: {local(nxt.at, zone)} ({nxt.account} waits for its pace:"
            f" {_budget(nxt.pace)})"
        )
    return f"next due: {local(nxt.at, zone)}"


def go_live(w: WentLive) -> None:
    r = w.reset
    if w.examples:
        listed = ", ".join(str(i) for i in w.examples)
        click.echo(f"cancelled example post(s) {listed}: only dry runs publish them")
    if not r.requeued:
        click.echo("nothing to re-queue: no dry-run results in the queue")
        return
    made = ", ".join(f"{n} {status}" for status, n in sorted(r.by_status.items()))
    click.echo(
        f"re-queued {r.requeued} deliver{'y' if r.requeued == 1 else 'ies'} of {len(r.posts)}"
        f" post{'' if len(r.posts) == 1 else 's'} (a dry run had {made}); a live"
        " `postbot run` now publishes them for real"
    )


def _counts(summary: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in summary.items())
