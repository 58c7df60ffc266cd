"""What the CLI (and any script) calls: one function per command, each with a typed result.

enqueue, import, preview, cancel, reschedule, retry, resolve, and the reads (list, show,
log, status). Each function validates everything first and writes in one transaction, so a
refused request leaves the database as it was. How results look to people and scripts (the
tables, the `--json` shapes) is `postbot.output`'s business, not this module's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from postbot.config import Settings, load_settings
from postbot.domain import (
    Attempt,
    Outlook,
    Post,
    QueueSummary,
    Status,
    Variant,
    Wait,
)
from postbot.drafts import Draft, Target, plan, plan_warnings
from postbot.errors import StateError, UserError
from postbot.platforms import platform_for
from postbot.recurring import Recurrence
from postbot.reviews import Review
from postbot.store import Store, open_store
from postbot.when import parse_when, require_future

if TYPE_CHECKING:
    from postbot.import_record import ImportRecord
    from postbot.importing import ImportReport, OnDelete, Progress
    from postbot.service.costs import Spend


@dataclass
class App:
    settings: Settings
    store: Store

    def now(self) -> datetime:
        return datetime.now(UTC)

    @property
    def zone(self) -> ZoneInfo:
        """The configured zone: the one people read times in."""
        return self.settings.timezone


def open_app(config_path: str | Path | None = None, *, migrate: bool = True) -> App:
    settings = load_settings(config_path)
    store = open_store(settings.database_url)
    if migrate:
        store.ensure_schema()
    return App(settings, store)


# -- results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Enqueued:
    post_id: int
    due: datetime  # the first account's, with slots
    accounts: tuple[str, ...]
    warnings: tuple[str, ...] = ()
    slots: Mapping[str, datetime] = field(default_factory=dict)  # --next-slot: per account
    every: str | None = None  # a recurring post's rule


@dataclass(frozen=True)
class Changed:
    """cancel, reschedule, retry: how many deliveries of the post changed, and when they are due."""

    post_id: int
    deliveries: int
    due: datetime | None = None
    warnings: tuple[str, ...] = ()  # e.g. what a server had published already
    slots: Mapping[str, datetime] = field(default_factory=dict)  # --next-slot: per account


@dataclass(frozen=True)
class Resolved:
    post_id: int
    account: str
    url: str
    part: int | None = None  # a thread's part that was resolved, of `parts`
    parts: int | None = None


@dataclass(frozen=True)
class Preview:
    targets: tuple[Target, ...]
    warnings: tuple[str, ...] = ()
    slots: Mapping[str, datetime] = field(default_factory=dict)  # a stored post's, per account
    recurrence: Recurrence | None = None
    # What each delivery to a platform that bills per post (X) costs, by account (US dollars).
    costs: Mapping[str, Decimal] = field(default_factory=dict)

    @property
    def fits(self) -> bool:
        return all(t.fits for t in self.targets)


@dataclass(frozen=True)
class AttemptLog:
    post: Post | None  # the post asked about; None for the whole log
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True)
class QueueStatus:
    summary: QueueSummary
    # What the daemon's last import of the posts folder found; None if nothing is recorded.
    last_import: ImportRecord | None = None
    # Every paced account's live budget and when the next delivery can go out.
    outlook: Outlook | None = None
    now: datetime | None = None
    spend: tuple[Spend, ...] = ()  # each X account's month (service/costs.py)


@dataclass(frozen=True)
class Listing:
    """Posts as `list` and `show` present them: with why each queued delivery waits."""

    posts: tuple[Post, ...]
    waits: Mapping[int, Wait]  # delivery id -> why it has not gone out yet
    recurring: Mapping[int, Recurrence] = field(default_factory=dict)  # post id -> its series
    # post id -> its editors' decisions (approved, rejected), oldest first; read by `show`
    reviews: Mapping[int, tuple[Review, ...]] = field(default_factory=dict)


# -- writing ----------------------------------------------------------------------------------
def due_time(app: App, at: str | None, now_flag: bool, now: datetime) -> datetime:
    if at is not None and now_flag:
        raise UserError("give either --at or --now, not both")
    if at is None:
        return now
    return parse_due(app, at, now)


def parse_due(app: App, at: str, now: datetime) -> datetime:
    """A time typed for a post (`--at`): read in the configured zone and date order, and not
    in the past."""
    when = parse_when(at, app.zone, now, order=app.settings.date_order)
    return require_future(when, now, at, app.zone)


def enqueue_text(
    app: App,
    text: str,
    *,
    hashtags: Sequence[str] = (),
    link: str | None = None,
    at: str | None = None,
    now_flag: bool = False,
    to: Sequence[str] = (),
    language: str | None = None,
    parts: Sequence[str] = (),
    next_slot: bool = False,
    every: str | None = None,
    until: str | None = None,
    allow_duplicate: bool = False,
) -> Enqueued:
    """Queue a post typed at the command line; `parts`: a thread's further parts (`--part`);
    `next_slot`: each target in its first free posting slot; `every` (and `until`): a
    recurring post, first due at the rule's next time. The same text to an account within a
    day is refused unless `allow_duplicate`."""
    from postbot.service import recurring, slots
    from postbot.service.guards import refuse_duplicate

    now = app.now()
    end = recurring.check_when(app, at, now_flag, next_slot, every, until, now)
    due = (
        recurring.first_occurrence(app.settings, every, end, now, "--every")
        if every is not None
        else due_time(app, at, now_flag, now)
    )
    draft = typed_draft(
        app, text, hashtags=hashtags, link=link, to=to, language=language, parts=parts
    )
    checked = plan(
        replace(draft, every=every, until=end, slot=next_slot, allow_duplicate=allow_duplicate),
        app.settings,
    )
    refuse_duplicate(app.store, checked, now, app.zone)
    accounts = tuple(t.account for t in checked.targets)
    warnings = tuple(plan_warnings(checked))
    if next_slot:
        post_id, taken = slots.place(app, checked, now)
        return Enqueued(post_id, taken[accounts[0]], accounts, warnings, taken)
    post_id = app.store.enqueue(checked, due, now)
    return Enqueued(post_id, due, accounts, warnings, every=every)


def typed_draft(
    app: App,
    text: str,
    *,
    hashtags: Sequence[str] = (),
    link: str | None = None,
    to: Sequence[str] = (),
    language: str | None = None,
    parts: Sequence[str] = (),
) -> Draft:
    """A post typed by a person (the command line, the web composer), before it is checked;
    `parts`: a thread's further parts."""
    return Draft(
        teaser=text,
        hashtags=tuple(hashtags),
        link=link,
        language=language or app.settings.language,
        to=tuple(to),
        parts=tuple(parts),
    )


