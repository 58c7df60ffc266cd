"""A Draft is a post before it is stored; `plan` renders and checks it for every target account.

Everything that can be wrong with a post is found here, before anything is written, so a
refused post leaves the database exactly as it was. A thread (`parts`) is checked part by
part, and a post's `variants` apply per account (`threads.py`, `variants.py`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from postbot.compose import normalize_hashtags
from postbot.config import Settings, language_tag
from postbot.domain import Account, MediaItem, Variant
from postbot.duplicates import text_hash
from postbot.errors import UserError
from postbot.platforms import platform_for
from postbot.platforms.base import Platform
from postbot.platforms.limits import LimitCheck


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
    parts: tuple[str, ...] = ()  # a thread's further parts, after the teaser (part 1)
    variants: tuple[Variant, ...] = ()  # overrides per platform or account
    slot: bool = False  # `slot: next`: the first free posting slot of every target
    every: str | None = None  # a recurring post's rule (recurring.py), as written
    until: datetime | None = None  # ... and when its series ends (inclusive)
    # Sent even if the same text went to an account within a day (the duplicate guard,
    # `postbot.duplicates`): not part of what the post says, so not in `content_hash`.
    allow_duplicate: bool = False
    hold: bool = False  # a draft for an editor (`draft: true`, a feed with review): not queued

    def content_hash(self) -> str:
        """What the post says and where it goes: a change here is a change to the post."""
        return self._content_hash

    @cached_property
    def _content_hash(self) -> str:
        # Worked out once per draft (a draft never changes): an import's worker process works
        # it out, and the importer and the store read it.
        payload: list[Any] = [
            self.teaser, list(self.hashtags), self.link, self.language,
            [[m.path, m.alt] for m in self.media], self.headline, list(self.to),
            self.at.isoformat() if self.at else None, self.key, self.source,
        ]  # fmt: skip
        # Only when given: a post without them keeps the hash it had before threads existed.
        if self.parts:
            payload.append({"parts": list(self.parts)})
        if self.variants:
            from postbot.variants import as_json

            payload.append({"variants": as_json(self.variants)})
        if self.slot or self.every:
            until = self.until.isoformat() if self.until else None
            payload.append({"slot": self.slot, "every": self.every, "until": until})
        if self.hold:
            payload.append({"draft": True})
        return hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class PartCheck:
    """One part of a thread as one account is sent it, and every limit it was checked against."""

    text: str
    checks: tuple[LimitCheck, ...]

    @property
    def count(self) -> int:
        return self.checks[0].count

    @property
    def limit(self) -> int:
        return self.checks[0].limit

    @property
    def fits(self) -> bool:
        return all(check.fits for check in self.checks)


@dataclass(frozen=True)
class Target:
    """One account's view of a draft: what would be sent, and whether it fits."""

    account: str
    platform: str
    text: str
    count: int  # the platform's main measure of the text (its `count`) ...
    limit: int  # ... and its limit for this account
    # Every limit the text was checked against, the main one first (`preview` shows them all).
    checks: tuple[LimitCheck, ...] = ()
    # What the platform will accept but change (an image it downscales): said, never done.
    warnings: tuple[str, ...] = ()
    # A thread: every part as sent, the first (`text`) included; empty for a single post.
    parts: tuple[PartCheck, ...] = ()
    variant: str | None = None  # the name of the variant this account is sent, if any

    @property
    def fits(self) -> bool:
        return (
            self.count <= self.limit
            and all(check.fits for check in self.checks)
            and all(part.fits for part in self.parts)
        )

    @property
    def texts(self) -> tuple[str, ...]:
        """Every part's text as sent (one for a single post)."""
        return tuple(p.text for p in self.parts) or (self.text,)

    @cached_property
    def text_hash(self) -> str:
        """The duplicate guard's hash of `text` (`duplicates.text_hash`), worked out once: the
        guard and the store both ask for it."""
        return text_hash(self.text)

    def overruns(self) -> list[str]:
        """Each limit the text breaks, as `301 characters, limit 300` (`part 2: ...` in a
        thread)."""
        if self.parts:
            return [
                f"part {number}: {found}"
                for number, part in enumerate(self.parts, 1)
                for found in _overruns(part.checks)
            ]
        found = [f"{self.count} characters, limit {self.limit}"] if self.count > self.limit else []
        found += [f"{c.count} {c.name}, limit {c.limit}" for c in self.checks[1:] if not c.fits]
        return found


