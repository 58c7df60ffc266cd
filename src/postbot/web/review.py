"""The Drafts page and its forms: approve a draft (at a time, in the next free slot, or at its
own time; its text changed first and checked again) or reject it. Each is `postbot approve`'s
and `postbot reject`'s own service call; the session's user is recorded as who decided.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from postbot.errors import NotFound, StateError, UserError
from postbot.service import App
from postbot.service import review as review_service
from postbot.service import web as web_service
from postbot.web.context import call, checked_form, field, page, session_of, web_of
from postbot.when import local_text


async def drafts(request: Request) -> Response:
    web = web_of(request)
    cards = await call(web_service.drafts_page, web.app)
    return page(request, "drafts.html", drafts=cards, typed={}, error=None, error_id=None)


def _approve(
    app: App, post_id: int, text: str | None, when: str, next_slot: bool, by: str | None
) -> review_service.Decided:
    """`text`: the text box as sent (None: the draft has none, a post file's)."""
    if when and next_slot:
        raise UserError(f"approve {post_id}: give a time or tick 'next free slot', not both")
    post = app.store.get_post(post_id)
    edit = None
    if text is not None and text != post.teaser:
        if not text.strip():
            raise UserError(f"approve {post_id}: the text is empty; type the post's text")
        edit = review_service.Edit(text=text)
    return review_service.approve(
        app, post_id, at=when or None, by=by, edit=edit, next_slot=next_slot
    )


async def approve(request: Request) -> Response:
    web = web_of(request)
    form = await checked_form(request)
    post_id = int(request.path_params["post_id"])
    # Browsers send a textarea's line breaks as CRLF: the post's are LF.
    box = form.get("text")
    text = box.replace("\r\n", "\n") if isinstance(box, str) else None
    when = field(form, "when").strip()
    next_slot = field(form, "next_slot") == "1"
    user = session_of(request).user
    try:
        done = await call(_approve, web.app, post_id, text, when, next_slot, user)
    except (NotFound, StateError):
        raise  # no such draft (404), or decided on already (409): the error page
    except UserError as exc:  # what was typed: the drafts page again, with the one line
        cards = await call(web_service.drafts_page, web.app)
        typed: dict[int, dict[str, Any]] = {
            post_id: {"text": text or "", "when": when, "next_slot": next_slot}
        }
        return page(request, "drafts.html", 400, drafts=cards, typed=typed, error=str(exc),
                    error_id=post_id)  # fmt: skip
    zone = web.app.zone
    assert done.due is not None
    where = "; ".join(f"{a} in the slot {local_text(at, zone)}" for a, at in done.slots.items())
    message = f"post {post_id} approved by {done.review.by}: " + (
        where if where else f"due {local_text(done.due, zone)}"
    )
    session_of(request).flash(message)
    return RedirectResponse(f"/posts/{post_id}", status_code=303)


async def reject(request: Request) -> Response:
    web = web_of(request)
    await checked_form(request)
    post_id = int(request.path_params["post_id"])
    user = session_of(request).user
    done = await call(review_service.reject, web.app, post_id, by=user)
    session_of(request).flash(f"post {post_id} rejected by {done.review.by}: it is never published")
    return RedirectResponse("/drafts", status_code=303)
