"""A local feed server, as a newsroom CMS answers: feeds on 127.0.0.1 (ephemeral port) with
ETag and Last-Modified (304 when nothing changed), and the faults real feeds show.

    with FeedServer() as server:
        server.publish("/politik.xml", rss([item("a1", "Erster Artikel")]))
        url = server.url("/politik.xml")
        server.fail("/politik.xml", 500, times=2)     # the next 2 answers are 500s
        server.slow("/politik.xml", 3.0)               # every answer waits 3 s first
        server.requests                                # [(path, {header: value})]

The builders below make fixtures shaped after real feeds: RSS 2.0 with CDATA, HTML
descriptions, categories, enclosures and media:content (German news with umlauts, as
tagesschau.de or spiegel.de write them), Atom with xhtml content, and malformed XML.
"""

from __future__ import annotations

import hashlib
import html
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from tests.fakes._lifecycle import LocalServer, QuietServer, TrackedHandler

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@dataclass
class _Route:
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    fail: list[int] = field(default_factory=list)  # statuses to answer next, once each
    delay: float = 0.0


class FeedServer(LocalServer):
    name = "feed-server"

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._init_server()
        self._routes: dict[str, _Route] = {}
        self._requests: list[tuple[str, dict[str, str]]] = []
        self.conditional = True  # False: a server that ignores ETag and Last-Modified

    def _make_server(self) -> Any:
        return QuietServer(("127.0.0.1", 0), _Handler)

    def url(self, path: str) -> str:
        return self.base_url + path

    def publish(
        self,
        path: str,
        body: bytes | str,
        content_type: str = "application/rss+xml; charset=utf-8",
        *,
        etag: bool = True,
        last_modified: datetime | None = None,
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        tag = f'"{hashlib.sha1(data).hexdigest()[:16]}"' if etag else None
        modified = format_datetime(last_modified, usegmt=True) if last_modified else None
        with self._lock:
            old = self._routes.get(path)
            fail, delay = (old.fail, old.delay) if old else ([], 0.0)
            self._routes[path] = _Route(data, content_type, tag, modified, fail, delay)

    def fail(self, path: str, status: int = 500, times: int = 1) -> None:
        with self._lock:
            self._routes[path].fail.extend([status] * times)

    def slow(self, path: str, seconds: float) -> None:
        with self._lock:
            self._routes[path].delay = seconds

    @property
    def requests(self) -> list[tuple[str, dict[str, str]]]:
        with self._lock:
            return list(self._requests)

    def answer(self, path: str, headers: dict[str, str]) -> tuple[int, _Route | None, float]:
        with self._lock:
            self._requests.append((path, headers))
            route = self._routes.get(path)
            if route is None:
                return 404, None, 0.0
            if route.fail:
                return route.fail.pop(0), None, route.delay
            if self.conditional:
                etag = headers.get("if-none-match")
                since = headers.get("if-modified-since")
                if (etag and etag == route.etag) or (
                    not etag and since and since == route.last_modified
                ):
                    return 304, route, route.delay
            return 200, route, route.delay


class _Handler(TrackedHandler):
    def do_GET(self) -> None:
        fake: FeedServer = self.server.fake
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, route, delay = fake.answer(self.path, headers)
        if delay and fake._stopping.wait(delay):
            return
        body = route.body if route is not None and status == 200 else b""
        self.send_response(status)
        if route is not None and status in (200, 304):
            if route.etag:
                self.send_header("ETag", route.etag)
            if route.last_modified:
                self.send_header("Last-Modified", route.last_modified)
        self.send_header("Content-Type", route.content_type if route else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)


# -- fixtures shaped after real feeds -------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    guid: str | None
    title: str
    description: str = ""  # HTML, written in CDATA
    link: str | None = None
    categories: Sequence[str] = ()
    published: datetime = T0
    permalink: bool = False  # <guid isPermaLink="true">: the GUID is the link
    image: str | None = None  # media:content url
    image_alt: str | None = None  # its media:description
    enclosure: str | None = None  # an image enclosure's url


def item(guid: str | None, title: str, *, minutes: int = 0, **more: Any) -> Entry:
    link = more.pop("link", f"https://www.example-zeitung.de/politik/{guid or 'x'}.html")
    return Entry(guid, title, link=link, published=T0 + timedelta(minutes=minutes), **more)


def rss(entries: Sequence[Entry], title: str = "Beispiel-Zeitung – Politik") -> str:
    """RSS 2.0 as CMSs write it: CDATA titles and descriptions with HTML, categories,
    pubDate in RFC 822, media:content with a description, enclosures."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        f"<channel><title>{html.escape(title)}</title>"
        "<link>https://www.example-zeitung.de/</link><language>de</language>",
    ]
    for e in entries:
        out.append("<item>")
        out.append(f"<title><![CDATA[{e.title}]]></title>")
        if e.link:
            out.append(f"<link>{html.escape(e.link)}</link>")
        if e.guid is not None:
            perma = "true" if e.permalink else "false"
            out.append(f'<guid isPermaLink="{perma}">{html.escape(e.guid)}</guid>')
        out.append(f"<description><![CDATA[{e.description}]]></description>")
        out.extend(f"<category><![CDATA[{c}]]></category>" for c in e.categories)
        out.append(f"<pubDate>{format_datetime(e.published)}</pubDate>")
        if e.image:
            out.append(f'<media:content url="{html.escape(e.image)}" medium="image"'
                       ' type="image/png" width="4" height="3">')  # fmt: skip
            if e.image_alt:
                out.append(f"<media:description><![CDATA[{e.image_alt}]]></media:description>")
            out.append("</media:content>")
        if e.enclosure:
            out.append(f'<enclosure url="{html.escape(e.enclosure)}" type="image/png"'
                       ' length="1234"/>')  # fmt: skip
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out)


def atom(entries: Sequence[Entry], title: str = "Beispiel-Blog") -> str:
    """Atom 1.0 with xhtml content (and no summary), ids as tag: URIs."""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom">',
        f"<title>{html.escape(title)}</title><id>tag:example-zeitung.de,2026:blog</id>"
        f"<updated>{T0.isoformat()}</updated>",
    ]
    for e in entries:
        out.append("<entry>")
        out.append(f'<title type="html">{html.escape(e.title)}</title>')
        if e.guid is not None:
            out.append(f"<id>{html.escape(e.guid)}</id>")
        if e.link:
            out.append(f'<link rel="alternate" href="{html.escape(e.link)}"/>')
        out.append(f"<updated>{e.published.isoformat()}</updated>")
        out.extend(f'<category term="{html.escape(c)}"/>' for c in e.categories)
        out.append('<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
                   f"{e.description}</div></content>")  # fmt: skip
        out.append("</entry>")
    out.append("</feed>")
    return "\n".join(out)


def german_news(count: int = 3, start: int = 0) -> list[Entry]:
    """News items as German newsrooms write them: umlauts and ß, typographic quotes, HTML
    with entities in the description, several categories."""
    subjects = [
        "Bundestag beschließt Haushalt",
        "Grüne fordern Änderungen am Klimagesetz",
        "Kölner Dom: Straßensperrung über Weihnachten",
        "Außenministerin reist nach Kiew",
    ]
    description = (
        "<p>Die Abgeordneten stimmten am Freitag &bdquo;mit gro&szlig;er Mehrheit&ldquo;"
        ' zu.</p><p><a href="https://x">Mehr</a> &amp; Hintergr&uuml;nde</p>'
    )
    return [
        item(
            f"urn:example-zeitung:{start + n}",
            f"{subjects[(start + n) % len(subjects)]} ({start + n})",
            minutes=start + n,
            description=description,
            categories=("Politik", "Bundestag", "Klimapolitik"),
        )
        for n in range(count)
    ]


MALFORMED = '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><title>a'
