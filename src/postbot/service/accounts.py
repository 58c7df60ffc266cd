"""`postbot accounts`: log in to every configured account and say who we are there."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from postbot.config import load_settings


@dataclass(frozen=True)
class AccountCheck:
    account: str
    platform: str
    identity: str | None  # who we are logged in as
    ok: bool
    error: str | None  # why not, with secrets masked


def check_accounts(config_path: str | Path | None = None) -> list[AccountCheck]:
    """Log in to every configured account (needs the config only, not the database)."""
    from postbot.accounts import check_accounts as check_all

    return [
        AccountCheck(r["account"], r["platform"], r["identity"], bool(r["ok"]), r["error"])
        for r in check_all(load_settings(config_path))
    ]