def import_paths(
    app: App,
    paths: Sequence[str | Path],
    *,
    keep_going: bool = False,
    progress: Progress | None = None,
    allow_duplicate: bool = False,
) -> ImportReport:
    """Import post files and folders; all are checked before any is written (a duplicate, see
    `service.guards`, is a broken file, unless `allow_duplicate`).

    Without `keep_going`, one broken file means nothing is written, and the refusal
    (`importing.BrokenFiles`) names every broken file. With it, the good files are written and
    the broken ones are in the report.
    """
    from postbot import importing

    return importing.import_files(
        app.settings, app.store, paths, app.now(), keep_going=keep_going, progress=progress,
        allow_duplicate=allow_duplicate,
    )  # fmt: skip


def _as_typed(folder: Path) -> Path:
    """The folder as a person would type it here: relative to the working folder when inside
    it, so the files named in messages and in `status` read `posts/a.md`."""
    relative = os.path.relpath(folder)
    return folder if relative.startswith("..") else Path(relative)


def import_folder(
    app: App, folder: Path, *, on_delete: OnDelete | None = None, live: bool = True
) -> ImportReport:
    """The daemon's import of the posts folder: every good file, each broken one reported,
    posts whose file is gone kept or cancelled (`[posts] on_delete`, unless `on_delete` says);
    recorded for `postbot status`."""
    from postbot import importing
    from postbot.import_record import record_path, save_record

    now = app.now()
    on_delete = on_delete or importing.OnDelete(app.settings.on_delete)
    folder = _as_typed(folder)
    report = importing.import_files(
        app.settings, app.store, [folder], now, keep_going=True, live=live
    )
    report = importing.withdraw_missing(
        app.store, folder, report, on_delete, now, app.settings.project_dir,
        settings=app.settings, live=live,
    )  # fmt: skip
    record = record_path(app.settings)
    if record is not None:
        try:
            save_record(record, folder, report, now)
        except OSError as exc:  # the import itself went through: say so, and why status won't
            note = f"cannot record this import for `postbot status` in {record}: {exc.strerror}"
            report = replace(report, warnings=(*report.warnings, note))
    return report


