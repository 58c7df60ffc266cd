"""Parsing feeds shaped after real ones (the fixture builders of tests/fakes/feed_server.py)
with real feedparser: clean text, categories, times, images and their alt text, refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from postbot.feeds.parse import FeedError, parse_feed
from tests.fakes.feed_server import MALFORMED, atom, german_news, item, rss

RDF = """<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://e.org/"><title>RDF</title><link>https://e.org/</link></channel>
<item rdf:about="https://e.org/r1"><title>RDF-Artikel &#252;ber Stra&#223;en</title>
<link>https://e.org/r1</link><description>Kurz &amp; gut</description></item>
</rdf:RDF>"""


def test_rss_with_cdata_html_entities_and_categories() -> None:
    [first, *_] = parse_feed(rss(german_news(2)).encode())
    assert first.guid == "urn:example-zeitung:0"
    assert first.title == "Bundestag beschließt Haushalt (0)"
    assert first.summary == "Die Abgeordneten stimmten am Freitag „mit großer Mehrheit“ zu." \
        " Mehr & Hintergründe"  # fmt: skip
    assert first.categories == ("Politik", "Bundestag", "Klimapolitik")
    assert first.published == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_media_content_with_description_and_an_enclosure_without() -> None:
    entries = [
        item("m1", "Bild", image="https://e.org/a.png?x=1&y=2", image_alt="Der <b>Dom</b> & Rhein"),
        item("m2", "Anhang", enclosure="https://e.org/b.png"),
        item("m3", "Ohne"),
    ]
    one, two, three = parse_feed(rss(entries).encode())
    assert (one.image, one.alt) == ("https://e.org/a.png?x=1&y=2", "Der Dom & Rhein")
    assert (two.image, two.alt) == ("https://e.org/b.png", None)
    assert (three.image, three.alt) == (None, None)


def test_atom_with_xhtml_content_and_rdf() -> None:
    written = item("tag:e.org,2026:1", "Atom &amp; mehr", description="<p>Eins <em>zwei</em></p>")
    [entry] = parse_feed(atom([written]).encode())
    assert (entry.guid, entry.title, entry.summary) == ("tag:e.org,2026:1", "Atom & mehr",
                                                        "Eins zwei")  # fmt: skip
    [rdf] = parse_feed(RDF.encode())
    assert (rdf.link, rdf.title, rdf.summary) == ("https://e.org/r1", "RDF-Artikel über Straßen",
                                                  "Kurz & gut")  # fmt: skip


def test_items_without_guid_or_link_are_left_out() -> None:
    items = parse_feed(rss([item(None, "Nur Link"), item(None, "Nichts", link=None)]).encode())
    assert [(i.guid, i.title) for i in items] == [(None, "Nur Link")]


@pytest.mark.parametrize("body", [MALFORMED, "<html><body>Wartung</body></html>", ""])
def test_malformed_or_not_a_feed_is_refused(body: str) -> None:
    with pytest.raises(FeedError):
        parse_feed(body.encode())
