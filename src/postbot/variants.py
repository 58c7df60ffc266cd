"""Per-platform and per-account variants of a post (`variants:` in a post file's front matter).

    variants:
      x: {text: "Kürzer für X"}              # a platform: every X account
      mastodon-news: {hashtags: [SOZ]}       # an account, by its name in the config
      bluesky: {parts: ["Teil 1", "Teil 2"]} # a thread of its own

A variant overrides only what it gives: `text` (the first part; the thread's other parts stay),
`parts` (every part, the first included), `hashtags` (the list replaces the post's), `link`
(`link: null` sends none). A name that is an account's means that account; otherwise a platform
name means every account on it. An account's own variant is used instead of its platform's
(they are not merged). Refused with the file and line: an unknown name, a name that is none of
the post's targets, an unknown key, `text` and `parts` together, a value of the wrong shape.
Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from postbot.domain import Account, Variant
from postbot.errors import UserError

KEYS = ("hashtags", "link", "parts", "text")
LineOf = Callable[[tuple[str, ...]], "int | None"]


def parse(value: Any, where: str, line_of: LineOf) -> tuple[Variant, ...]:
    """The `variants:` mapping of a post file, its shape checked (names are checked against
    the config by `check_names`, when the post is planned)."""

    def at(*path: str) -> str:
        line = line_of(("variants", *path))
        return f"{where}:{line}" if line else where

    if value is None:
        return ()
    if not isinstance(value, dict):
        raise UserError(
            f"{at()}: variants must map a platform or account name to its overrides,"
            ' e.g. variants: {x: {text: "Kürzer"}}'
        )
    found = []
    for name, overrides in value.items():
        if not isinstance(overrides, dict) or not overrides:
            raise UserError(
                f"{at(name)}: variants.{name} must list what it overrides ({', '.join(KEYS)}),"
                ' e.g. {text: "Kürzer"}'
            )
        for key in overrides:
            if key not in KEYS:
                raise UserError(
                    f"{at(name, key)}: variants.{name}.{key}: unknown key{_suggestion(key)}"
                    f" (known: {', '.join(KEYS)})"
                )
        if "text" in overrides and "parts" in overrides:
            raise UserError(
                f"{at(name)}: variants.{name} gives both text and parts: text replaces the"
                " first part, parts the whole thread; give one of them"
            )
        found.append(_variant(name, overrides, lambda *k, n=name: at(n, *k), line_of))
    return tuple(found)


def _variant(
    name: str, overrides: Mapping[str, Any], at: Callable[..., str], line_of: LineOf
) -> Variant:
    text = overrides.get("text")
    if "text" in overrides and (not isinstance(text, str | int) or not str(text).strip()):
        raise UserError(f"{at('text')}: variants.{name}.text must be a text, not empty")
    parts: tuple[str, ...] = ()
    if "parts" in overrides:
        raw = overrides["parts"]
        if (
            not isinstance(raw, list)
            or not raw
            or not all(isinstance(p, str | int) and str(p).strip() for p in raw)
        ):
            raise UserError(
                f"{at('parts')}: variants.{name}.parts must be a list of texts, none empty"
            )
        parts = tuple(" ".join(str(p).split()) for p in raw)
    hashtags: tuple[str, ...] = ()
    if "hashtags" in overrides:
        raw = overrides["hashtags"]
        if isinstance(raw, str):
            hashtags = tuple(raw.replace(",", " ").split())
        elif isinstance(raw, list) and all(isinstance(t, str | int) for t in raw):
            hashtags = tuple(str(t) for t in raw)
        else:
            raise UserError(f"{at('hashtags')}: variants.{name}.hashtags must be a list of tags")
    link = overrides.get("link")
    if link is not None and not isinstance(link, str):
        raise UserError(f"{at('link')}: variants.{name}.link must be a URL, or null for none")
    return Variant(
        name=str(name),
        given=frozenset(overrides),
        text=" ".join(str(text).split()) if text is not None else None,
        parts=parts,
        hashtags=hashtags,
        link=(link.strip() or None) if isinstance(link, str) else None,
        line=line_of(("variants", name)),
    )


def for_account(variants: Sequence[Variant], account: Account) -> Variant | None:
    """The variant that applies to `account`: its own (by name), else its platform's."""
    by_name = {v.name: v for v in variants}
    own = by_name.get(account.name)
    if own is not None:
        return own
    return by_name.get(account.platform)


def check_names(
    variants: Sequence[Variant],
    accounts: Mapping[str, Account],
    targets: Collection[Account],
    where: str,
) -> None:
    """Every variant names a configured account or the platform of one, and applies to at
    least one of the post's targets (an override that changes nothing is refused, never
    ignored)."""
    platforms = {a.platform for a in accounts.values()}
    for variant in variants:
        at = f"{where}:{variant.line}" if variant.line else where
        if variant.name not in accounts and variant.name not in platforms:
            raise UserError(
                f"{at}: variants.{variant.name}: no account or platform of that name"
                f"{_suggestion(variant.name, [*accounts, *platforms])} (accounts:"
                f" {', '.join(sorted(accounts)) or 'none'};"
                f" platforms: {', '.join(sorted(platforms))})"
            )
        if not any(for_account(variants, t) is variant for t in targets):
            names = ", ".join(t.name for t in targets)
            raise UserError(
                f"{at}: variants.{variant.name} applies to none of the post's accounts"
                f" ({names}); remove it, or add the account to `to:`"
            )


def apply(
    variant: Variant | None,
    teaser: str,
    parts: tuple[str, ...],
    link: str | None,
    hashtags: tuple[str, ...],
) -> tuple[tuple[str, ...], str | None, tuple[str, ...]]:
    """Every part's text, the link and the hashtags for one account, its variant applied."""
    texts = (teaser, *parts)
    if variant is None:
        return texts, link, hashtags
    if "parts" in variant.given:
        texts = variant.parts
    elif "text" in variant.given and variant.text is not None:
        texts = (variant.text, *parts)
    if "link" in variant.given:
        link = variant.link
    if "hashtags" in variant.given:
        hashtags = variant.hashtags
    return texts, link, hashtags


def as_json(variants: Sequence[Variant]) -> list[dict[str, Any]]:
    """What a post stores (and `show --json` shows): only the keys each variant gives."""
    out = []
    for v in variants:
        entry: dict[str, Any] = {"name": v.name}
        if "text" in v.given:
            entry["text"] = v.text
        if "parts" in v.given:
            entry["parts"] = list(v.parts)
        if "hashtags" in v.given:
            entry["hashtags"] = list(v.hashtags)
        if "link" in v.given:
            entry["link"] = v.link
        out.append(entry)
    return out


def from_json(stored: Sequence[Mapping[str, Any]] | None) -> tuple[Variant, ...]:
    """Variants as a post stored them (`as_json`)."""
    return tuple(
        Variant(
            name=str(e["name"]),
            given=frozenset(k for k in KEYS if k in e),
            text=e.get("text"),
            parts=tuple(e.get("parts") or ()),
            hashtags=tuple(e.get("hashtags") or ()),
            link=e.get("link"),
        )
        for e in stored or ()
    )


def _suggestion(word: str, candidates: Sequence[str] = KEYS) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(candidates), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""
