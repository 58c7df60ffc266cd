"""A Draft is a post before it is stored; `plan` renders and checks it for every target account.

Everything that can be wrong with a post is found here, before anything is written, so a
refused post leaves the database exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from postbot.compose import normalize_hashtags
from postbot.config import Settings
from postbot.domain import Account, MediaItem
from postbot.errors import UserError
from postbot.platforms import platform_for

MAX_MEDIA = 4


@dataclass(frozen=True)
class Draft:
    teaser: str
    hashtags: tuple[str, ...] = ()
    link: str | None = None
    language: str | None = None
    media: tuple[MediaItem, ...] = ()
    headline: str | None = None
    to: tuple[str, ...] = ()  # account names; empty means every configured account
    at: datetime | None = None  # None means due at once
    key: str | None = None  # idempotency key for import; None for the CLI (a fresh one)
    source: str = "cli"
    where: str = "command line"  # for messages: the file and line, or "command line"

    def content_hash(self) -> str:
        """What the post says and where it goes: a change here is a change to the post."""
        payload = [
            self.teaser, list(self.hashtags), self.link, self.language,
            [[m.path, m.alt] for m in self.media], self.headline, list(self.to),
            self.at.isoformat() if self.at else None, self.key, self.source,
        ]  # fmt: skip
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class Target:
    """One account's view of a draft: what would be sent, and whether it fits."""

    account: str
    platform: str
    text: str
    count: int
    limit: int

    @property
    def fits(self) -> bool:
        return self.count <= self.limit


@dataclass(frozen=True)
class Plan:
    draft: Draft
    targets: tuple[Target, ...] = field(default_factory=tuple)


def clean(draft: Draft) -> Draft:
    """Validate the parts of a draft that do not depend on accounts; normalise hashtags."""
    if not draft.teaser.strip():
        raise UserError(f"{draft.where}: the post text is empty")
    if len(draft.media) > MAX_MEDIA:
        raise UserError(f"{draft.where}: {len(draft.media)} images; at most {MAX_MEDIA} allowed")
    for item in draft.media:
        if not Path(item.path).is_file():
            raise UserError(f"{draft.where}: media file not found: {item.path}")
        if not item.alt.strip():
            raise UserError(f"{draft.where}: media {item.path} has no alt text")
    if draft.link and not draft.link.lower().startswith(("http://", "https://")):
        raise UserError(f"{draft.where}: link must start with http:// or https://: {draft.link}")
    try:
        hashtags = normalize_hashtags(draft.hashtags)
    except UserError as exc:
        raise UserError(f"{draft.where}: {exc}") from None
    return replace(draft, teaser=draft.teaser.strip(), hashtags=hashtags)


def targets_for(draft: Draft, settings: Settings) -> list[Account]:
    names = draft.to or tuple(settings.accounts)
    if not names:
        raise UserError(f"{draft.where}: no accounts configured in {settings.source}")
    try:
        return [settings.account(name) for name in dict.fromkeys(names)]
    except UserError as exc:
        raise UserError(f"{draft.where}: {exc}") from None


def render_for(draft: Draft, account: Account, environ: Mapping[str, str] | None = None) -> Target:
    platform = platform_for(account, environ)
    text = platform.render(draft.teaser, draft.link, draft.hashtags)
    return Target(account.name, account.platform, text, platform.count(text), platform.limit())


def plan(draft: Draft, settings: Settings, *, check_length: bool = True) -> Plan:
    """Clean the draft and render it for each target; refuse it if it is too long anywhere."""
    draft = clean(draft)
    targets = tuple(render_for(draft, account) for account in targets_for(draft, settings))
    if check_length:
        too_long = [t for t in targets if not t.fits]
        if too_long:
            detail = "; ".join(
                f"{t.platform} ({t.account}): {t.count} characters, limit {t.limit}"
                for t in too_long
            )
            raise UserError(f"{draft.where}: text too long for {detail}")
    return Plan(draft, targets)


def plan_all(drafts: Sequence[Draft], settings: Settings) -> list[Plan]:
    return [plan(d, settings) for d in drafts]
