"""The reading pages: the week, a post, what needs attention, the workers; the week as JSON.

Each is one or two service calls and a template. The week is rendered once for all who ask
at the same moment (`coalesce`), so it carries nothing of one session: no CSRF token, no
message; its forms live on the pages it links to.
"""

from __future__ import annotations

import mimetypes
import os
import re
from datetime import date, timedelta

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response

from postbot import service
from postbot.domain import Post, Status
from postbot.errors import NotFound, UserError
from postbot.output import json as json_shapes
from postbot.service import web as web_service
from postbot.service.slots import slot_times
from postbot.web import calendar
from postbot.web.context import Web, call, page, session_of, web_of

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day_param(request: Request, today: date) -> date:
    """`?of=YYYY-MM-DD`: the week holding that day; without it, this week."""
    given = request.query_params.get("of")
    if given is None:
        return today
    try:
        if not _DAY.fullmatch(given):
            raise ValueError
        day = date.fromisoformat(given)
    except ValueError:
        raise UserError(
            f"week: '{given}' is not a date; write it as YYYY-MM-DD, e.g. ?of={today.isoformat()}"
        ) from None
    if not 1900 <= day.year <= 9000:
        raise UserError(f"week: {given} is out of range; give a day from 1900 to 9000")
    return day


def _today(web: Web) -> date:
    return web.app.now().astimezone(web.app.zone).date()


async def week(request: Request) -> Response:
    web = web_of(request)
    today = _today(web)
    monday = calendar.monday_of(_day_param(request, today))
    user = session_of(request).user
    key = ("week", monday, today, user)
    body = await call(web.coalescer.get, key, lambda: _week_page(web, monday, today, user))
    return HTMLResponse(body)


def _week_page(web: Web, monday: date, today: date, user: str | None) -> bytes:
    zone = web.app.zone
    start, end = calendar.week_span(monday, zone)
    posts = web_service.due_between(web.app, start, end)
    slots = slot_times(web.app, start, end)
    free = calendar.free_places(slots, posts, web.app.now(), zone)
    laid_out = calendar.lay_out(monday, zone, [*calendar.post_places(posts, zone), *free], today)
    counts: dict[str, int] = {}
    for post in posts:
        for delivery in post.deliveries:
            counts[delivery.status] = counts.get(delivery.status, 0) + 1
    return web.render(
        "week.html",
        week=laid_out,
        today=today,
        this_week=calendar.monday_of(today),
        counts=counts,
        zone=str(zone),
        user=user,
        csrf=None,
        flash=None,
        path="/week",
    ).encode()  # once for everyone who shares this render


async def week_json(request: Request) -> Response:
    """The week's posts and deliveries as `postbot show --json` shapes them."""
    web = web_of(request)
    monday = calendar.monday_of(_day_param(request, _today(web)))
    start, end = calendar.week_span(monday, web.app.zone)
    posts = await call(web_service.due_between, web.app, start, end)
    return JSONResponse([json_shapes.post(p) for p in posts])


def _post_id(request: Request) -> int:
    post_id: int = request.path_params["post_id"]
    return post_id


async def post(request: Request) -> Response:
    web = web_of(request)
    shown = await call(web_service.post_page, web.app, _post_id(request))
    zone = web.app.zone
    day = shown.post.deliveries[0].due_at.astimezone(zone).date() if shown.post.deliveries else None
    return page(request, "post.html", view=shown, week_of=day, can=_actions(shown.post))


def _actions(post: Post) -> dict[str, bool]:
    """Which of the CLI's actions the post's deliveries allow now (the store decides again)."""
    states = {d.status for d in post.deliveries}
    return {
        "retry": bool(states & {Status.FAILED, Status.UNKNOWN, Status.MISSED}),
        "cancel": Status.QUEUED in states,
        "reschedule": bool(states & {Status.QUEUED, Status.MISSED}),
        "resolve": Status.UNKNOWN in states,
    }


async def attention(request: Request) -> Response:
    web = web_of(request)
    shown = await call(web_service.needs_attention, web.app)
    can = {p.id: _actions(p) for p in shown.posts}
    return page(request, "attention.html", posts=shown.posts, can=can)


async def feeds(request: Request) -> Response:
    web = web_of(request)
    shown = await call(web_service.feeds_page, web.app)
    return page(request, "feeds.html", feeds=shown)


async def workers(request: Request) -> Response:
    web = web_of(request)
    status = await call(service.status, web.app)
    now = web.app.now()
    stale_after = timedelta(seconds=3 * web.app.settings.daemon.heartbeat_seconds)
    return page(request, "workers.html", status=status, now=now, stale_after=stale_after)


async def media(request: Request) -> Response:
    """A post's image, by its place in the post's media list: no other file is ever served."""
    web = web_of(request)
    found = await call(web.app.store.get_post, _post_id(request))
    index: int = request.path_params["index"]
    if index >= len(found.media):
        raise NotFound(f"post {found.id} has no media {index}")
    path = found.media[index].path
    kind = mimetypes.guess_type(path)[0] or ""
    if not kind.startswith("image/"):
        raise NotFound(f"post {found.id}: media {index} is not an image")
    if not os.path.isfile(path):
        raise NotFound(f"post {found.id}: media {index} ({path}) is not on disk here")
    return FileResponse(path, media_type=kind)