def cancel(app: App, post_id: int) -> Changed:
    """Cancel the post's queued deliveries, and withdraw those a server holds (status
    `scheduled`) from it first (service/serverside.py); a recurring post's series stops."""
    from postbot.service.recurring import cancel_post

    changed, done = cancel_post(app.settings, app.store, post_id, app.now())
    return Changed(post_id, changed, warnings=(done.note(post_id),) if done.gone else ())


def reschedule(app: App, post_id: int, at: str | None, next_slot: bool = False) -> Changed:
    """Move the post's queued (or missed) deliveries, and those a server holds, to `at`, or
    (`next_slot`) each to its account's first free posting slot."""
    from postbot.service import serverside

    if (at is None) == (not next_slot):
        raise UserError("give either --at or --next-slot")
    if next_slot:
        from postbot.service.slots import reschedule as to_slots

        taken = to_slots(app, post_id)
        return Changed(post_id, len(taken), min(taken.values()), slots=taken)
    assert at is not None
    now = app.now()
    due = parse_due(app, at, now)
    post = app.store.get_post(post_id)
    done = serverside.reschedule(app.settings, app.store, post, due, now)
    changed = done.then("reschedule", post_id, lambda: app.store.reschedule(post_id, due, now))
    notes = (done.note(post_id),) if done.gone else ()
    return Changed(post_id, changed, due, notes)


def retry(app: App, post_id: int) -> Changed:
    now = app.now()
    return Changed(post_id, app.store.retry(post_id, now), now)


def resolve(app: App, post_id: int, url: str, account: str | None = None) -> Resolved:
    """Record an `unknown` delivery as published at `url`, a post address on its platform."""
    post = app.store.get_post(post_id)
    unknown = [
        d
        for d in post.deliveries
        if d.status == Status.UNKNOWN and (account is None or d.account == account)
    ]
    if not unknown:
        on = f" on '{account}'" if account else ""
        raise StateError(f"post {post_id} has no delivery in state unknown{on} to resolve")
    for delivery in unknown:
        if not platform_for(app.settings.account(delivery.account)).is_post_url(url):
            raise UserError(
                f"post {post_id}: '{url}' is not the address of a post on {delivery.account}"
                f" ({delivery.platform}); give the post's https:// URL as the platform shows it"
            )
    if len(unknown) == 1:
        from postbot.service.threads import resolve_part

        resolved = resolve_part(app, post, unknown[0], url)
        if resolved is not None:
            return resolved
    # With several unknown deliveries and no --to, the store refuses, naming them.
    name = unknown[0].account if len(unknown) == 1 else account
    app.store.resolve(post_id, url, app.now(), name)
    return Resolved(post_id, unknown[0].account, url)


def require_credentials(app: App) -> None:
    """Refuse to start a live daemon rather than fail every delivery later."""
    for account in app.settings.accounts.values():
        account.credentials()