def _overruns(checks: tuple[LimitCheck, ...]) -> list[str]:
    main, *rest = checks
    found = [f"{main.count} characters, limit {main.limit}"] if not main.fits else []
    return found + [f"{c.count} {c.name}, limit {c.limit}" for c in rest if not c.fits]


@dataclass(frozen=True)
class Plan:
    draft: Draft
    targets: tuple[Target, ...] = field(default_factory=tuple)

    @property
    def warnings(self) -> tuple[str, ...]:
        """One line each: where, which account, what the platform will change."""
        return tuple(
            f"{self.draft.where}: {t.platform} ({t.account}): {warning}"
            for t in self.targets
            for warning in t.warnings
        )


def clean(draft: Draft) -> Draft:
    """Validate the parts of a draft that do not depend on accounts; normalise hashtags."""
    if not draft.teaser.strip():
        raise UserError(f"{draft.where}: the post text is empty")
    for item in draft.media:
        if not Path(item.path).is_file():
            raise UserError(f"{draft.where}: media file not found: {item.path}")
        if not item.alt.strip():
            raise UserError(f"{draft.where}: media {item.path} has no alt text")
    if draft.link and not draft.link.lower().startswith(("http://", "https://")):
        raise UserError(f"{draft.where}: link must start with http:// or https://: {draft.link}")
    if draft.language is not None:
        try:
            language_tag(draft.language)
        except ValueError as exc:
            raise UserError(f"{draft.where}: language {draft.language!r} {exc}") from None
    try:
        hashtags = normalize_hashtags(draft.hashtags)
    except UserError as exc:
        raise UserError(f"{draft.where}: {exc}") from None
    from postbot.threads import clean_parts

    teaser = draft.teaser.strip()
    parts = clean_parts(draft.parts, draft.where)
    variants = tuple(_clean_variant(v, draft.where) for v in draft.variants)
    if (teaser, hashtags, parts, variants) == (draft.teaser, draft.hashtags, draft.parts,
                                               draft.variants):  # fmt: skip
        return draft  # already clean (a post file's draft mostly is): no copy
    return replace(draft, teaser=teaser, hashtags=hashtags, parts=parts, variants=variants)


def _clean_variant(variant: Variant, where: str) -> Variant:
    at = f"{where}:{variant.line}" if variant.line else where
    if variant.link and not variant.link.lower().startswith(("http://", "https://")):
        raise UserError(
            f"{at}: variants.{variant.name}.link must start with http:// or https://:"
            f" {variant.link}"
        )
    try:
        return replace(variant, hashtags=normalize_hashtags(variant.hashtags))
    except UserError as exc:
        raise UserError(f"{at}: variants.{variant.name}: {exc}") from None


def targets_for(draft: Draft, settings: Settings) -> list[Account]:
    names = draft.to or tuple(settings.accounts)
    if not names:
        raise UserError(f"{draft.where}: no accounts configured in {settings.source}")
    try:
        return [settings.account(name) for name in dict.fromkeys(names)]
    except UserError as exc:
        raise UserError(f"{draft.where}: {exc}") from None


def render_for(draft: Draft, account: Account, environ: Mapping[str, str] | None = None) -> Target:
    return _render(draft, platform_for(account, environ))


