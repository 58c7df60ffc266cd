"""Platforms are plugins, registered by name.

Adding a platform: write one module with a `Platform` subclass and add one line to `_REGISTRY`.
Modules are imported only when their platform is first used.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from functools import cache

from postbot.config import Account
from postbot.errors import ConfigError
from postbot.platforms.base import Platform

_REGISTRY: dict[str, str] = {
    "mastodon": "postbot.platforms.mastodon:MastodonPlatform",
    "x": "postbot.platforms.x:XPlatform",
    "bluesky": "postbot.platforms.bluesky:BlueskyPlatform",
    "dryrun": "postbot.platforms.dryrun:DryRunPlatform",
}


def known_platforms() -> list[str]:
    return sorted(_REGISTRY)


@cache
def platform_class(name: str) -> type[Platform]:
    try:
        target = _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown platform '{name}' (known: {', '.join(known_platforms())})"
        ) from None
    module_name, _, attr = target.partition(":")
    cls: type[Platform] = getattr(importlib.import_module(module_name), attr)
    return cls


def platform_for(account: Account, environ: Mapping[str, str] | None = None) -> Platform:
    """The platform object for an account (no network, no credentials read yet)."""
    return platform_class(account.platform)(account, environ)