# -- reading ----------------------------------------------------------------------------------
def preview(
    app: App, post_id_or_text: str, to: Sequence[str] = (), parts: Sequence[str] = ()
) -> Preview:
    """For each target: the rendered text of every part, every limit each was checked against,
    and whether they fit them all; the variant each account is sent. A stored post is shown
    with its own parts and variants; a text typed here with `parts` (`--part`)."""
    from postbot.service.costs import target_costs

    if post_id_or_text.isdigit():
        if parts:
            raise UserError("--part goes with a text to try, not with a stored post's id")
        post = app.store.get_post(int(post_id_or_text))
        draft = Draft(
            teaser=post.teaser,
            hashtags=post.hashtags,
            link=post.link,
            language=post.language,
            to=tuple(to) or tuple(d.account for d in post.deliveries),
            where=f"post {post.id}",
            parts=post.parts,
            variants=_variants_for(app, post.variants, to),
        )
        checked = plan(draft, app.settings, check_length=False)
        held = {d.account: d.slot_at for d in post.deliveries if d.slot_at is not None}
        series = _listing(app, [post]).recurring.get(post.id)
        return Preview(
            checked.targets, tuple(plan_warnings(checked)), held, series,
            target_costs(app.settings, checked.targets),
        )  # fmt: skip
    from postbot.service.guards import duplicates

    draft = Draft(teaser=post_id_or_text, to=tuple(to), parts=tuple(parts))
    checked = plan(draft, app.settings, check_length=False)
    costs = target_costs(app.settings, checked.targets)
    # What enqueue would refuse, said here as a warning (a preview stores nothing).
    same = duplicates(app.store, [checked], app.now(), app.zone).get(0)
    repeat = [f"enqueue would refuse it: {same.split(': ', 1)[1]}"] if same else []
    warnings = (*plan_warnings(checked), *repeat)
    return Preview(checked.targets, warnings, costs=costs)


def _variants_for(app: App, variants: Sequence[Variant], to: Sequence[str]) -> tuple[Variant, ...]:
    """A stored post's variants that apply to the accounts asked about (all, without `to`)."""
    if not to or not variants:
        return tuple(variants)
    from postbot.variants import for_account

    accounts = [app.settings.account(name) for name in to]  # an unknown name: refused
    return tuple(v for v in variants if any(for_account(variants, a) is v for a in accounts))


def list_posts(app: App, status: Status | None = None, limit: int | None = None) -> Listing:
    """Posts with their deliveries, latest due first; `status` filters the deliveries."""
    return _listing(app, app.store.list_posts(status, limit))


def show(app: App, post_id: int) -> Listing:
    """One post, with why each of its queued deliveries waits, and its review decisions."""
    shown = _listing(app, [app.store.get_post(post_id)])
    return replace(shown, reviews={post_id: tuple(app.store.reviews(post_id))})


def _listing(app: App, posts: Sequence[Post]) -> Listing:
    from postbot.service.recurring import recurrences

    now = app.now()
    series = recurrences(app, posts, now)
    queued = [d for p in posts for d in p.deliveries if d.status == Status.QUEUED]
    if not queued:
        return Listing(tuple(posts), {}, series)
    from postbot.dispatch.outlook import read_outlook
    from postbot.pacing import wait_of

    outlook = read_outlook(app.store, app.settings, now)
    waits = {d.id: w for d in queued if (w := wait_of(d, outlook.paces, now)) is not None}
    from postbot.service.costs import budget_waits

    waits.update(budget_waits(app.settings, app.store, queued, now))
    return Listing(tuple(posts), waits, series)


def attempt_log(app: App, post_id: int | None = None, limit: int = 200) -> AttemptLog:
    post = app.store.get_post(post_id) if post_id is not None else None  # NotFound, clearly
    return AttemptLog(post, tuple(app.store.attempts(post_id, limit)))


def status(app: App) -> QueueStatus:
    from postbot.import_record import load_record, record_path

    record = record_path(app.settings)
    last_import = load_record(record) if record is not None else None
    from postbot.dispatch.outlook import read_outlook

    now = app.now()
    outlook = read_outlook(app.store, app.settings, now)
    from postbot.service.costs import month_spend

    spend = month_spend(app.settings, app.store, now)
    return QueueStatus(app.store.status_summary(), last_import, outlook, now, spend)