def _render(draft: Draft, platform: Platform) -> Target:
    if not draft.variants:  # the common case
        parts = (draft.teaser, *draft.parts)
        texts = platform.render_thread(parts, draft.link, draft.hashtags)
        variant = None
    else:
        from postbot.variants import apply, for_account

        variant = for_account(draft.variants, platform.account)
        parts, link, hashtags = apply(variant, draft.teaser, draft.parts, draft.link,
                                      draft.hashtags)  # fmt: skip
        texts = platform.render_thread(parts, link, hashtags)
    if len(texts) == 1:
        [text] = texts
        thread: tuple[PartCheck, ...] = ()
        checks = platform.check_text(text)
    else:
        thread = tuple(PartCheck(t, platform.check_text(t)) for t in texts)
        text, checks = thread[0].text, thread[0].checks
    main = checks[0]
    return Target(
        platform.account.name, platform.name, text, main.count, main.limit, checks,
        warnings=platform.notes(len(texts)), parts=thread,
        variant=variant.name if variant is not None else None,
    )  # fmt: skip


def plan(
    draft: Draft,
    settings: Settings,
    *,
    check_length: bool = True,
    platforms: dict[str, Platform] | None = None,
) -> Plan:
    """Clean the draft and render it for each target; refuse it if its text breaks a limit of
    any target platform (`check_length`), or if its media does. `platforms`: account name ->
    its platform object, kept and reused by the caller for many plans (an import's files)."""
    draft = clean(draft)
    accounts = targets_for(draft, settings)
    if draft.variants:
        from postbot.variants import check_names

        check_names(draft.variants, settings.accounts, accounts, draft.where)
    used = [_platform(account, platforms) for account in accounts]
    targets = tuple(_render(draft, platform) for platform in used)
    if check_length:
        too_long = [t for t in targets if not t.fits]
        if too_long:
            detail = "; ".join(
                f"{t.platform} ({t.account}): {' and '.join(t.overruns())}" for t in too_long
            )
            raise UserError(f"{draft.where}: text too long for {detail}")
    if draft.media:
        targets = _judge_media(draft, used, targets)
    return Plan(draft, targets)


def _platform(account: Account, reuse: dict[str, Platform] | None) -> Platform:
    """The account's platform object (offline: nothing read or sent yet), from `reuse` when it
    holds one for this very account."""
    if reuse is None:
        return platform_for(account)
    found = reuse.get(account.name)
    if found is None or found.account is not account:
        found = reuse[account.name] = platform_for(account)
    return found


def _judge_media(
    draft: Draft, platforms: Sequence[Platform], targets: tuple[Target, ...]
) -> tuple[Target, ...]:
    """Each file's real type, size, pixels and alt text against each target's media policy.
    One line for everything refused, naming the file, the accounts and the limit."""
    from postbot.platforms.media import MediaError, judge, read_images

    try:
        images = read_images(draft.media)
    except MediaError as exc:
        raise UserError(f"{draft.where}: {exc}") from None
    alts = [item.alt for item in draft.media]
    # What is wrong -> what each platform allows -> the accounts it is wrong for.
    refused: dict[str, dict[str, list[str]]] = {}
    judged = []
    for platform, target in zip(platforms, targets, strict=True):
        verdict = judge(platform.media, images, alts)
        for refusal in verdict.refusals:
            accounts = refused.setdefault(refusal.subject, {}).setdefault(refusal.allowed, [])
            accounts.append(f"{target.platform} ({target.account})")
        judged.append(replace(target, warnings=target.warnings + verdict.warnings))
    if refused:
        detail = "; ".join(
            f"{subject}; "
            + ", ".join(f"{allowed} for {', '.join(where)}" for allowed, where in limits.items())
            for subject, limits in refused.items()
        )
        raise UserError(f"{draft.where}: {detail}")
    return tuple(judged)


def plan_warnings(checked: Plan) -> list[str]:
    """What a person should know before the post goes out, though nothing refuses it: Markdown
    marks the platforms would show as typed, and what a platform will do to its media."""
    accounts = [t.account for t in checked.targets]
    text = " ".join((checked.draft.teaser, *checked.draft.parts))
    from postbot.markup import markdown_warning

    warning = markdown_warning(text, accounts, checked.draft.where)
    return ([warning] if warning else []) + list(checked.warnings)
