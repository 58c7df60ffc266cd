"""Newsroom feeds: each new article in an RSS, Atom or RDF feed becomes a teaser exactly once.

- `config`: the `[feeds.NAME]` tables (strict schema, the template checked at load);
- `records`: what the store keeps and hands back (feed state, known items, a poll's writes);
- `fetch`: the conditional GET (ETag, Last-Modified) with a timeout;
- `parse`: feedparser's entries as plain items (clean text, image and alt text);
- `keys`: an article's keys (GUID/id, canonical link);
- `template`: an item -> the teaser's text, link and hashtags;
- `schedule`: pure decisions (backoff, delay, quiet hours, what is new);
- `poller`: the daemon's job that polls due feeds without blocking anything else.
The service (`postbot.service.feeds`) ties them to the store.
"""
