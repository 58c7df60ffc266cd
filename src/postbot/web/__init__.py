"""`postbot serve`: the web calendar, a shell over `service` as the CLI is.

Pages are rendered on the server (Starlette, Jinja2) and readable without JavaScript; a little
plain JavaScript (static/compose.js) updates the composer's counts as one types, by asking
the server's own `preview`. Every action is the same service call the CLI makes.

The parts: `app.py` (routes and middleware, put together), `pages.py` (the reading pages:
week, post, needs attention, workers), `forms.py` (compose and the actions on a post),
`auth.py` (login, logout), `render.py` (templates and their filters), `security.py`
(sessions, CSRF, proxies, the loopback rule, the signing key), `ratelimit.py` (failed
logins), `calendar.py` (the week's days and places, pure), `coalesce.py` (concurrent
readers of one page share one render).

Nothing here is imported by the other commands: Starlette and Jinja2 load only for `serve`.
"""
