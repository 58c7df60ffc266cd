"""Platforms are plugins, registered by name.

Adding a platform: write one module with a `Platform` subclass and add one line to `PLATFORMS`
(or, from another package, one `postbot.platforms` entry point). Modules are imported only
when their platform is first used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from postbot.registry import Registry

if TYPE_CHECKING:
    from postbot.domain import Account
    from postbot.platforms.base import Platform

PLATFORMS: Registry[Platform] = Registry(
    "platform",
    "postbot.platforms",
    {
        "mastodon": "postbot.platforms.mastodon:MastodonPlatform",
        "x": "postbot.platforms.x:XPlatform",
        "bluesky": "postbot.platforms.bluesky:BlueskyPlatform",
        "dryrun": "postbot.platforms.dryrun:DryRunPlatform",
    },
)


def known_platforms() -> list[str]:
    return PLATFORMS.names()


def platform_class(name: str) -> type[Platform]:
    return PLATFORMS.load(name)


def platform_for(account: Account, environ: Mapping[str, str] | None = None) -> Platform:
    """The platform object for an account (no network, no credentials read yet)."""
    return platform_class(account.platform)(account, environ)
