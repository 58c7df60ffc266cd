"""The pages that change something: compose (and its live counts), and the CLI's actions on a
post: retry, cancel, reschedule, resolve. Each is the CLI's own service call; a refusal is the
CLI's one line, shown on the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from postbot import service
from postbot.drafts import Draft
from postbot.errors import UserError
from postbot.service import web as web_service
from postbot.web.context import call, checked_form, field, local_path, page, session_of, web_of
from postbot.when import local_text

_TAG_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Composed:
    """The composer's fields as typed; hashtags are separated by spaces or commas."""

    text: str = ""
    tags_typed: str = ""
    link: str | None = None
    language: str | None = None
    when: str = ""
    now: bool = False
    next_slot: bool = False  # each account's first free posting slot (--next-slot)
    to: tuple[str, ...] = ()
    allow_duplicate: bool = False  # the duplicate guard's --allow-duplicate

    @property
    def hashtags(self) -> tuple[str, ...]:
        return tuple(t for t in _TAG_SEPARATORS.split(self.tags_typed) if t)

    @classmethod
    def from_form(cls, form: FormData) -> Composed:
        return cls(
            text=field(form, "text"),
            tags_typed=field(form, "hashtags"),
            link=field(form, "link").strip() or None,
            language=field(form, "language").strip() or None,
            when=field(form, "when").strip(),
            now=field(form, "now") == "1",
            next_slot=field(form, "next_slot") == "1",
            to=tuple(a for a in form.getlist("to") if isinstance(a, str)),
            allow_duplicate=field(form, "allow_duplicate") == "1",
        )


async def compose(request: Request) -> Response:
    web = web_of(request)
    accounts = tuple(web.app.settings.accounts)
    # From a free slot in the week: its time and accounts; otherwise every account.
    chosen = tuple(request.query_params.getlist("to"))
    unknown = [a for a in chosen if a not in accounts]
    if unknown:
        raise UserError(f"compose: unknown account '{unknown[0]}' (known: {', '.join(accounts)})")
    typed = Composed(when=request.query_params.get("at", "").strip(), to=chosen or accounts)
    return page(request, "compose.html", form=typed, accounts=accounts, counts=None, error=None)


async def compose_post(request: Request) -> Response:
    web = web_of(request)
    form = await checked_form(request)
    accounts = tuple(web.app.settings.accounts)
    typed = Composed.from_form(form)
    shown: dict[str, Any] = {
        "form": typed,
        "accounts": accounts,
        "counts": await call(_counts, web.app, typed),
    }
    if field(form, "action") == "check":  # "Check counts": for a browser without JavaScript
        return page(request, "compose.html", error=None, **shown)
    try:
        done = await call(_enqueue, web.app, typed)
    except UserError as exc:
        return page(request, "compose.html", 400, error=str(exc), **shown)
    zone = web.app.zone
    if done.slots:
        where = "; ".join(f"{a} in the slot {local_text(t, zone)}" for a, t in done.slots.items())
        session_of(request).flash(f"post {done.post_id}: {where}")
    else:
        due = local_text(done.due, zone)
        session_of(request).flash(f"post {done.post_id}: due {due} to {', '.join(done.accounts)}")
    return RedirectResponse(f"/posts/{done.post_id}", status_code=303)


def _enqueue(app: service.App, typed: Composed) -> service.Enqueued:
    if not typed.to:
        raise UserError("compose: tick at least one account")
    if typed.now + typed.next_slot + bool(typed.when) > 1:
        raise UserError("compose: give a time, or tick 'now' or 'next free slot': only one")
    if not typed.now and not typed.when and not typed.next_slot:
        raise UserError(
            "compose: give a time (e.g. 2027-03-29 08:00, +2h, morgen 8:00)"
            " or tick 'now' or 'next free slot'"
        )
    return service.enqueue_text(
        app,
        typed.text,
        hashtags=typed.hashtags,
        link=typed.link,
        at=typed.when or None,
        now_flag=typed.now,
        next_slot=typed.next_slot,
        to=typed.to,
        language=typed.language,
        allow_duplicate=typed.allow_duplicate,
    )


def _draft(app: service.App, typed: Composed) -> Draft:
    return service.typed_draft(
        app,
        typed.text,
        hashtags=typed.hashtags,
        link=typed.link,
        to=typed.to,
        language=typed.language,
    )


def _counts(app: service.App, typed: Composed) -> service.Preview | str:
    """The server's own preview of the text as typed, or why there is none (one line)."""
    if not typed.text.strip():
        return "type the post's text to see its counts"
    if not typed.to:
        return "tick at least one account"
    try:
        return web_service.preview_draft(app, _draft(app, typed))
    except UserError as exc:
        return str(exc)


async def counts(request: Request) -> Response:
    """The counts fragment the composer's script asks for as one types (debounced)."""
    web = web_of(request)
    form = await checked_form(request)
    typed = Composed.from_form(form)
    result = await call(_counts, web.app, typed)
    return HTMLResponse(web.render("_counts.html", counts=result))


# -- the CLI's actions on a post ------------------------------------------------------------
async def _act(request: Request, verb: str) -> Response:
    web = web_of(request)
    form = await checked_form(request)
    post_id = int(request.path_params["post_id"])
    app, zone = web.app, web.app.zone
    if verb == "retry":
        changed = await call(service.retry, app, post_id)
        message = f"post {post_id}: {_deliveries(changed.deliveries)} queued again, due now"
    elif verb == "cancel":
        changed = await call(service.cancel, app, post_id)
        message = f"post {post_id}: {_deliveries(changed.deliveries)} cancelled"
    elif verb == "reschedule":
        changed = await call(service.reschedule, app, post_id, field(form, "at"))
        assert changed.due is not None
        due = local_text(changed.due, zone)
        message = f"post {post_id}: {_deliveries(changed.deliveries)} due {due}"
    else:
        account = field(form, "account") or None
        resolved = await call(service.resolve, app, post_id, field(form, "url").strip(), account)
        message = f"post {post_id}: {resolved.account} recorded as published at {resolved.url}"
    session_of(request).flash(message)
    return RedirectResponse(local_path(field(form, "next"), f"/posts/{post_id}"), status_code=303)


def _deliveries(count: int) -> str:
    return f"{count} delivery" if count == 1 else f"{count} deliveries"


async def retry(request: Request) -> Response:
    return await _act(request, "retry")


async def cancel(request: Request) -> Response:
    return await _act(request, "cancel")


async def reschedule(request: Request) -> Response:
    return await _act(request, "reschedule")


async def resolve(request: Request) -> Response:
    return await _act(request, "resolve")
